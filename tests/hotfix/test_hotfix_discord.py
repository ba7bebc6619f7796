"""/hotfix on the real discord.py path (simcord): posts via the outbox, escalation on the virtual clock,
the Approve button of a declaration journaled while the store was down; a migration missing a declared
statement holds the hotfix at applied_with_differences (posted in its thread) until another lead runs
/hotfix accept."""

from __future__ import annotations

import re

import discord

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.console.virtual_guild import VirtualGuild, buttons
from tests.fakes.hotfix_support import copy_migrations, migrate
from tests.fakes.team_guild import make_bot, team_guild

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


def text_of(message) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""] + [f"{f.name} {f.value}" for f in embed.fields]
    return "\n".join(parts)


def thread_text(guild: VirtualGuild, since) -> str:
    """What the bot posted in the hotfix's thread under #alerts since the mark."""
    return "\n".join(text_of(s.message) for s in guild.changes_since(since) if s.channel.startswith("#alerts ›"))


async def test_applied_with_differences_until_another_lead_accepts(scratch_db, tmp_path):
    migrate(scratch_db)
    folder = copy_migrations(tmp_path / "migrations")
    bot = make_bot(tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=scratch_db.url)
    async with VirtualGuild.running(bot) as guild:
        declared = await guild.slash(
            "hotfix declare",
            by="you",
            env="dev",
            summary="coupons expire too early",
            sql="update public.coupons set days = 30 where kind = 'promo';\n"
            "create index if not exists coupons_kind_idx on public.coupons (kind);",
        )
        code = re.search(r"HF-\d{4}", declared.response.content).group(0)
        (folder / "20251230100000_coupons.sql").write_text(
            f"-- hotfix: {code}\ncreate table if not exists public.coupons (kind text, days int);\n"
            "update public.coupons set days = 30 where kind = 'promo';\n"
        )
        assert migration_up(scratch_db.url, folder).returncode == 0
        start = guild.mark()
        await bot.get_cog("Hotfix").run_follow_up()
        await guild.env.settle()

        in_thread = thread_text(guild, start)
        assert f"{code} applied with differences" in in_thread and "coupons_kind_idx" in in_thread
        assert f"{code} synced" not in in_thread + "\n".join(text_of(m) for m in guild.history("alerts"))

        shown = await guild.slash("hotfix show", by="sam", code=code)
        assert shown.response.ephemeral and "applied with differences" in text_of(shown.response)

        refused = await guild.slash("hotfix accept", by="you", code=code, reason="the index is not needed in dev")
        assert refused.response.content == f"you declared {code}; another DevOps lead must accept its differences"
        accepted = await guild.slash("hotfix accept", by="lou", code=code, reason="the index is not needed in dev")
        assert accepted.response.content == f"You accepted the differences of {code}; it is synced."
        assert f"{code} synced: differences accepted by lou" in thread_text(guild, start)
        # The one error is the refusal, answered by the tree's handler in one line.
        assert [type(getattr(e, "original", e)).__name__ for e in guild.env.errors] == ["UserFacingError"]
