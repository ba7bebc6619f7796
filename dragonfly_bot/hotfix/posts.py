"""Every hotfix post, through the bot's one durable outbox (``dragonfly_bot.chat.outbox_sender``).

Nothing here talks to Discord: it enqueues rows whose keys name the event, so
doing the same thing twice (a retry, a replay, a tick after a crash) posts
nothing new, and the outbox delivers each row exactly once:

* ``hotfix:<id>:post``: the #alerts post (with its thread). The key is the
  declaration id, known before the store gives a code, so the post of a
  journaled declaration is the same row that later shows the code;
* ``hotfix:<id>:alert:<state>:<stamp>``: an edit of that post to the current
  state (title, state, who, buttons), ordered by the outbox after earlier edits;
* ``hotfix:<id>:update:<state>:<stamp>``: what just happened, in the thread;
* ``hotfix:<id>:approval-ping:<n>``, ``hotfix:<id>:reminder:<n>``,
  ``hotfix:<id>:note:<event id>``, ``hotfix:<id>:followup[-overdue]:<id>``;
* ``hotfix:<id>:rechecked:<content hash>``: the content check of a linked
  migration's changed text (the hash names the text checked).

``<stamp>`` is the hotfix's latest transition time, so a state reached again
(a migration linked anew) is a new event. ``publish`` derives the post and
its latest edit from the stored hotfix alone; the service calls it after each
change and the periodic ``reconcile`` calls it again, which is what announces
a declaration stored by a process killed before it enqueued anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from dragonfly_bot.chat.channels import PostRef
from dragonfly_bot.chat.message import OutgoingMessage
from dragonfly_bot.core.hotfix import Hotfix, NewHotfix, Reminder
from dragonfly_bot.core.hotfix_timeline import ApprovalPing, Followup
from dragonfly_bot.errors import SourceUnavailable
from dragonfly_bot.hotfix import render_posts as render

if TYPE_CHECKING:
    from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore

log = logging.getLogger(__name__)

ALERTS = "alerts"
RECENT = timedelta(days=7)  # closed hotfixes older than this are not re-checked by reconcile


class PostQueue(Protocol):
    """What this module needs of ``dragonfly_bot.chat.outbox_sender.Outbox``."""

    async def enqueue(
        self,
        key: str,
        channel: str,
        message: Any,
        edit_of: str | None = None,
        *,
        reply_to: str | None = None,
        if_gone: Any = "drop",
        thread_name: str | None = None,
    ) -> bool: ...

    async def ref(self, key: str) -> PostRef | None: ...

    async def adopt(self, key: str, channel: str, message: OutgoingMessage, ref: PostRef) -> bool: ...


def post_key(hotfix_id: str) -> str:
    return f"hotfix:{hotfix_id}:post"


def stamp(hotfix: Hotfix) -> str:
    """The time of the hotfix's latest transition: what makes a state's edit a new event."""
    times = [hotfix.declared_at, hotfix.approved_at, hotfix.linked_at, hotfix.synced_at]
    times += [hotfix.resolved_at, hotfix.closed_at]
    return max(t for t in times if t is not None).isoformat()


class HotfixPosts:
    def __init__(
        self,
        outbox: PostQueue | None,
        store: HotfixStore,
        *,
        lead_role_id: int | None = None,
        backup_role_id: int | None = None,
    ):
        self.outbox = outbox
        self.store = store
        self.lead_role_id = lead_role_id
        self.backup_role_id = backup_role_id
        self._queued: set[str] = set()  # keys this process has enqueued (or found enqueued): not asked again

    async def _enqueue(self, key: str, message: OutgoingMessage, **options: Any) -> bool:
        """Enqueue once per process; True when the row is new in the outbox."""
        if self.outbox is None or key in self._queued:
            return False
        new = await self.outbox.enqueue(key, ALERTS, message, **options)
        self._queued.add(key)
        return new

    async def _reply(self, hotfix: Hotfix, key: str, message: OutgoingMessage) -> bool:
        # In the post's thread; if the post itself could never be made, a post of its own beats silence.
        # A post made by another bot (or before the outbox) is adopted first, so the reply finds its thread.
        if key not in self._queued:
            await self._adopt_earlier_post(hotfix)
        return await self._enqueue(key, message, reply_to=post_key(hotfix.id), if_gone="send")

    # ------------------------------------------------------------------ the #alerts post

    async def announce_pending(self, new: NewHotfix) -> bool:
        """The post of a declaration the store could not take (journaled): code pending."""
        if self.outbox is None:
            return False
        message = render.pending_message(new, lead_role_id=self.lead_role_id)
        await self._enqueue(post_key(new.id), message, thread_name=render.thread_name(None, new.summary))
        return True

    async def publish(
        self,
        hotfix: Hotfix,
        *,
        details: dict[str, str] | Callable[[], Awaitable[dict[str, str]]] | None = None,
        automatic: bool = False,
        update: OutgoingMessage | None = None,
        reconciling: bool = False,
    ) -> bool:
        """Make the #alerts post show ``hotfix`` as stored now, and say in its thread what changed.

        ``details``: rollback and impact, or how to read them (only when something is to be queued).
        ``update``: the thread message when the action knows more than the stored row (who accepted
        the differences, and why); otherwise ``render_posts.state_update``.
        ``reconciling``: a re-publish, not a change this process just made (see ``reconcile``).
        False when there is no outbox (nothing can be posted)."""
        if self.outbox is None:
            return False
        key = post_key(hotfix.id)
        where = f"{hotfix.state.value}:{stamp(hotfix)}"
        edit, news = f"hotfix:{hotfix.id}:alert:{where}", f"hotfix:{hotfix.id}:update:{where}"
        if {key, edit, news} <= self._queued:
            return True  # this process queued all of it already
        adopted = await self._adopt_earlier_post(hotfix)
        if callable(details):
            details = await details()
        message = render.alert_message(hotfix, lead_role_id=self.lead_role_id, details=details)
        name = render.thread_name(hotfix.code, hotfix.summary)
        fresh = key not in self._queued and await self._enqueue(key, message, thread_name=name)
        self._queued.add(key)
        if fresh:
            self._queued.add(edit)  # the new post shows this state already
        else:
            await self._enqueue(edit, message, edit_of=key)
        update = update or render.state_update(hotfix, automatic=automatic)
        # A re-publish that adopts an earlier post: its news was told when it happened. A change just
        # won in the store (by this bot, maybe not the one that made the post) is told now.
        if update is not None and not (adopted and reconciling):
            await self._reply(hotfix, news, update)
        self._queued.add(news)
        return True

    async def _adopt_earlier_post(self, hotfix: Hotfix) -> bool:
        """A hotfix posted before its posts went through the outbox: its post becomes the sent row
        (so it is edited, not posted again)."""
        key = post_key(hotfix.id)
        if self.outbox is None or key in self._queued or hotfix.alert_message_id is None:
            return False
        if hotfix.alert_channel_id is None:
            return False
        ref = PostRef("alerts", hotfix.alert_channel_id, hotfix.alert_message_id, hotfix.alert_thread_id)
        message = render.alert_message(hotfix, lead_role_id=self.lead_role_id)
        adopted = await self.outbox.adopt(key, ALERTS, message, ref)
        self._queued.add(key)  # the row exists now either way: edits and replies find it
        if not adopted:
            return False
        log.info("hotfix %s: its earlier #alerts post is now the outbox's row", hotfix.code)
        return True

    async def record_post(self, hotfix: Hotfix) -> None:
        """Keep where the post landed in the store too (``/hotfix show``, and other bots)."""
        if self.outbox is None or hotfix.alert_message_id is not None:
            return
        ref = await self.outbox.ref(post_key(hotfix.id))
        if ref is None:
            return
        try:
            await self.store.set_post(hotfix.id, ref.channel_id, ref.message_id, ref.thread_id)
        except SourceUnavailable as exc:
            log.warning("could not record where %s was posted: %s", hotfix.code, exc.message)

    async def reconcile(
        self,
        hotfixes: Iterable[Hotfix],
        now: datetime,
        details_for: Callable[[Hotfix], Awaitable[dict[str, str]]] | None = None,
    ) -> int:
        """Publish every open (or recently closed) hotfix again: what was lost to a crash goes out now."""
        count = 0
        for hotfix in hotfixes:
            if not hotfix.unsynced and now - datetime.fromisoformat(stamp(hotfix)) > RECENT:
                continue
            read = (lambda h=hotfix: details_for(h)) if details_for is not None else None
            await self.publish(hotfix, details=read, reconciling=True)
            await self.record_post(hotfix)
            count += 1
        return count

    # ------------------------------------------------------------------ pings and thread messages

    async def approval_ping(self, hotfix: Hotfix, ping: ApprovalPing) -> bool:
        message = render.approval_ping(hotfix, ping, lead_role_id=self.lead_role_id, backup_role_id=self.backup_role_id)
        return await self._reply(hotfix, f"hotfix:{hotfix.id}:approval-ping:{ping.number}", message)

    async def reminder(self, hotfix: Hotfix, item: Reminder, now: datetime) -> bool:
        message = render.reminder(hotfix, item, now, lead_role_id=self.lead_role_id)
        return await self._reply(hotfix, f"hotfix:{hotfix.id}:reminder:{item.number}", message)

    async def rechecked(self, hotfix: Hotfix) -> bool:
        """The findings of the linked migration's changed text, once per text (its content hash)."""
        key = f"hotfix:{hotfix.id}:rechecked:{hotfix.linked_content_hash}"
        return await self._reply(hotfix, key, render.rechecked_message(hotfix))

    async def note(self, hotfix: Hotfix, event_id: str, message: OutgoingMessage) -> bool:
        return await self._reply(hotfix, f"hotfix:{hotfix.id}:note:{event_id}", message)

    async def followup(self, hotfix: Hotfix, item: Followup, *, overdue: bool = False) -> bool:
        kind = "followup-overdue" if overdue else "followup"
        message = render.followup_message(hotfix, item, overdue=overdue)
        return await self._reply(hotfix, f"hotfix:{hotfix.id}:{kind}:{item.id}", message)
