"""Emergency hotfixes: states, who may do what, reminders, and auto-link detection.

Pure: the service loads a ``Hotfix`` from the store, asks a ``check_*``
function whether the actor may do the operation (each refusal is one line,
``HotfixRefused``), then asks the store to make the change from the state it
saw. Life of a hotfix (the protocol's "If You Must Hotfix"):

    dev:   declared ------------------------------> migration_linked -> synced -> resolved
    prod:  awaiting_approval -> approved ---------> migration_linked -> synced -> resolved
           migration_linked -> applied_with_differences -> synced (file fixed, or a lead accepts)
           awaiting_approval -> rejected            (a DevOps lead refused it)
           any state before synced -> cancelled     (abandoned, e.g. the SQL was never run)

``synced`` means the change is in the migration: the linked migration is
applied in the hotfix's environment AND carries what was run in Studio
(dragonfly_bot.core.hotfix_sql: every declared statement with the same values, nothing
undoing it). Applied but not carrying it is ``applied_with_differences``:
reminders go on until the file is corrected or a DevOps lead accepts the
differences (``check_accept``). ``resolved`` means the post-incident review
("why did we need a hotfix?") is written. ``rejected`` and ``cancelled``
close a hotfix that will never sync; both need a reason and stop the
reminders. Free text (summary, review, reasons) is stored redacted; the
declared SQL is stored twice: raw, readable by the service role only (the
content check needs it), and a redacted copy for display and export.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The input checks live in dragonfly_bot.core.hotfix_input; callers import them from here with the rules.
from dragonfly_bot.core.hotfix_input import (  # noqa: F401
    REVIEW_MAX,
    REVIEW_MIN,
    SQL_MAX_BYTES,
    SUMMARY_MAX,
    HotfixRefused,
    _clip,
    check_environment,
    check_review,
    check_sql,
    check_sql_file,
    check_sql_size,
    check_summary,
    decode_sql_file,
    format_code,
    normalize_code,
    redacted_copy,
    sql_digest,
)

# The states and records live in dragonfly_bot.core.hotfix_records; callers import them from here with the rules.
from dragonfly_bot.core.hotfix_records import (  # noqa: F401
    CHECKED,
    CLOSED_UNSYNCED,
    LINKABLE,
    SYSTEM,
    UNSYNCED,
    Actor,
    Hotfix,
    HotfixEvent,
    HotfixState,
    NewHotfix,
)
from dragonfly_bot.core.status import LocalMigration

LEAD_AFTER = timedelta(hours=24)

# The protocol's "If You Must Hotfix (Emergency Only)", posted with every declaration.
CHECKLIST = (
    "Document the emergency in Slack/Discord (this post)",
    "Run the SQL in Supabase Studio **for dev only**",
    "**Immediately** create the matching migration file (add `-- hotfix: {code}` to it)",
    "Commit and push so CI stays in sync",
    "Post-incident review: why did we need a hotfix? (`/hotfix resolve {code} review:...`)",
)
# Prod: the protocol's contact rule ("Notify DevOps lead before touching prod") replaces "dev only".
PROD_CHECKLIST = (
    "Document the emergency in Slack/Discord (this post)",
    "**Notify the DevOps lead before touching prod**: wait for their approval here",
    "Once approved, run the SQL in Supabase Studio and record it (`/hotfix ran {code}`)",
    *CHECKLIST[2:],
)


def checklist_for(environment: str) -> tuple[str, ...]:
    """The If You Must Hotfix steps as they apply in ``environment``."""
    return PROD_CHECKLIST if environment == "prod" else CHECKLIST


# --- Transitions -----------------------------------------------------------


def declare(
    actor: Actor,
    env: str,
    summary: str,
    sql: str | None,
    *,
    now: datetime,
    reminder_hours: float,
    hotfix_id: str | None = None,
) -> NewHotfix:
    """A checked declaration. Prod waits for a DevOps lead's approval."""
    if not (actor.can_declare or actor.is_lead):
        raise HotfixRefused("declaring a hotfix needs the hotfix role; ask a DevOps lead to add you")
    env = check_environment(env)
    text = check_summary(summary)
    sql_text = check_sql(sql)
    state = HotfixState.AWAITING_APPROVAL if env == "prod" else HotfixState.DECLARED
    return NewHotfix(
        id=hotfix_id or str(uuid.uuid4()),
        environment=env,
        summary=text,
        sql_text=sql_text,
        sql_digest=sql_digest(sql_text),
        declared_by_id=actor.id,
        declared_by_name=actor.name,
        declared_at=now,
        state=state,
        next_reminder_at=now + timedelta(hours=reminder_hours),
    )


