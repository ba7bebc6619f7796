"""Spec'd fakes for testing cogs without Discord (python-discord's tests/fakes/helpers.py style).

``make_interaction()`` gives a mock with ``spec=discord.Interaction``: its
``response`` behaves like an ``InteractionResponse`` (``is_done()`` really
tracks whether it was answered, and answering twice raises
``InteractionResponded`` as Discord would) and its ``followup`` like a
``discord.Webhook``. Everything sent is recorded in ``interaction.sent`` (in
order, with ``defer`` events in ``interaction.events``), so tests assert on
what a user would have seen::

    inter = make_interaction(roles=[HOTFIX_ROLE])
    await cog.migrations.callback(cog, inter, env="dev")
    assert sent_embeds(inter)[0].title.startswith("Migrations")

``RecordingPoster`` is a ``dragonfly_bot.chat.channels.ChannelPoster`` that records posts
to #alerts/#engineering instead of sending them. ``run_console`` runs
``dragonfly-bot console`` in a subprocess, free of this machine's settings.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import AsyncMock, MagicMock, PropertyMock

import discord

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from dragonfly_bot.chat.channels import ChannelKey, PostRef
from dragonfly_bot.chat.discord_message import to_embeds
from dragonfly_bot.chat.message import OutgoingMessage
from dragonfly_bot.chat.poster import LegacyBridge

_ids = itertools.count(100_000_000_000_000_001)


def next_id() -> int:
    """A fresh snowflake-looking id."""
    return next(_ids)


# --------------------------------------------------------------------------- users, guilds, channels


def make_role(role_id: int | None = None, name: str = "role") -> MagicMock:
    role = MagicMock(spec=discord.Role)
    role.id = role_id if role_id is not None else next_id()
    role.name = name
    role.mention = f"<@&{role.id}>"
    return role


def make_guild(guild_id: int | None = None, name: str = "Dragonfly") -> MagicMock:
    guild = MagicMock(spec=discord.Guild)
    guild.id = guild_id if guild_id is not None else next_id()
    guild.name = name
    return guild


def make_channel(channel_id: int | None = None, name: str = "engineering") -> MagicMock:
    channel = MagicMock(spec=discord.TextChannel)
    channel.id = channel_id if channel_id is not None else next_id()
    channel.name = name
    channel.mention = f"<#{channel.id}>"
    return channel


def make_member(
    user_id: int | None = None,
    name: str = "alice",
    roles: Iterable[int | discord.Role] = (),
    guild: Any = None,
) -> MagicMock:
    """A guild member (passes ``isinstance(x, discord.Member)``) with these role ids."""
    member = MagicMock(spec=discord.Member)
    member.id = user_id if user_id is not None else next_id()
    member.name = name
    member.display_name = name
    member.global_name = name
    member.mention = f"<@{member.id}>"
    member.bot = False
    member.guild = guild
    member.roles = [r if not isinstance(r, int) else make_role(r) for r in roles]
    member.get_role = lambda rid: next((r for r in member.roles if r.id == rid), None)
    member.__str__.return_value = name
    return member


# --------------------------------------------------------------------------- interactions


def _message(recorded: list, via: str) -> MagicMock:
    """A sent message mock whose edits are recorded too."""
    message = MagicMock(spec=discord.WebhookMessage)
    message.id = next_id()

    async def edit(**kwargs):
        recorded.append({"via": f"{via}.edit", "message_id": message.id, **kwargs})
        return message

    message.edit = AsyncMock(side_effect=edit)
    message.delete = AsyncMock()
    return message


def make_interaction(
    *,
    user: Any = None,
    roles: Iterable[int | discord.Role] = (),
    guild: Any = "default",
    channel: Any = None,
    command_name: str = "migrations",
    client: Any = None,
) -> MagicMock:
    """A ``discord.Interaction`` fake that records what the code under test sends.

    ``guild=None`` makes a DM interaction; ``roles`` apply when ``user`` is not given.
    """
    interaction = MagicMock(spec=discord.Interaction)
    interaction.id = next_id()
    interaction.guild = make_guild() if guild == "default" else guild
    interaction.guild_id = interaction.guild.id if interaction.guild is not None else None
    interaction.channel = channel or make_channel()
    interaction.channel_id = interaction.channel.id
    interaction.user = user or make_member(roles=roles, guild=interaction.guild)
    interaction.client = client
    interaction.type = discord.InteractionType.application_command
    command = MagicMock(spec=discord.app_commands.Command)
    command.name = command_name.split()[-1]
    command.qualified_name = command_name
    interaction.command = command
    interaction.extras = {}

    sent: list[dict] = []
    events: list[str] = []
    interaction.sent = sent
    interaction.events = events
    # placeholder: a defer's "thinking…" message is showing. Discord makes the first
    # follow-up replace it, with the defer's visibility whatever the follow-up asks.
    state = {"done": False, "deferred": False, "placeholder": False, "defer_ephemeral": False, "type": None}

    response = MagicMock(spec=discord.InteractionResponse)
    type(response).type = PropertyMock(side_effect=lambda: state["type"])

    def _answer(kind: str) -> None:
        if state["done"]:
            raise discord.InteractionResponded(interaction)
        state["done"] = True
        events.append(kind)

    async def send_message(content=None, **kwargs):
        _answer("send_message")
        sent.append({"via": "response", "content": content, **kwargs})

    async def defer(*, ephemeral=False, thinking=False, **kwargs):
        _answer("defer")
        state["deferred"] = True
        if interaction.type is discord.InteractionType.application_command or thinking:
            state.update(
                placeholder=True,
                defer_ephemeral=ephemeral,
                type=discord.InteractionResponseType.deferred_channel_message,
            )
        else:
            state["type"] = discord.InteractionResponseType.deferred_message_update

    async def edit_message(**kwargs):
        _answer("edit_message")
        sent.append({"via": "edit_message", **kwargs})

    async def send_modal(modal):
        _answer("send_modal")
        sent.append({"via": "modal", "modal": modal})

    response.send_message = AsyncMock(side_effect=send_message)
    response.defer = AsyncMock(side_effect=defer)
    response.edit_message = AsyncMock(side_effect=edit_message)
    response.send_modal = AsyncMock(side_effect=send_modal)
    response.is_done = MagicMock(side_effect=lambda: state["done"])
    interaction.response = response

    followup = MagicMock(spec=discord.Webhook)

    async def followup_send(content=None, **kwargs):
        if not state["done"]:
            # Discord answers 404 Unknown Webhook for a follow-up before any response.
            raise AssertionError("followup.send before the interaction was answered or deferred")
        events.append("followup.send")
        record = {"via": "followup", "content": content, **kwargs}
        if state["placeholder"]:
            state["placeholder"] = False
            record["ephemeral"] = state["defer_ephemeral"]
        sent.append(record)
        return _message(sent, "followup")

    followup.send = AsyncMock(side_effect=followup_send)
    interaction.followup = followup

    original = _message(sent, "original")

    async def edit_original_response(**kwargs):
        events.append("edit_original_response")
        state["placeholder"] = False
        sent.append({"via": "original.edit", **kwargs})
        return original

    async def original_response():
        original.flags = discord.MessageFlags(loading=state["placeholder"], ephemeral=state["defer_ephemeral"])
        return original

    async def delete_original_response():
        events.append("delete_original_response")
        state["placeholder"] = False

    interaction.edit_original_response = AsyncMock(side_effect=edit_original_response)
    interaction.original_response = AsyncMock(side_effect=original_response)
    interaction.delete_original_response = AsyncMock(side_effect=delete_original_response)
    interaction.is_expired = MagicMock(return_value=False)
    return interaction


def is_deferred(interaction) -> bool:
    return "defer" in interaction.events


# --------------------------------------------------------------------------- extracting what was sent


def _embeds_of(record: dict) -> list[discord.Embed]:
    found = list(record.get("embeds") or [])
    if record.get("embed") is not None:
        found.append(record["embed"])
    return found


def _files_of(record: dict) -> list[discord.File]:
    found = list(record.get("files") or [])
    if record.get("file") is not None:
        found.append(record["file"])
    return found


def sent_records(target) -> list[dict]:
    """Everything sent through an interaction fake or a RecordingPoster, in order."""
    return list(target.sent)


def sent_embeds(target) -> list[discord.Embed]:
    return [e for r in sent_records(target) for e in _embeds_of(r)]


def sent_files(target) -> list[discord.File]:
    return [f for r in sent_records(target) for f in _files_of(r)]


def sent_contents(target) -> list[str]:
    return [r["content"] for r in sent_records(target) if r.get("content")]


def sent_views(target) -> list[discord.ui.View]:
    return [r["view"] for r in sent_records(target) if isinstance(r.get("view"), discord.ui.View)]


def file_text(file: discord.File) -> str:
    """The text of a discord.File (rewinds it, so it can be read again)."""
    file.fp.seek(0)
    data = file.fp.read()
    file.fp.seek(0)
    return data.decode("utf-8") if isinstance(data, bytes) else data


def embed_text(embed: discord.Embed) -> str:
    """Title, description, fields and footer of an embed as one string (for ``in`` asserts)."""
    parts = [embed.title or "", embed.description or ""]
    for f in embed.fields:
        parts += [f.name or "", f.value or ""]
    parts.append(embed.footer.text or "")
    parts.append(embed.author.name or "")
    return "\n".join(parts)


def last_ephemeral_text(interaction) -> str | None:
    """The content (or first embed's description) of the last ephemeral message sent."""
    for record in reversed(interaction.sent):
        if record.get("ephemeral"):
            if record.get("content"):
                return record["content"]
            embeds = _embeds_of(record)
            return embeds[0].description if embeds else None
    return None


# --------------------------------------------------------------------------- channel poster


@dataclass
class RecordingPoster(LegacyBridge):
    """A ChannelPoster that records instead of posting; channel ids are per key."""

    channel_ids: dict[str, int] = field(default_factory=lambda: {"alerts": 1001, "engineering": 1002})
    sent: list[dict] = field(default_factory=list)
    edits: list[dict] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    # Discord's enforce_nonce: a nonce seen before gives back its message, nothing new is posted.
    by_nonce: dict[str, PostRef] = field(default_factory=dict)

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
        if nonce is not None and nonce in self.by_nonce:
            return self.by_nonce[nonce]
        message_id = next_id()
        ref = PostRef(
            channel=channel,
            channel_id=self.channel_ids[channel],
            message_id=message_id,
            thread_id=message_id if thread_name else None,  # Discord gives a thread its starter's id
        )
        self.sent.append(
            {
                "ref": ref,
                "channel": channel,
                "content": content,
                "embeds": list(embeds),
                "files": list(files),
                "allowed_mentions": allowed_mentions,
                "thread_name": thread_name,
                "view": view,
                "nonce": nonce,
            }
        )
        if nonce is not None:
            self.by_nonce[nonce] = ref
        return ref

    async def edit(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] | None = None,
        files: Sequence[discord.File] | None = None,
    ):
        self.edits.append(
            {
                "ref": ref,
                "content": content,
                "embeds": None if embeds is None else list(embeds),
                "files": None if files is None else list(files),  # None: the post keeps its attachments
            }
        )

    async def edit_post(self, ref: PostRef, message: OutgoingMessage) -> None:
        """The whole message replaced, buttons included (none: they go), as Discord's edit does."""
        self.edits.append(
            {"ref": ref, "content": message.content, "embeds": to_embeds(message), "buttons": list(message.buttons)}
        )

    async def reply(
        self,
        ref: PostRef,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        allowed_mentions: discord.AllowedMentions | None = None,
        nonce: str | None = None,
    ) -> PostRef:
        if nonce is not None and nonce in self.by_nonce:
            return self.by_nonce[nonce]
        new = PostRef(ref.channel, ref.channel_id, next_id(), ref.thread_id)
        if nonce is not None:
            self.by_nonce[nonce] = new
        self.replies.append(
            {
                "ref": new,
                "to": ref,
                "content": content,
                "embeds": list(embeds),
                "allowed_mentions": allowed_mentions,
            }
        )
        return new

    async def find_sent(
        self,
        channel: ChannelKey,
        *,
        nonce: str,
        since: float,
        content: str | None,
        embeds: Sequence[discord.Embed] = (),
    ) -> PostRef | None:
        found = self.by_nonce.get(nonce)
        return found if found is not None and found.channel == channel else None

    def posts_to(self, channel: ChannelKey) -> list[dict]:
        return [p for p in self.sent if p["channel"] == channel]


# --------------------------------------------------------------------------- the console as a subprocess


def run_console(args: list[str], stdin: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m dragonfly_bot.cli console ARGS`` fed ``stdin``, from the project root, with none of
    this environment's SUPABASE_* / DISCORD_* settings; ``env`` adds variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.cli", "console", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        env=clean,
    )
