"""The bot's migrations, fitted to a team's database. Pure: text in, text out.

Statement by statement (split as the CLI splits them), the bot's own files are
kept as they are, except:

* the legacy tracker: where the team already has ``public.dragonfly_migrations``,
  every statement on it (its CREATE, RLS, grants, policies) is left out (the team's
  history makes it; its table and data are never altered), and the view reads its real columns
  (``migration_filename``/``applied_at``, or ``version``/``name``);
* ``create or replace view public.v_migration_status``: where the team has its own
  view, its columns come first, in its order and with its types (CREATE OR REPLACE
  VIEW can only append columns), then the bot's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dragonfly_bot.core.sql import split_statements
from dragonfly_bot.errors import UserFacingError

TRACKER = "public.dragonfly_migrations"
VIEW_STATEMENT = re.compile(
    r"^(?P<lead>(?:\s*--[^\n]*\n)*)\s*create\s+or\s+replace\s+view\s+public\.v_migration_status\s+as\s+(?P<body>.*)$",
    re.IGNORECASE | re.DOTALL,
)
TOUCHES_TRACKER = re.compile(r"\bpublic\.dragonfly_migrations\b", re.IGNORECASE)
# The bot's view columns a team's older view may also have under another name.
TEAM_ALIASES = {"applied_at": "bot.executed_at"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type(), e.g. "text", "timestamp with time zone"


@dataclass(frozen=True)
class TeamSchema:
    """What the team's database already has (None: not there)."""

    tracker: tuple[str, ...] | None = None  # the legacy tracker's column names
    view: tuple[Column, ...] | None = None  # the existing v_migration_status columns, in order


def tracker_select(columns: tuple[str, ...]) -> str | None:
    """The tracker read as the bot's shape (version, name, applied_at, applied_by); None when it already is."""
    have = set(columns)
    applied_at = "applied_at" if "applied_at" in have else "null::timestamptz"
    applied_by = "applied_by::text" if "applied_by" in have else "null::text"
    if {"version", "name"} <= have:
        if {"applied_at", "applied_by"} <= have:
            return None
        return f"(select version, name, {applied_at} as applied_at, {applied_by} as applied_by from {TRACKER})"
    if "migration_filename" in have:
        return (
            "(select split_part(migration_filename, '_', 1) as version, "
            "regexp_replace(migration_filename, '^[0-9]+_|\\.sql$', '', 'g') as name, "
            f"{applied_at} as applied_at, {applied_by} as applied_by from {TRACKER})"
        )
    raise UserFacingError(
        f"{TRACKER} has columns ({', '.join(columns)}) init does not understand: it needs version and name, "
        "or migration_filename; rename them in a migration of your own, then run init again"
    )


def _bot_view_columns(body: str) -> list[str]:
    """The output column names of the bot's view: the ``as`` names of its first SELECT list."""
    first = re.search(r"\)\s*select\s+(.*?)\s+from\s+", body, re.IGNORECASE | re.DOTALL)
    if first is None:
        raise UserFacingError("internal: the bot's v_migration_status statement has an unexpected shape")
    return re.findall(r"\bas\s+([a-z_]+)\s*(?:,|$)", first.group(1), re.IGNORECASE)


def fit_view(statement: str, team: TeamSchema) -> str:
    match = VIEW_STATEMENT.match(statement)
    if match is None:
        return statement
    body = match.group("body").strip().rstrip(";")
    if team.tracker is not None:
        read_as = tracker_select(team.tracker)
        if read_as is not None:
            body = TOUCHES_TRACKER.sub(lambda _: read_as, body)
    if not team.view:
        return f"{match.group('lead')}create or replace view public.v_migration_status as\n{body}"
    bot_columns = _bot_view_columns(body)
    select = []
    for column in team.view:
        if column.name in bot_columns:
            select.append(f"bot.{column.name}::{column.type} as {column.name}")
        elif column.name == "success":
            select.append(f"(bot.status = 'applied')::{column.type} as success")
        elif column.name in TEAM_ALIASES:
            select.append(f"{TEAM_ALIASES[column.name]}::{column.type} as {column.name}")
        else:
            raise UserFacingError(
                f"the existing v_migration_status has a column {column.name} init does not know how to fill "
                f"(it knows {', '.join([*bot_columns, 'success', *TEAM_ALIASES])}); drop or rename it in a "
                "migration of your own, then run init again"
            )
    team_names = {c.name for c in team.view}
    select += [f"bot.{name}" for name in bot_columns if name not in team_names]
    listed = ",\n    ".join(select)
    return (
        f"{match.group('lead')}-- The existing view's columns first, in their order (CREATE OR REPLACE VIEW can\n"
        "-- only append), then the bot's.\n"
        f"create or replace view public.v_migration_status as\nselect\n    {listed}\nfrom (\n{body}\n) as bot"
    )


def fit_migration(sql: str, team: TeamSchema) -> str:
    """One bot migration fitted to the team's database (statements joined back, each ending in ``;``)."""
    out = []
    for statement in split_statements(sql):
        text = statement.text.strip()
        if VIEW_STATEMENT.match(text):
            text = fit_view(text, team)
        elif team.tracker is not None and TOUCHES_TRACKER.search(text):
            # The team's own tracker, made by the team's history in every environment: never altered, and not
            # made again (a bare CREATE ... IF NOT EXISTS would leave a copy without RLS wherever it ran first).
            continue
        out.append(text.rstrip().rstrip(";") + ";")
    return "\n\n".join(out) + "\n"
