"""/hotfix on the real discord.py path (simcord): posts via the outbox, escalation on the virtual clock,
the Approve button of a declaration journaled while the store was down."""

from __future__ import annotations

import discord

from bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from bot.console.virtual_guild import VirtualGuild, buttons
from tests.fakes.team_guild import team_guild

BACKUP_ROLE = 777_000_000_000_001
DOWN_URL = "postgresql://postgres@127.0.0.1:1/postgres"


def the_post(guild: VirtualGuild, summary: str) -> discord.Message:
    [post] = [m for m in guild.history("alerts") if m.embeds and m.embeds[0].description == summary]
    return post


def thread_texts(guild: VirtualGuild) -> list[str]:
    return [m.content for t in guild.channels["alerts"].threads for m in t.history()]


async def settle(guild: VirtualGuild) -> None:
    await guild.env.advance_time(1)  # the outbox delivers in the background: let it run


async def test_prod_declaration_escalates_on_the_virtual_clock_until_approved(migrated_db, tmp_path):
    settings = {
        "devops_backup_role_id": BACKUP_ROLE,
        "hotfix_approval_ping_minutes": 15,
        "hotfix_approval_escalate_minutes": 30,
    }
    async with team_guild(tmp_path / "data", settings=settings, status_db_url=migrated_db.url) as guild:
        cog = guild.env.bot.get_cog("Hotfix")
        cog.follow_up.cancel()  # the test runs the ticks itself, after each step of the clock
        cog.service.now = guild.env.now
        lead = guild.env.bot.settings.devops_lead_role_id
        summary = "payments stuck on a lock"
        declared = await guild.slash("hotfix declare", by="sam", env="prod", summary=summary, sql="select 1;")
        assert declared.ephemeral and "Do not touch prod until a DevOps lead approves" in declared.response.content
        await settle(guild)
        post = the_post(guild, summary)
        code = post.embeds[0].title.split()[2]
        assert post.content == f"<@&{lead}>: prod hotfix {code} needs your approval before prod is touched."
        assert [b.label for b in buttons(post)] == [f"Approve {code}"]
        assert guild.channels["alerts"].threads, "the declaration opens a thread"

        for _ in range(3):  # 15, 30, 45 minutes
            await guild.env.advance_time(15 * 60)
            await cog.run_follow_up()
            await settle(guild)
        pings = [t for t in thread_texts(guild) if "has waited" in t]
        assert [p.split("(reminder ")[1][0] for p in pings] == ["1", "2", "3"]
        assert pings[0].startswith(f"<@&{lead}>: ") and f"<@&{BACKUP_ROLE}>" not in pings[0]
        assert all(p.startswith(f"<@&{lead}> <@&{BACKUP_ROLE}>: ") for p in pings[1:])

        await cog.run_follow_up()  # the same ping number again: nothing new
        await settle(guild)
        assert len([t for t in thread_texts(guild) if "has waited" in t]) == 3

        refused = await guild.press(f"Approve {code}", message=post, by="sam")
        assert refused.followups[0].ephemeral and "only a DevOps lead" in refused.followups[0].content
        await guild.press(f"Approve {code}", message=post, by="lou")
        await settle(guild)
        post = the_post(guild, summary)
        assert post.embeds[0].title == f"Hotfix {code} in prod: approved" and buttons(post) == []
        assert not post.content and "approval needed" not in str(post.embeds[0].to_dict())
        await guild.env.advance_time(30 * 60)
        await cog.run_follow_up()
        await settle(guild)
        assert len([t for t in thread_texts(guild) if "has waited" in t]) == 3
        assert guild.env.errors == []


async def test_a_prod_declaration_journaled_during_an_outage_pings_and_is_approvable_once_the_store_is_back(
    migrated_db, tmp_path
):
    async with team_guild(tmp_path / "data", status_db_url=migrated_db.url) as guild:
        cog = guild.env.bot.get_cog("Hotfix")
        cog.follow_up.cancel()
        lead = guild.env.bot.settings.devops_lead_role_id
        real = cog.service.store
        cog.service.store = PostgresHotfixStore(DOWN_URL)
        summary = "prod declared while the store was down"
        declared = await guild.slash("hotfix declare", by="sam", env="prod", summary=summary)
        assert "saved in the bot's journal" in declared.response.content
        await settle(guild)
        post = the_post(guild, summary)
        assert post.content.startswith(f"<@&{lead}>: a prod hotfix (code pending) needs your approval")
        assert "code pending" in post.embeds[0].title and [b.label for b in buttons(post)] == ["Approve"]

        early = await guild.press("Approve", message=post, by="lou")
        assert "still unreachable" in early.followups[0].content

        cog.service.store = real  # the store is back
        await guild.press("Approve", message=post, by="lou")
        await settle(guild)
        post = the_post(guild, summary)
        code = post.embeds[0].title.split()[1]
        assert post.embeds[0].title == f"Hotfix {code} in prod: approved" and buttons(post) == []
        assert (await cog.service.get(code)).approved_by_name == "lou"
        await cog.run_follow_up()  # the replay finds it stored already: no second post
        await settle(guild)
        assert len([m for m in guild.history("alerts") if m.embeds and m.embeds[0].description == summary]) == 1
        assert guild.env.errors == []
