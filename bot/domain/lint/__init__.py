"""Static pre-flight checks for Supabase migration files (pure: the caller reads the files).

``lint_migrations(targets, others)`` runs every rule on the target files'
text; ``others`` are the names of the rest of the folder, needed only by the
cross-file rules (duplicate and out-of-order versions), so they are never
read or parsed.
"""

from __future__ import annotations

from bot.domain.lint import destructive, files, grants, idempotency, protocol, suppress
from bot.domain.lint.model import ERROR, RULES, WARNING, Finding, MigrationSource
from bot.domain.lint.parse import ParsedFile, parse_file

__all__ = ["ERROR", "WARNING", "RULES", "Finding", "MigrationSource", "has_errors", "lint_migrations", "lint_text", "parse_file"]

_STATEMENT_RULES = (idempotency.check, destructive.check, grants.check, protocol.check)


def lint_text(source: MigrationSource, whole_file: list[Finding] = ()) -> list[Finding]:
    """All per-file rules on one file; ``whole_file`` findings (names, versions) join the suppression pass."""
    # The Supabase CLI applies files saved with a UTF-8 byte-order mark (Windows
    # editors write one); PostgreSQL itself would choke on it, so drop it first.
    text = (source.text or "").removeprefix("\ufeff")
    raw: list[Finding] = list(whole_file) + files.check_name(source)
    parsed: ParsedFile = parse_file(text)
    if parsed.error is not None:
        error = parsed.error
        raw.append(Finding(
            source.path, error.line, "parse-error", ERROR,
            f"PostgreSQL cannot parse this file: {error.message} (line {error.line}, column {error.column})",
            f"fix the SQL at line {error.line}; nothing else in the file was checked",
        ))
    else:
        for rule in _STATEMENT_RULES:
            if rule is protocol.check and "supabase_migrations" not in text:
                continue  # cheap: almost no file mentions the history schema
            raw.extend(rule(parsed.occurrences, source.path))
    comments = suppress.read_comments(text, source.path)
    return suppress.apply(raw, comments, parsed.spans, source.path)


def lint_migrations(targets: list[MigrationSource], others: list[str] = ()) -> list[Finding]:
    """Findings for ``targets``, sorted by file and line."""
    cross = files.check_set(targets, list(others))
    by_path: dict[str, list[Finding]] = {}
    for finding in cross:
        by_path.setdefault(finding.file, []).append(finding)
    findings: list[Finding] = []
    for source in targets:
        findings.extend(lint_text(source, by_path.get(source.path, [])))
    return sorted(findings, key=lambda f: (f.file, f.line, f.rule))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