def _refuse_if_closed(hotfix: Hotfix) -> None:
    if hotfix.state == HotfixState.RESOLVED:
        raise HotfixRefused(f"{hotfix.code} is already resolved (by {hotfix.resolved_by_name})")
    if hotfix.closed_unsynced:
        raise HotfixRefused(f"{hotfix.code} is already {hotfix.state} (by {hotfix.closed_by_name}): it is closed")


def _check_lead_decision(hotfix: Hotfix, actor: Actor, verb: str, own: str, instead: str = "") -> None:
    """Approving and rejecting alike: a prod hotfix awaiting approval, a lead who did not declare it."""
    if hotfix.environment != "prod":
        raise HotfixRefused(f"{hotfix.code} is a dev hotfix: dev hotfixes need no approval{instead}")
    _refuse_if_closed(hotfix)
    if hotfix.state != HotfixState.AWAITING_APPROVAL:
        raise HotfixRefused(f"{hotfix.code} is not awaiting approval (it is {hotfix.state}){instead}")
    if not actor.is_lead:
        raise HotfixRefused(f"only a DevOps lead can {verb} a prod hotfix")
    if actor.id == hotfix.declared_by_id:
        raise HotfixRefused(f"you declared {hotfix.code}; {own}")


def check_approve(hotfix: Hotfix, actor: Actor) -> None:
    _check_lead_decision(hotfix, actor, "approve", "another DevOps lead must approve it")


def check_link(hotfix: Hotfix, actor: Actor) -> None:
    if hotfix.state == HotfixState.AWAITING_APPROVAL:
        raise HotfixRefused(f"{hotfix.code} is awaiting a DevOps lead's approval; link its migration once approved")
    if hotfix.state not in LINKABLE:
        raise HotfixRefused(f"{hotfix.code} is already {hotfix.state}; its migration can no longer be changed")
    if actor is not SYSTEM and not (actor.can_declare or actor.is_lead or actor.id == hotfix.declared_by_id):
        raise HotfixRefused("linking a migration needs the hotfix role")


def check_resolve(hotfix: Hotfix, actor: Actor, review: str) -> str:
    _refuse_if_closed(hotfix)
    if actor.id != hotfix.declared_by_id and not actor.is_lead:
        raise HotfixRefused(f"only the declarer ({hotfix.declared_by_name}) or a DevOps lead can resolve {hotfix.code}")
    if hotfix.state != HotfixState.SYNCED:
        raise HotfixRefused(
            f"{hotfix.code} is {hotfix.state}: it can be resolved once its migration is applied in "
            f"{hotfix.environment} (synced)"
        )
    return check_review(review)


def check_accept(hotfix: Hotfix, actor: Actor, reason: str) -> str:
    """A DevOps lead accepts the differences between the migration and what was run in Studio.

    The second pair of eyes, like approving: a lead, and not the declarer.
    """
    _refuse_if_closed(hotfix)
    if hotfix.state != HotfixState.APPLIED_WITH_DIFFERENCES:
        raise HotfixRefused(
            f"{hotfix.code} is {hotfix.state}: only a hotfix whose migration is applied with differences "
            "(applied_with_differences) can have them accepted"
        )
    if not actor.is_lead:
        raise HotfixRefused(f"only a DevOps lead can accept the differences of {hotfix.code}")
    if actor.id == hotfix.declared_by_id:
        raise HotfixRefused(f"you declared {hotfix.code}; another DevOps lead must accept its differences")
    return check_review(reason, "reason", "why are the differences acceptable?")


