"""Posting to the team's channels, whatever is on the other end.

Cogs and services never look up Discord channels themselves: they call a
``ChannelPoster`` with a channel key ("alerts" or "engineering") and an
``OutgoingMessage`` (``dragonfly_bot.chat.message``). The bot gives them one that talks
to Discord (``dragonfly_bot.chat.poster.DiscordPoster``); the console gives them one
that prints to the terminal with the channel's name, so both show the same
messages. This module is pure: services import it without importing discord.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from dragonfly_bot.chat.message import OutgoingMessage

if TYPE_CHECKING:  # only the legacy methods below name discord types
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
    async def post(self, channel: ChannelKey, message: OutgoingMessage, *, thread_name: str | None = None) -> PostRef:
        """Post ``message``; with ``thread_name``, also open a thread on it when the channel allows."""

    async def edit_post(self, ref: PostRef, message: OutgoingMessage) -> None:
        """Make an earlier post show ``message`` (text, cards, buttons replaced; files kept unless new)."""

    async def reply_to(self, ref: PostRef, message: OutgoingMessage) -> PostRef:
        """Answer an earlier post (in its thread when it has one)."""

    # Discord-typed: only the outbox sender (dragonfly_bot.chat.outbox_sender) calls these, for every
    # row: they carry its nonce and history lookup, and the neutral-dict rows the relay and
    # the state-problem notice still enqueue (dragonfly_bot.chat.outbox_message.post). They go once
    # those post OutgoingMessages and the sender sends through the methods above.

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
        nonce: str | None = None,
    ) -> PostRef:
        """Post a message; with ``thread_name``, also open a thread on it when the channel allows.

        ``view`` attaches buttons (e.g. a hotfix's Approve); use persistent
        (dynamic) items so they keep working after a restart. ``nonce`` (at
        most 25 characters): Discord returns the message already posted with
        it in the last few minutes instead of posting again (the outbox's).
        """

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
        files: Sequence[discord.File] | None = None,
    ) -> None:
        """Replace the content and/or embeds of an earlier post.

        ``files``: None keeps the post's attachments (Discord keeps what an edit does not
        name); a list replaces them with these files.
        """

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        nonce: str | None = None,
    ) -> PostRef:
        """Answer an earlier post (in its thread when it has one)."""

    async def find_sent(
        self,
        channel: ChannelKey,
        *,
        nonce: str,
        since: float,
        content: str | None,
        embeds: Sequence[discord.Embed] = (),
    ) -> PostRef | None:
        """The bot's own post in ``channel`` since ``since`` (epoch seconds) carrying ``nonce``
        (or, as Discord's history shows no nonces, this very content and these embeds), if any."""
