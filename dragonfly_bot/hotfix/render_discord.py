"""Hotfixes for the cog's own answers: list pages and ``/hotfix show``, as embeds.

The cards are made by the neutral renderers (``dragonfly_bot.hotfix.render_posts`` for
what goes to #alerts, ``show_card``/``list_cards`` here); this module only
turns them into discord.py embeds at the edge, so each piece of text is
written once. User text is redacted and clipped before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from dragonfly_bot.chat.discord_message import to_embed
from dragonfly_bot.chat.limits import DESCRIPTION, FIELD_VALUE, clip, pack_lines
from dragonfly_bot.chat.message import BLUE, GREEN, GREY, ORANGE, Card, CardField
from dragonfly_bot.core import hotfix_timeline as timeline
from dragonfly_bot.core.hotfix import Hotfix, HotfixEvent, NewHotfix, format_duration
from dragonfly_bot.core.redact import redact
from dragonfly_bot.hotfix import render_posts
from dragonfly_bot.hotfix.render_posts import findings_lines, sql_block
from dragonfly_bot.hotfix.render_text import STATE_LABELS, event_line, followup_line, hotfix_line, sql_runs

__all__ = [
    "alert_embed",
    "findings_lines",
    "linked_embed",
    "list_embeds",
    "pending_alert_embed",
    "show_card",
    "show_embed",
    "sql_block",
    "timeline_text",
]


def alert_embed(hotfix: Hotfix) -> discord.Embed:
    return to_embed(render_posts.alert_card(hotfix))


def pending_alert_embed(new: NewHotfix) -> discord.Embed:
    return to_embed(render_posts.pending_message(new, lead_role_id=None).cards[0])


def linked_embed(hotfix: Hotfix, *, automatic: bool) -> discord.Embed:
    return to_embed(render_posts.linked_card(hotfix, automatic=automatic))


def list_cards(hotfixes: Sequence[Hotfix], title: str) -> list[Card]:
    if not hotfixes:
        return [render_posts.update_card(title, "No hotfixes match.", GREY)]
    chunks = pack_lines((clip(hotfix_line(h), 300) for h in hotfixes), DESCRIPTION)
    footer = (lambda i: f"page {i}/{len(chunks)}") if len(chunks) > 1 else (lambda i: None)
    return [Card(title=title, description=chunk, colour=BLUE, footer=footer(i)) for i, chunk in enumerate(chunks, 1)]


def list_embeds(hotfixes: Sequence[Hotfix], title: str) -> list[discord.Embed]:
    return [to_embed(card) for card in list_cards(hotfixes, title)]


def _field(name: str, value: str, inline: bool = False) -> CardField:
    return CardField(clip(name, 256), clip(value or "-", FIELD_VALUE), inline)


def show_card(hotfix: Hotfix, events: Sequence[HotfixEvent], now: datetime) -> Card:
    fields = [_field("Declared by", clip(hotfix.declared_by_name, 200), True)]
    if hotfix.linked_file:
        fields.append(_field("Migration", f"`{hotfix.linked_file}`", True))
    synced = hotfix.time_to_sync()
    if synced is not None:
        fields.append(_field("Time to sync", format_duration(synced), True))
    elif hotfix.closed_unsynced and hotfix.closed_at:
        fields.append(_field("Open for", format_duration(hotfix.closed_at - hotfix.declared_at), True))
    else:
        fields.append(_field("Unsynced for", format_duration(now - hotfix.declared_at), True))
    if hotfix.closed_unsynced:
        who = clip(hotfix.closed_by_name or "-", 100)
        fields.append(_field(f"{hotfix.state.value.capitalize()} by {who}", redact(hotfix.closed_reason or "-")))
    runs = sql_runs(events)
    if runs:
        fields.append(_field("SQL run in Studio", "\n".join(f"by {r}" for r in runs)))
    if hotfix.linked_file:
        fields.append(_field("Migration check", "\n".join(findings_lines(hotfix))))
    fields.append(_field("SQL", sql_block(hotfix.sql_text, 600)))
    details = timeline.details_of(events)
    if details.get("impact"):
        fields.append(_field("Impact", redact(details["impact"])))
    if details.get("rollback"):
        fields.append(_field("Rollback", sql_block(details["rollback"], 400)))
    if hotfix.review:
        fields.append(_field("Review", redact(hotfix.review)))
    items = timeline.followups(events)
    if items:
        lines = [("⏰ " if f.overdue(now) else "• ") + followup_line(f) for f in items]
        fields.append(_field("Follow-ups", "\n".join(lines)))
    fields.append(_field("Timeline", timeline_text(events)))
    return Card(
        title=f"{hotfix.code} · {hotfix.environment} · {STATE_LABELS.get(hotfix.state.value, hotfix.state.value)}",
        description=clip(redact(hotfix.summary), 1000),
        colour=GREY if hotfix.closed_unsynced else GREEN if not hotfix.unsynced else ORANGE,
        fields=tuple(fields),
    )


def show_embed(hotfix: Hotfix, events: Sequence[HotfixEvent], now: datetime) -> discord.Embed:
    return to_embed(show_card(hotfix, events, now))


def timeline_text(events: Sequence[HotfixEvent], limit: int = FIELD_VALUE) -> str:
    """The declaration and the latest events that fit; the middle is summarised."""
    lines = [clip(event_line(e), 200) for e in events]
    if not lines:
        return "-"
    if len("\n".join(lines)) <= limit:
        return "\n".join(lines)
    head = lines[0]
    tail: list[str] = []
    for line in reversed(lines[1:]):
        skipped = len(lines) - 1 - len(tail) - 1
        candidate = "\n".join([head, f"… {skipped} earlier event(s)", line, *tail])
        if len(candidate) > limit:
            break
        tail.insert(0, line)
    skipped = len(lines) - 1 - len(tail)
    return "\n".join([head, f"… {skipped} earlier event(s)", *tail])
