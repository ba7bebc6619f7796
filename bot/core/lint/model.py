"""What a lint finding is, and the rule ids (stable: CI annotations, suppressions and tests use them)."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

# rule id -> one-line description (``dragonfly-bot lint --help`` and the docs list these).
RULES: dict[str, str] = {
    "file-name": "file name is not YYYYMMDDHHMMSS_short_description.sql (4-digit legacy files are accepted)",
    "duplicate-version": "two migration files share a version; the second insert into schema_migrations fails",
    "out-of-order": "a new file's version sorts before the newest existing one; `migration up` refuses it",
    "create-without-if-not-exists": (
        "CREATE TABLE/INDEX/SCHEMA/SEQUENCE/EXTENSION/MATERIALIZED VIEW (or ALTER TYPE ADD VALUE) fails on a re-run"
    ),
    "create-without-or-replace": "CREATE VIEW/FUNCTION/PROCEDURE/TRIGGER/RULE fails on a re-run",
    "drop-without-if-exists": "DROP (or ALTER TABLE DROP COLUMN/CONSTRAINT) fails on a re-run",
    "add-column-without-if-not-exists": "ALTER TABLE ADD COLUMN fails on a re-run",
    "unguarded-create": "CREATE POLICY/TYPE/DOMAIN/ROLE, ADD CONSTRAINT, ... have no IF NOT EXISTS; they need a guard",
    "rename-without-guard": "ALTER ... RENAME fails on a re-run (the old name is gone)",
    "insert-without-on-conflict": "seed INSERT adds duplicate rows or fails on a re-run",
    "destructive-operation": "drops or rewrites data without an `-- approved-destructive: <reason>` line",
    "missing-grant": "a created table/view/function is not granted to authenticated and service_role in the same file",
    "schema-migrations-write": "the protocol forbids touching supabase_migrations.schema_migrations",
    "parse-error": "PostgreSQL's grammar rejects the file",
    "unused-suppression": "a lint-ignore or approved-destructive comment that suppresses nothing",
    "stale-baseline": "a finding recorded in the baseline is gone: rewrite the baseline so it shrinks",
    "file-too-large": "the file is over [lint] max_file_bytes: reported and not parsed",
    "invalid-suppression": "a lint-ignore comment without a known rule id or without a reason",
}

# Names for sets of rules in the config's select / ignore / severity (``"lock"``, ``"security"``).
RULE_GROUPS: dict[str, frozenset[str]] = {
    "security": frozenset(),
    "lock": frozenset(),
}

# Reported by the run around the rules (bot.preflight.lint_service), not by a file's text.
RUN_RULES = frozenset({"stale-baseline", "file-too-large"})

# Rules a ``-- lint-ignore:`` comment may not silence: they are about the comments themselves,
# or about text the parser could not read at all.
UNSUPPRESSIBLE = frozenset(
    {"parse-error", "unused-suppression", "invalid-suppression", "stale-baseline", "file-too-large"}
)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    severity: str
    message: str
    fix: str
    # Lines of the top-level statement the finding belongs to (None: about the whole file).
    # Used only to match suppression comments; not part of the output.
    span: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class MigrationSource:
    """One migration file as the caller read it.

    ``name`` is the bare file name (the CLI keys versions by it); ``path`` is
    what findings show; ``text`` is None for files only needed by name (the
    cross-file rules), so they are never read nor parsed.
    """

    name: str
    path: str
    text: str | None = None
    # False for a file that already existed before (edited, not added): it
    # cannot be "out of order", it has already been applied somewhere.
    is_new: bool = True
