"""Does the linked migration carry the hotfix? The content check, its re-check, and settling.

``synced`` is earned: every migration carrying the hotfix (``rules.carrying_migrations``:
the linked file and later files naming its code) is applied AND the content check
(``dragonfly_bot.core.hotfix_sql``) finds no difference from the SQL run in Studio. Applied
but different is ``applied_with_differences``: reminders go on until the file is
corrected or a DevOps lead accepts (``HotfixService.accept``). The findings follow
the file: when the carrying migrations' text changes (its content hash), they are
computed again and stored, and the store's ``settle`` only moves a hotfix whose
stored hash is the one the bot decided on, so of several bots checking at once
exactly one settles it and one posts (each post is an outbox row keyed by its event).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import Hotfix, HotfixState
from dragonfly_bot.core.hotfix_sql import content_hash, differences, link_findings, same_findings
from dragonfly_bot.core.status import LocalMigration

if TYPE_CHECKING:
    from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore
    from dragonfly_bot.hotfix.posts import HotfixPosts


class ContentSync:
    """Mixed into ``HotfixService`` (through ``FollowThrough``), which sets these attributes."""

    store: HotfixStore
    posts: HotfixPosts
    now: Callable[[], datetime]

    if TYPE_CHECKING:  # HotfixService's own methods, declared here for the type checker only

        async def _publish(self, hotfix: Hotfix, *, automatic: bool = False) -> None: ...

        async def _queued(self, enqueue: Awaitable[bool]) -> bool: ...

    async def _findings(self, hotfix: Hotfix, carrying: Sequence[LocalMigration]) -> tuple[dict, str]:
        """The content check of the migrations carrying a hotfix, and the hash of what it read.

        Compared with the raw declared SQL (the service role's copy); the findings are redacted."""
        declared = await self.store.declared_sql(hotfix.id)
        text = "\n".join(m.sql for m in carrying)
        findings = await asyncio.to_thread(link_findings, declared, text, carrying[0].file)
        return findings, content_hash([(m.file, m.sql) for m in carrying])

    async def _recheck(self, hotfix: Hotfix, migrations: Sequence[LocalMigration]) -> Hotfix | None:
        """The hotfix with findings of its migrations' current text (checked again when the text changed).

        None when another bot stored that text's findings first, or the state moved on meanwhile.
        """
        carrying = rules.carrying_migrations(hotfix, migrations)
        if not carrying or content_hash([(m.file, m.sql) for m in carrying]) == hotfix.linked_content_hash:
            return hotfix
        findings, digest = await self._findings(hotfix, carrying)
        rechecked = await self.store.recheck(hotfix.id, [hotfix.state.value], findings, digest, self.now())
        if rechecked is not None and not same_findings(rechecked.link_findings, hotfix.link_findings):
            await self._queued(self.posts.rechecked(rechecked))
        return rechecked

    async def _settle(self, hotfix: Hotfix, migrations: Sequence[LocalMigration], applied: set[str]) -> int:
        """1 when this call moved ``hotfix`` to synced; applied with differences (posted once) counts 0."""
        versions = [m.version for m in rules.carrying_migrations(hotfix, migrations)] or [hotfix.linked_version or ""]
        current = await self._recheck(hotfix, migrations)
        if current is None:
            return 0
        hotfix = current
        if not all(v in applied for v in versions):
            return 0
        if differences(hotfix.link_findings) == 0:
            expected, state = [s.value for s in rules.CHECKED], HotfixState.SYNCED
        elif hotfix.state == HotfixState.MIGRATION_LINKED:
            expected, state = [HotfixState.MIGRATION_LINKED.value], HotfixState.APPLIED_WITH_DIFFERENCES
        else:
            return 0  # applied with differences already: said once, the reminders go on
        done = await self.store.settle(hotfix.id, expected, state.value, hotfix.linked_content_hash, self.now())
        if done is None:
            return 0  # another bot (or an earlier tick) moved it first; republish covers its post
        await self._publish(done)
        return 1 if state == HotfixState.SYNCED else 0

    async def _with_sql_copy(self, hotfix: Hotfix) -> Hotfix:
        """Rows stored before the SQL became secret have no redacted copy: make one from the private text."""
        if hotfix.sql_text is not None or hotfix.sql_digest is None:
            return hotfix
        return replace(hotfix, sql_text=rules.redacted_copy(await self.store.declared_sql(hotfix.id)))
