"""The hotfix service's periodic work: one ``tick`` every few minutes (and after each console command).

Each step fails alone. Every post it makes is an outbox row keyed by its
event (``dragonfly_bot.hotfix.posts``), enqueued *before* the store records that it was
made (reminders: ``claim_reminder`` after the enqueue), so a crash in between
makes the next tick enqueue the same key again, which is a no-op: each post
goes out exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStoreDown
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core import hotfix_timeline as timeline
from dragonfly_bot.core.hotfix import SYSTEM, Actor, Hotfix, HotfixRefused, HotfixState
from dragonfly_bot.core.status import LocalMigration, State, StatusReport
from dragonfly_bot.errors import SourceUnavailable, UserFacingError
from dragonfly_bot.hotfix.content_sync import ContentSync

if TYPE_CHECKING:
    from dragonfly_bot.adapters.state.journal import HotfixJournal
    from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore
    from dragonfly_bot.hotfix.posts import HotfixPosts
    from dragonfly_bot.status.service import MigrationFiles

log = logging.getLogger("dragonfly_bot.hotfix.service")  # part of the service: one logger for its tick

# States in which the migration is in the database, whatever the local file says.
APPLIED_STATES = frozenset({State.APPLIED, State.UNVERIFIABLE, State.MODIFIED, State.MISSING_LOCAL})
FOLLOWUP_CHECK = timedelta(hours=1)


@dataclass(frozen=True)
class TickReport:
    replayed: int = 0
    linked: int = 0
    synced: int = 0
    reminders: int = 0
    approval_pings: int = 0
    followups_overdue: int = 0
    published: int = 0


class FollowThrough(ContentSync):
    """Mixed into ``HotfixService``, which sets these attributes."""

    store: HotfixStore
    journal: HotfixJournal
    posts: HotfixPosts
    read_status: Callable[[str], Awaitable[StatusReport]]
    migration_files: MigrationFiles
    reminder_hours: float
    approval_ping_minutes: float
    approval_escalate_minutes: float
    now: Callable[[], datetime]
    _skipped: dict[str, str]

    _followups_checked: datetime | None = None

    if TYPE_CHECKING:  # HotfixService's own methods, declared here for the type checker only

        async def _details(self, hotfix: Hotfix) -> dict[str, str]: ...

        async def _link(self, hotfix: Hotfix, actor: Actor, migration: LocalMigration) -> Hotfix: ...

    async def tick(self) -> TickReport:
        """Replay the journal, auto-link, sync, remind, re-ping, re-publish. Each step fails alone."""
        counts = {}
        steps: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
            ("replayed", self.replay_journal),
            ("linked", self.auto_link),
            ("synced", self.sync_check),
            ("reminders", self.send_due_reminders),
            ("approval_pings", self.send_approval_pings),
            ("followups_overdue", self.remind_overdue_followups),
            ("published", self.republish),
        )
        for name, step in steps:
            try:
                counts[name] = await step()
                self._skipped.pop(name, None)
            except UserFacingError as exc:  # store down, or an environment not configured
                repeated = self._skipped.get(name) == exc.message
                log.log(logging.DEBUG if repeated else logging.WARNING, "hotfix %s step skipped: %s", name, exc.message)
                self._skipped[name] = exc.message
                counts[name] = 0
            except Exception:
                log.exception("hotfix %s step failed", name)
                counts[name] = 0
        return TickReport(**counts)

    async def replay_journal(self) -> int:
        """Store what the journal holds; each becomes its (already queued) post's hotfix."""
        stored = 0
        pending = await self.journal.pending()
        for new in pending:
            try:
                hotfix = await self.store.declare(new)
            except HotfixStoreDown as exc:
                log.debug("journal replay waits: %s", exc)
                return stored  # still down: try again next tick
            except SourceUnavailable as exc:
                log.error("journaled declaration %s refused by the store: %s", new.id, exc.message)
                continue
            await self.journal.mark_done(new.id)
            stored += 1
            await self._publish(hotfix)
            await self.posts.record_post(hotfix)
        if stored:  # the stored declarations' SQL leaves the journal now, not once every other one is stored
            await self.journal.compact()
        return stored

    async def _scan_migrations(self) -> dict[str, LocalMigration]:
        """code -> the migration naming that hotfix (first by version wins)."""
        found: dict[str, LocalMigration] = {}
        for migration in (await self.migration_files.read()).migrations:
            try:
                codes = rules.codes_in_migration(migration.file, migration.sql)
            except HotfixRefused:
                continue
            for code in codes:
                found.setdefault(code, migration)
        return found

    async def auto_link(self) -> int:
        named = await self._scan_migrations()
        linked = 0
        for code, migration in named.items():
            hotfix = await self.store.get_by_code(code)
            if hotfix is None or hotfix.state not in (HotfixState.DECLARED, HotfixState.APPROVED):
                continue  # unknown, not approved yet, or already linked (a person's link wins)
            try:
                await self._link(hotfix, SYSTEM, migration)
                linked += 1
            except UserFacingError as exc:
                log.info("auto-link of %s skipped: %s", code, exc.message)
        return linked

    async def sync_check(self) -> int:
        """Linked hotfixes: check the migration's content again when it changed, and settle applied ones.

        Synced only when every migration carrying the hotfix is applied AND carries what was run in
        Studio; applied with differences otherwise (``dragonfly_bot.hotfix.content_sync``).
        """
        waiting = [h for state in rules.CHECKED for h in await self.store.list(state=state.value)]
        if not waiting:
            return 0
        migrations = (await self.migration_files.read()).migrations
        synced = 0
        for env in sorted({h.environment for h in waiting}):
            try:
                report = await self.read_status(env)
            except UserFacingError as exc:  # one environment down or unconfigured must not hold up the other
                log.warning("hotfix sync check for %s skipped: %s", env, exc.message)
                continue
            applied = {m.version for m in report.migrations if m.state in APPLIED_STATES}
            for hotfix in (h for h in waiting if h.environment == env):
                try:
                    synced += await self._settle(hotfix, migrations, applied)
                except UserFacingError as exc:
                    log.warning("hotfix sync check of %s skipped: %s", hotfix.code, exc.message)
        return synced

    async def send_due_reminders(self) -> int:
        now = self.now()
        sent = 0
        for hotfix in await self.store.due_reminders(now):
            reminder = rules.due_reminder(hotfix, now, self.reminder_hours)
            if reminder is None:
                continue
            # Queued first, keyed by the reminder number: a crash before the claim queues nothing new.
            await self.posts.reminder(hotfix, reminder, now)
            if await self.store.claim_reminder(hotfix.id, reminder, now):
                sent += 1
        return sent

    async def send_approval_pings(self) -> int:
        """Re-ping the lead role every HOTFIX_APPROVAL_PING_MINUTES while a prod hotfix awaits approval;
        from HOTFIX_APPROVAL_ESCALATE_MINUTES on, the backup role too. One post per ping number."""
        now = self.now()
        sent = 0
        for hotfix in await self.store.list(state=HotfixState.AWAITING_APPROVAL.value):
            ping = timeline.due_approval_ping(
                hotfix, now, every_minutes=self.approval_ping_minutes, escalate_minutes=self.approval_escalate_minutes
            )
            if ping is not None and await self.posts.approval_ping(hotfix, ping):
                sent += 1
        return sent

    async def remind_overdue_followups(self) -> int:
        """One reminder per overdue follow-up (due dates are days: looked at hourly, not every tick)."""
        now = self.now()
        if self._followups_checked is not None and now - self._followups_checked < FOLLOWUP_CHECK:
            return 0
        self._followups_checked = now
        sent = 0
        for hotfix in await self.store.list():
            if hotfix.closed_unsynced:
                continue
            for item in timeline.followups(await self.store.events(hotfix.id)):
                if item.overdue(now) and await self.posts.followup(hotfix, item, overdue=True):
                    sent += 1
        return sent

    async def republish(self) -> int:
        """Enqueue again what each open hotfix should show (a no-op unless a crash lost it)."""
        return await self.posts.reconcile(await self.store.list(), self.now(), self._details)
