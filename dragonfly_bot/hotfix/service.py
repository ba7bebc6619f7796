"""Hotfix declarations, follow-through and review: the one service behind /hotfix.

The cog and the console both call this; it checks the rules (dragonfly_bot.core.hotfix,
dragonfly_bot.core.hotfix_timeline), writes through a ``HotfixStore`` and returns
outcomes. It never talks to Discord: every post (the declaration, its edits,
thread updates, pings, reminders) is an outbox row enqueued by
``dragonfly_bot.hotfix.posts``, keyed by the event, so each is posted exactly once. The
periodic work (journal replay, auto-link, sync, reminders, approval re-pings,
overdue follow-ups, re-publishing what a crash lost) is in
``dragonfly_bot.hotfix.follow_through``; whether the linked migration carries what was
run in Studio (the content check, its re-check when the file changes, synced or
applied_with_differences) is in ``dragonfly_bot.hotfix.content_sync``.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore, HotfixStoreDown, new_event_id
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core import hotfix_timeline as timeline
from dragonfly_bot.core.hotfix import SYSTEM, Actor, Hotfix, HotfixEvent, HotfixRefused, HotfixState, NewHotfix
from dragonfly_bot.core.status import LocalMigration, StatusReport
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.hotfix import render_posts
from dragonfly_bot.hotfix.follow_through import FollowThrough, TickReport
from dragonfly_bot.hotfix.posts import HotfixPosts, PostQueue
from dragonfly_bot.hotfix.render_text import export_csv, export_markdown
from dragonfly_bot.status.service import MigrationFiles

log = logging.getLogger(__name__)

StatusReader = Callable[[str], Awaitable[StatusReport]]
T = TypeVar("T")

__all__ = ["Declared", "HotfixService", "TickReport"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def refusal(check: Callable[..., T], *args: Any) -> T:
    """Run a domain check; a refusal becomes the user's one-line error."""
    try:
        return check(*args)
    except HotfixRefused as exc:
        raise UserFacingError(exc.message) from None


@dataclass(frozen=True)
class Declared:
    declaration: NewHotfix
    hotfix: Hotfix | None  # None: the store was down, the declaration is journaled
    posted: bool  # queued for #alerts (the outbox delivers it, also after a restart)

    @property
    def journaled(self) -> bool:
        return self.hotfix is None


