"""What a hotfix is: its states, who acts on it, and its records as stored.

The rules over them (who may do what, reminders, auto-link) are in
``dragonfly_bot.core.hotfix``, which re-exports these names: import them from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dragonfly_bot.core.times import parse_time


class HotfixState(StrEnum):
    DECLARED = "declared"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    MIGRATION_LINKED = "migration_linked"
    APPLIED_WITH_DIFFERENCES = "applied_with_differences"
    SYNCED = "synced"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


# A person may (re)link while the migration is not known to carry the change: also a corrected file.
LINKABLE = (
    HotfixState.DECLARED,
    HotfixState.APPROVED,
    HotfixState.MIGRATION_LINKED,
    HotfixState.APPLIED_WITH_DIFFERENCES,
)
# Linked: the sync check compares the migration with the declared SQL and waits for it to be applied.
CHECKED = (HotfixState.MIGRATION_LINKED, HotfixState.APPLIED_WITH_DIFFERENCES)
UNSYNCED = frozenset(
    {
        HotfixState.DECLARED,
        HotfixState.AWAITING_APPROVAL,
        HotfixState.APPROVED,
        HotfixState.MIGRATION_LINKED,
        HotfixState.APPLIED_WITH_DIFFERENCES,
    }
)
CLOSED_UNSYNCED = frozenset({HotfixState.REJECTED, HotfixState.CANCELLED})


@dataclass(frozen=True)
class Actor:
    """Who asks, with the roles that matter here (the cog reads them off the member)."""

    id: str
    name: str
    can_declare: bool = False  # holds the hotfix role
    is_lead: bool = False  # holds the DevOps-lead role


SYSTEM = Actor(id="", name="dragonfly-bot")


_TIME_FIELDS = (
    "declared_at",
    "approved_at",
    "linked_at",
    "synced_at",
    "resolved_at",
    "closed_at",
    "next_reminder_at",
)


@dataclass(frozen=True)
class _Declaration:
    """What the declarer said: shared by a declaration before and after it is stored."""

    id: str
    environment: str
    summary: str
    sql_text: str | None
    sql_digest: str | None
    declared_by_id: str
    declared_by_name: str
    declared_at: datetime
    state: HotfixState

    @classmethod
    def _values(cls, row: Mapping[str, Any]) -> dict[str, Any]:
        """This class's fields from a row, a JSON object or a journal record: times and state parsed."""
        values = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        values["id"] = str(values["id"])
        values["state"] = HotfixState(values["state"])
        for key in _TIME_FIELDS:
            if key in values:
                values[key] = parse_time(values[key])
        return values


@dataclass(frozen=True)
class NewHotfix(_Declaration):
    """A declaration before the store gives it a code; the id makes storing it idempotent."""

    next_reminder_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("declared_at", "next_reminder_at"):
            data[key] = data[key].isoformat()
        data["state"] = self.state.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NewHotfix:
        return cls(**cls._values(data))


@dataclass(frozen=True)
class Hotfix(_Declaration):
    """A stored hotfix. Its ``sql_text`` is the redacted copy (the raw SQL is the store's ``declared_sql``)."""

    code: str
    approved_by_id: str | None = None
    approved_by_name: str | None = None
    approved_at: datetime | None = None
    linked_version: str | None = None
    linked_file: str | None = None
    linked_at: datetime | None = None
    link_findings: dict = field(default_factory=dict)
    linked_content_hash: str | None = None  # of the migration text the findings were computed from
    synced_at: datetime | None = None
    review: str | None = None
    resolved_by_id: str | None = None
    resolved_by_name: str | None = None
    resolved_at: datetime | None = None
    closed_reason: str | None = None  # why it was rejected or cancelled
    closed_by_id: str | None = None
    closed_by_name: str | None = None
    closed_at: datetime | None = None
    next_reminder_at: datetime | None = None
    reminders_sent: int = 0
    alert_channel_id: int | None = None
    alert_message_id: int | None = None
    alert_thread_id: int | None = None

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Hotfix:
        """From a database row (psycopg dict row or PostgREST JSON object)."""
        values = cls._values(row)
        values["link_findings"] = dict(values.get("link_findings") or {})
        return cls(**values)

    @property
    def unsynced(self) -> bool:
        return self.state in UNSYNCED

    @property
    def closed_unsynced(self) -> bool:
        """Rejected or cancelled: closed without its migration ever being applied."""
        return self.state in CLOSED_UNSYNCED

    def time_to_sync(self) -> timedelta | None:
        """How long Studio's change stayed without an applied migration."""
        return self.synced_at - self.declared_at if self.synced_at else None


@dataclass(frozen=True)
class HotfixEvent:
    at: datetime
    kind: str
    actor_id: str | None
    actor_name: str | None
    detail: dict

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> HotfixEvent:
        at = parse_time(row["at"])
        if at is None:  # the column is NOT NULL: a row without it is not an event
            raise ValueError("hotfix event without a time")
        return cls(
            at=at,
            kind=str(row["kind"]),
            actor_id=row.get("actor_id"),
            actor_name=row.get("actor_name"),
            detail=dict(row.get("detail") or {}),
        )
