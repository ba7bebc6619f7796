"""Direct Postgres adapter for the hotfix store (local stack, console, tests).

One short connection per operation, each operation a single call of the
migration's SQL functions, so every write is one transaction. ``role``
(e.g. ``service_role``) makes the adapter act as that role, which is how the
tests prove the migration's GRANTs are enough.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from psycopg.types.json import Jsonb

from dragonfly_bot.adapters.supabase.base import safe_url
from dragonfly_bot.adapters.supabase.hotfix_store import (
    HOTFIX_MIGRATION,
    HOTFIX_MIGRATIONS,
    LIST_LIMIT,
    UNSYNCED_STATES,
    HotfixStoreDown,
    actor_args,
    new_event_id,
)
from dragonfly_bot.adapters.supabase.postgres import call_as_role
from dragonfly_bot.core.hotfix import Actor, Hotfix, HotfixEvent, NewHotfix, Reminder, redacted_copy
from dragonfly_bot.errors import SourceUnavailable


class PostgresHotfixStore:
    def __init__(self, db_url: str, *, role: str | None = None, connect_timeout: int = 5):
        self._url = db_url
        self._role = role
        self._connect_timeout = connect_timeout

    @property
    def description(self) -> str:
        return safe_url(self._url)

    async def _rows(self, query: str, params: Sequence = ()) -> list[dict]:
        return await call_as_role(
            self._url,
            query,
            params,
            role=self._role,
            connect_timeout=self._connect_timeout,
            store="the hotfix store",
            down=HotfixStoreDown,
            missing=(
                f"the hotfix tables or functions are missing in {self.description}; they are created by "
                f"{HOTFIX_MIGRATIONS}: apply the migrations first"
            ),
            denied_advice=f"connect as the service role (see the GRANTs in {HOTFIX_MIGRATION})",
        )

    async def _hotfix(self, query: str, params: Sequence) -> Hotfix | None:
        rows = await self._rows(query, params)
        return Hotfix.from_mapping(rows[0]) if rows else None

    async def declare(self, new: NewHotfix) -> Hotfix:
        found = await self._hotfix(
            "select * from public.declare_hotfix(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s, %s, p_sql_redacted => %s)",
            (
                new.id,
                new.environment,
                new.summary,
                new.sql_text,
                new.sql_digest,
                new.declared_by_id,
                new.declared_by_name,
                new.declared_at,
                new.state.value,
                new.next_reminder_at,
                redacted_copy(new.sql_text),
            ),
        )
        if found is None:  # pragma: no cover - the function always returns the row
            raise SourceUnavailable("the hotfix store did not return the declaration it stored")
        return found

    async def approve(self, hotfix_id, expected, actor: Actor, at: datetime) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.approve_hotfix(%s::uuid, %s, %s, %s, %s)",
            (hotfix_id, list(expected), *actor_args(actor), at),
        )

    async def declared_sql(self, hotfix_id) -> str | None:
        rows = await self._rows("select public.hotfix_declared_sql(%s::uuid) as sql_text", (hotfix_id,))
        return rows[0]["sql_text"] if rows else None

    async def link(
        self, hotfix_id, expected, version, file, findings, actor: Actor, at, content_hash=None
    ) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.link_hotfix(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s)",
            (hotfix_id, list(expected), version, file, Jsonb(findings), *actor_args(actor), at, content_hash),
        )

    async def recheck(self, hotfix_id, expected, findings, content_hash, at) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.recheck_hotfix(%s::uuid, %s, %s, %s, %s)",
            (hotfix_id, list(expected), Jsonb(findings), content_hash, at),
        )

    async def settle(self, hotfix_id, expected, state, content_hash, at) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.settle_hotfix(%s::uuid, %s, %s, %s, %s)",
            (hotfix_id, list(expected), state, content_hash, at),
        )

    async def accept(self, hotfix_id, reason, actor: Actor, at, event_id) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.accept_hotfix(%s::uuid, %s, %s, %s, %s, %s::uuid)",
            (hotfix_id, reason, *actor_args(actor), at, event_id),
        )

    async def resolve(self, hotfix_id, expected, review, actor: Actor, at) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.resolve_hotfix(%s::uuid, %s, %s, %s, %s, %s)",
            (hotfix_id, list(expected), review, *actor_args(actor), at),
        )

    async def close(self, hotfix_id, expected, state, reason, actor: Actor, at, event_id) -> Hotfix | None:
        return await self._hotfix(
            "select * from public.close_hotfix(%s::uuid, %s, %s, %s, %s, %s, %s, %s::uuid)",
            (hotfix_id, list(expected), state, reason, *actor_args(actor), at, event_id),
        )

    async def append_event(self, hotfix_id, kind, actor, detail, at, event_id=None) -> None:
        await self._rows(
            "select * from public.append_hotfix_event(%s::uuid, %s, %s, %s, %s, %s, %s::uuid)",
            (hotfix_id, kind, *actor_args(actor), Jsonb(detail), at, event_id or new_event_id()),
        )

    async def set_post(self, hotfix_id, channel_id, message_id, thread_id) -> None:
        await self._rows(
            "select * from public.set_hotfix_post(%s::uuid, %s, %s, %s)", (hotfix_id, channel_id, message_id, thread_id)
        )

    async def list(self, *, state=None, environment=None) -> list[Hotfix]:
        rows = await self._rows(
            "select * from public.hotfixes where (%s::text is null or state = %s) "
            "and (%s::text is null or environment = %s) order by declared_at desc, code desc limit %s",
            (state, state, environment, environment, LIST_LIMIT),
        )
        return [Hotfix.from_mapping(r) for r in rows]

    async def get_by_code(self, code) -> Hotfix | None:
        return await self._hotfix("select * from public.hotfixes where code = %s", (code,))

    async def events(self, hotfix_id) -> builtins.list[HotfixEvent]:
        rows = await self._rows(
            "select * from public.hotfix_events where hotfix_id = %s::uuid order by at, id", (hotfix_id,)
        )
        return [HotfixEvent.from_mapping(r) for r in rows]

    async def due_reminders(self, now) -> builtins.list[Hotfix]:
        rows = await self._rows(
            "select * from public.hotfixes where next_reminder_at <= %s and state = any(%s) order by next_reminder_at",
            (now, list(UNSYNCED_STATES)),
        )
        return [Hotfix.from_mapping(r) for r in rows]

    async def claim_reminder(self, hotfix_id, reminder: Reminder, at) -> bool:
        rows = await self._rows(
            "select public.claim_hotfix_reminder(%s::uuid, %s, %s, %s, %s, %s) as claimed",
            (hotfix_id, reminder.number, reminder.recipient, reminder.due_at, reminder.next_at, at),
        )
        return bool(rows and rows[0]["claimed"])
