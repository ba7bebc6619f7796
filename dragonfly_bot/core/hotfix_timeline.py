"""The hotfix timeline beyond the lifecycle: notes, "the SQL was run", follow-ups, approval pings.

Pure rules (no I/O): what a note, a run time or a follow-up may be, how they
are kept as ``hotfix_events`` (``kind`` + ``detail``), and when a prod hotfix
awaiting approval is due its next re-ping.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dragonfly_bot.core.hotfix import Hotfix, HotfixEvent, HotfixRefused, HotfixState, check_sql

# Event kinds (hotfix_events.kind is free text; these are the ones this module writes).
NOTE = "note"
SQL_RAN = "sql_ran"
DETAILS = "declaration_detail"  # rollback SQL and impact given at declaration
FOLLOWUP = "followup"

NOTE_MAX = 1_500
IMPACT_MAX = 500
FOLLOWUP_MAX = 300


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    text = " ".join((value or "").split()) if what != "note" else (value or "").strip()
    if not text:
        if required:
            raise HotfixRefused(f"the {what} is empty: write what happened")
        return None
    if len(text) > limit:
        raise HotfixRefused(f"the {what} is {len(text):,} characters; keep it to {limit:,}")
    return text


def check_note(text: str) -> str:
    found = _text(text, "note", NOTE_MAX)
    assert found is not None
    return found


def check_details(rollback: str | None, impact: str | None) -> dict[str, str]:
    """The declaration's optional rollback SQL and impact, as an event detail ({} when neither)."""
    detail: dict[str, str] = {}
    sql = check_sql(rollback)
    if sql:
        detail["rollback"] = sql
    text = _text(impact, "impact", IMPACT_MAX, required=False)
    if text:
        detail["impact"] = text
    return detail


_AGO = re.compile(r"^\s*(\d{1,4})\s*(m|min|mins|minutes?|h|hours?)\s+ago\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(?:utc|z)?\s*$", re.IGNORECASE)


def parse_ran_at(text: str | None, now: datetime) -> datetime:
    """When the SQL was run in Studio: empty or ``now``; ``HH:MM`` (UTC, today); ``45m ago``/``2h ago``;
    ``YYYY-MM-DD HH:MM`` (UTC) or ISO 8601. Never in the future."""
    value = (text or "").strip()
    if not value or value.lower() == "now":
        return now
    found: datetime | None = None
    if ago := _AGO.match(value):
        amount, unit = int(ago[1]), ago[2].lower()
        found = now - (timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount))
    elif clock := _CLOCK.match(value):
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            raise HotfixRefused(f"`{value[:40]}` is not a time of day; use HH:MM (UTC)")
        found = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    else:
        try:
            found = datetime.fromisoformat(value.replace(" UTC", "").replace("Z", "+00:00"))
        except ValueError:
            raise HotfixRefused(
                f"`{value[:40]}` is not a time; use HH:MM (UTC, today), `45m ago`, or YYYY-MM-DD HH:MM"
            ) from None
        if found.tzinfo is None:
            found = found.replace(tzinfo=UTC)
    if found > now + timedelta(minutes=1):
        raise HotfixRefused(f"{found:%Y-%m-%d %H:%M} UTC is in the future; say when the SQL was run")
    return found


def parse_due(text: str, today: date) -> date:
    value = (text or "").strip()
    try:
        due = date.fromisoformat(value)
    except ValueError:
        raise HotfixRefused(f"`{value[:40]}` is not a date; give the due date as YYYY-MM-DD") from None
    if due < today:
        raise HotfixRefused(f"{due.isoformat()} is in the past; give a due date from today on")
    return due


def check_followup(text: str) -> str:
    found = _text(text, "follow-up", FOLLOWUP_MAX)
    assert found is not None
    return found


@dataclass(frozen=True)
class Followup:
    id: str
    text: str
    owner_id: str | None
    owner_name: str
    due: date
    added_by: str | None
    added_at: datetime

    def overdue(self, now: datetime) -> bool:
        return now.date() > self.due

    @classmethod
    def new(cls, text: str, owner_id: str | None, owner_name: str, due: date, by: str, at: datetime) -> Followup:
        return cls(str(uuid.uuid4()), text, owner_id, owner_name, due, by, at)

    def to_detail(self) -> dict[str, str | None]:
        return {
            "followup_id": self.id,
            "text": self.text,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "due": self.due.isoformat(),
        }


def followups(events: Sequence[HotfixEvent]) -> list[Followup]:
    """The follow-ups on a timeline, in the order they were added (malformed details skipped)."""
    found = []
    for event in events:
        if event.kind != FOLLOWUP:
            continue
        detail = event.detail
        try:
            due = date.fromisoformat(str(detail["due"]))
            found.append(
                Followup(
                    id=str(detail["followup_id"]),
                    text=str(detail.get("text") or ""),
                    owner_id=detail.get("owner_id"),
                    owner_name=str(detail.get("owner_name") or "?"),
                    due=due,
                    added_by=event.actor_name,
                    added_at=event.at,
                )
            )
        except (KeyError, ValueError):
            continue
    return found


def details_of(events: Sequence[HotfixEvent]) -> dict[str, str]:
    """Rollback SQL and impact from the declaration-detail event (the latest wins)."""
    merged: dict[str, str] = {}
    for event in events:
        if event.kind == DETAILS:
            merged.update({k: str(v) for k, v in event.detail.items() if k in ("rollback", "impact") and v})
    return merged


@dataclass(frozen=True)
class ApprovalPing:
    number: int  # the n-th re-ping: due at declared_at + n * interval
    escalated: bool  # the backup role is pinged too
    waited: timedelta


def due_approval_ping(
    hotfix: Hotfix, now: datetime, *, every_minutes: float, escalate_minutes: float
) -> ApprovalPing | None:
    """The re-ping a prod hotfix awaiting approval is due now (the latest one; after downtime the
    missed ones are not sent in a burst), or None."""
    if hotfix.state != HotfixState.AWAITING_APPROVAL:
        return None
    waited = now - hotfix.declared_at
    number = math.floor(waited / timedelta(minutes=every_minutes))
    if number < 1:
        return None
    due_after = timedelta(minutes=every_minutes) * number
    return ApprovalPing(number, due_after >= timedelta(minutes=escalate_minutes), waited)
