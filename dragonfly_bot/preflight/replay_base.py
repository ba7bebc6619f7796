"""``lint --replay --base-db URL | --base-schema FILE``: the replay starts from the target's schema.

A history whose first file never applied cleanly (a real bug, repaired by hand on the target)
stops a replay from file 0001 on every pull request. Starting from the target's schema and its
``schema_migrations`` rows, the Supabase CLI applies only the files the target lacks, as CI's
``migration up`` will, and only those are run a second time. A file the target records is never
reported.

The schema comes from the target itself (``--base-db``: pg_dump, read-only) or from the snapshot
``dragonfly-bot schema-snapshot`` wrote (``--base-schema``: for pull requests from forks, which
get no secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dragonfly_bot.core.lint import WARNING, Finding
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.schema_snapshot import Snapshot, SnapshotError, parse
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.preflight.files import MigrationSet

SKIPPED = "replay-skipped"  # the same rule as an extension missing in a replay from file 0001
BASE_INCOMPLETE = "replay-base-incomplete"

# Installed on every Supabase project by the platform, and used by its services, not by migrations: a
# scratch server without them can still replay the team's files (a plain PostgreSQL has none of them).
PLATFORM_EXTENSIONS = frozenset({"pg_graphql", "supabase_vault", "pgsodium", "pg_stat_statements", "pgjwt"})


@dataclass(frozen=True)
class Base:
    db_url: str | None = None
    schema_file: Path | None = None
    shown_as: str | None = None  # how the snapshot file is named in findings (as given)

    def label(self, mset: MigrationSet) -> str:
        if self.schema_file is not None:
            return self.shown_as or str(self.schema_file)
        return mset.display()


def load_snapshot(base: Base) -> Snapshot:
    if base.db_url:
        from dragonfly_bot.adapters import target_schema

        return target_schema.read_snapshot(base.db_url)
    assert base.schema_file is not None
    shown = base.shown_as or str(base.schema_file)
    try:
        text = base.schema_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserFacingError(
            f"--base-schema {shown}: no such file; write it with `dragonfly-bot schema-snapshot --db-url URL`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"--base-schema {shown}: cannot read it ({exc})") from None
    try:
        return parse(text)
    except SnapshotError as exc:
        raise UserFacingError(
            f"--base-schema {shown}: not a schema snapshot ({exc}); write it with `dragonfly-bot schema-snapshot`"
        ) from None


def restore_base(url: str, snapshot: Snapshot, label: str) -> tuple[set[str], list[Finding], bool]:
    """Restore ``snapshot`` on the scratch database ``url``: (applied versions, warnings, whether to go on)."""
    import psycopg

    from dragonfly_bot.adapters import target_schema

    try:
        target_schema.create_roles(url, snapshot.roles)
        restored = target_schema.restore(url, snapshot)
    except psycopg.Error as exc:  # the roles or the applied rows (what the replay cannot go without)
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserFacingError(
            f"--replay could not copy the target's schema onto the scratch database: {redact(line)}"
        ) from None
    ignored = set(restored.missing_extensions) & PLATFORM_EXTENSIONS
    missing = sorted(set(restored.missing_extensions) - ignored)
    # What only an ignored extension's own objects needed (COMMENT ON EXTENSION pg_graphql...) is no loss.
    failed = [f for f in restored.failed if not any(f"EXTENSION {name};" in f.title for name in ignored)]
    if missing:
        names = ", ".join(f'"{name}"' for name in missing)
        return (
            restored.applied,
            [
                Finding(
                    label,
                    1,
                    SKIPPED,
                    WARNING,
                    f"the replay was skipped: the target's schema uses extension{'s' if len(missing) > 1 else ''} "
                    f"{names}, not installed on the scratch PostgreSQL",
                    "replay on a server that has it (--db-url; the supabase/postgres image has every Supabase "
                    "extension)",
                )
            ],
            False,
        )
    warnings = []
    if failed:
        first = failed[0]
        title = first.title.split("; Owner:")[0]
        warnings.append(
            Finding(
                label,
                1,
                BASE_INCOMPLETE,
                WARNING,
                f"{len(failed)} of the target schema's {sum(1 for e in snapshot.entries if e.sql)} entries "
                f"could not be restored on the scratch PostgreSQL (first: {title}: {first.message}"
                f"{f' (SQLSTATE {first.sqlstate})' if first.sqlstate else ''}); a finding about what they define "
                "may come from that",
                "replay on the supabase/postgres image of the target's major version, as CI does",
            )
        )
    return restored.applied, warnings, True
