"""Status as terminal text (the protocol's expected output) and as JSON.

Used by ``dragonfly-bot status``, ``python -m tools.migration_status`` and
the console's file attachments; Discord embeds have their own renderer.
"""

from __future__ import annotations

from dragonfly_bot.core.status import ATTENTION_STATES, LEGACY, SUPABASE, MigrationStatus, State, StatusReport

# The --json document's version: 2 added next_run, missing_features, the legacy_only and
# blocked states, and {"error": {"kind", "message"}} for failures.
JSON_SCHEMA_VERSION = 2
RULE = "=" * 80
THIN = "-" * 70

STATE_LABELS = {
    State.APPLIED: "✅ APPLIED",
    State.UNVERIFIABLE: "✅ APPLIED (unverifiable)",
    State.PENDING: "⏳ PENDING",
    State.FAILED: "❌ FAILED",
    State.MISSING_LOCAL: "⚠️ MISSING LOCAL",
    State.MODIFIED: "⚠️ MODIFIED",
    State.OUT_OF_ORDER: "⚠️ OUT OF ORDER",
    State.LEGACY_ONLY: "⚠️ LEGACY ONLY",
    State.BLOCKED: "⛔ BLOCKED",
}


def state_label(state: State) -> str:
    return STATE_LABELS[state]


def display_name(m: MigrationStatus) -> str:
    if m.file:
        return m.file
    return f"{m.version}_{m.name}.sql" if m.name else m.version


def _row(m: MigrationStatus) -> str:
    return f"{m.version:<20} {display_name(m):<40} {state_label(m.state)}"


def _table(title: str, rows: list[MigrationStatus]) -> list[str]:
    lines = [title, THIN, f"{'Version':<20} {'Name':<40} Status", THIN]
    lines += [_row(m) for m in rows] or ["(none)"]
    return [*lines, ""]


def render_text(env: str, source: str, report: StatusReport) -> str:
    lines = [
        f"🔍 Checking migration status for: {env.upper()}",
        f"📡 Fetching from: {source}",
        f"📂 Found {report.local_file_count} local migration files",
        "",
        RULE,
        "MIGRATION STATUS",
        RULE,
        "",
    ]
    attention = report.attention
    if attention:
        lines += [f"🚨 Needs attention ({len(attention)})", THIN]
        for m in attention:
            lines.append(_row(m))
            detail = m.error_message or m.note
            if m.error_sqlstate:
                detail = f"SQLSTATE {m.error_sqlstate}: {detail}"
            if detail:
                lines.append(f"{'':<21}↳ {detail}")
            if m.ci_run_url and m.state is State.FAILED:
                lines.append(f"{'':<21}↳ {m.ci_run_url}")
        lines.append("")
    done = [m for m in report.migrations if m.state not in ATTENTION_STATES]
    legacy = sorted((m for m in done if m.source == LEGACY), key=lambda m: m.version, reverse=True)
    supabase = sorted((m for m in done if m.source == SUPABASE), key=lambda m: m.version, reverse=True)
    if legacy:
        lines += _table("📦 Legacy Migrations (dragonfly_migrations)", legacy)
    lines += _table("📦 Supabase CLI Migrations (schema_migrations)", supabase)
    if report.ignored_files:
        lines.append(
            f"ℹ️ Ignored {len(report.ignored_files)} file(s) the Supabase CLI skips "
            f"(name must be <version>_<name>.sql): {', '.join(report.ignored_files[:10])}"
        )
    drift = report.drift_line()
    if drift:
        lines.append(f"⚠️ {drift}")
    if report.next_run is not None:
        lines.append(f"➡️ {report.next_run.summary()}")
    features = report.features_line()
    if features:
        lines.append(f"ℹ️ {features}")
    mark = "✅" if report.healthy else "❌"
    lines.append(f"{mark} {report.summary_line()}")
    return "\n".join(lines)


def render_json(env: str, source: str, report: StatusReport) -> dict:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "environment": env,
        "source": source,
        "healthy": report.healthy,
        "local_file_count": report.local_file_count,
        "summary": report.counts,
        "summary_line": report.summary_line(),
        "ignored_files": list(report.ignored_files),
        "missing_features": list(report.missing_features),
        "next_run": report.next_run.to_dict() if report.next_run else None,
        "migrations": [m.to_dict() for m in report.migrations],
    }


def error_json(kind: str, message: str) -> dict:
    """The one JSON object a failed ``status --json`` prints: kind is usage, configuration, unavailable or internal."""
    return {"schema_version": JSON_SCHEMA_VERSION, "error": {"kind": kind, "message": message}}
