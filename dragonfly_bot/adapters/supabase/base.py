"""The status source interface and what both adapters share.

A source reads ``public.v_migration_status``: the REST adapter through
PostgREST (the protocol's path), the Postgres adapter over a direct,
read-only connection (CI, the local stack, tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.status import FEATURE_APPLIED_BY, FEATURE_FAILED, FEATURE_MODIFIED, AppliedRow
from dragonfly_bot.core.times import parse_time
from dragonfly_bot.errors import SourceUnavailable, UserFacingError

VIEW = "v_migration_status"
VIEW_MIGRATION = "20251209000000_migration_status_view.sql"
# Everything but ``statements``: those are fetched only for versions whose digest differs.
ROW_COLUMNS = (
    "source",
    "version",
    "name",
    "status",
    "executed_at",
    "applied_by",
    "statement_count",
    "statements_digest",
    "error_sqlstate",
    "error_message",
    "error_statement",
    "ci_run_url",
    "commit_sha",
)


# A team's own, older view may have only some of these; what it lacks, status cannot show.
FEATURE_COLUMNS = {
    FEATURE_FAILED: ("status", "success"),  # either one tells a failed attempt
    FEATURE_MODIFIED: ("statements_digest",),
    FEATURE_APPLIED_BY: ("applied_by",),
}
ALIASES = {"executed_at": ("applied_at",)}  # a bot column, and the names older views give it


def columns_to_read(columns: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """The view's columns status reads, and the FEATURE_* it cannot give.

    ``columns`` are the view's own (catalog, OpenAPI or one row). Only ``version`` is
    required: a view without it is not a migration status view.
    """
    have = set(columns)
    if "version" not in have:
        raise SourceUnavailable(
            f"{VIEW} has no version column (it has: {', '.join(columns) or 'no columns'}); it is not a migration "
            "status view status can read: run `dragonfly-bot init` to add the bot's view"
        )
    wanted = [c for c in ROW_COLUMNS if c in have]
    for column, others in ALIASES.items():
        if column not in have:
            wanted += [o for o in others if o in have][:1]
    if "status" not in have and "success" in have:
        wanted.append("success")
    missing = tuple(f for f, needs in FEATURE_COLUMNS.items() if not have.intersection(needs))
    return wanted, missing


def check_db_url(url: str) -> None:
    """A malformed database URL is a configuration error (exit 2), found before connecting."""
    if "://" not in url:
        if "=" in url:  # a libpq key/value string: the driver checks it
            return
        raise UserFacingError("the database URL is not valid: expected postgresql://user:password@host:5432/postgres")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise UserFacingError(
            f"the database URL is not valid ({exc}); expected postgresql://user:password@host:5432/postgres"
        ) from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise UserFacingError(
            f"the database URL must start with postgresql:// (got {parts.scheme}://); "
            "copy the connection string from the project's database settings"
        )
    if not parts.hostname and "host=" not in parts.query:
        raise UserFacingError("the database URL has no host: expected postgresql://user:password@host:5432/postgres")


class StatusSource(Protocol):
    """Reads the applied side of the status: rows, and statements on demand."""

    @property
    def description(self) -> str:
        """Where the data comes from, safe to show (no secrets)."""

    @property
    def missing_features(self) -> tuple[str, ...]:
        """After ``fetch_rows``: the FEATURE_* this database's view cannot give."""

    async def fetch_rows(self) -> list[AppliedRow]:
        """Every row of the view."""

    async def fetch_statements(self, versions: Sequence[str]) -> dict[str, list[str] | None]:
        """The applied statements of these Supabase versions."""


def row_from_mapping(data: Mapping[str, Any]) -> AppliedRow:
    """One view row (a JSON object or a dict row) as an AppliedRow."""
    count = data.get("statement_count")
    status = data.get("status")
    if status is None and data.get("success") is False:  # an older view's boolean
        status = "failed"
    return AppliedRow(
        source=str(data.get("source") or "supabase"),
        version=str(data["version"]),
        name=data.get("name"),
        status=str(status or "applied"),
        executed_at=_time_or_none(data.get("executed_at", data.get("applied_at"))),
        applied_by=data.get("applied_by"),
        statement_count=int(count) if count is not None else None,
        statements_digest=data.get("statements_digest"),
        error_sqlstate=data.get("error_sqlstate"),
        error_message=data.get("error_message"),
        error_statement=data.get("error_statement"),
        ci_run_url=data.get("ci_run_url"),
        commit_sha=data.get("commit_sha"),
    )


def _time_or_none(value: Any):
    """A view's timestamp; an older view's text that is not one reads as unknown, not as a crash."""
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        return None


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def safe_url(url: str) -> str:
    """A database URL (or key/value connection string) without its password, for
    messages and ``source`` fields: ``user:***@host`` in the authority, and a
    ``password=`` in the query string or a key/value string redacted."""
    if _url_password(url) is not None:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        url = urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, ""))
    return redact(url)


def hide_password(text: str, url: str) -> str:
    """``text`` (a driver's error about ``url``) with no trace of the URL's password.

    Besides the URL itself, libpq may quote part of a password pasted with an
    unencoded '@': it splits at the first '@' and names the rest as the host.
    """
    text = text.replace(url, safe_url(url))
    password = _url_password(url)
    if password and "@" in password:
        text = text.replace(password.split("@", 1)[1] + "@", "***@")
    return redact(text)
