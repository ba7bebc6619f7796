"""/migrations on the real discord.py path (simcord): options, defer, paging buttons, the attachment."""

from __future__ import annotations

import discord

from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.console.virtual_guild import buttons
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.team_guild import DEFER_PUBLIC, interaction_callbacks, team_guild
from tests.status.test_migrations_cog import _copy_repo_migrations


async def test_healthy_dev_answers_after_a_public_defer(migrated_db, tmp_path):
    async with team_guild(tmp_path / "data", status_db_url=migrated_db.url) as guild:
        result = await guild.slash("migrations", env="dev")
        assert interaction_callbacks(guild) == [DEFER_PUBLIC] and not result.ephemeral
        [embed] = result.response.embeds
        applied = len(list(REPO_MIGRATIONS.glob("*.sql")))
        assert embed.title == "✅ Migrations · DEV"
        assert {f.name: f.value for f in embed.fields}["✅ applied"] == str(applied)
        assert discord.utils.escape_markdown(migrated_db.name) in embed.description
        assert result.response.attachments == [] and result.response.components == []
        assert message_problems(None, [embed]) == []
        assert guild.env.errors == []


async def test_a_long_list_pages_and_only_the_requester_turns_pages(migrated_db, tmp_path):
    folder = _copy_repo_migrations(tmp_path / "migrations")
    for i in range(300):
        (folder / f"2026010100{i:04d}_pending_change_number_{i}.sql").write_text("select 1;\n")
    async with team_guild(
        tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=migrated_db.url
    ) as guild:
        result = await guild.slash("migrations", env="dev")
        message = result.response.message
        [attached] = message.attachments
        assert attached.filename == "migrations-dev.txt"
        assert "20260101000299_pending_change_number_299.sql" in (await attached.read()).decode()
        labels = [b.label for b in buttons(message)]
        assert labels[:2] == ["⏮ First", "◀ Previous"] and labels[2].startswith("1/")
        pages = int(labels[2].split("/")[1])
        assert pages > 1
        # Someone else presses Next: refused, only they see why, the page stays.
        refused = await guild.press("Next", message=message, by="sam")
        assert refused.response.ephemeral and "Only <@" in refused.response.content
        assert buttons(guild.history("engineering")[-1])[2].label == f"1/{pages}"
        # The requester presses Next: the same message now shows page 2.
        await guild.press("Next", message=message)
        shown = guild.channels["engineering"].history()[0]
        assert shown.id == message.id and buttons(shown)[2].label == f"2/{pages}"
        assert not buttons(shown)[1].disabled
        assert message_problems(shown.content, shown.embeds) == []
        await guild.press("Last", message=shown)
        last = guild.channels["engineering"].history()[0]
        assert buttons(last)[2].label == f"{pages}/{pages}" and buttons(last)[3].disabled
        # After the paginator's time-out the buttons are disabled on the message itself.
        await guild.env.advance_time(601)
        assert all(b.disabled for b in buttons(guild.channels["engineering"].history()[0]))


async def test_an_unknown_choice_is_refused_before_the_bot_sees_it(migrated_db, tmp_path):
    import pytest
    import simcord

    async with team_guild(tmp_path / "data", status_db_url=migrated_db.url) as guild:
        with pytest.raises(simcord.OptionError, match="only allows"):
            await guild.slash("migrations", env="staging")


async def test_migrations_on_a_teams_own_older_view_answers_with_what_it_can_show(scratch_db, tmp_path):
    from tests.fakes.team_project import build_team_database, team_files, write_team_repo

    root = write_team_repo(tmp_path / "team")
    build_team_database(scratch_db.url, root)
    folder = root / "supabase" / "migrations"
    async with team_guild(
        tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=scratch_db.url
    ) as guild:
        result = await guild.slash("migrations", env="dev")
        [embed] = result.response.embeds
        assert embed.title == "✅ Migrations · DEV"  # every file applied: the team's view is no reason to fail
        assert {f.name: f.value for f in embed.fields}["✅ applied"] == str(len(team_files()))
        shown = " ".join([embed.description or "", *(f.value for f in embed.fields)])
        assert "dragonfly-bot init" in shown and "Something went wrong" not in shown
        assert message_problems(None, [embed]) == [] and guild.env.errors == []
