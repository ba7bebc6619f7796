"""/migrations against real databases, on the real discord.py path (simcord's team guild):
the command is typed by a member, the bot defers, reads the source and answers through Discord's HTTP layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import psycopg

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.console.virtual_guild import buttons
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.helpers import embed_text
from tests.fakes.team_guild import DEFER_PUBLIC, interaction_callbacks, team_guild


def _copy_repo_migrations(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in REPO_MIGRATIONS.glob("*.sql"):
        shutil.copy(path, target / path.name)
    return target


def _up(db_url: str, folder: Path) -> None:
    result = migration_up(db_url, folder)
    assert result.returncode == 0, result.stderr


async def _answer(tmp_path: Path, env: str | None, *, db_url: str | None = None, **settings) -> discord.Message:
    """``/migrations [env]`` typed in #engineering; the bot's (public) answer."""
    settings.setdefault("migrations_dir", REPO_MIGRATIONS)
    async with team_guild(tmp_path / "data", settings=settings, status_db_url=db_url) as guild:
        result = await (guild.slash("migrations", env=env) if env else guild.slash("migrations"))
        assert interaction_callbacks(guild)[0] == DEFER_PUBLIC and not result.ephemeral
        assert guild.env.errors == []
        return result.response.message


async def test_healthy_repository_answers_with_one_embed(migrated_db, tmp_path):
    message = await _answer(tmp_path, "dev", db_url=migrated_db.url)
    [embed] = message.embeds
    applied = len(list(REPO_MIGRATIONS.glob("*.sql")))
    assert embed.title == "✅ Migrations · DEV"
    assert "Nothing needs attention" in embed.description
    assert {f.name: f.value for f in embed.fields}["✅ applied"] == str(applied)
    assert discord.utils.escape_markdown(migrated_db.name) in embed.description  # the source line names the database
    assert message.attachments == [] and buttons(message) == []
    assert message_problems(None, [embed]) == []


async def test_default_env_is_supabase_mode(migrated_db, tmp_path):
    message = await _answer(tmp_path, None, db_url=migrated_db.url, supabase_mode="prod")
    assert message.embeds[0].title.endswith("PROD")


async def test_defers_before_reading_the_source(migrated_db, tmp_path, monkeypatch):
    deferred_before_reading = []
    original = PostgresStatusSource.fetch_rows

    async def watched(self):
        # What Discord had received when the bot started reading: the defer, already.
        deferred_before_reading.append([e.path.rsplit("/", 1)[-1] for e in guild.env.http_requests])
        return await original(self)

    monkeypatch.setattr(PostgresStatusSource, "fetch_rows", watched)
    async with team_guild(tmp_path / "data", status_db_url=migrated_db.url) as guild:
        await guild.slash("migrations", env="dev")
    [calls] = deferred_before_reading
    assert "callback" in calls


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
    [embed] = (await _answer(tmp_path, "dev", db_url=scratch_db.url, migrations_dir=folder)).embeds
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


async def test_every_page_of_a_long_list_fits_discord(migrated_db, tmp_path):
    # Paging, who may turn pages and the time-out: tests/status/test_migrations_discord.py.
    folder = _copy_repo_migrations(tmp_path / "migrations")
    for i in range(300):
        (folder / f"2026010100{i:04d}_pending_change_number_{i}.sql").write_text("select 1;\n")
    async with team_guild(
        tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=migrated_db.url
    ) as guild:
        message = (await guild.slash("migrations", env="dev")).response.message
        pages = int(buttons(message)[2].label.split("/")[1])
        seen = [message.embeds[0].to_dict()]
        for _ in range(pages - 1):
            await guild.press("Next", message=message)
            message = guild.history("engineering")[0]
            assert message_problems(message.content, message.embeds) == []
            seen.append(message.embeds[0].to_dict())
        assert buttons(message)[2].label == f"{pages}/{pages}" and len({repr(p) for p in seen}) == pages
        assert guild.env.errors == []


async def test_compare_shows_what_a_promotion_would_carry(scratch_databases, tmp_path):
    dev_folder = _copy_repo_migrations(tmp_path / "dev")
    (dev_folder / "20251211300000_add_tier.sql").write_text("create table if not exists public.tier (id int);\n")
    (dev_folder / "20251212000000_add_index.sql").write_text("select 1;\n")
    prod_folder = _copy_repo_migrations(tmp_path / "prod")
    (prod_folder / "20260101000000_studio_hotfix.sql").write_text("select 2;\n")
    dev, prod = scratch_databases(), scratch_databases()
    _up(dev.url, dev_folder)
    _up(prod.url, prod_folder)
    message = await _answer(
        tmp_path, "compare", migrations_dir=dev_folder, supabase_dev_db_url=dev.url, supabase_prod_db_url=prod.url
    )
    [embed] = message.embeds
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
