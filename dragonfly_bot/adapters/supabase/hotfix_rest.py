"""PostgREST adapter for the hotfix store (production: the protocol's REST path).

Writes are ``POST /rest/v1/rpc/<function>`` with named arguments; reads are
plain table GETs with PostgREST filters. Headers (the service-role key as
``apikey`` and bearer token), retries (5xx, 429, connection failures) and
JSON reading come from ``PostgrestClient``, shared with the status source;
what is still failing after the retries is ``HotfixStoreDown`` (so a
declaration goes to the journal), and every other answer becomes one line
quoting PostgREST's code and message.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import httpx

from dragonfly_bot.adapters.supabase.hotfix_store import (
    HOTFIX_MIGRATION,
    HOTFIX_MIGRATIONS,
    LIST_LIMIT,
    UNSYNCED_STATES,
    HotfixStoreDown,
    actor_args,
    new_event_id,
)
from dragonfly_bot.adapters.supabase.rest import RETRY_STATUSES, PostgrestClient, _postgrest_error, json_body, json_rows
from dragonfly_bot.core.hotfix import Actor, Hotfix, HotfixEvent, NewHotfix, Reminder, redacted_copy
from dragonfly_bot.core.redact import redact
from dragonfly_bot.errors import SourceUnavailable


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class RestHotfixStore(PostgrestClient):
    @property
    def description(self) -> str:
        return self._base

    async def _call(self, method: str, path: str, *, params=None, body=None) -> Any:
        url = f"{self._base}/{path}"
        response = await self._request(method, url, unreachable=HotfixStoreDown, params=params, json=body)
        if 200 <= response.status_code < 300:
            return json_body(url, response)
        raise _error(url, response)

    async def _rpc(self, function: str, args: dict) -> Any:
        return await self._call("POST", f"rpc/{function}", body=args)

    async def _hotfix(self, function: str, args: dict) -> Hotfix | None:
        rows = await self._rpc(function, args)
        if isinstance(rows, dict):  # a function returning one row, if ever declared so
            rows = [rows]
        return Hotfix.from_mapping(rows[0]) if rows else None

    async def declare(self, new: NewHotfix) -> Hotfix:
        found = await self._hotfix(
            "declare_hotfix",
            {
                "p_id": new.id,
                "p_environment": new.environment,
                "p_summary": new.summary,
                "p_sql_text": new.sql_text,
                "p_sql_digest": new.sql_digest,
                "p_declared_by_id": new.declared_by_id,
                "p_declared_by_name": new.declared_by_name,
                "p_declared_at": _iso(new.declared_at),
                "p_state": new.state.value,
                "p_next_reminder_at": _iso(new.next_reminder_at),
                "p_sql_redacted": redacted_copy(new.sql_text),
            },
        )
        if found is None:
            raise SourceUnavailable("the hotfix store did not return the declaration it stored")
        return found

    async def approve(self, hotfix_id, expected, actor: Actor, at) -> Hotfix | None:
        actor_id, actor_name = actor_args(actor)
        return await self._hotfix(
            "approve_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_at": _iso(at),
            },
        )

    async def declared_sql(self, hotfix_id) -> str | None:
        found = await self._rpc("hotfix_declared_sql", {"p_id": hotfix_id})
        return found if isinstance(found, str) else None

    async def link(
        self, hotfix_id, expected, version, file, findings, actor: Actor, at, content_hash=None
    ) -> Hotfix | None:
        actor_id, actor_name = actor_args(actor)
        return await self._hotfix(
            "link_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_version": version,
                "p_file": file,
                "p_findings": findings,
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_at": _iso(at),
                "p_content_hash": content_hash,
            },
        )

    async def recheck(self, hotfix_id, expected, findings, content_hash, at) -> Hotfix | None:
        return await self._hotfix(
            "recheck_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_findings": findings,
                "p_content_hash": content_hash,
                "p_at": _iso(at),
            },
        )

    async def settle(self, hotfix_id, expected, state, content_hash, at) -> Hotfix | None:
        return await self._hotfix(
            "settle_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_state": state,
                "p_content_hash": content_hash,
                "p_at": _iso(at),
            },
        )

    async def accept(self, hotfix_id, reason, actor: Actor, at, event_id) -> Hotfix | None:
        actor_id, actor_name = actor_args(actor)
        return await self._hotfix(
            "accept_hotfix",
            {
                "p_id": hotfix_id,
                "p_reason": reason,
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_at": _iso(at),
                "p_event_id": event_id,
            },
        )

    async def resolve(self, hotfix_id, expected, review, actor: Actor, at) -> Hotfix | None:
        actor_id, actor_name = actor_args(actor)
        return await self._hotfix(
            "resolve_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_review": review,
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_at": _iso(at),
            },
        )

    async def close(self, hotfix_id, expected, state, reason, actor: Actor, at, event_id) -> Hotfix | None:
        actor_id, actor_name = actor_args(actor)
        return await self._hotfix(
            "close_hotfix",
            {
                "p_id": hotfix_id,
                "p_expected": list(expected),
                "p_state": state,
                "p_reason": reason,
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_at": _iso(at),
                "p_event_id": event_id,
            },
        )

    async def append_event(self, hotfix_id, kind, actor, detail, at, event_id=None) -> None:
        # The id is fixed before the first attempt, so every retry of this request carries the same one.
        actor_id, actor_name = actor_args(actor)
        await self._rpc(
            "append_hotfix_event",
            {
                "p_id": hotfix_id,
                "p_kind": kind,
                "p_actor_id": actor_id,
                "p_actor_name": actor_name,
                "p_detail": detail,
                "p_at": _iso(at),
                "p_event_id": event_id or new_event_id(),
            },
        )

    async def set_post(self, hotfix_id, channel_id, message_id, thread_id) -> None:
        await self._rpc(
            "set_hotfix_post",
            {
                "p_id": hotfix_id,
                "p_channel_id": channel_id,
                "p_message_id": message_id,
                "p_thread_id": thread_id,
            },
        )

    async def _select(self, table: str, filters: dict[str, str], order: str) -> list[dict]:
        params = {"select": "*", **filters, "order": order, "limit": str(LIST_LIMIT)}
        return json_rows(f"{self._base}/{table}", await self._call("GET", table, params=params))

    async def list(self, *, state=None, environment=None) -> list[Hotfix]:
        filters = {}
        if state:
            filters["state"] = f"eq.{state}"
        if environment:
            filters["environment"] = f"eq.{environment}"
        rows = await self._select("hotfixes", filters, "declared_at.desc,code.desc")
        return [Hotfix.from_mapping(r) for r in rows]

    async def get_by_code(self, code) -> Hotfix | None:
        rows = await self._select("hotfixes", {"code": f"eq.{code}"}, "code.asc")
        return Hotfix.from_mapping(rows[0]) if rows else None

    async def events(self, hotfix_id) -> builtins.list[HotfixEvent]:
        rows = await self._select("hotfix_events", {"hotfix_id": f"eq.{hotfix_id}"}, "at.asc,id.asc")
        return [HotfixEvent.from_mapping(r) for r in rows]

    async def due_reminders(self, now) -> builtins.list[Hotfix]:
        filters = {"next_reminder_at": f"lte.{_iso(now)}", "state": f"in.({','.join(UNSYNCED_STATES)})"}
        rows = await self._select("hotfixes", filters, "next_reminder_at.asc")
        return [Hotfix.from_mapping(r) for r in rows]

    async def claim_reminder(self, hotfix_id, reminder: Reminder, at) -> bool:
        claimed = await self._rpc(
            "claim_hotfix_reminder",
            {
                "p_id": hotfix_id,
                "p_number": reminder.number,
                "p_recipient": reminder.recipient,
                "p_due_at": _iso(reminder.due_at),
                "p_next_reminder_at": _iso(reminder.next_at),
                "p_at": _iso(at),
            },
        )
        return claimed is True


def _error(url: str, response: httpx.Response) -> SourceUnavailable:
    """One line from a PostgREST error: ``{code, message, details, hint}``."""
    status = response.status_code
    body = _postgrest_error(response)
    code = str(body.get("code") or "")
    parts = [redact(str(body.get(k)).strip()[:500]) for k in ("message", "details", "hint") if body.get(k)]
    said = f" (PostgREST {code}: {'; '.join(parts)})" if code else f" ({'; '.join(parts)})" if parts else ""
    if status in RETRY_STATUSES:
        return HotfixStoreDown(f"{url} answered HTTP {status}{said}; the hotfix store is unavailable, try again")
    if status in (401, 403) and code != "42501":
        return HotfixStoreDown(
            f"{url} refused the key (HTTP {status}){said}; check SUPABASE_<ENV>_SERVICE_ROLE_KEY for the "
            "hotfix store's environment"
        )
    if code == "42501":
        return SourceUnavailable(
            f"{url}: permission denied{said}; use the service-role key and check the GRANTs in {HOTFIX_MIGRATION}"
        )
    if status == 404 or code in ("PGRST202", "PGRST205", "42P01", "42883"):
        return SourceUnavailable(
            f"the hotfix tables or functions are not deployed at {url}{said}; they are created by "
            f"{HOTFIX_MIGRATIONS}: push them so CI applies them"
        )
    return SourceUnavailable(f"{url} answered HTTP {status}{said}")
