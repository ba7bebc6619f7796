"""What a lint finding is, and the rule ids (stable: CI annotations, suppressions and tests use them)."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

# Supabase security rules (dragonfly_bot.core.lint.security), the advisor checks.
SECURITY_RULES = {
    "rls-disabled": "a new table in an exposed schema that anon/authenticated can reach, without ROW LEVEL SECURITY",
    "rls-without-policy": "RLS enabled but no policy, while anon/authenticated still hold privileges on the table",
    "permissive-write-policy": "an INSERT/UPDATE/DELETE/ALL policy for anon/authenticated whose condition is true",
    "definer-search-path": "a SECURITY DEFINER function without SET search_path (callers can shadow its objects)",
    "function-search-path": "a function in an exposed schema without SET search_path (splinter: search_path_mutable)",
    "definer-executable": "a SECURITY DEFINER function in an exposed schema that anon/authenticated can execute",
    "security-definer-view": "a view in an exposed schema without security_invoker over RLS tables or unexposed data",
    "auth-users-exposed": "a view in an exposed schema that app users can read shows auth.users",
    "anon-table-grant": "a GRANT on a table to anon (or PUBLIC): anyone with the public key gets it",
    "extension-in-public": "an extension created in the public schema (exposed through the API)",
}

# Lock and online-safety rules (dragonfly_bot.core.lint.locks).
LOCK_RULES = {
    "index-not-concurrent": "CREATE INDEX without CONCURRENTLY on an existing table blocks its writes while it builds",
    "concurrently-in-transaction": "CREATE INDEX CONCURRENTLY inside BEGIN/COMMIT or a DO block fails (25001)",
    "constraint-not-valid": "ADD FOREIGN KEY / CHECK without NOT VALID scans the table under a lock",
    "set-not-null": "SET NOT NULL without a validated CHECK (col IS NOT NULL) scans the table under an exclusive lock",
    "volatile-default": "ADD COLUMN with a volatile DEFAULT rewrites the whole table under an exclusive lock",
    "rewriting-type-change": "ALTER COLUMN TYPE rewrites the table (and its indexes) under an exclusive lock",
    "missing-lock-timeout": "a locking statement on an existing table with no lock_timeout set before it",
}

# Reported by ``--replay`` (dragonfly_bot.preflight.replay, replay_base) from a scratch database, not by a static rule.
REPLAY_RULES = {
    "replay-apply-failed": "--replay: applying the migrations in order on the scratch database failed (with the "
    "relay's category and hint)",
    "replay-not-idempotent": "--replay: running a new migration a second time fails, as a re-run in CI would",
    "replay-missing-privilege": "--replay: after all migrations ran, the catalog shows authenticated or service_role "
    "lacks SELECT/EXECUTE on an object a new file creates",
    "replay-skipped": "--replay stopped: the scratch PostgreSQL lacks an extension Supabase provides (a warning)",
    "replay-base-incomplete": "--replay --base-db/--base-schema: part of the target's schema could not be restored "
    "on the scratch PostgreSQL (a warning)",
}

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
    "parse-error": "PostgreSQL's grammar rejects a statement, or PL/pgSQL a function or DO body",
    "migrate-down-section": "a dbmate `-- migrate:down` section: the Supabase CLI runs it on `up`",
    "unused-suppression": "a lint-ignore or approved-destructive comment that suppresses nothing",
    "stale-baseline": "a finding recorded in the baseline is gone: rewrite the baseline so it shrinks",
    "file-too-large": "the file is over [lint] max_file_bytes: reported and not parsed",
    "too-deeply-nested": "statements or comments nested too deeply to check (hostile or generated input)",
    "invalid-suppression": "a lint-ignore comment without a known rule id or without a reason",
    **SECURITY_RULES,
    **LOCK_RULES,
    **REPLAY_RULES,
}

# Names for sets of rules in the config's select / ignore / severity (``"lock"``, ``"security"``).
RULE_GROUPS: dict[str, frozenset[str]] = {
    "security": frozenset(SECURITY_RULES),
    "lock": frozenset(LOCK_RULES),
    "replay": frozenset(REPLAY_RULES),
}

# Off unless the config turns them on (select, or a severity): useful, but too noisy for every history.
DEFAULT_OFF = frozenset({"function-search-path"})

# Reported by the run around the rules (dragonfly_bot.preflight.lint_service), or about input too big or deep to read,
# rather than by a rule on the statements (so the rule corpus has no folder for them); the replay's too.
RUN_RULES = frozenset({"stale-baseline", "file-too-large", "too-deeply-nested", *REPLAY_RULES})

# Rules a ``-- lint-ignore:`` comment may not silence: they are about the comments themselves,
# or about text the parser could not read at all, or they come from the replay (what the database did;
# the config's ignore / severity / per_path settle those).
UNSUPPRESSIBLE = frozenset(
    {
        "parse-error",
        "unused-suppression",
        "invalid-suppression",
        "stale-baseline",
        "file-too-large",
        "too-deeply-nested",
        *REPLAY_RULES,
    }
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


@dataclass(frozen=True)
class LintOptions:
    """What the rules take from the project's config (dragonfly_bot.project_config builds it)."""

    private_schemas: frozenset[str] = frozenset()  # kept for service_role: app roles are not expected
    exposed_schemas: frozenset[str] = frozenset({"public"})  # served by the Data API (PostgREST)
    off: frozenset[str] = DEFAULT_OFF  # rules not reported at all


@dataclass
class Prior:
    """What earlier migrations decided about privileges, in order: ``ALTER DEFAULT PRIVILEGES`` events
    (family, schema or None, marked roles) and ``REVOKE ... ON SCHEMA s`` (schema -> roles)."""

    defaults: list[tuple[str, str | None, frozenset[str]]] = field(default_factory=list)
    schema_revoked: dict[str, set[str]] = field(default_factory=dict)
    rls_tables: set[tuple[str, str]] = field(default_factory=set)  # (schema, table) with RLS enabled
    policy_tables: set[tuple[str, str]] = field(default_factory=set)  # tables with a policy

    def extend(self, other: Prior) -> None:
        self.defaults.extend(other.defaults)
        self.rls_tables |= other.rls_tables
        self.policy_tables |= other.policy_tables
        for schema, roles in other.schema_revoked.items():
            self.schema_revoked.setdefault(schema, set()).update(roles)
