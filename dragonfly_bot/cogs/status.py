"""``/migrations env:<dev|prod|compare>``: migration status, from the same engine as the CLI.

Discord does not let a command have both options and subcommands, so
"compare" is the third choice of ``env``: ``/migrations env:compare`` (the
console also accepts ``/migrations compare``).
"""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.chat.discord_message import to_embed, to_file
from dragonfly_bot.chat.ui import Page, Paginator
from dragonfly_bot.core.compare import compare_reports
from dragonfly_bot.core.environments import is_environment
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.status.render_discord import RenderedMessage, render_compare, render_status

ENV_CHOICES = [
    app_commands.Choice(name="dev", value="dev"),
    app_commands.Choice(name="prod", value="prod"),
    app_commands.Choice(name="compare (dev → prod)", value="compare"),
]


async def send_rendered(interaction: discord.Interaction, rendered: RenderedMessage) -> None:
    pages = [Page(embeds=[to_embed(card) for card in page]) for page in rendered.pages]
    view = Paginator(pages, owner_id=interaction.user.id)
    await view.send(interaction, files=[to_file(a) for a in rendered.files()])


class Migrations(commands.Cog):
    def __init__(self, bot: DragonflyBot):
        self.bot = bot

    @app_commands.command(name="migrations", description="Migration status for dev or prod, or what prod lacks")
    @app_commands.describe(env="dev, prod, or compare dev with prod (default: SUPABASE_MODE)")
    @app_commands.choices(env=ENV_CHOICES)
    async def migrations(self, interaction: discord.Interaction, env: str | None = None) -> None:
        # Reading the source can take longer than Discord's 3 s: answer "thinking" first.
        await interaction.response.defer(thinking=True)
        env = env or self.bot.settings.supabase_mode
        status = self.bot.services.status
        if env == "compare":
            (dev_source, dev), (prod_source, prod) = await asyncio.gather(status.read("dev"), status.read("prod"))
            rendered = render_compare(dev_source, prod_source, compare_reports(dev, prod))
        elif is_environment(env):
            source, report = await status.read(env)
            rendered = render_status(env, source, report)
        else:
            raise UserFacingError(f"unknown environment `{env}`: use dev, prod or compare")
        await send_rendered(interaction, rendered)


async def setup(bot: DragonflyBot) -> None:
    await bot.add_cog(Migrations(bot))
