"""``/admin sync``: owner-only re-sync of the slash commands."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from dragonfly_bot.chat.app import DragonflyBot, bot_of
from dragonfly_bot.errors import UserFacingError

log = logging.getLogger(__name__)


async def is_bot_owner(interaction: discord.Interaction) -> bool:
    """Owners are OWNER_IDS, else the application's owner/team (asked from Discord)."""
    bot = bot_of(interaction)
    if interaction.user.id in bot.settings.owner_ids:
        return True
    if bot.settings.owner_ids:
        return False
    try:
        return await bot.is_owner(interaction.user)
    except Exception as exc:  # Discord unreachable (or the console): nobody is the owner
        log.info("could not ask Discord who owns the application: %s", type(exc).__name__)
        return False


async def _owner_only(interaction: discord.Interaction) -> bool:
    if not await is_bot_owner(interaction):
        raise app_commands.CheckFailure("owner only")
    return True


class Admin(commands.GroupCog, group_name="admin", group_description="Bot administration (owners only)"):
    def __init__(self, bot: DragonflyBot):
        self.bot = bot
        super().__init__()

    @app_commands.command(name="sync", description="Re-sync the slash commands (guild: instant; global: up to an hour)")
    @app_commands.describe(scope="guild (DISCORD_GUILD_ID) or global")
    @app_commands.check(_owner_only)
    async def sync(self, interaction: discord.Interaction, scope: Literal["guild", "global"] = "guild") -> None:
        if self.bot.user is None:
            raise UserFacingError("the bot is not logged in to Discord (console mode?): there is nothing to sync")
        await interaction.response.defer(ephemeral=True, thinking=True)
        if scope == "guild" and self.bot.settings.discord_guild_id is None:
            await interaction.followup.send(
                "DISCORD_GUILD_ID is not set, so there is no guild to sync to; use scope:global.", ephemeral=True
            )
            return
        synced = await self.bot.sync_commands(global_=scope == "global")
        await interaction.followup.send("Synced " + "; ".join(synced) + ".", ephemeral=True)


async def setup(bot: DragonflyBot) -> None:
    await bot.add_cog(Admin(bot))
