"""Hotfix declarations, follow-through and review: the one service behind /hotfix.

The cog and the console both call this; it checks the rules (bot.core.hotfix),
writes through a ``HotfixStore``, and posts to #alerts through the
``ChannelPoster`` (updates go to the hotfix's thread when it has one). The
periodic ``tick`` replays journaled declarations, links migrations that name a
hotfix, checks linked migrations against the declared SQL again when their text
changed, settles applied ones as synced (the migration carries the change) or
applied_with_differences (announced by whoever wins the store's state change,
so once), and sends due reminders (claimed in the store first, so never twice).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import discord

from bot.adapters.state.journal import HotfixJournal
from bot.adapters.supabase.hotfix_store import HotfixStore, HotfixStoreDown, new_event_id
from bot.chat.channels import ChannelPoster, PostRef
from bot.core import hotfix as rules
from bot.core.hotfix import SYSTEM, Actor, Hotfix, HotfixEvent, HotfixRefused, HotfixState, NewHotfix
from bot.core.hotfix_sql import content_hash, differences, link_findings, same_findings
from bot.core.redact import redact
from bot.core.status import LocalMigration, State, StatusReport
from bot.errors import SourceUnavailable, UserFacingError
from bot.hotfix import render_discord as render
from bot.hotfix.render_text import export_csv, export_markdown
from bot.status.service import MigrationFiles

log = logging.getLogger(__name__)

# States in which the migration is in the database, whatever the local file says.
APPLIED_STATES = frozenset({State.APPLIED, State.UNVERIFIABLE, State.MODIFIED, State.MISSING_LOCAL})
NO_MENTIONS = discord.AllowedMentions.none()

StatusReader = Callable[[str], Awaitable[StatusReport]]
ViewFactory = Callable[[Hotfix], "discord.ui.View | None"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Declared:
    declaration: NewHotfix
    hotfix: Hotfix | None  # None: the store was down, the declaration is journaled
    posted: bool

    @property
    def journaled(self) -> bool:
        return self.hotfix is None


@dataclass(frozen=True)
class TickReport:
    replayed: int = 0
    linked: int = 0
    synced: int = 0
    reminders: int = 0


class HotfixService:
    def __init__(
        self,
        store: HotfixStore,
        journal: HotfixJournal,
        poster: ChannelPoster | None,
        *,
        read_status: StatusReader,
        migration_files: MigrationFiles,
        reminder_hours: float = 4.0,
        lead_role_id: int | None = None,
        approval_view: ViewFactory | None = None,
        now: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.journal = journal
        self.poster = poster
        self.read_status = read_status
        # The same files /migrations compares with: on the deployed bot, the
        # repository's branch (GitHub), so a pushed migration auto-links without a redeploy.
        self.migration_files = migration_files
        self.reminder_hours = reminder_hours
        self.lead_role_id = lead_role_id
        self.approval_view = approval_view
        self.now = now
        self._skipped: dict[str, str] = {}  # step -> why it was skipped last time (said once, not every tick)

    # ------------------------------------------------------------------ lookups

    async def get(self, code: str) -> Hotfix:
        normal = self._refusal(rules.normalize_code, code)
        found = await self.store.get_by_code(normal)
        if found is None:
            raise UserFacingError(f"there is no hotfix {normal}; `/hotfix list` shows the known codes")
        return found

    @staticmethod
    def _refusal(check, *args):
        """Run a domain check; a refusal becomes the user's one-line error."""
        try:
            return check(*args)
        except HotfixRefused as exc:
            raise UserFacingError(exc.message) from None

    async def list(self, *, state: str | None = None, environment: str | None = None) -> list[Hotfix]:
        if state is not None and state not in {s.value for s in HotfixState}:
            raise UserFacingError(f"unknown state `{state}`; one of: " + ", ".join(s.value for s in HotfixState))
        if environment is not None:
            environment = self._refusal(rules.check_environment, environment)
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

    async def _with_sql_copy(self, hotfix: Hotfix) -> Hotfix:
        """Rows stored before the SQL became secret have no redacted copy: make one from the private text."""
        if hotfix.sql_text is not None or hotfix.sql_digest is None:
            return hotfix
        return replace(hotfix, sql_text=rules.redacted_copy(await self.store.declared_sql(hotfix.id)))

    async def export(self, fmt: str = "markdown") -> tuple[str, str]:
        """(file name, text) of every hotfix, for the review meeting."""
        hotfixes = sorted([await self._with_sql_copy(h) for h in await self.store.list()], key=lambda h: h.code)
        stamp = self.now().strftime("%Y%m%d")
        if fmt == "csv":
            return f"hotfixes-{stamp}.csv", export_csv(hotfixes)
        if fmt in ("markdown", "md"):
            return f"hotfixes-{stamp}.md", export_markdown(hotfixes, self.now())
        raise UserFacingError(f"unknown export format `{fmt}`; use markdown or csv")

    # ------------------------------------------------------------------ declare

    async def declare(self, actor: Actor, env: str, summary: str, sql: str | None) -> Declared:
        new = self._refusal(
            lambda: rules.declare(actor, env, summary, sql, now=self.now(), reminder_hours=self.reminder_hours)
        )
        try:
            stored = await self.store.declare(new)
        except HotfixStoreDown as exc:
            log.warning("hotfix store down (%s); journaling declaration %s", exc.message, new.id)
            await self.journal.record(new)
            posted = await self._post_pending(new)
            return Declared(new, None, posted)
        posted = await self._announce(stored)
        return Declared(new, stored, posted)

    async def _post_pending(self, new: NewHotfix) -> bool:
        if self.poster is None:
            return False
        try:
            await self.poster.send("alerts", embeds=[render.pending_alert_embed(new)], allowed_mentions=NO_MENTIONS)
            return True
        except Exception:
            log.exception("could not post the pending hotfix declaration")
            return False

    def _lead_ping(self) -> tuple[str | None, discord.AllowedMentions]:
        if self.lead_role_id is None:
            return None, NO_MENTIONS
        allowed = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(id=self.lead_role_id)])
        return f"<@&{self.lead_role_id}>", allowed

    async def _announce(self, hotfix: Hotfix) -> bool:
        """The #alerts post for a stored declaration (with a thread, and Approve for prod)."""
        if self.poster is None or hotfix.alert_message_id is not None:
            return False
        content, allowed = None, NO_MENTIONS
        view: discord.ui.View | None = None
        if hotfix.state == HotfixState.AWAITING_APPROVAL:
            ping, allowed = self._lead_ping()
            content = f"{ping or 'DevOps lead'}: prod hotfix {hotfix.code} needs your approval before prod is touched."
            view = self.approval_view(hotfix) if self.approval_view else None
        try:
            ref = await self.poster.send(
                "alerts",
                content=content,
                embeds=[render.alert_embed(hotfix)],
                allowed_mentions=allowed,
                thread_name=f"{hotfix.code} {redact(hotfix.summary)}"[:100],
                view=view,
            )
        except Exception:
            log.exception("could not post hotfix %s to #alerts", hotfix.code)
            return False
        try:
            await self.store.set_post(hotfix.id, ref.channel_id, ref.message_id, ref.thread_id)
        except SourceUnavailable as exc:
            log.warning("could not record where %s was posted: %s", hotfix.code, exc.message)
        return True

    async def _update(
        self,
        hotfix: Hotfix,
        embed: discord.Embed,
        *,
        content: str | None = None,
        allowed: discord.AllowedMentions = NO_MENTIONS,
        state_changed: bool = True,
    ) -> None:
        """A follow-up about a hotfix: in its thread, else as a new #alerts post.

        When the state changed, the original #alerts post is edited to show it too.
        """
        if self.poster is None:
            return
        try:
            if hotfix.alert_message_id is not None and hotfix.alert_channel_id is not None:
                ref = PostRef("alerts", hotfix.alert_channel_id, hotfix.alert_message_id, hotfix.alert_thread_id)
                if state_changed:
                    await self.poster.edit(ref, embeds=[render.alert_embed(hotfix)])
                await self.poster.reply(ref, content=content, embeds=[embed], allowed_mentions=allowed)
            else:
                await self.poster.send("alerts", content=content, embeds=[embed], allowed_mentions=allowed)
        except Exception:
            log.exception("could not post an update about %s", hotfix.code)

    # ------------------------------------------------------------------ transitions

    def _changed_meanwhile(self, hotfix: Hotfix) -> UserFacingError:
        return UserFacingError(f"{hotfix.code} changed while you were acting on it; check `/hotfix show {hotfix.code}`")

    async def approve(self, actor: Actor, code: str) -> Hotfix:
        hotfix = await self.get(code)
        self._refusal(rules.check_approve, hotfix, actor)
        approved = await self.store.approve(hotfix.id, [HotfixState.AWAITING_APPROVAL.value], actor, self.now())
        if approved is None:
            raise self._changed_meanwhile(hotfix)
        await self._update(
            approved,
            render.update_embed(
                f"✅ {approved.code} approved by {actor.name}",
                "Prod may now be touched. Next: create the matching migration file "
                f"(`-- hotfix: {approved.code}`) and push it.",
            ),
        )
        return approved

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
        self._refusal(rules.check_link, hotfix, actor)
        migration = await self._read_migration(file_name)
        return await self._link(hotfix, actor, migration)

    async def _findings(self, hotfix: Hotfix, carrying: builtins.list[LocalMigration]) -> tuple[dict, str]:
        """The content check of the migrations carrying a hotfix, and the hash of what it read."""
        declared = await self.store.declared_sql(hotfix.id)
        text = "\n".join(m.sql for m in carrying)
        findings = await asyncio.to_thread(link_findings, declared, text, carrying[0].file)
        return findings, content_hash([(m.file, m.sql) for m in carrying])

    async def _link(self, hotfix: Hotfix, actor: Actor, migration: LocalMigration) -> Hotfix:
        findings, digest = await self._findings(hotfix, [migration])
        expected = [s.value for s in rules.LINKABLE]
        linked = await self.store.link(
            hotfix.id, expected, migration.version, migration.file, findings, actor, self.now(), digest
        )
        if linked is None:
            raise self._changed_meanwhile(hotfix)
        await self._update(linked, render.linked_embed(linked, automatic=actor is SYSTEM))
        return linked

    async def accept(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """A DevOps lead accepts the differences between the applied migration and the SQL run in Studio."""
        hotfix = await self.get(code)
        text = self._refusal(rules.check_accept, hotfix, actor, reason)
        accepted = await self.store.accept(hotfix.id, text, actor, self.now(), new_event_id())
        if accepted is None:
            raise self._changed_meanwhile(hotfix)
        await self._update(
            accepted,
            render.update_embed(
                f"🔄 {accepted.code} synced: differences accepted by {actor.name}",
                f"Reason: {text}\nLast step: the post-incident review, `/hotfix resolve {accepted.code} review:...`",
            ),
        )
        return accepted

    async def resolve(self, actor: Actor, code: str, review: str) -> Hotfix:
        hotfix = await self.get(code)
        text = self._refusal(rules.check_resolve, hotfix, actor, review)
        resolved = await self.store.resolve(hotfix.id, [HotfixState.SYNCED.value], text, actor, self.now())
        if resolved is None:
            raise self._changed_meanwhile(hotfix)
        await self._update(
            resolved, render.update_embed(f"🏁 {resolved.code} resolved by {actor.name}", "Review: " + redact(text))
        )
        return resolved

    async def reject(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """A DevOps lead refuses a prod hotfix awaiting approval: prod must not be touched."""
        hotfix = await self.get(code)
        text = self._refusal(rules.check_reject, hotfix, actor, reason)
        return await self._close(hotfix, actor, HotfixState.REJECTED, [HotfixState.AWAITING_APPROVAL], text)

    async def cancel(self, actor: Actor, code: str, reason: str) -> Hotfix:
        """The declarer or a lead abandons a hotfix that will never sync (e.g. the SQL was never run)."""
        hotfix = await self.get(code)
        text = self._refusal(rules.check_cancel, hotfix, actor, reason)
        return await self._close(hotfix, actor, HotfixState.CANCELLED, sorted(rules.UNSYNCED), text)

    async def _close(self, hotfix: Hotfix, actor: Actor, state: HotfixState, expected, reason: str) -> Hotfix:
        closed = await self.store.close(
            hotfix.id, [s.value for s in expected], state.value, reason, actor, self.now(), new_event_id()
        )
        if closed is None:
            raise self._changed_meanwhile(hotfix)
        icon = "⛔" if state == HotfixState.REJECTED else "🚫"
        next_step = (
            "Do not touch prod for this hotfix."
            if state == HotfixState.REJECTED
            else "No migration is expected for it any more."
        )
        await self._update(
            closed,
            render.update_embed(
                f"{icon} {closed.code} {state.value} by {actor.name}",
                f"Reason: {redact(reason)}\n{next_step} Reminders stopped.",
                render.GREY,
            ),
        )
        return closed

    # ------------------------------------------------------------------ the periodic work

    async def tick(self) -> TickReport:
        """Replay the journal, auto-link, sync, remind. Each step fails alone."""
        counts = {}
        for name, step in (
            ("replayed", self.replay_journal),
            ("linked", self.auto_link),
            ("synced", self.sync_check),
            ("reminders", self.send_due_reminders),
        ):
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
        stored = 0
        pending = await self.journal.pending()
        for new in pending:
            try:
                hotfix = await self.store.declare(new)
            except HotfixStoreDown:
                return stored  # still down: try again next tick
            except SourceUnavailable as exc:
                log.error("journaled declaration %s refused by the store: %s", new.id, exc.message)
                continue
            await self.journal.mark_done(new.id)
            stored += 1
            await self._announce(hotfix)
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

        Synced only when every migration carrying the hotfix (the linked file and later files naming its
        code: a correction) is applied AND the content check finds no difference; applied with
        differences otherwise, until the file is fixed or a lead accepts them.
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
                    synced += await self._check_one(hotfix, migrations, applied)
                except UserFacingError as exc:
                    log.warning("hotfix sync check of %s skipped: %s", hotfix.code, exc.message)
        return synced

    async def _recheck(self, hotfix: Hotfix, migrations) -> Hotfix | None:
        """The hotfix with findings of its migrations' current text (checked again when the text changed).

        None when another bot stored that text's findings first, or the state moved on meanwhile.
        """
        carrying = rules.carrying_migrations(hotfix, migrations)
        if not carrying or content_hash([(m.file, m.sql) for m in carrying]) == hotfix.linked_content_hash:
            return hotfix
        findings, digest = await self._findings(hotfix, carrying)
        rechecked = await self.store.recheck(hotfix.id, [hotfix.state.value], findings, digest, self.now())
        if rechecked is not None and not same_findings(rechecked.link_findings, hotfix.link_findings):
            await self._update(rechecked, render.rechecked_embed(rechecked), state_changed=False)
        return rechecked

    async def _check_one(self, hotfix: Hotfix, migrations, applied: set[str]) -> int:
        versions = [m.version for m in rules.carrying_migrations(hotfix, migrations)] or [hotfix.linked_version or ""]
        current = await self._recheck(hotfix, migrations)
        if current is None:
            return 0
        hotfix = current
        if not all(v in applied for v in versions):
            return 0
        if differences(hotfix.link_findings) == 0:
            done = await self.store.settle(
                hotfix.id,
                [s.value for s in rules.CHECKED],
                HotfixState.SYNCED.value,
                hotfix.linked_content_hash,
                self.now(),
            )
            if done is None:
                return 0  # another bot (or an earlier tick) already announced it
            await self._update(done, render.synced_embed(done))
            return 1
        if hotfix.state == HotfixState.MIGRATION_LINKED:
            done = await self.store.settle(
                hotfix.id,
                [HotfixState.MIGRATION_LINKED.value],
                HotfixState.APPLIED_WITH_DIFFERENCES.value,
                hotfix.linked_content_hash,
                self.now(),
            )
            if done is not None:
                await self._update(done, render.differences_embed(done))
        return 0

    async def send_due_reminders(self) -> int:
        now = self.now()
        sent = 0
        for hotfix in await self.store.due_reminders(now):
            reminder = rules.due_reminder(hotfix, now, self.reminder_hours)
            if reminder is None:
                continue
            if not await self.store.claim_reminder(hotfix.id, reminder, now):
                continue  # claimed before (another bot, or before a restart): never send twice
            sent += 1
            await self._remind(hotfix, reminder)
        return sent

    async def _remind(self, hotfix: Hotfix, reminder: rules.Reminder) -> None:
        waited = rules.format_duration(self.now() - hotfix.declared_at)
        user_mention = f"<@{hotfix.declared_by_id}>" if hotfix.declared_by_id.isdigit() else hotfix.declared_by_name
        users = [discord.Object(id=int(hotfix.declared_by_id))] if hotfix.declared_by_id.isdigit() else []
        if reminder.recipient == "lead":
            ping, _ = self._lead_ping()
            roles = [discord.Object(id=self.lead_role_id)] if self.lead_role_id else []
            content = f"{ping or 'DevOps lead'} {user_mention}: {hotfix.code} has been unsynced for {waited}."
            allowed = discord.AllowedMentions(everyone=False, users=users, roles=roles)
        else:
            content = f"{user_mention}: {hotfix.code} still has no applied migration ({waited})."
            allowed = discord.AllowedMentions(everyone=False, users=users, roles=False)
        next_step = {
            HotfixState.AWAITING_APPROVAL: "it is still waiting for a DevOps lead's approval",
            HotfixState.MIGRATION_LINKED: (
                f"`{hotfix.linked_file}` is linked but not applied in {hotfix.environment} yet"
            ),
            HotfixState.APPLIED_WITH_DIFFERENCES: (
                f"`{hotfix.linked_file}` is applied but does not carry what was run in Studio: fix the file "
                f"(or add one with `-- hotfix: {hotfix.code}`), or a DevOps lead accepts with "
                f"`/hotfix accept {hotfix.code} reason:...`"
            ),
        }.get(hotfix.state, f"create the migration file with `-- hotfix: {hotfix.code}` and push it")
        await self._update(
            hotfix,
            render.update_embed(
                f"⏰ {hotfix.code} reminder #{reminder.number}", f"Next step: {next_step}.", render.ORANGE
            ),
            content=content,
            allowed=allowed,
            state_changed=False,
        )
