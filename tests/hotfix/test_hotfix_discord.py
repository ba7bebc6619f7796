"""/hotfix on the real discord.py path (simcord): a migration missing a declared statement holds the hotfix
at applied_with_differences (posted in its thread) until another lead runs /hotfix accept."""

from __future__ import annotations

import re

from bot.adapters.localdb import migration_up
from bot.console.virtual_guild import VirtualGuild
from tests.fakes.hotfix_support import copy_migrations, migrate
from tests.fakes.team_guild import make_bot


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