def check_reject(hotfix: Hotfix, actor: Actor, reason: str) -> str:
    """A DevOps lead refuses a prod hotfix that awaits approval.

    Like approving, rejecting is the second pair of eyes: the declarer
    cannot reject their own hotfix (they withdraw it with cancel).
    """
    withdraw = f"to withdraw it use `/hotfix cancel {hotfix.code}`"
    _check_lead_decision(hotfix, actor, "reject", withdraw, instead="; cancel it instead")
    return check_review(reason, "reason", "why is it rejected?")


def check_cancel(hotfix: Hotfix, actor: Actor, reason: str) -> str:
    """The declarer or a DevOps lead abandons a hotfix whose migration is not applied yet."""
    _refuse_if_closed(hotfix)
    if hotfix.state == HotfixState.SYNCED:
        raise HotfixRefused(
            f"{hotfix.code} is synced (its migration is applied); close it with `/hotfix resolve {hotfix.code}`"
        )
    if actor.id != hotfix.declared_by_id and not actor.is_lead:
        raise HotfixRefused(f"only the declarer ({hotfix.declared_by_name}) or a DevOps lead can cancel {hotfix.code}")
    return check_review(reason, "reason", "why is it cancelled (e.g. the SQL was never run)?")


# --- Reminders -------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    number: int  # the n-th reminder: due at declared_at + n * interval
    recipient: str  # declarer | lead
    due_at: datetime
    next_at: datetime


def due_reminder(hotfix: Hotfix, now: datetime, reminder_hours: float) -> Reminder | None:
    """The reminder to send now, if any.

    Reminder n is due ``n * HOTFIX_REMINDER_HOURS`` after declaration: to the
    declarer, and to the lead once a day has passed. After downtime only the
    latest due reminder goes out (no burst of stale ones).
    """
    if not hotfix.unsynced:
        return None
    interval = timedelta(hours=reminder_hours)
    number = math.floor((now - hotfix.declared_at) / interval)
    if number < 1 or number <= hotfix.reminders_sent:
        return None
    due_at = hotfix.declared_at + number * interval
    recipient = "lead" if due_at - hotfix.declared_at >= LEAD_AFTER else "declarer"
    return Reminder(number, recipient, due_at, hotfix.declared_at + (number + 1) * interval)


# --- Auto-link -------------------------------------------------------------

_COMMENT_CODE = re.compile(r"--\s*hotfix\s*:\s*(HF-?\d{1,9})", re.IGNORECASE)
_FILE_CODE = re.compile(r"(?:^|[_\-.])hf[_-]?(\d{1,9})(?=$|[_\-.])", re.IGNORECASE)


def codes_in_migration(file_name: str, text: str) -> set[str]:
    """Hotfix codes a migration names: ``-- hotfix: HF-0007`` or ``hf_0007`` in the file name."""
    codes = {normalize_code(m.group(1)) for m in _COMMENT_CODE.finditer(text or "")}
    stem = file_name[:-4] if file_name.lower().endswith(".sql") else file_name
    codes |= {format_code(int(m.group(1))) for m in _FILE_CODE.finditer(stem) if int(m.group(1))}
    return codes


def carrying_migrations(hotfix: Hotfix, migrations: Sequence[LocalMigration]) -> list[LocalMigration]:
    """The migrations that carry a linked hotfix: the linked file, then later files naming its code
    (corrections), in version order. Empty when the linked file is not among ``migrations``."""
    linked = next((m for m in migrations if m.file == hotfix.linked_file), None)
    if linked is None:
        return []
    later = []
    for m in migrations:
        if m.version <= linked.version:
            continue
        try:
            if hotfix.code in codes_in_migration(m.file, m.sql):
                later.append(m)
        except HotfixRefused:  # a malformed code in a comment names no hotfix
            continue
    return sorted([linked, *later], key=lambda m: m.version)


def format_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"
