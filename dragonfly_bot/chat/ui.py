"""Shared Discord views: a paginator over pages of embeds.

Views refuse presses from anyone but the person they were made for, disable
their buttons when they time out (and cope with the message having been
deleted), and route errors through the central handler.

    view = Paginator(pages, owner_id=interaction.user.id)
    await view.send(interaction, files=[report_file])      # answers or follows up
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from dragonfly_bot.chat.errors import handle_app_command_error, send_ephemeral

log = logging.getLogger(__name__)


@dataclass
class Page:
    embeds: list[discord.Embed] = field(default_factory=list)
    content: str | None = None


class DragonflyView(discord.ui.View):
    """Base view: owner-only presses, clean time-out, central error handling."""

    def __init__(self, *, owner_id: int | None = None, timeout: float | None = 300):
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.Message | discord.WebhookMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self.owner_id is not None and interaction.user.id != self.owner_id:
            refusal = f"Only <@{self.owner_id}> can use these buttons; run the command yourself to get your own."
        else:
            refusal = None
        if refusal:
            await send_ephemeral(interaction, refusal)
            return False
        return True

    def disable_all(self) -> None:
        for item in self.children:
            if hasattr(item, "disabled"):
                item.disabled = True

    async def on_timeout(self) -> None:
        self.disable_all()
        if self.message is None:
            return
        try:
            await self.message.edit(view=self)
        except discord.NotFound:
            pass  # the message was deleted: nothing left to disable
        except discord.HTTPException as exc:
            log.info("could not disable buttons after timeout: %s", exc)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await handle_app_command_error(interaction, error)


class Paginator(DragonflyView):
    """First / previous / page x of n / next / last over a list of pages."""

    def __init__(self, pages: Sequence[Page], *, owner_id: int | None, timeout: float | None = 600):
        if not pages:
            raise ValueError("a paginator needs at least one page")
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.pages = list(pages)
        self.index = 0
        self._sync_buttons()

    @property
    def current(self) -> Page:
        return self.pages[self.index]

    def _sync_buttons(self) -> None:
        self.first_page.disabled = self.previous_page.disabled = self.index == 0
        self.next_page.disabled = self.last_page.disabled = self.index >= len(self.pages) - 1
        self.position.label = f"{self.index + 1}/{len(self.pages)}"

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync_buttons()
        page = self.current
        await interaction.response.edit_message(content=page.content, embeds=page.embeds, view=self)

    @discord.ui.button(label="⏮ First", style=discord.ButtonStyle.secondary)
    async def first_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, 0)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def position(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # a label, never enabled

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.primary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.index + 1)

    @discord.ui.button(label="Last ⏭", style=discord.ButtonStyle.secondary)
    async def last_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, len(self.pages) - 1)

    async def send(
        self, interaction: discord.Interaction, *, files: Sequence[discord.File] = (), ephemeral: bool = False
    ) -> None:
        """Send the first page (with the buttons only when there is more than one page)."""
        page = self.current
        view = self if len(self.pages) > 1 else discord.utils.MISSING
        if interaction.response.is_done():
            self.message = await interaction.followup.send(
                content=page.content or discord.utils.MISSING,
                embeds=page.embeds,
                files=list(files),
                view=view,
                ephemeral=ephemeral,
                wait=True,
            )
        else:
            await interaction.response.send_message(
                content=page.content, embeds=page.embeds, files=list(files), view=view, ephemeral=ephemeral
            )
            self.message = await interaction.original_response()
        if len(self.pages) == 1:
            self.stop()
