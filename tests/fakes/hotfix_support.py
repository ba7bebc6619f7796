"""Shared pieces of the hotfix tests: a migrated database, a clock, a service."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dragonfly_bot.adapters.localdb import PROJECT_ROOT, ScratchDatabase, migration_up
from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.adapters.state.outbox import OUTBOX_FILE, SqliteOutbox
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.core.hotfix import Actor
from dragonfly_bot.hotfix.service import HotfixService
from dragonfly_bot.settings import Settings
from dragonfly_bot.status.service import FolderFiles, status_for

REPO_MIGRATIONS = PROJECT_ROOT / "supabase" / "migrations"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

DEV = Actor("111", "dana", can_declare=True)
LEAD = Actor("222", "lee", is_lead=True)
LEAD2 = Actor("333", "lou", is_lead=True)
NOBODY = Actor("444", "olaf")


def migrate(db: ScratchDatabase, migrations_dir: Path = REPO_MIGRATIONS) -> None:
    """Create the tables the way CI does: the real Supabase CLI, `migration up`."""
    result = migration_up(db.url, migrations_dir)
    assert result.returncode == 0, result.stderr[-2000:]


def copy_migrations(target: Path) -> Path:
    """A private copy of the repository's migrations, to add files to."""
    shutil.copytree(REPO_MIGRATIONS, target)
    return target


class InlineOutbox(Outbox):
    """The real outbox, delivering each post as soon as it is queued (no background sender):
    a test's asserts right after an action see its posts."""

    async def enqueue(self, *args, **kwargs) -> bool:
        new = await super().enqueue(*args, **kwargs)
        await self.drain()
        return new


def inline_outbox(poster, data_dir: Path) -> InlineOutbox:
    """One per data folder, like the bot's: services made on the same folder share it (a restart)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return InlineOutbox(SqliteOutbox(data_dir / OUTBOX_FILE), poster)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def make_service(
    db_url: str,
    data_dir: Path,
    poster,
    *,
    clock: Clock | None = None,
    migrations_dir: Path = REPO_MIGRATIONS,
    store=None,
    lead_role_id: int | None = 9000,
    outbox=None,
    **options,
) -> HotfixService:
    settings = Settings(_env_file=None)

    async def read_status(env: str):
        _, report = await status_for(settings, env, db_url=db_url, migrations_dir=migrations_dir)
        return report

    return HotfixService(
        store or PostgresHotfixStore(db_url, role="service_role"),
        HotfixJournal(data_dir),
        outbox or inline_outbox(poster, data_dir),
        read_status=read_status,
        migration_files=FolderFiles(migrations_dir),
        reminder_hours=4,
        lead_role_id=lead_role_id,
        now=clock or Clock(),
        **options,
    )
