"""The error handler on the real discord.py path (simcord): what the user and the channel see."""

from __future__ import annotations

from tests.fakes.team_guild import DEFER_PUBLIC, interaction_callbacks, team_guild


async def test_an_error_after_a_public_defer_is_shown_only_to_the_caller(scratch_db, tmp_path):
    # /migrations defers publicly ("thinking…" for everyone). Discord treats follow-ups as edits
    # of that placeholder until it is completed, with its public visibility; deleting it ends the
    # interaction's follow-ups (10008), which left the user with no answer at all.
    async with team_guild(tmp_path / "data", status_db_url=scratch_db.url) as guild:  # no status view there
        result = await guild.slash("migrations", env="dev")
        assert interaction_callbacks(guild) == [DEFER_PUBLIC]
        public = result.response
        assert not public.ephemeral and public.content == (
            f"/migrations could not answer; the reason was shown to {guild.you.mention} only."
        )
        [reason] = result.followups
        assert reason.ephemeral and "v_migration_status does not exist" in reason.content
        # Nobody else sees the reason.
        seen_by_sam = [m.content for m in guild.channels["engineering"].history(viewer=guild.member("sam"))]
        assert seen_by_sam == [public.content]
