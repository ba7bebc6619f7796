"""The one sender of the bot's posts: outbox rows in, Discord messages out, each exactly once.

Features call ``Outbox.enqueue(key, channel, message, edit_of=...)`` with an
``OutgoingMessage`` or a neutral message (``dragonfly_bot.chat.outbox_message.post``
builds one) and an idempotency key naming the
event; the row is durable before anything is sent (``dragonfly_bot.adapters.state.outbox``).
``Outbox.run`` claims rows with a lease and sends them through the
``ChannelPoster``:

* a new post carries a nonce derived from its key, and Discord (``enforce_nonce``,
  which discord.py sets with every nonce) returns the existing message instead of
  posting twice when the same nonce comes again within a few minutes;
* a row whose earlier send has an unknown outcome (the process died, or the
  call failed mid-way) and is older than that window is first looked for in the
  channel (``ChannelPoster.find_sent``): found, it is marked sent, not re-posted;
* edits name the message by id, so repeating one is harmless;
* 429 and 5xx answers (after discord.py's own retries), timeouts and
  connection errors are retried with backoff; other 4xx answers are final
  and logged; an edit of a deleted message is dropped, or posted anew
  (``if_gone="send"``).

The message a row holds: ``dragonfly_bot.chat.outbox_message``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import discord
from discord.ext import tasks

from dragonfly_bot.adapters.state.outbox import IfGone, OutboxRow, OutboxStore
from dragonfly_bot.chat.channels import ChannelKey, ChannelPoster, PostRef
from dragonfly_bot.chat.discord_message import ButtonFactory, to_embeds, to_files, to_mentions, to_view
from dragonfly_bot.chat.message import OutgoingMessage
from dragonfly_bot.chat.outbox_message import (
    OUTGOING,
    embed_of,
    files_of,
    mentions_of,
    outgoing_from_json,
    outgoing_to_json,
)
from dragonfly_bot.core.redact import redact
from dragonfly_bot.errors import UserFacingError

log = logging.getLogger(__name__)

# Discord checks a nonce "for uniqueness in the past few minutes": within this
# many seconds a repeated send is safe; past it, the message is looked for first.
NONCE_WINDOW_SECONDS = 120.0
LEASE_SECONDS = 300.0
POLL_SECONDS = 5.0
MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 300.0

ViewFactory = Callable[[Mapping[str, Any]], discord.ui.View]


# --------------------------------------------------------------------------- the outbox


def _channel(name: str) -> ChannelKey:
    return cast(ChannelKey, name)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, discord.HTTPException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (OSError, asyncio.TimeoutError, UserFacingError)) or not isinstance(
        exc, discord.DiscordException
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        return exc.message
    if isinstance(exc, discord.HTTPException):
        return redact(f"Discord answered {exc.status} ({exc.code}): {exc.text}")[:300]
    return redact(f"{type(exc).__name__}: {exc}")[:300]


class Outbox:
    """Features enqueue; ``run`` (one task per process) delivers. See the module doc."""

    def __init__(
        self,
        store: OutboxStore,
        poster: ChannelPoster,
        *,
        lease_seconds: float = LEASE_SECONDS,
        nonce_window: float = NONCE_WINDOW_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
        views: Mapping[str, ViewFactory] | None = None,
    ):
        self.store = store
        self.poster = poster
        self.lease_seconds = lease_seconds
        self.nonce_window = nonce_window
        self.poll_seconds = poll_seconds
        self._clock = clock
        self.views: dict[str, ViewFactory] = dict(views or {})
        self.buttons: list[tuple[re.Pattern[str], ButtonFactory]] = []
        # A pass every poll_seconds (retries, leases that ran out) and one right after each enqueue.
        self._periodic = tasks.loop(seconds=poll_seconds, name="outbox-sender")(self._pass)
        self._kick_task: asyncio.Task | None = None
        self._again = False
        self._running = False
        self._pass_lock = asyncio.Lock()
        # Test hook (the kill -9 test): called with (point, row) at each step of a delivery.
        self.on_step: Callable[[str, OutboxRow], None] | None = None

    # -- what features call -------------------------------------------------

    async def enqueue(
        self,
        key: str,
        channel: str,
        message: Mapping[str, Any] | OutgoingMessage,
        edit_of: str | None = None,
        *,
        reply_to: str | None = None,
        if_gone: IfGone = "drop",
        tag: str | None = None,
        held: bool = False,
        thread_name: str | None = None,
    ) -> bool:
        """Durably queue one post (True when ``key`` was new); the sender is woken.

        ``message``: an ``OutgoingMessage`` (dragonfly_bot.chat.message), or the neutral dict ``post()`` builds;
        ``thread_name``: open a thread on the new post.
        """
        data = outgoing_to_json(message) if isinstance(message, OutgoingMessage) else dict(message)
        if thread_name:
            data["thread_name"] = thread_name
        new = await self.store.enqueue(
            key, channel, data, edit_of=edit_of, reply_to=reply_to, if_gone=if_gone, tag=tag, held=held
        )
        self._kick()
        return new

    async def ref(self, key: str) -> PostRef | None:
        """Where the row's message is (for an edit: the edited message), once sent."""
        row = await self.store.get(key)
        return row.ref if row is not None else None

    async def adopt(self, key: str, channel: str, message: OutgoingMessage, ref: PostRef) -> bool:
        """Take a message posted before its feature used the outbox as row ``key``, already sent
        (so later edits and replies find it); False when ``key`` exists. The sender is not woken
        in between, so the row is never sent."""
        if not await self.store.enqueue(key, channel, outgoing_to_json(message)):
            return False
        await self.store.mark_sent(key, ref)
        return True

    def register_view(self, kind: str, factory: ViewFactory) -> None:
        self.views[kind] = factory

    def register_button(self, pattern: re.Pattern[str], factory: ButtonFactory) -> None:
        """Buttons of OutgoingMessages whose custom_id fully matches ``pattern`` are made by ``factory``
        (the feature's persistent item, so a press works wherever the view is used, the console too)."""
        self.buttons.append((pattern, factory))

    # -- the sender -----------------------------------------------------------

    def start(self) -> None:
        """Deliver in the background from now on (one sender per process)."""
        self._running = True
        if not self._periodic.is_running():
            self._periodic.start()
        self._kick()

    async def close(self) -> None:
        """Stop sending; what is pending stays in the store for the next start."""
        self._running = False
        self._periodic.cancel()
        if self._kick_task is not None:
            self._kick_task.cancel()
            await asyncio.gather(self._kick_task, return_exceptions=True)
            self._kick_task = None

    def _kick(self) -> None:
        if not self._running:
            return
        self._again = True
        if self._kick_task is None or self._kick_task.done():
            self._kick_task = asyncio.create_task(self._kicked(), name="outbox-kick")

    async def _kicked(self) -> None:
        while self._again:
            self._again = False
            await self._pass()

    async def _pass(self) -> None:
        """Deliver everything sendable now; a store outage or a bad row never escapes."""
        try:
            async with self._pass_lock:
                while await self.deliver_pending():
                    pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox pass failed (%s); the next pass retries", _describe(exc))

    async def deliver_pending(self, limit: int = 20) -> int:
        """One pass: claim what is sendable now and deliver it in order; the number of rows handled."""
        rows = await self.store.claim(lease_seconds=self.lease_seconds, limit=limit)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def drain(self, max_passes: int = 100) -> None:
        """Deliver until nothing is sendable now (tests, shutdown)."""
        for _ in range(max_passes):
            if not await self.deliver_pending():
                return

    def _step(self, point: str, row: OutboxRow) -> None:
        if self.on_step is not None:
            self.on_step(point, row)

    async def _deliver(self, row: OutboxRow) -> None:
        assert row.lease_token is not None
        earlier_attempt = row.attempted_at
        if not await self.store.mark_attempted(row.key, row.lease_token):
            return  # the lease ran out and someone else holds the row now
        self._step("before-send", row)
        try:
            ref = await self._send(row, earlier_attempt)
        except Exception as exc:
            await self._failed(row, exc)
            return
        if ref is None:
            return
        self._step("after-send", row)
        await self.store.mark_sent(row.key, ref)
        self._step("after-mark", row)

    async def _failed(self, row: OutboxRow, exc: BaseException) -> None:
        assert row.lease_token is not None
        attempts = row.attempts + 1
        reason = _describe(exc)
        if _transient(exc) and attempts < MAX_ATTEMPTS:
            retry_in = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 10))
            log.warning("post %s not delivered (%s); retry %d in %.0fs", row.key, reason, attempts, retry_in)
            await self.store.mark_failed(row.key, row.lease_token, reason, retry_in=retry_in)
        else:
            log.error("post %s given up after %d attempt(s): %s", row.key, attempts, reason)
            await self.store.mark_failed(row.key, row.lease_token, reason, retry_in=None)

    def _kwargs(self, message: Mapping[str, Any]) -> dict[str, Any]:
        if OUTGOING in message:  # compose's one translation to discord objects
            outgoing = outgoing_from_json(message)
            return {
                "content": outgoing.content,
                "embeds": to_embeds(outgoing),
                "allowed_mentions": to_mentions(outgoing.pings),
            }
        kwargs: dict[str, Any] = {
            "content": message.get("content"),
            "embeds": [embed_of(e) for e in message.get("embeds", ())],
            "allowed_mentions": mentions_of(message),
        }
        return kwargs

    def _view(self, message: Mapping[str, Any]) -> discord.ui.View | None:
        if OUTGOING in message:
            return to_view(outgoing_from_json(message), self.buttons)
        spec = message.get("view")
        if not spec:
            return None
        factory = self.views.get(str(spec.get("kind")))
        if factory is None:
            log.warning("no view registered for %r: posting without its buttons", spec.get("kind"))
            return None
        return factory(spec)

    async def _send(self, row: OutboxRow, earlier_attempt: float | None) -> PostRef | None:
        message = row.message
        target = await self.store.get(row.target) if row.target else None
        if row.target and (target is None or target.ref is None):
            if row.if_gone == "drop":
                await self._drop(row, f"{row.target} was never posted")
                return None
        elif row.edit_of and target is not None and target.ref is not None:
            kwargs = self._kwargs(message)
            try:
                # The whole message: text, cards and buttons (none: they go); an edit that brings
                # files replaces the post's attachments (a re-run's alert carries its own log
                # excerpt), one without keeps what the post has.
                if OUTGOING in message:
                    await self.poster.edit_post(target.ref, outgoing_from_json(message))
                else:
                    files = files_of(message)
                    extra: dict[str, Any] = {"files": files} if files else {}
                    await self.poster.edit(target.ref, content=kwargs["content"], embeds=kwargs["embeds"], **extra)
            except discord.NotFound:
                if row.if_gone == "drop":
                    await self._drop(row, f"the message of {row.edit_of} was deleted")
                    return None
            else:
                return target.ref
        elif row.reply_to and target is not None and target.ref is not None:
            kwargs = self._kwargs(message)
            return await self.poster.reply(target.ref, nonce=row.nonce, **kwargs)
        return await self._post_new(row, earlier_attempt)

    async def _post_new(self, row: OutboxRow, earlier_attempt: float | None) -> PostRef:
        message = row.message
        kwargs = self._kwargs(message)
        if earlier_attempt is not None and self._clock() - earlier_attempt >= self.nonce_window:
            # The nonce no longer protects us: was the earlier attempt posted after all?
            found = await self.poster.find_sent(
                _channel(row.channel),
                nonce=row.nonce,
                since=earlier_attempt,
                content=kwargs["content"],
                embeds=kwargs["embeds"],
            )
            if found is not None:
                log.info("post %s was delivered by an earlier attempt; not posting it again", row.key)
                return found
        return await self.poster.send(
            _channel(row.channel),
            content=kwargs["content"],
            embeds=kwargs["embeds"],
            allowed_mentions=kwargs["allowed_mentions"],
            files=to_files(outgoing_from_json(message)) if OUTGOING in message else files_of(message),
            thread_name=message.get("thread_name"),
            view=self._view(message),
            nonce=row.nonce,
        )

    async def _drop(self, row: OutboxRow, why: str) -> None:
        assert row.lease_token is not None
        log.warning("post %s dropped: %s", row.key, why)
        await self.store.mark_failed(row.key, row.lease_token, why, retry_in=None)