class HotfixService(FollowThrough):
    def __init__(
        self,
        store: HotfixStore,
        journal: HotfixJournal,
        outbox: PostQueue | None,
        *,
        read_status: StatusReader,
        migration_files: MigrationFiles,
        reminder_hours: float = 4.0,
        lead_role_id: int | None = None,
        backup_role_id: int | None = None,
        approval_ping_minutes: float = 15.0,
        approval_escalate_minutes: float = 60.0,
        now: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.journal = journal
        self.posts = HotfixPosts(outbox, store, lead_role_id=lead_role_id, backup_role_id=backup_role_id)
        self.read_status = read_status
        # The same files /migrations compares with: on the deployed bot, the
        # repository's branch (GitHub), so a pushed migration auto-links without a redeploy.
        self.migration_files = migration_files
        self.reminder_hours = reminder_hours
        self.lead_role_id = lead_role_id
        self.approval_ping_minutes = approval_ping_minutes
        self.approval_escalate_minutes = approval_escalate_minutes
        self.now = now
        self._skipped: dict[str, str] = {}  # step -> why it was skipped last time (said once, not every tick)

    # ------------------------------------------------------------------ lookups

    async def get(self, code: str) -> Hotfix:
        normal = refusal(rules.normalize_code, code)
        found = await self.store.get_by_code(normal)
        if found is None:
            raise UserFacingError(f"there is no hotfix {normal}; `/hotfix list` shows the known codes")
        return found

    async def list(self, *, state: str | None = None, environment: str | None = None) -> builtins.list[Hotfix]:
        if state is not None and state not in {s.value for s in HotfixState}:
            raise UserFacingError(f"unknown state `{state}`; one of: " + ", ".join(s.value for s in HotfixState))
        if environment is not None:
            environment = refusal(rules.check_environment, environment)
        return await self.store.list(state=state, environment=environment)

    async def show(self, code: str) -> tuple[Hotfix, builtins.list[HotfixEvent]]:
        """One hotfix and its timeline; a linked one's findings are those of its migration's current text."""
        hotfix = await self.get(code)
        if hotfix.state in rules.CHECKED:
            try:
                migrations = (await self.migration_files.read()).migrations
                hotfix = await self._recheck(hotfix, migrations) or await self.get(code)  # None: changed meanwhile
            except UserFacingError as exc:  # the files are unreadable now: the stored findings stand
                log.warning("could not check %s's migration again: %s", hotfix.code, exc.message)
        hotfix = await self._with_sql_copy(hotfix)
        return hotfix, await self.store.events(hotfix.id)

    async def export(self, fmt: str = "markdown") -> tuple[str, str]:
        """(file name, text) of every hotfix with its follow-ups, for the review meeting."""
        if fmt not in ("csv", "markdown", "md"):
            raise UserFacingError(f"unknown export format `{fmt}`; use markdown or csv")
        hotfixes = sorted([await self._with_sql_copy(h) for h in await self.store.list()], key=lambda h: h.code)
        events = {h.id: await self.store.events(h.id) for h in hotfixes}
        stamp = self.now().strftime("%Y%m%d")
        if fmt == "csv":
            return f"hotfixes-{stamp}.csv", export_csv(hotfixes, events)
        return f"hotfixes-{stamp}.md", export_markdown(hotfixes, self.now(), events)

    # ------------------------------------------------------------------ declare

    async def declare(
        self,
        actor: Actor,
        env: str,
        summary: str,
        sql: str | None,
        *,
        rollback: str | None = None,
        impact: str | None = None,
    ) -> Declared:
        new = refusal(
            lambda: rules.declare(actor, env, summary, sql, now=self.now(), reminder_hours=self.reminder_hours)
        )
        details = refusal(timeline.check_details, rollback, impact)
        try:
            stored = await self.store.declare(new)
        except HotfixStoreDown as exc:
            log.warning("hotfix store down (%s); journaling declaration %s", exc.message, new.id)
            await self.journal.record(new)
            return Declared(new, None, await self._queued(self.posts.announce_pending(new)))
        if details:
            # Keyed by the declaration: a retried declare stores its details once.
            event_id = str(uuid.uuid5(uuid.UUID(new.id), timeline.DETAILS))
            await self.store.append_event(stored.id, timeline.DETAILS, actor, details, new.declared_at, event_id)
        posted = await self._queued(self.posts.publish(stored, details=details))
        await self.posts.record_post(stored)
        return Declared(new, stored, posted)

    async def _queued(self, enqueue: Awaitable[bool]) -> bool:
        """Enqueue a post; an outbox that cannot be written is logged, the action itself stands."""
        try:
            return await enqueue
        except Exception:
            log.exception("could not queue a hotfix post")
            return False

    async def _details(self, hotfix: Hotfix) -> dict[str, str]:
        """Rollback and impact given at declaration (shown on the #alerts post)."""
        return timeline.details_of(await self.store.events(hotfix.id))

    async def _publish(self, hotfix: Hotfix, *, automatic: bool = False) -> None:
        read = lambda: self._details(hotfix)  # noqa: E731 - read only when something is queued
        await self._queued(self.posts.publish(hotfix, details=read, automatic=automatic))

    # ------------------------------------------------------------------ transitions

    def _changed_meanwhile(self, hotfix: Hotfix) -> UserFacingError:
        return UserFacingError(f"{hotfix.code} changed while you were acting on it; check `/hotfix show {hotfix.code}`")

    async def approve(self, actor: Actor, code: str) -> Hotfix:
        """``code``: an HF code, or the declaration id on the Approve button of a journaled declaration."""
        hotfix = await self._by_declaration(code) if _is_declaration_id(code) else await self.get(code)
        refusal(rules.check_approve, hotfix, actor)
        approved = await self.store.approve(hotfix.id, [HotfixState.AWAITING_APPROVAL.value], actor, self.now())
        if approved is None:
            raise self._changed_meanwhile(hotfix)
        await self._publish(approved)
        return approved

    async def _by_declaration(self, declaration_id: str) -> Hotfix:
        """The hotfix a journaled declaration became; stored now if the journal still holds it."""
        for new in await self.journal.pending():
            if new.id == declaration_id:
                try:
                    hotfix = await self.store.declare(new)
                except HotfixStoreDown:
                    raise UserFacingError(
                        "the hotfix store is still unreachable, so this declaration has no code yet; "
                        "press Approve again once the store is back"
                    ) from None
                await self.journal.mark_done(new.id)
                await self._publish(hotfix)
                return hotfix
        found = [h for h in await self.store.list() if h.id == declaration_id]
        if not found:
            raise UserFacingError("this declaration is not in the store yet; try again in a few minutes")
        return found[0]

    async def _read_migration(self, file_name: str) -> LocalMigration:
        """A file from the migration files, by name."""
        name = Path(file_name.strip()).name
        local = await self.migration_files.read()
        found = next((m for m in local.migrations if m.file == name), None)
        if found is None:
            where = local.origin or "supabase/migrations"
            raise UserFacingError(
                f"`{name[:80]}` is not a migration in {where}; pick one from the list (YYYYMMDDHHMMSS_name.sql)"
            )
        return found

    async def link(self, actor: Actor, code: str, file_name: str) -> Hotfix:
        hotfix = await self.get(code)
        refusal(rules.check_link, hotfix, actor)
        migration = await self._read_migration(file_name)
        return await self._link(hotfix, actor, migration)

    async def _link(self, hotfix: Hotfix, actor: Actor, migration: LocalMigration) -> Hotfix:
        """Link one file; its content check (and the hash of the text checked) is stored with the link."""
        findings, digest = await self._findings(hotfix, [migration])
        expected = [s.value for s in rules.LINKABLE]
        linked = await self.store.link(
            hotfix.id, expected, migration.version, migration.file, findings, actor, self.now(), digest
        )
        if linked is None:
            raise self._changed_meanwhile(hotfix)
        await self._publish(linked, automatic=actor is SYSTEM)
        return linked

    async def accept(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """A DevOps lead (not the declarer) accepts the differences between the applied migration and
        the SQL run in Studio: applied_with_differences -> synced, with an ``accepted`` event."""
        hotfix = await self.get(code)
        text = refusal(rules.check_accept, hotfix, actor, reason)
        accepted = await self.store.accept(hotfix.id, text, actor, self.now(), new_event_id())
        if accepted is None:
            raise self._changed_meanwhile(hotfix)
        update = render_posts.accepted_message(accepted, actor.name, text)
        await self._queued(self.posts.publish(accepted, details=lambda: self._details(accepted), update=update))
        return accepted

    async def resolve(self, actor: Actor, code: str, review: str) -> Hotfix:
        hotfix = await self.get(code)
        text = refusal(rules.check_resolve, hotfix, actor, review)
        resolved = await self.store.resolve(hotfix.id, [HotfixState.SYNCED.value], text, actor, self.now())
        if resolved is None:
            raise self._changed_meanwhile(hotfix)
        await self._publish(resolved)
        return resolved

    async def reject(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """A DevOps lead refuses a prod hotfix awaiting approval: prod must not be touched."""
        hotfix = await self.get(code)
        text = refusal(rules.check_reject, hotfix, actor, reason)
        return await self._close(hotfix, actor, HotfixState.REJECTED, [HotfixState.AWAITING_APPROVAL], text)

    async def cancel(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """The declarer or a lead abandons a hotfix that will never sync (e.g. the SQL was never run)."""
        hotfix = await self.get(code)
        text = refusal(rules.check_cancel, hotfix, actor, reason)
        return await self._close(hotfix, actor, HotfixState.CANCELLED, sorted(rules.UNSYNCED), text)

    async def _close(
        self, hotfix: Hotfix, actor: Actor, state: HotfixState, expected: Sequence[HotfixState], reason: str
    ) -> Hotfix:
        closed = await self.store.close(
            hotfix.id, [s.value for s in expected], state.value, reason, actor, self.now(), new_event_id()
        )
        if closed is None:
            raise self._changed_meanwhile(hotfix)
        await self._publish(closed)
        return closed

    # ------------------------------------------------------------------ the timeline

    async def note(self, actor: Actor, code: str, text: str) -> Hotfix:
        hotfix = await self.get(code)
        refusal(_check_member, actor, "add notes")
        note = refusal(timeline.check_note, text)
        event_id = new_event_id()
        await self.store.append_event(hotfix.id, timeline.NOTE, actor, {"note": note}, self.now(), event_id)
        await self._queued(self.posts.note(hotfix, event_id, render_posts.note_message(hotfix, actor.name, note)))
        return hotfix

    async def ran(self, actor: Actor, code: str, when: str | None = None) -> tuple[Hotfix, datetime]:
        """Record that ``actor`` ran the SQL in Studio (at ``when``, default now)."""
        hotfix = await self.get(code)
        refusal(_check_member, actor, "record that the SQL was run")
        if hotfix.state == HotfixState.AWAITING_APPROVAL:
            raise UserFacingError(f"{hotfix.code} is not approved yet: prod must not be touched before a lead approves")
        if hotfix.closed_unsynced:
            raise UserFacingError(f"{hotfix.code} is {hotfix.state}: it is closed")
        at = refusal(timeline.parse_ran_at, when, self.now())
        event_id = new_event_id()
        detail = {"ran_at": at.isoformat(), "note": f"SQL run in Studio at {at:%Y-%m-%d %H:%M} UTC"}
        await self.store.append_event(hotfix.id, timeline.SQL_RAN, actor, detail, self.now(), event_id)
        await self._queued(self.posts.note(hotfix, event_id, render_posts.ran_message(hotfix, actor.name, at)))
        return hotfix, at

    async def followup(
        self, actor: Actor, code: str, text: str, owner_id: str | None, owner_name: str, due: str
    ) -> tuple[Hotfix, timeline.Followup]:
        hotfix = await self.get(code)
        refusal(_check_member, actor, "add follow-ups")
        now = self.now()
        item = timeline.Followup.new(
            refusal(timeline.check_followup, text),
            owner_id,
            owner_name,
            refusal(timeline.parse_due, due, now.date()),
            actor.name,
            now,
        )
        await self.store.append_event(hotfix.id, timeline.FOLLOWUP, actor, item.to_detail(), now, item.id)
        await self._queued(self.posts.followup(hotfix, item))
        return hotfix, item


def _check_member(actor: Actor, what: str) -> None:
    if not (actor.can_declare or actor.is_lead):
        raise HotfixRefused(f"only holders of the hotfix role or DevOps leads can {what}")


def _is_declaration_id(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4 and not text.upper().startswith("HF")
