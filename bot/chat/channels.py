"""Posting to the team's channels, whatever is on the other end.

Cogs and services never look up Discord channels themselves: they call a
``ChannelPoster`` with a channel key ("alerts" or "engineering"). The bot
gives them one that talks to Discord; the console gives them one that prints
to the terminal with the channel's name, so both show the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import discord

ChannelKey = Literal["alerts", "engineering"]


@dataclass(frozen=True)
class PostRef:
    """Where a post landed, so it can be edited or replied to later (and stored)."""

    channel: ChannelKey
    channel_id: int
    message_id: int
    thread_id: int | None = None


class ChannelPoster(Protocol):
    async def send(
        self,
        channel: ChannelKey,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        files: Sequence[discord.File] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        thread_name: str | None = None,
        view: discord.ui.View | None = None,
    ) -> PostRef:
        """Post a message; with ``thread_name``, also open a thread on it when the channel allows.

        ``view`` attaches buttons (e.g. a hotfix's Approve); use persistent
        (dynamic) items so they keep working after a restart.
        """

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
    ) -> None:
        """Replace the content and/or embeds of an earlier post."""

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> PostRef:
        """Answer an earlier post (in its thread when it has one)."""
