"""The one chat renderer of migration status (``/migrations``) and of dev vs prod (``compare``).

A message is a list of pages, each one neutral ``Card`` (``dragonfly_bot.chat.message``)
inside every Discord limit; when the list of migrations needing attention
does not fit on one page the cog pages through them with buttons and
attaches the full text report. No discord import: the cog translates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dragonfly_bot.chat import limits as limits
from dragonfly_bot.chat.markdown import plain
from dragonfly_bot.chat.message import GREEN, ORANGE, RED, Attachment, Card, CardField
from dragonfly_bot.core.compare import Comparison
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.status import ATTENTION_ORDER, LEGACY, SUPABASE, MigrationStatus, State, StatusReport
from dragonfly_bot.status.render_compare import render_compare_text
from dragonfly_bot.status.render_text import display_name, render_text

EMOJI = {
    State.APPLIED: "✅",
    State.UNVERIFIABLE: "☑️",
    State.PENDING: "⏳",
    State.FAILED: "❌",
    State.MISSING_LOCAL: "👻",
    State.MODIFIED: "✏️",
    State.OUT_OF_ORDER: "🔀",
    State.LEGACY_ONLY: "📜",
    State.BLOCKED: "⛔",
}
LABEL = {
    State.APPLIED: "applied",
    State.UNVERIFIABLE: "unverifiable",
    State.PENDING: "pending",
    State.FAILED: "FAILED",
    State.MISSING_LOCAL: "missing locally",
    State.MODIFIED: "modified",
    State.OUT_OF_ORDER: "out of order",
    State.LEGACY_ONLY: "legacy only",
    State.BLOCKED: "blocked",
}
LINE_LIMIT = 300  # one migration's line, so a page always holds several
LIST_BUDGET = 3000  # description characters for the list, leaving room for the header
SOURCE_LIMIT = 300


@dataclass
class RenderedMessage:
    """Pages (each a list of embeds) plus, when paged, the full report as a text file."""

    pages: list[list[Card]]
    attachment_name: str | None = None
    attachment_text: str | None = None
    extra: dict = field(default_factory=dict)

    def files(self) -> list[Attachment]:
        """The full report, redacted like the cards: it quotes error messages from the database as they are."""
        if self.attachment_text is None or self.attachment_name is None:
            return []
        return [Attachment.text(self.attachment_name, redact(self.attachment_text))]


def _code(text: str) -> str:
    return "`" + text.replace("`", "ˋ") + "`"


def _plain(text: str) -> str:
    """Outside text shown as-is (no markdown, no mentions), on one short line."""
    one_line = " ".join(redact(text).split())
    return plain(limits.clip(one_line, SOURCE_LIMIT))


def migration_line(m: MigrationStatus) -> str:
    line = f"{EMOJI[m.state]} {_code(display_name(m))} · {LABEL[m.state]}"
    detail = m.error_message or m.note
    if m.error_sqlstate:
        detail = f"SQLSTATE {m.error_sqlstate}: {detail}"
    if detail:
        line += f" — {redact(' '.join(str(detail).split()))}"
    return limits.clip(line, LINE_LIMIT)


def _counts_fields(counts: dict[str, int]) -> tuple[CardField, ...]:
    return tuple(
        CardField(f"{EMOJI[state]} {LABEL[state]}", str(counts.get(state.value, 0)), inline=True)
        for state in (State.APPLIED, State.UNVERIFIABLE, *ATTENTION_ORDER)
    )


def _applied_summary(report: StatusReport) -> str:
    done = [m for m in report.migrations if m.state in (State.APPLIED, State.UNVERIFIABLE)]
    supabase = [m for m in done if m.source == SUPABASE]
    legacy = [m for m in done if m.source == LEGACY]
    parts = []
    if supabase:
        newest = max(supabase, key=lambda m: m.version)
        parts.append(f"{len(supabase)} Supabase CLI migration(s), newest {_code(display_name(newest))}")
    if legacy:
        parts.append(f"{len(legacy)} legacy (dragonfly_migrations)")
    unverifiable = sum(1 for m in done if m.state is State.UNVERIFIABLE)
    if unverifiable:
        parts.append(f"{unverifiable} applied without recorded statements (cannot check for edits)")
    return limits.clip("; ".join(parts) or "nothing applied yet", limits.FIELD_VALUE)


def _colour(report: StatusReport) -> int:
    if report.counts[State.FAILED.value]:
        return RED
    return GREEN if report.healthy else ORANGE


def _paged(
    title: str,
    header: str,
    lines: list[str],
    colour: int,
    fields: tuple[CardField, ...],
    empty_text: str,
) -> list[list[Card]]:
    chunks = limits.pack_lines(lines, LIST_BUDGET) or [empty_text]
    pages = []
    for i, chunk in enumerate(chunks):
        head = header if i == 0 else f"{header.splitlines()[0]}\n*(continued)*"
        card = Card(title=title, description=f"{head}\n\n{chunk}", colour=colour, fields=fields)
        if len(chunks) > 1:
            card = replace(card, footer=f"Page {i + 1}/{len(chunks)} · the full report is attached")
        else:
            card = replace(card, footer="Read-only: CI is the only writer (see the migration protocol)")
        pages.append([limits.fit_card(card)])
    return pages


def render_status(env: str, source: str, report: StatusReport) -> RenderedMessage:
    attention = report.attention
    mark = "❌" if report.counts[State.FAILED.value] else ("✅" if report.healthy else "⚠️")
    header_lines = [
        f"**Source:** {_plain(source)}",
        f"📂 {report.local_file_count} local migration files · {report.summary_line()}",
    ]
    drift = report.drift_line()
    if drift:
        header_lines.append(f"⚠️ {drift}")
    if report.ignored_files:
        header_lines.append(
            f"ℹ️ {len(report.ignored_files)} file(s) ignored by the CLI (name must be <version>_<name>.sql)"
        )
    if report.next_run is not None and report.next_run.outcome != "nothing":
        header_lines.append(f"➡️ {limits.clip(redact(report.next_run.summary()), LINE_LIMIT * 2)}")
    features = report.features_line()
    if features:
        header_lines.append(f"ℹ️ {features}")
    header_lines.append(f"**Needs attention ({len(attention)})**" if attention else "**Nothing needs attention.**")
    fields = (*_counts_fields(report.counts), CardField("Applied", _applied_summary(report)))
    pages = _paged(
        f"{mark} Migrations · {env.upper()}",
        "\n".join(header_lines),
        [migration_line(m) for m in attention],
        _colour(report),
        fields,
        "Every migration file is applied and matches what ran.",
    )
    rendered = RenderedMessage(pages)
    if len(pages) > 1:
        rendered.attachment_name = f"migrations-{env}.txt"
        rendered.attachment_text = render_text(env, source, report)
    return rendered


def _counts_line(counts: dict[str, int]) -> str:
    shown = [
        f"{EMOJI[s]} {counts.get(s.value, 0)} {LABEL[s]}"
        for s in (State.APPLIED, *ATTENTION_ORDER)
        if counts.get(s.value)
    ]
    return " · ".join(shown) or "no migrations"


def render_compare(dev_source: str, prod_source: str, comparison: Comparison) -> RenderedMessage:
    c = comparison
    header = [
        f"**Dev:** {_plain(dev_source)}",
        f"**Prod:** {_plain(prod_source)}",
        f"{c.in_both} applied in both · **{len(c.promotion)} to promote** · {len(c.prod_only)} only in prod",
    ]
    if c.prod_next_run is not None:
        header.append(f"➡️ Prod: {limits.clip(redact(c.prod_next_run.summary()), LINE_LIMIT * 2)}")
    lines: list[str] = []
    if c.promotion:
        lines.append(f"**Applied in dev, not yet in prod ({len(c.promotion)})**: what a promotion would carry")
        out_of_order = set(c.promotion_out_of_order)
        for m in c.promotion:
            note = " · older than prod's newest: needs --include-all" if m.version in out_of_order else ""
            lines.append(limits.clip(f"➡️ {_code(display_name(m))}{note}", LINE_LIMIT))
    if c.prod_only:
        lines.append(f"**In prod, not in dev ({len(c.prod_only)})**: prod is ahead of dev")
        lines += [limits.clip(f"⚠️ {_code(display_name(m))}", LINE_LIMIT) for m in c.prod_only]
    if c.failed_in_prod:
        lines.append(f"**Failed in prod ({len(c.failed_in_prod)})**")
        lines += [migration_line(m) for m in c.failed_in_prod]

    fields = (
        CardField("Dev", _counts_line(c.dev_counts), inline=True),
        CardField("Prod", _counts_line(c.prod_counts), inline=True),
    )
    pages = _paged(
        f"{'✅' if c.in_sync else '🔀'} Migrations · DEV → PROD",
        "\n".join(header),
        lines,
        GREEN if c.in_sync else ORANGE,
        fields,
        "Dev and prod have the same migrations applied.",
    )
    rendered = RenderedMessage(pages)
    if len(pages) > 1:
        rendered.attachment_name = "migrations-compare.txt"
        rendered.attachment_text = render_compare_text(dev_source, prod_source, comparison)
    return rendered
