"""Hotfixes as text: the review meeting's Markdown and CSV exports, and plain lines.

Everything that came from a user (summary, SQL, review) passes through the
one redactor before it is written out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime

from dragonfly_bot.core import hotfix_timeline as timeline
from dragonfly_bot.core.hotfix import Hotfix, HotfixEvent, format_duration
from dragonfly_bot.core.hotfix_sql import differences
from dragonfly_bot.core.redact import redact

CSV_COLUMNS = (
    "code",
    "environment",
    "state",
    "summary",
    "declared_by",
    "declared_at",
    "approved_by",
    "linked_file",
    "synced_at",
    "hours_to_sync",
    "resolved_by",
    "resolved_at",
    "review",
    "missing_statements",
    "not_idempotent_statements",
    "different_values_statements",
    "followups",
    "sql_run",
    "closed_by",
    "closed_at",
    "closed_reason",
)

STATE_LABELS = {
    "declared": "🚨 declared",
    "awaiting_approval": "⏸️ awaiting approval",
    "approved": "✅ approved",
    "migration_linked": "🔗 migration linked",
    "applied_with_differences": "⚠️ applied with differences",
    "synced": "🔄 synced",
    "resolved": "🏁 resolved",
    "rejected": "⛔ rejected",
    "cancelled": "🚫 cancelled",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def one_line(text: str | None, limit: int = 120) -> str:
    flat = " ".join(redact(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def hotfix_line(h: Hotfix) -> str:
    """``HF-0007 · dev · 🔗 migration linked · dana · summary``"""
    return (
        f"{h.code} · {h.environment} · {STATE_LABELS[h.state.value]} · {h.declared_by_name} · {one_line(h.summary, 80)}"
    )


def event_line(e: HotfixEvent) -> str:
    who = f" by {e.actor_name}" if e.actor_name else ""
    detail = ""
    if e.kind == "migration_linked":
        detail = f": {e.detail.get('file')}"
    elif e.kind == "synced":
        detail = f": {e.detail.get('version')} applied"
    elif e.kind in ("applied_with_differences", "rechecked"):
        found = differences(e.detail.get("findings"))
        detail = f": {found} difference(s) from the SQL run in Studio" if found else ": no difference"
    elif e.kind == "accepted":
        detail = f": differences accepted: {one_line(e.detail.get('reason'), 200)}"
    elif e.kind == "reminder":
        detail = f" #{e.detail.get('number')} to the {e.detail.get('recipient')}"
    elif e.kind == "resolved":
        detail = f": {one_line(e.detail.get('review'), 200)}"
    elif e.kind in ("rejected", "cancelled"):
        detail = f": {one_line(e.detail.get('reason'), 200)}"
    elif e.kind == timeline.FOLLOWUP:
        owner, due = e.detail.get("owner_name"), e.detail.get("due")
        detail = f": {one_line(e.detail.get('text'), 150)} (owner {owner}, due {due})"
    elif e.kind == timeline.DETAILS:
        given = [k for k in ("impact", "rollback") if e.detail.get(k)]
        detail = f": {' and '.join(given)} given"
    elif e.detail.get("note"):
        detail = f": {one_line(e.detail.get('note'), 200)}"
    return f"{when(e.at)} {e.kind}{who}{detail}"


def _hours_to_sync(h: Hotfix) -> str:
    delta = h.time_to_sync()
    return f"{delta.total_seconds() / 3600:.1f}" if delta else ""


def followup_line(item: timeline.Followup) -> str:
    return f"{one_line(item.text, 200)} (owner {item.owner_name}, due {item.due.isoformat()})"


def sql_runs(events: Sequence[HotfixEvent]) -> list[str]:
    """``dana at 2026-11-25 09:14 UTC`` for each time the SQL was recorded as run."""
    return [
        f"{e.actor_name} at {when(datetime.fromisoformat(str(e.detail['ran_at'])))}"
        for e in events
        if e.kind == timeline.SQL_RAN and e.detail.get("ran_at")
    ]


def export_csv(hotfixes: Sequence[Hotfix], events: Mapping[str, Sequence[HotfixEvent]] | None = None) -> str:
    events = events or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for h in hotfixes:
        writer.writerow(
            [
                h.code,
                h.environment,
                h.state.value,
                _csv_safe(redact(h.summary)),
                _csv_safe(h.declared_by_name),
                h.declared_at.isoformat(),
                _csv_safe(h.approved_by_name or ""),
                h.linked_file or "",
                h.synced_at.isoformat() if h.synced_at else "",
                _hours_to_sync(h),
                _csv_safe(h.resolved_by_name or ""),
                h.resolved_at.isoformat() if h.resolved_at else "",
                _csv_safe(redact(h.review or "")),
                len(h.link_findings.get("missing", [])),
                len(h.link_findings.get("not_idempotent", [])),
                len(h.link_findings.get("different_values", [])),
                _csv_safe("; ".join(followup_line(f) for f in timeline.followups(events.get(h.id, ())))),
                _csv_safe("; ".join(sql_runs(events.get(h.id, ())))),
                _csv_safe(h.closed_by_name or ""),
                h.closed_at.isoformat() if h.closed_at else "",
                _csv_safe(redact(h.closed_reason or "")),
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheet apps.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_markdown(
    hotfixes: Sequence[Hotfix], generated_at: datetime, events: Mapping[str, Sequence[HotfixEvent]] | None = None
) -> str:
    events = events or {}
    lines = [
        "# Hotfix review",
        "",
        f"Generated {when(generated_at)}: {len(hotfixes)} hotfix(es).",
        "",
        "| Code | Env | State | Declared | By | Time to sync | Migration | Review |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in hotfixes:
        cells = [
            h.code,
            h.environment,
            h.state.value,
            when(h.declared_at),
            h.declared_by_name,
            format_duration(h.time_to_sync()),
            h.linked_file or "-",
            one_line(h.review or (f"{h.state.value}: {h.closed_reason}" if h.closed_reason else ""), 200)
            or "_not yet_",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for h in hotfixes:
        lines += ["", f"## {h.code}: {one_line(h.summary, 200)}", ""]
        lines.append(f"- Environment: {h.environment}; state: {h.state.value}")
        lines.append(f"- Declared by {h.declared_by_name} at {when(h.declared_at)}")
        if h.approved_by_name:
            lines.append(f"- Approved by {h.approved_by_name} at {when(h.approved_at)}")
        if h.linked_file:
            lines.append(f"- Migration: `{h.linked_file}`")
        if h.synced_at:
            lines.append(f"- Synced at {when(h.synced_at)} ({format_duration(h.time_to_sync())} after declaration)")
        if h.closed_at:
            lines.append(
                f"- {h.state.value.capitalize()} by {h.closed_by_name} at {when(h.closed_at)}: "
                f"{one_line(h.closed_reason, 500)}"
            )
        for missing in h.link_findings.get("missing", []):
            lines.append(f"- ⚠️ Not in the migration: `{one_line(missing, 200)}`")
        for pair in h.link_findings.get("different_values", []):
            lines.append(
                f"- ⚠️ Same shape, different values: Studio `{one_line(pair.get('declared'), 200)}`, "
                f"migration `{one_line((pair.get('migration') or [''])[0], 200)}`"
            )
        for item in h.link_findings.get("undone", []):
            lines.append(
                f"- ⚠️ Taken back by the migration: Studio `{one_line(item.get('declared'), 200)}`, "
                f"migration `{one_line(item.get('migration'), 200)}` ({one_line(item.get('why'), 100)})"
            )
        for item in h.link_findings.get("same_name", []):
            lines.append(
                f"- ⚠️ Same name, other definition ({one_line(item.get('object'), 100)}): "
                f"migration `{one_line(item.get('migration'), 200)}`"
            )
        for issue in h.link_findings.get("not_idempotent", []):
            lines.append(f"- ⚠️ Not idempotent (line {issue['line']}): {issue['message']}")
        timeline_events = events.get(h.id, ())
        for run in sql_runs(timeline_events):
            lines.append(f"- SQL run in Studio by {run}")
        details = timeline.details_of(timeline_events)
        if details.get("impact"):
            lines.append(f"- Impact: {one_line(details['impact'], 500)}")
        if h.review:
            lines += ["", f"**Why was a hotfix needed?** {redact(h.review)}"]
        items = timeline.followups(timeline_events)
        if items:
            lines += ["", "**Follow-ups**", ""]
            lines += [f"- [ ] {followup_line(f)}" for f in items]
        if details.get("rollback"):
            fence = "`" * 3
            rollback = redact(details["rollback"]).replace(fence, "'" * 3)
            lines += ["", "Rollback:", "", fence + "sql", rollback, fence]
        if h.sql_text:
            lines += ["", "```sql", redact(h.sql_text).replace("```", "'''"), "```"]
    return "\n".join(lines) + "\n"
