"""/migrations against real databases: the cog callback with a spec'd interaction fake."""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import psycopg

from bot.adapters.localdb import migration_up
from bot.adapters.supabase.postgres import PostgresStatusSource
from bot.chat.app import DragonflyBot
from bot.chat.limits import message_problems
from bot.chat.ui import Paginator
from bot.compose import build_services
from bot.settings import Settings
from cogs.status import Migrations
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.helpers import (
    RecordingPoster,
    embed_text,
    file_text,
    make_interaction,
    sent_embeds,
    sent_files,
    sent_views,
)


def _bot(db_url: str | None = None, **values) -> DragonflyBot:
    settings = Settings(_env_file=None, **values)
    return DragonflyBot(
        settings,
        services=build_services(settings, db_url=db_url),
        poster=RecordingPoster(),
        serve_web=False,
        sync_commands=False,
    )


def _copy_repo_migrations(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in REPO_MIGRATIONS.glob("*.sql"):
        shutil.copy(path, target / path.name)
    return target


def _up(db_url: str, folder: Path) -> None:
    result = migration_up(db_url, folder)
    assert result.returncode == 0, result.stderr


async def test_healthy_repository_answers_with_one_embed(migrated_db):
    bot = _bot(db_url=migrated_db.url, migrations_dir=REPO_MIGRATIONS)
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env="dev")
    assert inter.events[0] == "defer"
    inter.response.defer.assert_awaited_once_with(thinking=True)
    [embed] = sent_embeds(inter)
    applied = len(list(REPO_MIGRATIONS.glob("*.sql")))
    assert embed.title == "✅ Migrations · DEV"
    assert "Nothing needs attention" in embed.description
    assert {f.name: f.value for f in embed.fields}["✅ applied"] == str(applied)
    assert discord.utils.escape_markdown(migrated_db.name) in embed.description  # the source line names the database
    assert sent_files(inter) == [] and sent_views(inter) == []
    assert message_problems(None, [embed]) == []


async def test_default_env_is_supabase_mode(migrated_db):
    bot = _bot(db_url=migrated_db.url, migrations_dir=REPO_MIGRATIONS, supabase_mode="prod")
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env=None)
    assert sent_embeds(inter)[0].title.endswith("PROD")


async def test_defers_before_reading_the_source(migrated_db, monkeypatch):
    seen = []
    original = PostgresStatusSource.fetch_rows

    async def watched(self):
        seen.append(inter.response.is_done())
        return await original(self)

    monkeypatch.setattr(PostgresStatusSource, "fetch_rows", watched)
    bot = _bot(db_url=migrated_db.url, migrations_dir=REPO_MIGRATIONS)
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env="dev")
    assert seen == [True]


async def test_every_attention_state_is_listed(scratch_db, tmp_path):
    folder = _copy_repo_migrations(tmp_path / "migrations")
    (folder / "20980101000000_keep.sql").write_text("create table if not exists public.keep (id int);\n")
    (folder / "20980102000000_edited.sql").write_text("create table if not exists public.edited (id int);\n")
    (folder / "20980103000000_gone.sql").write_text("create table if not exists public.gone (id int);\n")
    _up(scratch_db.url, folder)
    # After CI applied them: one file edited, one deleted, one new, one old new one, one failed in CI.
    (folder / "20980102000000_edited.sql").write_text("create table if not exists public.edited (id bigint);\n")
    (folder / "20980103000000_gone.sql").unlink()
    (folder / "20980104000000_new.sql").write_text("select 1;\n")
    (folder / "20980101500000_late.sql").write_text("select 2;\n")
    (folder / "20980105000000_broken.sql").write_text("create table public.keep (id int);\n")
    with psycopg.connect(scratch_db.url, autocommit=True) as conn:
        conn.execute(
            "insert into public.migration_runs (environment, status, version, file_name, sqlstate, error_message)"
            " values ('dev', 'failed', '20980105000000', '20980105000000_broken.sql', '42P07',"
            " 'relation \"keep\" already exists')"
        )
    bot = _bot(db_url=scratch_db.url, migrations_dir=folder)
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env="dev")
    [embed] = sent_embeds(inter)
    text = embed_text(embed)
    assert embed.title.startswith("❌")
    assert embed.colour == discord.Colour.red()
    for file, state in [
        ("20980102000000_edited.sql", "modified"),
        ("20980103000000_gone.sql", "missing locally"),
        ("20980104000000_new.sql", "blocked"),  # behind the missing and out-of-order files
        ("20980101500000_late.sql", "out of order"),
        ("20980105000000_broken.sql", "FAILED"),
    ]:
        line = next(line for line in text.splitlines() if file in line)
        assert state in line, line
    assert "SQLSTATE 42P07" in text
    assert "20251211400000_keep.sql" not in embed.description  # applied ones are summarised
    fields = {f.name: f.value for f in embed.fields}
    assert fields["⛔ blocked"] == "1" and fields["⏳ pending"] == "0" and fields["❌ FAILED"] == "1"


