"""ChannelPoster for Discord: posts to the channels named in settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.chat.channels import ChannelKey, PostRef
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

# Mentions in posted text never ping unless the caller says so explicitly.
NO_MENTIONS = discord.AllowedMentions.none()
_SETTING = {"alerts": "ALERTS_CHANNEL_ID", "engineering": "ENGINEERING_CHANNEL_ID"}
# Where the bot posts, replies and opens threads (not categories, forums or DMs).
Postable = discord.TextChannel | discord.Thread | discord.VoiceChannel | discord.StageChannel
_POSTABLE = (discord.TextChannel, discord.Thread, discord.VoiceChannel, discord.StageChannel)


class DiscordPoster:
    def __init__(self, client: discord.Client, channel_ids: dict[str, int | None]):
        self._client = client
        self._channel_ids = channel_ids

    @classmethod
    def from_settings(cls, client: discord.Client, settings) -> DiscordPoster:
        return cls(client, {"alerts": settings.alerts_channel_id, "engineering": settings.engineering_channel_id})

    async def _channel(self, channel_id: int) -> Postable:
        found = self._client.get_channel(channel_id)
        if found is None:
            try:
                found = await self._client.fetch_channel(channel_id)
            except discord.NotFound:
                raise UserFacingError(f"channel {channel_id} does not exist or the bot cannot see it") from None
            except discord.Forbidden:
                raise UserFacingError(f"the bot has no access to channel {channel_id}; invite it there") from None
        if not isinstance(found, _POSTABLE):
            raise UserFacingError(f"channel {channel_id} is not a text channel or thread; give a text channel's id")
        return found

    async def _named(self, key: ChannelKey) -> Postable:
        channel_id = self._channel_ids.get(key)
        if channel_id is None:
            raise UserFacingError(f"{_SETTING[key]} is not set: the #{key} channel id the bot posts to")
        return await self._channel(channel_id)

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
        target = await self._named(channel)
        extra: dict[str, Any] = {"view": view} if view is not None else {}  # send() takes no view=None
        message = await target.send(
            content=content,
            embeds=list(embeds),
            files=list(files),
            allowed_mentions=allowed_mentions or NO_MENTIONS,
            **extra,
        )
        thread_id = None
        if thread_name and isinstance(target, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name[:100])
                thread_id = thread.id
            except discord.HTTPException as exc:  # no permission, or a channel type without threads
                log.warning("could not open a thread in #%s: %s", channel, exc)
        return PostRef(channel, target.id, message.id, thread_id)

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
    ) -> None:
        target = await self._channel(ref.channel_id)
        kwargs: dict = {}
        if content is not None:
            kwargs["content"] = content
        if embeds is not None:
            kwargs["embeds"] = list(embeds)
        await target.get_partial_message(ref.message_id).edit(**kwargs)

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> PostRef:
        mentions = allowed_mentions or NO_MENTIONS
        if ref.thread_id is not None:
            thread = await self._channel(ref.thread_id)
            message = await thread.send(content=content, embeds=list(embeds), allowed_mentions=mentions)
            return PostRef(ref.channel, ref.channel_id, message.id, ref.thread_id)
        target = await self._channel(ref.channel_id)
        message = await target.get_partial_message(ref.message_id).reply(
            content=content, embeds=list(embeds), allowed_mentions=mentions, mention_author=False
        )
        return PostRef(ref.channel, ref.channel_id, message.id, None)
