"""Hotfixes as Discord embeds: the #alerts post, updates, list and timeline.

User text (summary, SQL, review) only ever goes into embeds and is redacted
and clipped to Discord's limits here; mentions inside it never ping (the
senders pass ``AllowedMentions.none()`` or only the lead role).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.chat.limits import DESCRIPTION, FIELD_VALUE, clip, fit_embed, pack_lines
from bot.core.hotfix import CHECKLIST, Hotfix, HotfixEvent, HotfixState, NewHotfix, format_duration
from bot.core.hotfix_sql import differences
from bot.core.redact import redact
from bot.hotfix.render_text import STATE_LABELS, event_line, hotfix_line, one_line, when

SQL_PREVIEW = 900  # characters of SQL shown in the alert (inside a 1,024 field)
RED = discord.Colour.red()
ORANGE = discord.Colour.orange()
GREEN = discord.Colour.green()
GREY = discord.Colour.light_grey()


def sql_block(sql: str | None, limit: int = SQL_PREVIEW) -> str:
    if not sql:
        return "_no SQL given_"
    text = redact(sql).replace("```", "'''")
    if len(text) > limit:
        text = text[:limit] + f"\n-- … {len(sql) - limit:,} more characters"
    return f"```sql\n{text}\n```"


def checklist(code: str) -> str:
    return "\n".join(f"{i}. {step.format(code=code)}" for i, step in enumerate(CHECKLIST, 1))


def _closed_field(embed: discord.Embed, hotfix: Hotfix) -> None:
    """Who rejected or cancelled the hotfix, and why."""
    if hotfix.closed_unsynced:
        embed.add_field(
            name=f"{hotfix.state.value.capitalize()} by {clip(hotfix.closed_by_name or '-', 100)}",
            value=clip(redact(hotfix.closed_reason or "-"), FIELD_VALUE),
            inline=False,
        )


def alert_embed(hotfix: Hotfix) -> discord.Embed:
    """The #alerts post; edited as the hotfix moves on, so it always shows the current state."""
    awaiting = hotfix.state == HotfixState.AWAITING_APPROVAL
    title = f"🚨 Hotfix {hotfix.code} declared in {hotfix.environment}"
    if not hotfix.unsynced:
        title = f"Hotfix {hotfix.code} in {hotfix.environment}: {hotfix.state}"
    colour = GREY if hotfix.closed_unsynced else ORANGE if awaiting else RED
    embed = discord.Embed(title=title, description=clip(redact(hotfix.summary), 1000), colour=colour)
    embed.add_field(name="Declared by", value=clip(hotfix.declared_by_name, 200), inline=True)
    embed.add_field(name="State", value=STATE_LABELS[hotfix.state.value], inline=True)
    if hotfix.approved_by_name:
        embed.add_field(name="Approved by", value=clip(hotfix.approved_by_name, 200), inline=True)
    if hotfix.linked_file:
        embed.add_field(name="Migration", value=clip(f"`{hotfix.linked_file}`", 300), inline=True)
    _closed_field(embed, hotfix)
    if awaiting:
        embed.add_field(
            name="Prod: approval needed",
            value="A DevOps lead (not the declarer) must press **Approve** before anyone touches prod.",
            inline=False,
        )
    embed.add_field(name="SQL", value=clip(sql_block(hotfix.sql_text), FIELD_VALUE), inline=False)
    embed.add_field(name="If You Must Hotfix", value=clip(checklist(hotfix.code), FIELD_VALUE), inline=False)
    embed.set_footer(text=f"declared {when(hotfix.declared_at)}")
    return fit_embed(embed)


def pending_alert_embed(new: NewHotfix) -> discord.Embed:
    """Posted when the store is down: the emergency is documented now, the code comes later."""
    embed = discord.Embed(
        title=f"🚨 Hotfix declared in {new.environment} (code pending)",
        description=clip(redact(new.summary), 1000),
        colour=RED,
    )
    embed.add_field(name="Declared by", value=clip(new.declared_by_name, 200), inline=True)
    embed.add_field(
        name="Store unreachable",
        value=(
            "Saved in the bot's local journal; it gets its HF code (and approval buttons for prod) "
            "when the store is back."
        ),
        inline=False,
    )
    embed.add_field(name="SQL", value=clip(sql_block(new.sql_text), FIELD_VALUE), inline=False)
    embed.set_footer(text=f"declaration {new.id[:8]}")
    return fit_embed(embed)


def findings_lines(hotfix: Hotfix) -> list[str]:
    findings = hotfix.link_findings or {}
    lines: list[str] = []
    missing = findings.get("missing") or []
    if missing:
        lines.append(f"⚠️ The migration does not contain {len(missing)} statement(s) run in Studio:")
        lines += [f"• `{one_line(m, 150)}`" for m in missing[:10]]
    different = findings.get("different_values") or []
    if different:
        lines.append(
            f"⚠️ {len(different)} statement(s) run in Studio are in the migration with the same shape but "
            "different values:"
        )
        for pair in different[:10]:
            theirs = (pair.get("migration") or ["?"])[0]
            lines.append(f"• Studio `{one_line(pair.get('declared'), 120)}` · migration `{one_line(theirs, 120)}`")
    undone = findings.get("undone") or []
    if undone:
        lines.append(f"⚠️ {len(undone)} statement(s) run in Studio are in the migration, then taken back:")
        for item in undone[:10]:
            lines.append(
                f"• Studio `{one_line(item.get('declared'), 100)}` · migration `{one_line(item.get('migration'), 100)}`"
                f" {one_line(item.get('why'), 80)}"
            )
    same_name = findings.get("same_name") or []
    if same_name:
        lines.append(f"⚠️ {len(same_name)} object(s) the migration creates under Studio's name with another definition:")
        for item in same_name[:10]:
            effect = (
                "IF NOT EXISTS silently does nothing on the hotfixed database (the name is taken)"
                if item.get("if_not_exists")
                else "it fails on the hotfixed database (the name is taken)"
            )
            lines.append(f"• {one_line(item.get('object'), 80)}: `{one_line(item.get('migration'), 120)}`: {effect}")
    if not findings.get("compared"):
        lines.append("ℹ️ No SQL was declared, so the migration could not be compared.")
    elif not differences(findings):
        lines.append("✅ The migration contains every statement declared.")
    issues = findings.get("not_idempotent") or []
    if issues:
        lines.append(f"⚠️ {len(issues)} statement(s) would fail where the hotfix already ran (not idempotent):")
        lines += [f"• line {i['line']}: {i['message']}" for i in issues[:10]]
    return lines


