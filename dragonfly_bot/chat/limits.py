"""Discord's message limits, and helpers that keep any message inside them.

Discord rejects a whole message (HTTP 400) when one limit is exceeded, so
every renderer clips with these before sending. ``message_problems`` lists
every violation; tests run it over every rendered page. Pure: it works on
the neutral ``Card`` (``fit_card``) and, for renderers not converted yet, on
a ``discord.Embed`` (``fit_embed``); both clip each part the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dragonfly_bot.chat.message import Card, CardField

if TYPE_CHECKING:
    import discord

TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000  # across ALL embeds of one message
EMBEDS_PER_MESSAGE = 10
CONTENT = 2000

ELLIPSIS = "…"
BLANK = "\u200b"  # what Discord accepts for an empty field name or value


def clip(text: str | None, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def _field(name: str | None, value: str | None) -> tuple[str, str]:
    return clip(name, FIELD_NAME) or BLANK, clip(value, FIELD_VALUE) or BLANK


def fit_card(card: Card) -> Card:
    """``card`` with every part clipped to its own limit."""
    return replace(
        card,
        title=clip(card.title, TITLE) if card.title else card.title,
        description=clip(card.description, DESCRIPTION) if card.description else card.description,
        fields=tuple(CardField(*_field(f.name, f.value), f.inline) for f in card.fields[:FIELDS]),
        footer=clip(card.footer, FOOTER) if card.footer else card.footer,
    )


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts towards the 6,000 limit (title, description, fields, footer, author)."""
    return len(embed)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Clip every part of ``embed`` to its own limit, in place; returns it."""
    if embed.title:
        embed.title = clip(embed.title, TITLE)
    if embed.description:
        embed.description = clip(embed.description, DESCRIPTION)
    fields = embed.fields[:FIELDS]
    embed.clear_fields()
    for f in fields:
        name, value = _field(f.name, f.value)
        embed.add_field(name=name, value=value, inline=bool(f.inline))
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(name=clip(embed.author.name, AUTHOR), url=embed.author.url, icon_url=embed.author.icon_url)
    return embed


def pack_lines(lines: Iterable[str], limit: int, *, separator: str = "\n") -> list[str]:
    """Join lines into chunks of at most ``limit`` characters, never splitting a line unless it alone is too long."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        candidate = f"{current}{separator}{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = line
    if current:
        chunks.append(current)
    return chunks


def _parts(block: Any) -> tuple[str, str, list[Any], str, str, int]:
    """(title, description, fields, footer, author, size) of a Card or a discord.Embed."""
    if isinstance(block, Card):
        return block.title or "", block.description or "", list(block.fields), block.footer or "", "", block.size
    return (
        block.title or "",
        block.description or "",
        list(block.fields),
        block.footer.text or "",
        block.author.name or "",
        embed_size(block),
    )


def message_problems(content: str | None, embeds: Sequence[Card] | Sequence[discord.Embed]) -> list[str]:
    """Every Discord limit this message breaks (empty when it is valid); cards or embeds alike."""
    problems = []
    if content and len(content) > CONTENT:
        problems.append(f"content {len(content)} > {CONTENT}")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = 0
    for i, e in enumerate(embeds):
        title, description, fields, footer, author, size = _parts(e)
        total += size
        checks = [
            ("title", len(title), TITLE),
            ("description", len(description), DESCRIPTION),
            ("fields", len(fields), FIELDS),
            ("footer", len(footer), FOOTER),
            ("author", len(author), AUTHOR),
        ]
        for f in fields:
            checks.append(("field name", len(f.name or ""), FIELD_NAME))
            checks.append(("field value", len(f.value or ""), FIELD_VALUE))
            if not f.name or not f.value:
                problems.append(f"embed {i}: empty field name or value")
        for what, size_, limit in checks:
            if size_ > limit:
                problems.append(f"embed {i}: {what} {size_} > {limit}")
    if total > EMBED_TOTAL:
        problems.append(f"embeds total {total} > {EMBED_TOTAL}")
    return problems
