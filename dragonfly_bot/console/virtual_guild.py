"""The real bot in an offline team guild: simcord's in-memory Discord.

``VirtualGuild.running(bot)`` builds the guild the protocol assumes
(#alerts, #engineering, the hotfix and DevOps-lead roles, a few members),
writes its ids into ``bot.settings`` (so the bot reads them when it starts,
exactly as it reads the real ones), and starts the unmodified bot in it: its
``setup_hook`` syncs the commands to the guild, the gateway delivers READY and
the interactions, and everything the bot sends goes through discord.py's own
HTTP layer to simcord. The console, its ``--web`` preview, the cog tests and
``docs/render_images.py`` all drive the bot through this one module.

What the bot sent is read back from the guild's channels (threads included):
``changes_since(mark)`` lists the messages posted or edited after a mark, in
order, each with the channel it is in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import discord
import simcord
from simcord import ChannelHandle, GuildHandle, InteractionResult, MemberActor, RoleHandle

CHANNELS = ("engineering", "alerts")
HOTFIX_ROLE = "hotfix"
LEAD_ROLE = "devops-lead"


@dataclass(frozen=True)
class Teammate:
    name: str
    roles: tuple[str, ...] = ()


# The person at the keyboard first; the others make "another lead approves" and
# "a stranger presses my buttons" possible without a second Discord account.
TEAM: tuple[Teammate, ...] = (
    Teammate("you", (HOTFIX_ROLE, LEAD_ROLE)),
    Teammate("lou", (HOTFIX_ROLE, LEAD_ROLE)),
    Teammate("sam", (HOTFIX_ROLE,)),
    Teammate("guest"),
)


@dataclass(frozen=True)
class Sent:
    """One message of the bot's as a member of the guild sees it now."""

    channel: str  # "#alerts", "#alerts › HF-0001 add index"
    message: discord.Message
    edited: bool  # already shown before: this is its new version

    @property
    def ephemeral(self) -> bool:
        return self.message.flags.ephemeral


@dataclass(frozen=True)
class Mark:
    """What the channels held at one moment: message id → a fingerprint of its content."""

    seen: dict[int, str]


def _fingerprint(message: discord.Message) -> str:
    return repr(
        (
            message.content,
            [e.to_dict() for e in message.embeds],
            [c.to_dict() for c in message.components],
            [a.id for a in message.attachments],
        )
    )


