"""The hotfix store interface, shared by the PostgREST and Postgres adapters.

Both adapters write only through the SQL functions of
supabase/migrations/20251210000000_hotfix_incidents.sql,
20251210120000_hotfix_cancel.sql and 20251214200000_hotfix_sql_secret.sql
(the REST one as ``/rest/v1/rpc/<name>``),
so they behave the same: ``declare`` is idempotent by the client-generated
id, every transition changes the row only from the states the caller checked
the rules against (``None`` back means someone changed it first), a reminder
is claimed at most once, and ``append_event`` and ``close`` carry a
client-generated event id, so a request retried after its answer was lost
stores its event once. The declared SQL is stored raw where only the service
role reads it (``declared_sql``); rows carry its redacted copy.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dragonfly_bot.core.hotfix import UNSYNCED, Actor, Hotfix, HotfixEvent, NewHotfix, Reminder
from dragonfly_bot.errors import SourceUnavailable

HOTFIX_MIGRATION = "20251210000000_hotfix_incidents.sql"
HOTFIX_CLOSE_MIGRATION = "20251210120000_hotfix_cancel.sql"  # close_hotfix, event ids
HOTFIX_SECRET_MIGRATION = "20251214200000_hotfix_sql_secret.sql"  # private SQL, settle/recheck/accept
HOTFIX_MIGRATIONS = f"supabase/migrations/{HOTFIX_MIGRATION}, {HOTFIX_CLOSE_MIGRATION} and {HOTFIX_SECRET_MIGRATION}"
UNSYNCED_STATES = tuple(sorted(s.value for s in UNSYNCED))
LIST_LIMIT = 500


class HotfixStoreDown(SourceUnavailable):
    """The store could not be reached or refused our credentials: try again later.

    A declaration that fails this way goes to the local journal; any other
    error is a real refusal and is shown to the user.
    """


class HotfixStore(Protocol):
    @property
    def description(self) -> str:
        """Where hotfixes are kept, safe to show (no secrets)."""

    async def declare(self, new: NewHotfix) -> Hotfix:
        """Store a declaration (or return the one already stored with this id)."""

    async def approve(self, hotfix_id: str, expected: Sequence[str], actor: Actor, at: datetime) -> Hotfix | None: ...

    async def declared_sql(self, hotfix_id: str) -> str | None:
        """The raw declared SQL (service role only), for the content check; None when none was declared."""

    async def link(
        self,
        hotfix_id: str,
        expected: Sequence[str],
        version: str,
        file: str,
        findings: dict,
        actor: Actor,
        at: datetime,
        content_hash: str | None = None,
    ) -> Hotfix | None: ...

    async def recheck(
        self, hotfix_id: str, expected: Sequence[str], findings: dict, content_hash: str, at: datetime
    ) -> Hotfix | None:
        """Store findings computed from another migration text; None when that text is stored already."""

    async def settle(
        self, hotfix_id: str, expected: Sequence[str], state: str, content_hash: str | None, at: datetime
    ) -> Hotfix | None:
        """Applied: ``synced`` or ``applied_with_differences``, for exactly one caller, if the hash still holds."""

    async def accept(self, hotfix_id: str, reason: str, actor: Actor, at: datetime, event_id: str) -> Hotfix | None:
        """``applied_with_differences`` -> ``synced`` by a lead; the same ``event_id`` again returns the row."""

    async def resolve(
        self, hotfix_id: str, expected: Sequence[str], review: str, actor: Actor, at: datetime
    ) -> Hotfix | None: ...

    async def close(
        self,
        hotfix_id: str,
        expected: Sequence[str],
        state: str,
        reason: str,
        actor: Actor,
        at: datetime,
        event_id: str,
    ) -> Hotfix | None:
        """Close as ``rejected`` or ``cancelled``; the same ``event_id`` again returns the closed row."""

    async def append_event(
        self, hotfix_id: str, kind: str, actor: Actor | None, detail: dict, at: datetime, event_id: str | None = None
    ) -> None:
        """Append to the timeline once per ``event_id`` (one is generated when not given)."""

    async def set_post(self, hotfix_id: str, channel_id: int, message_id: int, thread_id: int | None) -> None: ...

    async def list(self, *, state: str | None = None, environment: str | None = None) -> list[Hotfix]:
        """Newest first, at most LIST_LIMIT."""

    async def get_by_code(self, code: str) -> Hotfix | None: ...

    async def events(self, hotfix_id: str) -> builtins.list[HotfixEvent]:
        """The timeline, oldest first."""

    async def due_reminders(self, now: datetime) -> builtins.list[Hotfix]:
        """Unsynced hotfixes whose next reminder time has come."""

    async def claim_reminder(self, hotfix_id: str, reminder: Reminder, at: datetime) -> bool:
        """True for exactly one caller per (hotfix, reminder number), ever."""


def new_event_id() -> str:
    """The client-generated id that makes an event's append idempotent."""
    return str(uuid.uuid4())


def actor_args(actor: Actor | None) -> tuple[str | None, str | None]:
    if actor is None or not actor.id:
        return None, actor.name if actor else None
    return actor.id, actor.name
