"""The outbox in the Supabase database (OUTBOX_STORE=database): survives the bot's machine.

Both adapters call the same SQL functions of
``supabase/migrations/20251214000000_bot_outbox.sql`` (the rows live in the
private schema ``dragonfly_private``, which only ``service_role`` can use):
``PostgresOutbox`` directly (one short connection per call, each call one
transaction), ``RestOutbox`` as ``POST /rest/v1/rpc/<function>`` with the
service-role key (the shared ``PostgrestClient``: headers, retries, errors).
The semantics are the SQLite store's (``dragonfly_bot.adapters.state.outbox``); the
contract tests run the same cases over all three.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.types.json import Jsonb

from dragonfly_bot.adapters.state.outbox import IfGone, OutboxRow, check_target
from dragonfly_bot.adapters.supabase.base import safe_url
from dragonfly_bot.adapters.supabase.postgres import call_as_role
from dragonfly_bot.adapters.supabase.rest import PostgrestClient, _postgrest_error, json_body
from dragonfly_bot.chat.channels import PostRef
from dragonfly_bot.errors import SourceUnavailable

OUTBOX_MIGRATION = "supabase/migrations/20251214000000_bot_outbox.sql"


class OutboxStoreDown(SourceUnavailable):
    """The database holding the outbox did not answer; nothing was written."""


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.timestamp()


def _row(data: Mapping[str, Any]) -> OutboxRow:
    ref = None
    if data.get("message_id") is not None:
        ref = PostRef(
            channel=data["channel"],
            channel_id=int(data["channel_id"]),
            message_id=int(data["message_id"]),
            thread_id=int(data["thread_id"]) if data.get("thread_id") is not None else None,
        )
    token = data.get("lease_token")
    return OutboxRow(
        key=data["key"],
        channel=data["channel"],
        message=dict(data["message"]),
        edit_of=data.get("edit_of"),
        reply_to=data.get("reply_to"),
        if_gone=data.get("if_gone") or "drop",
        state=data["state"],
        tag=data.get("tag"),
        attempts=int(data.get("attempts") or 0),
        attempted_at=_epoch(data.get("attempted_at")),
        lease_token=str(token) if token is not None else None,
        ref=ref,
        last_error=data.get("last_error"),
        created_at=_epoch(data.get("created_at")) or 0.0,
    )


class _Calls:
    """The store's operations, each one function call; subclasses say how a call is made."""

    async def _call(self, function: str, args: dict[str, Any]) -> list[dict]:
        raise NotImplementedError

    async def _value(self, function: str, args: dict[str, Any]) -> Any:
        rows = await self._call(function, args)
        return next(iter(rows[0].values())) if rows else None

    async def enqueue(
        self,
        key: str,
        channel: str,
        message: dict[str, Any],
        *,
        edit_of: str | None = None,
        reply_to: str | None = None,
        if_gone: IfGone = "drop",
        tag: str | None = None,
        held: bool = False,
    ) -> bool:
        check_target(edit_of, reply_to)
        args: dict[str, Any] = {"p_key": key, "p_channel": channel, "p_message": message, "p_edit_of": edit_of}
        args |= {"p_reply_to": reply_to, "p_if_gone": if_gone, "p_tag": tag, "p_held": held}
        return bool(await self._value("outbox_enqueue", args))

    async def claim(self, *, lease_seconds: float, limit: int = 20) -> list[OutboxRow]:
        rows = await self._call("outbox_claim", {"p_lease_seconds": lease_seconds, "p_limit": limit})
        return [_row(r) for r in rows]  # oldest first, as the function orders them

    async def mark_attempted(self, key: str, token: str) -> bool:
        return bool(await self._value("outbox_mark_attempted", {"p_key": key, "p_token": token}))

    async def mark_sent(self, key: str, ref: PostRef) -> None:
        args = {"p_key": key, "p_channel_id": ref.channel_id, "p_message_id": ref.message_id}
        await self._call("outbox_mark_sent", args | {"p_thread_id": ref.thread_id})

    async def mark_failed(self, key: str, token: str, error: str, *, retry_in: float | None) -> None:
        args = {"p_key": key, "p_token": token, "p_error": error, "p_retry_in": retry_in}
        await self._call("outbox_mark_failed", args)

    async def get(self, key: str) -> OutboxRow | None:
        rows = await self._call("outbox_rows", {"p_keys": [key]})
        return _row(rows[0]) if rows else None

    async def held(self, tag: str) -> list[OutboxRow]:
        return [_row(r) for r in await self._call("outbox_held", {"p_tag": tag})]

    async def fold(
        self,
        tag: str,
        key: str,
        channel: str,
        message_for: Callable[[list[OutboxRow]], dict],
        *,
        limit: int | None = None,
    ) -> list[OutboxRow]:
        rows = (await self.held(tag))[:limit]
        if not rows:
            return []
        args = {"p_tag": tag, "p_key": key, "p_channel": channel, "p_message": message_for(rows)}
        folded = await self._call("outbox_fold", args | {"p_keys": [r.key for r in rows]})
        keys = {next(iter(r.values())) for r in folded}
        return [r for r in rows if r.key in keys]

    async def count_since(self, tag: str, since: float) -> int:
        return int(await self._value("outbox_count_since", {"p_tag": tag, "p_since": since}) or 0)

    async def pending_count(self) -> int:
        return int(await self._value("outbox_pending_count", {}) or 0)

    def close(self) -> None:
        pass  # no connection is kept between calls


class PostgresOutbox(_Calls):
    def __init__(self, db_url: str, *, role: str | None = None, connect_timeout: int = 5):
        self._url = db_url
        self._role = role
        self._connect_timeout = connect_timeout

    @property
    def description(self) -> str:
        return safe_url(self._url)

    async def _call(self, function: str, args: dict[str, Any]) -> list[dict]:
        params = {k: Jsonb(v) if k == "p_message" else v for k, v in args.items()}
        named = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in params)
        query = sql.SQL("select * from public.{}({})").format(sql.Identifier(function), named)
        return await call_as_role(
            self._url,
            query,
            params,
            role=self._role,
            connect_timeout=self._connect_timeout,
            store="the outbox",
            down=OutboxStoreDown,
            missing=(
                f"the outbox functions are missing in {self.description}; {OUTBOX_MIGRATION} creates them: "
                "apply the migrations first"
            ),
            denied_advice="connect as the service role",
            missing_errors=(pg_errors.UndefinedTable, pg_errors.UndefinedFunction, pg_errors.InvalidSchemaName),
        )


class RestOutbox(PostgrestClient, _Calls):
    @property
    def description(self) -> str:
        return self._base

    async def _call(self, function: str, args: dict[str, Any]) -> list[dict]:
        url = f"{self._base}/rpc/{function}"
        response = await self._request("POST", url, unreachable=OutboxStoreDown, json=args)
        if not 200 <= response.status_code < 300:
            error = _postgrest_error(response)
            raise SourceUnavailable(
                f"the outbox at {self._base} answered HTTP {response.status_code}: "
                f"{error.get('code') or ''} {error.get('message') or 'no message'}".strip()
            )
        if response.status_code == 204 or not response.content:
            return []
        body = json_body(url, response)
        if isinstance(body, list):
            return [r if isinstance(r, dict) else {"value": r} for r in body]
        return [body if isinstance(body, dict) else {"value": body}]
