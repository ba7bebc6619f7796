"""Shared views on the real discord.py path (simcord): a time-out that survives a deleted message.

Who may turn pages, and the buttons' state page by page: tests/status/test_migrations_discord.py;
a single page has no buttons: tests/status/test_migrations_cog.py (the healthy answer).
"""

from __future__ import annotations

import discord

from dragonfly_bot.console.virtual_guild import buttons
from tests.fakes.team_guild import team_guild
from tests.status.test_migrations_cog import _copy_repo_migrations


async def test_paginator_time_out_with_a_deleted_message(migrated_db, tmp_path):
    folder = _copy_repo_migrations(tmp_path / "migrations")
    for i in range(150):
        (folder / f"2026010100{i:04d}_pending_number_{i}.sql").write_text("select 1;\n")
    async with team_guild(
        tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=migrated_db.url
    ) as guild:
        message = (await guild.slash("migrations", env="dev")).response.message
        assert buttons(message)
        moderators = guild.guild.create_role("moderator", permissions=discord.Permissions(manage_messages=True))
        moderator = guild.guild.add_member(guild.env.create_user("mod"), roles=[moderators])
        await moderator.delete(message)
        assert guild.history("engineering") == []
        await guild.env.advance_time(601)  # the paginator times out and edits a message that is gone
        tried = [e for e in guild.env.http_requests if e.method == "PATCH" and str(message.id) in e.path]
        assert tried, "the time-out never tried to disable the buttons"
        assert guild.env.errors == []
