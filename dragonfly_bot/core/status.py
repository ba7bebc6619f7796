"""The status engine: local migration files + applied rows -> one state each.

Pure: the caller reads the files and the rows (REST or Postgres) and passes
them in. Checking whether an applied file was edited happens in two steps so
that the REST call does not ship every statement: the view gives a digest per
version; only where the local digest differs does the caller fetch that
version's statements (``versions_to_verify``) and pass them to
``compute_status``, which compares them on the parse tree (so whitespace,
CRLF and comments never count as a change).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from dragonfly_bot.core.sql import same_sql, split_statements, statements_digest
from dragonfly_bot.core.versions import MigrationName

if TYPE_CHECKING:
    from dragonfly_bot.core.next_run import NextRun


class State(StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    FAILED = "failed"  # last attempt failed, not applied
    MISSING_LOCAL = "missing_local"  # applied, but no file: drift
    MODIFIED = "modified"  # applied, file changed since
    UNVERIFIABLE = "unverifiable"  # applied, no statements recorded to compare
    OUT_OF_ORDER = "out_of_order"  # pending but older than the newest applied
    LEGACY_ONLY = "legacy_only"  # in the legacy tracker only: the CLI sees an unapplied file
    BLOCKED = "blocked"  # pending, but the next `migration up` stops before it (see dragonfly_bot.core.next_run)

    def __str__(self) -> str:
        return self.value


# What needs a person, most urgent first (also the order reports list them).
ATTENTION_ORDER: tuple[State, ...] = (
    State.FAILED,
    State.MODIFIED,
    State.MISSING_LOCAL,
    State.OUT_OF_ORDER,
    State.LEGACY_ONLY,
    State.BLOCKED,
    State.PENDING,
)
ATTENTION_STATES = frozenset(ATTENTION_ORDER)
APPLIED_IN_DATABASE = (State.APPLIED, State.UNVERIFIABLE, State.MODIFIED, State.MISSING_LOCAL)
_RANK = {state: i for i, state in enumerate((*ATTENTION_ORDER, State.UNVERIFIABLE, State.APPLIED))}

LEGACY = "legacy"
SUPABASE = "supabase"

# What a view without the bot's columns cannot tell (a team's own v_migration_status);
# the source says which are missing, the report says once that `dragonfly-bot init` adds them.
FEATURE_FAILED = "failed CI attempts"
FEATURE_MODIFIED = "files modified after they were applied"
FEATURE_APPLIED_BY = "who applied each migration"


@dataclass(frozen=True)
class LocalMigration:
    """A file in supabase/migrations, with its statements split as the CLI splits them."""

    version: str
    name: str
    file: str
    sql: str
    statement_count: int
    digest: str
    # The digest with CRLF read as LF (None when the file has no CR): a Windows checkout
    # (core.autocrlf) of files CI applied from git with LF endings matches without a re-parse.
    lf_digest: str | None = None

    @classmethod
    def from_text(cls, parsed: MigrationName, sql: str) -> LocalMigration:
        statements = [s.text for s in split_statements(sql)]
        lf_digest = statements_digest([s.replace("\r\n", "\n") for s in statements]) if "\r" in sql else None
        return cls(
            parsed.version, parsed.name, parsed.file, sql, len(statements), statements_digest(statements), lf_digest
        )

    def matches(self, digest: str) -> bool:
        """True when ``digest`` (the view's, of the applied statements) is this file's."""
        return digest == self.digest or (self.lf_digest is not None and digest == self.lf_digest)


@dataclass(frozen=True)
class AppliedRow:
    """One row of ``public.v_migration_status``."""

    source: str  # legacy | supabase
    version: str
    name: str | None = None
    status: str = "applied"  # applied | failed
    executed_at: datetime | None = None
    applied_by: str | None = None
    statement_count: int | None = None
    statements_digest: str | None = None
    error_sqlstate: str | None = None
    error_message: str | None = None
    error_statement: str | None = None
    ci_run_url: str | None = None
    commit_sha: str | None = None


@dataclass(frozen=True)
class MigrationStatus:
    version: str
    name: str | None
    file: str | None
    source: str
    state: State
    executed_at: datetime | None = None
    applied_by: str | None = None
    note: str | None = None  # why, in a few words, for states that need one
    error_sqlstate: str | None = None
    error_message: str | None = None
    ci_run_url: str | None = None

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "name": self.name,
            "file": self.file,
            "source": self.source,
            "state": self.state.value,
            "executed_at": self.executed_at.isoformat() if self.executed_at else None,
            "applied_by": self.applied_by,
            "note": self.note,
            "error_sqlstate": self.error_sqlstate,
            "error_message": self.error_message,
            "ci_run_url": self.ci_run_url,
        }


@dataclass(frozen=True)
class StatusReport:
    migrations: tuple[MigrationStatus, ...]
    ignored_files: tuple[str, ...] = ()  # files the CLI would skip (bad names)
    local_file_count: int = 0
    # FEATURE_* the database's view cannot give (it is not the bot's view)
    missing_features: tuple[str, ...] = ()
    next_run: NextRun | None = None  # what the next plain `migration up` will do

    def features_line(self) -> str | None:
        """Said once: what this database's view cannot show, and what adds it."""
        if not self.missing_features:
            return None
        return (
            f"This database's v_migration_status is not the bot's: {', '.join(self.missing_features)} "
            "cannot be shown. Run `dragonfly-bot init` to add them."
        )

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(m.state for m in self.migrations)
        return {state.value: found.get(state, 0) for state in State}

    def by_source(self, source: str) -> Counter:
        return Counter(m.state for m in self.migrations if m.source == source)

    @property
    def attention(self) -> tuple[MigrationStatus, ...]:
        return tuple(m for m in self.migrations if m.state in ATTENTION_STATES)

    @property
    def healthy(self) -> bool:
        return not self.attention

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def summary_line(self) -> str:
        """The protocol's closing line: ``Legacy: N applied. Supabase: N applied, N pending, N failed.``"""
        legacy = self.by_source(LEGACY)
        supa = self.by_source(SUPABASE)
        # "applied" counts what the database has applied, drifted or not;
        # drift_line() says which of those no longer match their files.
        applied = lambda c: sum(c[s] for s in APPLIED_IN_DATABASE)  # noqa: E731
        pending = supa[State.PENDING] + supa[State.OUT_OF_ORDER] + supa[State.BLOCKED]
        return (
            f"Legacy: {applied(legacy) + legacy[State.LEGACY_ONLY]} applied. "
            f"Supabase: {applied(supa)} applied, {pending} pending, {supa[State.FAILED]} failed."
        )

    def drift_line(self) -> str | None:
        counts = self.counts
        parts = [
            f"{counts[s.value]} {label}"
            for s, label in (
                (State.MODIFIED, "modified after being applied"),
                (State.MISSING_LOCAL, "applied but missing locally"),
                (State.OUT_OF_ORDER, "out of order"),
                (State.LEGACY_ONLY, "recorded only in the legacy tracker"),
            )
            if counts[s.value]
        ]
        return ("Drift: " + ", ".join(parts) + ".") if parts else None


def _applied_rows(rows: Iterable[AppliedRow]) -> tuple[dict, dict, dict]:
    supabase: dict[str, AppliedRow] = {}
    legacy: dict[str, AppliedRow] = {}
    failed: dict[str, AppliedRow] = {}
    for row in rows:
        if row.status == "failed":
            # Keep the latest failure the view sent (it sends one per version).
            failed[row.version] = row
        elif row.source == LEGACY:
            legacy[row.version] = row
        else:
            supabase[row.version] = row
    return supabase, legacy, failed


def versions_to_verify(local: Sequence[LocalMigration], rows: Iterable[AppliedRow]) -> list[str]:
    """Applied versions whose recorded digest differs from the local file's.

    Their statements must be fetched and passed to ``compute_status``.
    """
    supabase, _, _ = _applied_rows(rows)
    out = []
    for mig in local:
        row = supabase.get(mig.version)
        if row is not None and row.statements_digest is not None and not mig.matches(row.statements_digest):
            out.append(mig.version)
    return out


def _applied_state(
    mig: LocalMigration, row: AppliedRow, statements: Mapping[str, Sequence[str] | None], can_verify: bool
) -> tuple[State, str | None]:
    if not can_verify:
        return State.APPLIED, None  # the view has no digests at all: said once by features_line()
    if row.statements_digest is None:
        return State.UNVERIFIABLE, "no statements were recorded when it was applied"
    if mig.matches(row.statements_digest):
        return State.APPLIED, None
    applied = statements.get(mig.version)
    if applied is not None and same_sql(list(applied), mig.sql):
        return State.APPLIED, None  # only whitespace, comments or line endings changed
    if applied is None:
        return State.MODIFIED, "the file's statements differ from the applied digest"
    return State.MODIFIED, f"the file no longer matches the {row.statement_count} applied statements"


def compute_status(
    local: Sequence[LocalMigration],
    rows: Iterable[AppliedRow],
    applied_statements: Mapping[str, Sequence[str] | None] | None = None,
    *,
    ignored_files: Sequence[str] = (),
    missing_features: Sequence[str] = (),
) -> StatusReport:
    """Give every migration, local or applied, exactly one state, and predict the next run."""
    from dragonfly_bot.core.next_run import with_next_run  # it reads StatusReport: imported here, not at the top

    can_verify = FEATURE_MODIFIED not in missing_features
    statements = applied_statements or {}
    supabase, legacy, failed = _applied_rows(rows)
    newest = max(supabase) if supabase else None  # string order, as the CLI compares
    # Two files with one version: the CLI records only one. The file compared with the
    # applied row is the one it names (else the first); the others need attention.
    primary: dict[str, LocalMigration] = {}
    for mig in local:
        first = primary.setdefault(mig.version, mig)
        row = supabase.get(mig.version)
        if first is not mig and row is not None and row.name == mig.name and first.name != row.name:
            primary[mig.version] = mig
    seen: set[str] = set()
    out: list[MigrationStatus] = []
    for mig in local:
        if primary[mig.version] is not mig:
            late = newest is not None and mig.version < newest
            out.append(
                MigrationStatus(
                    mig.version,
                    mig.name,
                    mig.file,
                    SUPABASE,
                    State.OUT_OF_ORDER if late else State.PENDING,
                    note=f"same version as {primary[mig.version].file}: `migration up` can record only one file per "
                    "version, so this one never gets applied; give it a new timestamp",
                )
            )
            continue
        seen.add(mig.version)
        row = supabase.get(mig.version)
        if row is not None:
            state, note = _applied_state(mig, row, statements, can_verify)
            out.append(
                MigrationStatus(
                    mig.version,
                    mig.name,
                    mig.file,
                    SUPABASE,
                    state,
                    row.executed_at,
                    row.applied_by,
                    note,
                    ci_run_url=row.ci_run_url,
                )
            )
            continue
        legacy_row = legacy.get(mig.version)
        if legacy_row is not None:
            out.append(
                MigrationStatus(
                    mig.version,
                    mig.name,
                    mig.file,
                    LEGACY,
                    State.LEGACY_ONLY,
                    legacy_row.executed_at,
                    legacy_row.applied_by,
                    _legacy_only_note(mig.version, newest),
                )
            )
            continue
        fail = failed.get(mig.version)
        if fail is not None:
            out.append(
                MigrationStatus(
                    mig.version,
                    mig.name,
                    mig.file,
                    SUPABASE,
                    State.FAILED,
                    fail.executed_at,
                    fail.applied_by,
                    "last CI attempt failed",
                    fail.error_sqlstate,
                    fail.error_message,
                    fail.ci_run_url,
                )
            )
        elif newest is not None and mig.version < newest:
            out.append(
                MigrationStatus(
                    mig.version,
                    mig.name,
                    mig.file,
                    SUPABASE,
                    State.OUT_OF_ORDER,
                    note=f"older than the newest applied version {newest}; `migration up` needs --include-all",
                )
            )
        else:
            out.append(MigrationStatus(mig.version, mig.name, mig.file, SUPABASE, State.PENDING))
    for source, applied in ((SUPABASE, supabase), (LEGACY, legacy)):
        for version, row in applied.items():
            if version not in seen:
                seen.add(version)
                out.append(
                    MigrationStatus(
                        version,
                        row.name,
                        None,
                        source,
                        State.MISSING_LOCAL,
                        row.executed_at,
                        row.applied_by,
                        "applied in the database but no file in supabase/migrations",
                    )
                )
    report = with_next_run(
        StatusReport(tuple(out), tuple(ignored_files), len(local) + len(ignored_files), tuple(missing_features))
    )
    return replace(report, migrations=tuple(sorted(report.migrations, key=lambda m: (_RANK[m.state], m.version))))


def _legacy_only_note(version: str, newest: str | None) -> str:
    """A file applied by the old tracker but unknown to ``schema_migrations``: the CLI sees it as unapplied."""
    if newest is not None and version < newest:
        does = (
            f"`migration up` sees an unapplied file older than {newest} and refuses the whole run "
            "(with --include-all it would run it again)"
        )
    else:
        does = "`migration up` would run it again"
    return (
        f"recorded only in the legacy tracker: {does}; record it from CI with "
        f"`supabase migration repair --status applied {version} --db-url ...`, or move the file out of "
        "supabase/migrations"
    )
