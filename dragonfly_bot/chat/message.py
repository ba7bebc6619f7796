"""What the bot posts, in neutral terms: no discord.py type appears here.

Services and renderers build an ``OutgoingMessage`` (text, cards, files as
bytes, buttons as plain specs, who may be pinged); the chat adapter
(``dragonfly_bot.chat.discord_message``) turns it into discord.py objects at the last
moment, and the console prints the same message. So the layers below chat
never import discord, and a message can be checked in tests as plain data.

This module and ``dragonfly_bot.chat.channels`` are the only parts of ``dragonfly_bot/chat`` the
features may import: both are pure (standard library only).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

# 0xRRGGBB, the colours the bot uses for its cards.
GREEN = 0x2ECC71
RED = 0xE74C3C
ORANGE = 0xE67E22
BLUE = 0x3498DB
GREY = 0x95A5A6

ButtonStyle = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True)
class CardField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Card:
    """One block of a message (an embed on Discord)."""

    title: str | None = None
    description: str | None = None
    colour: int | None = None
    url: str | None = None
    fields: tuple[CardField, ...] = ()
    footer: str | None = None
    timestamp: datetime | None = None

    def with_field(self, name: str, value: str, *, inline: bool = False) -> Card:
        return replace(self, fields=(*self.fields, CardField(name, value, inline)))

    @property
    def size(self) -> int:
        """Characters Discord counts towards its 6,000 per message (title, description, fields, footer)."""
        parts = [self.title, self.description, self.footer, *(t for f in self.fields for t in (f.name, f.value))]
        return sum(len(p) for p in parts if p)


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message."""

    filename: str
    data: bytes
    description: str | None = None

    @classmethod
    def text(cls, filename: str, text: str) -> Attachment:
        return cls(filename, text.encode("utf-8"))


@dataclass(frozen=True)
class Button:
    """A button under the message. ``custom_id`` routes a press to the persistent handler
    registered for it (e.g. ``hotfix:approve:HF-0007``), so it works after a restart;
    ``url`` makes a link button instead."""

    label: str
    custom_id: str | None = None
    style: ButtonStyle = "secondary"
    url: str | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        if (self.custom_id is None) == (self.url is None):
            raise ValueError("a button has either a custom_id or a url")


@dataclass(frozen=True)
class Pings:
    """Who the message may notify. Nobody by default: a name in the text never pings
    unless its id is listed here."""

    users: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to post, edit to, or reply with.

    Editing a post to a message replaces its text, cards and buttons (no
    buttons: the old ones go); attachments already on the post stay unless
    the message brings new ones.
    """

    content: str | None = None
    cards: tuple[Card, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    buttons: tuple[Button, ...] = ()
    pings: Pings = field(default_factory=Pings)

    @property
    def first_title(self) -> str | None:
        return self.cards[0].title if self.cards else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (files as base64), for a durable store such as the outbox; ``from_dict`` reads it back."""
        data = asdict(self)
        for card in data["cards"]:
            card["timestamp"] = card["timestamp"].isoformat() if card["timestamp"] else None
        for attachment in data["attachments"]:
            attachment["data"] = base64.b64encode(attachment["data"]).decode("ascii")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutgoingMessage:
        cards = tuple(
            Card(
                **{
                    **c,
                    "fields": tuple(CardField(**f) for f in c.get("fields", ())),
                    "timestamp": datetime.fromisoformat(c["timestamp"]) if c.get("timestamp") else None,
                }
            )
            for c in data.get("cards", ())
        )
        attachments = tuple(
            Attachment(a["filename"], base64.b64decode(a["data"]), a.get("description"))
            for a in data.get("attachments", ())
        )
        pings = data.get("pings") or {}
        return cls(
            content=data.get("content"),
            cards=cards,
            attachments=attachments,
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            pings=Pings(tuple(pings.get("users", ())), tuple(pings.get("roles", ()))),
        )
