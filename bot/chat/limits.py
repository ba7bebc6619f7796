"""Discord's message limits, and helpers that keep any message inside them.

Discord rejects a whole message (HTTP 400) when one limit is exceeded, so
every renderer clips with these before sending. ``message_problems`` lists
every violation; tests run it over every rendered page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def clip(text: str | None, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


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
        embed.add_field(
            name=clip(f.name, FIELD_NAME) or "\u200b", value=clip(f.value, FIELD_VALUE) or "\u200b", inline=f.inline
        )
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


def message_problems(content: str | None, embeds: Sequence[discord.Embed]) -> list[str]:
    """Every Discord limit this message breaks (empty when it is valid)."""
    problems = []
    if content and len(content) > CONTENT:
        problems.append(f"content {len(content)} > {CONTENT}")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = 0
    for i, e in enumerate(embeds):
        total += embed_size(e)
        checks = [
            ("title", len(e.title or ""), TITLE),
            ("description", len(e.description or ""), DESCRIPTION),
            ("fields", len(e.fields), FIELDS),
            ("footer", len(e.footer.text or ""), FOOTER),
            ("author", len(e.author.name or ""), AUTHOR),
        ]
        for f in e.fields:
            checks.append(("field name", len(f.name or ""), FIELD_NAME))
            checks.append(("field value", len(f.value or ""), FIELD_VALUE))
            if not f.name or not f.value:
                problems.append(f"embed {i}: empty field name or value")
        for what, size, limit in checks:
            if size > limit:
                problems.append(f"embed {i}: {what} {size} > {limit}")
    if total > EMBED_TOTAL:
        problems.append(f"embeds total {total} > {EMBED_TOTAL}")
    return problems