async def test_long_list_is_paged_with_the_report_attached(migrated_db, tmp_path):
    folder = _copy_repo_migrations(tmp_path / "migrations")
    for i in range(300):
        (folder / f"2026010100{i:04d}_pending_change_number_{i}.sql").write_text("select 1;\n")
    bot = _bot(db_url=migrated_db.url, migrations_dir=folder)
    cog = Migrations(bot)
    owner = make_interaction()
    await cog.migrations.callback(cog, owner, env="dev")
    [view] = sent_views(owner)
    assert isinstance(view, Paginator) and len(view.pages) > 1
    [attached] = sent_files(owner)
    assert attached.filename == "migrations-dev.txt"
    report = file_text(attached)
    assert "2026010100" + "0299_pending_change_number_299.sql" in report
    for page in view.pages:
        assert message_problems(page.content, page.embeds) == []
    # Someone else presses Next: refused, ephemerally.
    stranger = make_interaction()
    assert await view.interaction_check(stranger) is False
    assert stranger.sent[-1]["ephemeral"] is True
    # The invoker presses Next: the message shows page 2.
    presser = make_interaction(user=owner.user)
    assert await view.interaction_check(presser) is True
    await view.next_page.callback(presser)
    assert presser.sent[-1]["via"] == "edit_message"
    assert presser.sent[-1]["embeds"] == view.pages[1].embeds
    assert view.position.label == f"2/{len(view.pages)}" and not view.previous_page.disabled
    # Timing out disables the buttons and edits the message; a deleted message is fine.
    await view.on_timeout()
    assert all(item.disabled for item in view.children)


async def test_compare_shows_what_a_promotion_would_carry(scratch_databases, tmp_path):
    dev_folder = _copy_repo_migrations(tmp_path / "dev")
    (dev_folder / "20251211300000_add_tier.sql").write_text("create table if not exists public.tier (id int);\n")
    (dev_folder / "20251212000000_add_index.sql").write_text("select 1;\n")
    prod_folder = _copy_repo_migrations(tmp_path / "prod")
    (prod_folder / "20260101000000_studio_hotfix.sql").write_text("select 2;\n")
    dev, prod = scratch_databases(), scratch_databases()
    _up(dev.url, dev_folder)
    _up(prod.url, prod_folder)
    bot = _bot(migrations_dir=dev_folder, supabase_dev_db_url=dev.url, supabase_prod_db_url=prod.url)
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env="compare")
    [embed] = sent_embeds(inter)
    text = embed.description
    assert "DEV → PROD" in embed.title
    promote = text.split("Applied in dev, not yet in prod (2)")[1].split("In prod, not in dev")[0]
    assert "20251211300000_add_tier.sql" in promote and "20251212000000_add_index.sql" in promote
    assert "--include-all" in promote  # older than prod's newest applied version
    assert "20260101000000_studio_hotfix.sql" in text.split("In prod, not in dev (1)")[1]
    assert discord.utils.escape_markdown(dev.name) in text and discord.utils.escape_markdown(prod.name) in text
    # The prediction for prod: its next `migration up` refuses (20260101000000 has no file on this branch).
    prediction = next(line for line in text.splitlines() if line.startswith("➡️ Prod:"))
    assert "refuses the whole run" in prediction and "20260101000000" in prediction
