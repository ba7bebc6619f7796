"""What an outbox row holds: an OutgoingMessage, or the older neutral message.

Rows hold an ``OutgoingMessage`` (``dragonfly_bot.chat.message``) under the key
``OUTGOING``, or the neutral message ``post()`` builds (the relay and the
state-problem notice still build these).

The neutral message (JSON-able): ``content``; ``embeds``: cards with
``title``, ``description``, ``url``, ``colour``, ``fields`` (``name``,
``value``, ``inline``), ``footer``; ``mention_users`` / ``mention_roles``:
ids allowed to ping (nobody else ever is); ``files``: ``name`` + ``text``;
``thread_name``; ``view``: ``{"kind": ..., ...}`` made into buttons by the
factory registered for that kind (persistent views, e.g. hotfix approval).

The sender (``dragonfly_bot.chat.outbox_sender``) turns either into Discord objects.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import discord

from dragonfly_bot.chat.limits import fit_embed
from dragonfly_bot.chat.message import OutgoingMessage

# --------------------------------------------------------------------------- the neutral message


def card(
    *,
    title: str | None = None,
    description: str | None = None,
    url: str | None = None,
    colour: int | None = None,
    fields: Iterable[tuple[str, str, bool]] = (),
    footer: str | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {"title": title, "description": description, "url": url, "colour": colour}
    found["fields"] = [{"name": n, "value": v, "inline": i} for n, v, i in fields]
    found["footer"] = footer
    return {k: v for k, v in found.items() if v not in (None, [])}


def card_from_embed(embed: discord.Embed) -> dict[str, Any]:
    """The neutral card of an embed a renderer made (until renderers make cards themselves)."""
    return card(
        title=embed.title,
        description=embed.description,
        url=embed.url,
        colour=embed.colour.value if embed.colour is not None else None,
        fields=[(f.name or "", f.value or "", bool(f.inline)) for f in embed.fields],
        footer=embed.footer.text,
    )


def post(
    *,
    content: str | None = None,
    embeds: Sequence[discord.Embed | Mapping[str, Any]] = (),
    mention_users: Iterable[int] = (),
    mention_roles: Iterable[int] = (),
    files: Iterable[tuple[str, str]] = (),
    thread_name: str | None = None,
    view: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A neutral message for ``Outbox.enqueue`` (embeds may be discord.Embed or cards)."""
    message: dict[str, Any] = {
        "content": content,
        "embeds": [card_from_embed(e) if isinstance(e, discord.Embed) else dict(e) for e in embeds],
        "mention_users": sorted({int(u) for u in mention_users}),
        "mention_roles": sorted({int(r) for r in mention_roles}),
        "files": [{"name": name, "text": text} for name, text in files],
        "thread_name": thread_name,
        "view": dict(view) if view else None,
    }
    return {k: v for k, v in message.items() if v not in (None, [])}


def embed_of(data: Mapping[str, Any]) -> discord.Embed:
    embed = discord.Embed(
        title=data.get("title"),
        description=data.get("description"),
        url=data.get("url"),
        colour=data.get("colour"),
    )
    for field in data.get("fields", ()):
        embed.add_field(name=field.get("name", ""), value=field.get("value", ""), inline=bool(field.get("inline")))
    if data.get("footer"):
        embed.set_footer(text=data["footer"])
    return fit_embed(embed)


def mentions_of(message: Mapping[str, Any]) -> discord.AllowedMentions:
    users = [discord.Object(id=u) for u in message.get("mention_users", ())]
    roles = [discord.Object(id=r) for r in message.get("mention_roles", ())]
    return discord.AllowedMentions(everyone=False, users=users or False, roles=roles or False, replied_user=False)


def files_of(message: Mapping[str, Any]) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(str(f.get("text", "")).encode()), filename=str(f.get("name", "attachment.txt")))
        for f in message.get("files", ())
    ]


# --------------------------------------------------------------------------- OutgoingMessage rows

OUTGOING = "outgoing"  # a row holding a dragonfly_bot.chat.message.OutgoingMessage (as JSON) under this key


def outgoing_to_json(message: OutgoingMessage) -> dict[str, Any]:
    """An OutgoingMessage as an outbox row's JSON (the message type's own codec)."""
    return {OUTGOING: message.to_dict()}


def outgoing_from_json(data: Mapping[str, Any]) -> OutgoingMessage:
    return OutgoingMessage.from_dict(dict(data[OUTGOING]))
