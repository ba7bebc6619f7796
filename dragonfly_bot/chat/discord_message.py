"""``OutgoingMessage`` -> discord.py objects: the one place the neutral message meets Discord.

Cards become embeds clipped to Discord's limits (``dragonfly_bot.chat.limits``), files
become fresh ``discord.File``s (one can be sent only once), buttons become a
persistent view (``timeout=None``; a press is routed by its custom_id to the
dynamic item registered for it), and pings become ``AllowedMentions`` that
notify exactly the listed users and roles.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from typing import Any

import discord

from dragonfly_bot.chat import limits
from dragonfly_bot.chat.message import Attachment, Button, Card, OutgoingMessage, Pings

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


def to_embed(card: Card) -> discord.Embed:
    embed = discord.Embed(
        title=card.title,
        description=card.description,
        colour=card.colour,
        url=card.url,
        timestamp=card.timestamp,
    )
    for f in limits.fit_card(card).fields:
        embed.add_field(name=f.name, value=f.value, inline=f.inline)
    if card.footer:
        embed.set_footer(text=card.footer)
    return limits.fit_embed(embed)


def to_embeds(message: OutgoingMessage) -> list[discord.Embed]:
    return [to_embed(card) for card in message.cards]


def to_file(attachment: Attachment) -> discord.File:
    return discord.File(io.BytesIO(attachment.data), filename=attachment.filename, description=attachment.description)


def to_files(message: OutgoingMessage) -> list[discord.File]:
    return [to_file(a) for a in message.attachments]


def to_button(spec: Button) -> discord.ui.Button:
    if spec.url is not None:
        return discord.ui.Button(label=spec.label, url=spec.url, disabled=spec.disabled)
    return discord.ui.Button(
        label=spec.label, custom_id=spec.custom_id, style=_STYLES[spec.style], disabled=spec.disabled
    )


# Makes a feature's own item (e.g. a DynamicItem) for a button whose custom_id matches its pattern.
ButtonFactory = Callable[[re.Match[str]], discord.ui.Item[Any]]


def to_view(
    message: OutgoingMessage, factories: Sequence[tuple[re.Pattern[str], ButtonFactory]] = ()
) -> discord.ui.View | None:
    """The buttons as a persistent view; a button matching one of ``factories`` is that feature's item
    (so pressing it works wherever the view object itself is used, e.g. the console)."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in message.buttons:
        item: discord.ui.Item[Any] = to_button(spec)
        for pattern, make in factories:
            if (match := re.fullmatch(pattern, spec.custom_id or "")) is not None:
                item = make(match)
                break
        view.add_item(item)
    return view


def to_mentions(pings: Pings) -> discord.AllowedMentions:
    if not pings.users and not pings.roles:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False,
        users=[discord.Object(id=u) for u in pings.users] or False,
        roles=[discord.Object(id=r) for r in pings.roles] or False,
        replied_user=False,
    )


def send_kwargs(message: OutgoingMessage) -> dict[str, Any]:
    """Keyword arguments for ``Messageable.send`` (and ``followup.send``)."""
    kwargs: dict[str, Any] = {
        "content": message.content,
        "embeds": to_embeds(message),
        "files": to_files(message),
        "allowed_mentions": to_mentions(message.pings),
    }
    view = to_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


def edit_kwargs(message: OutgoingMessage) -> dict[str, Any]:
    """Keyword arguments for ``Message.edit``: text, cards and buttons replaced; attachments
    kept unless the message brings new ones."""
    kwargs: dict[str, Any] = {
        "content": message.content,
        "embeds": to_embeds(message),
        "view": to_view(message),
        "allowed_mentions": to_mentions(message.pings),
    }
    if message.attachments:
        kwargs["attachments"] = to_files(message)
    return kwargs