class VirtualGuild:
    def __init__(
        self,
        env: simcord.Env,
        guild: GuildHandle,
        channels: dict[str, ChannelHandle],
        roles: dict[str, RoleHandle],
        members: dict[str, MemberActor],
        you_name: str | None = None,
    ):
        self.env = env
        self.guild = guild
        self.channels = channels
        self.roles = roles
        self.members = members
        self.you_name = you_name or next(iter(members))

    # ------------------------------------------------------------------ building and running

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls,
        bot: discord.Client,
        *,
        team: Sequence[Teammate] = TEAM,
        you: str | None = None,
        settle_timeout: float = 30.0,
    ) -> AsyncIterator[VirtualGuild]:
        """Start ``bot`` in a fresh guild, acting as ``you`` (the console user).

        ``you`` names a teammate to act as; another name takes the first teammate's
        place. Teammates are created in the same order every time, so each keeps
        the same id from one session to the next (the hotfix store remembers who
        declared what by id).

        The bot must read channel, role and owner ids from ``bot.settings`` when it
        starts (``setup_hook``, ``cog_load``), not in its constructor: they are
        written there just before it starts.
        """
        # check_errors=False: errors the bot handles itself (the tree's handler answers
        # the user) are still recorded; tests read them from ``env.errors``.
        env = simcord.Env(bot, check_errors=False, settle_timeout=settle_timeout)
        guild = env.create_guild("Dragonfly")
        channels = {name: guild.create_text_channel(name) for name in CHANNELS}
        roles = {name: guild.create_role(name, mentionable=True) for name in (HOTFIX_ROLE, LEAD_ROLE)}
        names = [mate.name for mate in team]
        if you and you not in names:
            names[0] = you
        members: dict[str, MemberActor] = {}
        for name, mate in zip(names, team, strict=True):
            members[name] = guild.add_member(env.create_user(name), roles=[roles[r] for r in mate.roles])
        you = you or names[0]
        settings: Any = bot.settings  # type: ignore[attr-defined]
        settings.discord_guild_id = guild.id
        settings.alerts_channel_id = channels["alerts"].id
        settings.engineering_channel_id = channels["engineering"].id
        settings.hotfix_role_id = roles[HOTFIX_ROLE].id
        settings.devops_lead_role_id = roles[LEAD_ROLE].id
        settings.owner_ids = [members[you].id]  # the console user may /admin sync
        await env.start()
        try:
            yield cls(env, guild, channels, roles, members, you)
        finally:
            await env.shutdown()

    # ------------------------------------------------------------------ acting as a member

    @property
    def you(self) -> MemberActor:
        return self.members[self.you_name]

    def member(self, name: str | None = None) -> MemberActor:
        return self.you if name is None else self.members[name]

    async def slash(
        self, command: str, /, *, by: str | None = None, channel: str = "engineering", **options: Any
    ) -> InteractionResult:
        """``/command`` (``"hotfix declare"``) typed by a member in a channel, through the gateway."""
        return await self.member(by).slash(self.channels[channel], command, **options)

    async def autocomplete(
        self, command: str, option: str, typed: str, /, *, by: str | None = None, **filled: Any
    ) -> list[dict[str, Any]]:
        return await self.member(by).autocomplete(self.channels["engineering"], command, option, typed, **filled)

    async def press(
        self, label: str, *, message: discord.Message | None = None, by: str | None = None
    ) -> InteractionResult:
        """Press a button by its label (exact, else the first containing it, case-insensitive), as a member.

        Without ``message``: on the newest message that has such a button enabled.
        Raises ``LookupError`` with the labels on offer when there is none.
        """
        target = message or self.find(label, self.member(by))
        if target is None:
            raise LookupError(f"no message has an enabled button {label!r}")
        button = match_button(buttons(target), label)
        if button is None:
            offered = ", ".join(b.label or "" for b in buttons(target))
            raise LookupError(f"no button {label!r}; buttons: {offered}")
        return await self.member(by).click(target, custom_id=button.custom_id)

    # ------------------------------------------------------------------ what the bot sent

    def _channels_and_threads(self) -> list[tuple[str, ChannelHandle]]:
        """Every channel and thread with its label; threads appear once the bot opens them."""
        found = []
        for name, handle in self.channels.items():
            found.append((f"#{name}", handle))
            found += [(f"#{name} › {t.name}", t) for t in handle.threads]
        return found

    def history(self, channel: str = "alerts") -> list[discord.Message]:
        """Every message in ``#channel`` (not its threads), oldest first."""
        return self.channels[channel].history()

    def mark(self, viewer: MemberActor | None = None) -> Mark:
        return Mark({m.id: _fingerprint(m) for _, h in self._channels_and_threads() for m in h.history(viewer=viewer)})

    def changes_since(self, mark: Mark, viewer: MemberActor | None = None) -> list[Sent]:
        """The bot's messages posted or changed since ``mark``, in the order they were first posted.

        With ``viewer``, only what that member sees (others' ephemeral answers left out)."""
        bot_id = self.env.bot.user.id if self.env.bot.user else None
        changes = []
        for label, handle in self._channels_and_threads():
            for message in handle.history(viewer=viewer):
                if message.author.id != bot_id:
                    continue
                before = mark.seen.get(message.id)
                if before is None:
                    changes.append(Sent(label, message, edited=False))
                elif before != _fingerprint(message):
                    changes.append(Sent(label, message, edited=True))
        return sorted(changes, key=lambda s: s.message.id)

    def with_buttons(self, viewer: MemberActor | None = None) -> list[discord.Message]:
        """Every message with buttons (that ``viewer`` sees), newest first."""
        messages = [m for _, h in self._channels_and_threads() for m in h.history(viewer=viewer) if buttons(m)]
        return sorted(messages, key=lambda m: m.id, reverse=True)

    def find(self, label: str, viewer: MemberActor | None = None) -> discord.Message | None:
        """The newest message with an enabled button matching ``label`` (see ``press``)."""
        for message in self.with_buttons(viewer):
            if match_button([b for b in buttons(message) if not b.disabled], label) is not None:
                return message
        return None

    def mention_names(self) -> dict[str, str]:
        """``<@&id>``/``<@id>``/``<#id>`` → the name Discord would draw, for text output."""
        names = {f"<@&{r.id}>": f"@{n}" for n, r in self.roles.items()}
        names.update({f"<@{m.id}>": f"@{n}" for n, m in self.members.items()})
        names.update({f"<#{c.id}>": f"#{n}" for n, c in self.channels.items()})
        return names


def buttons(message: discord.Message) -> list[discord.Button]:
    """The buttons of a message, row by row."""
    found = []
    for row in message.components:
        for child in getattr(row, "children", ()):
            if isinstance(child, discord.Button):
                found.append(child)
    return found


def match_button(candidates: Sequence[discord.Button], label: str) -> discord.Button | None:
    wanted = " ".join(label.casefold().split())
    exact = [b for b in candidates if (b.label or "").casefold() == wanted]
    found = exact or [b for b in candidates if wanted and wanted in (b.label or "").casefold()]
    return found[0] if found else None