def linked_embed(hotfix: Hotfix, *, automatic: bool) -> discord.Embed:
    how = "found automatically" if automatic else "linked"
    embed = discord.Embed(
        title=f"🔗 {hotfix.code}: migration {how}",
        description=clip(f"`{hotfix.linked_file}`\n" + "\n".join(findings_lines(hotfix)), DESCRIPTION),
        colour=ORANGE if differences(hotfix.link_findings) or hotfix.link_findings.get("not_idempotent") else GREEN,
    )
    embed.set_footer(text=f"synced once {hotfix.linked_version} is applied in {hotfix.environment}")
    return fit_embed(embed)


def update_embed(title: str, text: str, colour: discord.Colour = GREEN) -> discord.Embed:
    return fit_embed(discord.Embed(title=title, description=clip(text, DESCRIPTION), colour=colour))


def synced_embed(hotfix: Hotfix) -> discord.Embed:
    return update_embed(
        f"🔄 {hotfix.code} synced",
        f"`{hotfix.linked_file}` is applied in {hotfix.environment}, "
        f"{format_duration(hotfix.time_to_sync())} after the hotfix was declared.\n"
        f"Last step: the post-incident review, `/hotfix resolve {hotfix.code} review:...`",
    )


def differences_embed(hotfix: Hotfix) -> discord.Embed:
    """Applied, but the migration does not carry what was run in Studio: not synced."""
    return update_embed(
        f"⚠️ {hotfix.code} applied with differences",
        f"`{hotfix.linked_file}` is applied in {hotfix.environment}, but it does not carry the hotfix:\n"
        + "\n".join(findings_lines(hotfix))
        + f"\nNext: fix the file (or add one with `-- hotfix: {hotfix.code}`), or a DevOps lead accepts the "
        f"differences with `/hotfix accept {hotfix.code} reason:...`. Reminders go on until then.",
        ORANGE,
    )


def rechecked_embed(hotfix: Hotfix) -> discord.Embed:
    """The linked migration changed: what the content check finds now."""
    return update_embed(
        f"🔍 {hotfix.code}: migration checked again",
        f"`{hotfix.linked_file}` changed.\n" + "\n".join(findings_lines(hotfix)),
        ORANGE if differences(hotfix.link_findings) else GREEN,
    )


def list_embeds(hotfixes: Sequence[Hotfix], title: str) -> list[discord.Embed]:
    if not hotfixes:
        return [update_embed(title, "No hotfixes match.", discord.Colour.light_grey())]
    chunks = pack_lines((clip(hotfix_line(h), 300) for h in hotfixes), DESCRIPTION)
    pages = []
    for i, chunk in enumerate(chunks, 1):
        embed = discord.Embed(title=title, description=chunk, colour=discord.Colour.blurple())
        if len(chunks) > 1:
            embed.set_footer(text=f"page {i}/{len(chunks)}")
        pages.append(fit_embed(embed))
    return pages


def show_embed(hotfix: Hotfix, events: Sequence[HotfixEvent], now: datetime) -> discord.Embed:
    embed = discord.Embed(
        title=f"{hotfix.code} · {hotfix.environment} · {STATE_LABELS[hotfix.state.value]}",
        description=clip(redact(hotfix.summary), 1000),
        colour=GREY if hotfix.closed_unsynced else GREEN if not hotfix.unsynced else ORANGE,
    )
    embed.add_field(name="Declared by", value=clip(hotfix.declared_by_name, 200), inline=True)
    if hotfix.linked_file:
        embed.add_field(name="Migration", value=clip(f"`{hotfix.linked_file}`", 300), inline=True)
    synced = hotfix.time_to_sync()
    if synced is not None:
        embed.add_field(name="Time to sync", value=format_duration(synced), inline=True)
    elif hotfix.closed_unsynced and hotfix.closed_at:
        embed.add_field(name="Open for", value=format_duration(hotfix.closed_at - hotfix.declared_at), inline=True)
    else:
        embed.add_field(name="Unsynced for", value=format_duration(now - hotfix.declared_at), inline=True)
    _closed_field(embed, hotfix)
    if hotfix.linked_file:
        embed.add_field(
            name="Migration check", value=clip("\n".join(findings_lines(hotfix)), FIELD_VALUE), inline=False
        )
    embed.add_field(name="SQL", value=clip(sql_block(hotfix.sql_text, 600), FIELD_VALUE), inline=False)
    if hotfix.review:
        embed.add_field(name="Review", value=clip(redact(hotfix.review), FIELD_VALUE), inline=False)
    embed.add_field(name="Timeline", value=timeline_text(events), inline=False)
    return fit_embed(embed)


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
