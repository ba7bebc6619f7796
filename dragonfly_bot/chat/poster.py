"""ChannelPoster for Discord: posts to the channels named in settings.

``post``/``edit_post``/``reply_to`` take the neutral ``OutgoingMessage`` and
translate it here (``dragonfly_bot.chat.discord_message``). ``LegacyBridge`` gives the
same three methods to a poster that only has the older discord-typed
``send``/``edit``/``reply`` (the console's and the tests' recording poster).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import discord

from dragonfly_bot.chat.channels import ChannelKey, PostRef
from dragonfly_bot.chat.discord_message import edit_kwargs, send_kwargs, to_embeds, to_files, to_mentions, to_view
from dragonfly_bot.chat.message import OutgoingMessage
from dragonfly_bot.errors import UserFacingError

log = logging.getLogger(__name__)

# Mentions in posted text never ping unless the caller says so explicitly.
NO_MENTIONS = discord.AllowedMentions.none()
# How far back the outbox looks for a post whose send had an unknown outcome.
HISTORY_LOOKUP = 100
HISTORY_SLACK_SECONDS = 30.0
_SETTING = {"alerts": "ALERTS_CHANNEL_ID", "engineering": "ENGINEERING_CHANNEL_ID"}
# Where the bot posts, replies and opens threads (not categories, forums or DMs).
Postable = discord.TextChannel | discord.Thread | discord.VoiceChannel | discord.StageChannel
_POSTABLE = (discord.TextChannel, discord.Thread, discord.VoiceChannel, discord.StageChannel)


def fingerprint(content: str | None, embeds: Sequence[discord.Embed]) -> tuple:
    """What a reader sees of a message: two posts with the same fingerprint look the same."""
    cards = tuple(
        (e.title or "", e.description or "", tuple((f.name or "", f.value or "") for f in e.fields), e.footer.text)
        for e in embeds
    )
    return (content or "", cards)


class LegacyBridge:
    """``post``/``edit_post``/``reply_to`` over a poster's discord-typed ``send``/``edit``/``reply``."""

    async def post(self, channel: ChannelKey, message: OutgoingMessage, *, thread_name: str | None = None) -> PostRef:
        return await self.send(  # type: ignore[attr-defined]
            channel,
            content=message.content,
            embeds=to_embeds(message),
            files=to_files(message),
            allowed_mentions=to_mentions(message.pings),
            thread_name=thread_name,
            view=to_view(message),
        )

    async def edit_post(self, ref: PostRef, message: OutgoingMessage) -> None:
        files = {"files": to_files(message)} if message.attachments else {}
        await self.edit(ref, content=message.content, embeds=to_embeds(message), **files)  # type: ignore[attr-defined]

    async def reply_to(self, ref: PostRef, message: OutgoingMessage) -> PostRef:
        return await self.reply(  # type: ignore[attr-defined]
            ref, content=message.content, embeds=to_embeds(message), allowed_mentions=to_mentions(message.pings)
        )


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

    async def post(self, channel: ChannelKey, message: OutgoingMessage, *, thread_name: str | None = None) -> PostRef:
        target = await self._named(channel)
        sent = await target.send(**send_kwargs(message))
        return PostRef(channel, target.id, sent.id, await self._open_thread(channel, target, sent, thread_name))

    async def edit_post(self, ref: PostRef, message: OutgoingMessage) -> None:
        target = await self._channel(ref.channel_id)
        await target.get_partial_message(ref.message_id).edit(**edit_kwargs(message))

    async def reply_to(self, ref: PostRef, message: OutgoingMessage) -> PostRef:
        kwargs = send_kwargs(message)
        if ref.thread_id is not None:
            thread = await self._channel(ref.thread_id)
            sent = await thread.send(**kwargs)
            return PostRef(ref.channel, ref.channel_id, sent.id, ref.thread_id)
        target = await self._channel(ref.channel_id)
        sent = await target.get_partial_message(ref.message_id).reply(**kwargs, mention_author=False)
        return PostRef(ref.channel, ref.channel_id, sent.id, None)

    async def _open_thread(
        self, channel: ChannelKey, target: discord.abc.Messageable, message: discord.Message, name: str | None
    ) -> int | None:
        if not name or not isinstance(target, discord.TextChannel):
            return None
        try:
            thread = await message.create_thread(name=name[:100])
        except discord.HTTPException as exc:  # no permission, or a channel type without threads
            log.warning("could not open a thread in #%s: %s", channel, exc)
            return None
        return thread.id

    # ------------------------------------------------------------------ legacy, discord-typed

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
        target = await self._named(channel)
        extra: dict[str, Any] = {"view": view} if view is not None else {}  # send() takes no view=None
        if nonce is not None:
            extra["nonce"] = nonce  # discord.py sends enforce_nonce with it
        message = await target.send(
            content=content,
            embeds=list(embeds),
            files=list(files),
            allowed_mentions=allowed_mentions or NO_MENTIONS,
            **extra,
        )
        return PostRef(channel, target.id, message.id, await self._open_thread(channel, target, message, thread_name))

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
        files: Sequence[discord.File] | None = None,
    ) -> None:
        target = await self._channel(ref.channel_id)
        kwargs: dict = {}
        if content is not None:
            kwargs["content"] = content
        if embeds is not None:
            kwargs["embeds"] = list(embeds)
        if files is not None:
            # discord.py uploads File objects given as attachments= and keeps only those listed.
            kwargs["attachments"] = list(files)
        await target.get_partial_message(ref.message_id).edit(**kwargs)

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        nonce: str | None = None,
    ) -> PostRef:
        mentions = allowed_mentions or NO_MENTIONS
        extra: dict = {"nonce": nonce} if nonce is not None else {}
        if ref.thread_id is not None:
            thread = await self._channel(ref.thread_id)
            message = await thread.send(content=content, embeds=list(embeds), allowed_mentions=mentions, **extra)
            return PostRef(ref.channel, ref.channel_id, message.id, ref.thread_id)
        target = await self._channel(ref.channel_id)
        message = await target.get_partial_message(ref.message_id).reply(
            content=content, embeds=list(embeds), allowed_mentions=mentions, mention_author=False, **extra
        )
        return PostRef(ref.channel, ref.channel_id, message.id, None)

    async def find_sent(
        self,
        channel: ChannelKey,
        *,
        nonce: str,
        since: float,
        content: str | None,
        embeds: Sequence[discord.Embed] = (),
    ) -> PostRef | None:
        wanted = fingerprint(content, embeds)
        target = await self._named(channel)
        me = self._client.user
        # A little before the attempt: the clocks of this machine and Discord's differ.
        after = datetime.fromtimestamp(since - HISTORY_SLACK_SECONDS, UTC)
        async for message in target.history(limit=HISTORY_LOOKUP, after=after, oldest_first=True):
            if me is not None and message.author.id != me.id:
                continue
            same_nonce = message.nonce is not None and str(message.nonce) == nonce
            if same_nonce or fingerprint(message.content, message.embeds) == wanted:
                thread = message.thread.id if message.thread is not None else None
                return PostRef(channel, message.channel.id, message.id, thread)
        return None
