"""``dragonfly-bot lint --replay``: prove idempotency by running the new migrations twice.

On a scratch database that looks like a Supabase project (dragonfly_bot.adapters.localdb), all
migrations are applied in order with the pinned Supabase CLI, as CI does.
Then each target file runs a second time, statement by statement exactly as
the CLI splits it and as the CLI runs them (no transaction around them, so
CREATE INDEX CONCURRENTLY, VACUUM and a file's own BEGIN/COMMIT behave as in
CI; each file on a connection of its own, so its SET commands stay with it);
an error there is what CI would show on a re-run. Errors are classified by the one shared
classifier (dragonfly_bot.core.failures), so the category and hint are the relay's.
Last, the catalog is asked whether ``authenticated`` and ``service_role`` can
use every table, view and function the target files create.

The scratch database is always dropped (``--db-url`` names the server it is
created on; nothing is written to an existing database).
"""

from __future__ import annotations

import logging
import re
import subprocess
import time

import psycopg

from dragonfly_bot.adapters.localdb import (
    PLATFORM_SQL,
    SUPABASE_EXTENSIONS,
    LocalDatabaseError,
    ScratchDatabase,
    find_server,
    migration_up,
)
from dragonfly_bot.core.failures import Failure, classify, enrich, parse_log
from dragonfly_bot.core.lint import ERROR, WARNING, Finding, MigrationSource
from dragonfly_bot.core.lint.grants import API_ROLES, coverage
from dragonfly_bot.core.lint.names import display
from dragonfly_bot.core.lint.parse import parse_file
from dragonfly_bot.core.lint.suppress import covers, read_comments
from dragonfly_bot.core.sql import split_statements
from dragonfly_bot.core.versions import version_of
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.preflight.files import MigrationSet
from dragonfly_bot.preflight.replay_base import Base, load_snapshot, restore_base

log = logging.getLogger(__name__)

APPLY_FAILED = "replay-apply-failed"
SKIPPED = "replay-skipped"  # the scratch server cannot run what Supabase can: a warning, not a red pre-flight
NOT_IDEMPOTENT = "replay-not-idempotent"
MISSING_PRIVILEGE = "replay-missing-privilege"

# What every Supabase project has (and the static rules model, dragonfly_bot.core.lint.grants.SUPABASE_DEFAULTS): what
# the CLI's postgres role creates in public is granted to the API roles. Without it the catalog check would report
# grants production does not need.
SUPABASE_DEFAULT_PRIVILEGES = """
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
"""


def replay(mset: MigrationSet, *, db_url: str | None = None, base: Base | None = None) -> list[Finding]:
    """``base``: start from the target's schema (``--base-db``/``--base-schema``) instead of an empty database."""
    snapshot = load_snapshot(base) if base is not None else None  # before any scratch database: fail fast
    server = None
    try:
        if db_url:
            server_url = db_url
        else:
            server = find_server()
            server_url = server.url
        db = ScratchDatabase(server_url)
        _create(db)
        try:
            applied: set[str] = set()
            if snapshot is not None and base is not None:
                applied, warnings, go_on = restore_base(db.url, snapshot, base.label(mset))
                if not go_on:
                    return warnings
                return warnings + _replay_on(db.url, mset, applied, from_base=True)
            return _replay_on(db.url, mset, applied)
        finally:
            db.drop()
    except LocalDatabaseError as exc:
        raise UserFacingError(str(exc)) from None
    finally:
        if server is not None:
            server.stop()


def _create(db: ScratchDatabase, attempts: int = 5) -> None:
    """Create the scratch database with the platform roles and schemas.

    Roles are cluster-wide: another scratch database being set up at the same
    moment can make ``ALTER ROLE``/``GRANT`` fail with "tuple concurrently
    updated"; the platform SQL is idempotent, so it is simply run again.
    """
    try:
        db.create(platform=False)
    except psycopg.Error as exc:
        raise UserFacingError(
            f"--replay could not create a scratch database: {str(exc).strip().splitlines()[0]}"
        ) from None
    for attempt in range(attempts):
        try:
            with psycopg.connect(db.url, autocommit=True) as conn:
                conn.execute(PLATFORM_SQL)
                conn.execute(SUPABASE_DEFAULT_PRIVILEGES)
            return
        except psycopg.errors.InternalError:
            if attempt == attempts - 1:
                db.drop()
                raise
            time.sleep(0.2 * (attempt + 1))
        except psycopg.Error:
            db.drop()
            raise


def _replay_on(url: str, mset: MigrationSet, applied: set[str], *, from_base: bool = False) -> list[Finding]:
    """Apply what ``url`` lacks, then run the checked files it lacked a second time.

    ``applied``: versions the target records (empty without a base). A file among them is never
    reported: it ran on the target already, whatever it would do on a fresh database.
    """
    where = "on a copy of the target's schema" if from_base else "on a fresh database"
    try:
        done = migration_up(url, mset.folder, include_all=True)
    except subprocess.TimeoutExpired as exc:
        return [
            Finding(
                mset.display(),
                1,
                APPLY_FAILED,
                ERROR,
                f"`supabase migration up` did not finish within {exc.timeout:.0f} s {where}",
                "look for a statement that waits (a lock, a long backfill) in the newest migrations",
            )
        ]
    if done.returncode != 0:
        failure = _apply_failure(done.stdout + "\n" + done.stderr, mset, where)
        return [] if _version_of_path(failure.file) in applied else [failure]
    findings: list[Finding] = []
    pending = [source for source in mset.targets if version_of(source.name) not in applied]
    for source in sorted(pending, key=lambda s: s.name):
        with psycopg.connect(url, autocommit=True) as conn:
            finding = _run_again(conn, source)
        if finding is not None:
            findings.append(finding)
    with psycopg.connect(url) as conn:
        for source in pending:
            findings.extend(_privileges(conn, source))
    return findings


def _version_of_path(path: str) -> str | None:
    return version_of(path.replace("\\", "/").rsplit("/", 1)[-1])


def _path_of(mset: MigrationSet, name: str | None) -> str:
    for target in mset.targets:
        if target.name == name:
            return target.path
    return mset.display(name)


def _message(f: Failure) -> str:
    return f"[{f.category}] {f.headline}"


def _apply_failure(output: str, mset: MigrationSet, where: str = "on a fresh database") -> Finding:
    failure = parse_log(output.splitlines())
    if failure is None:
        tail = " / ".join(line for line in output.strip().splitlines()[-3:])
        return Finding(
            mset.display(),
            1,
            APPLY_FAILED,
            ERROR,
            f"`supabase migration up` failed {where}: {tail}",
            "no known fix",
        )
    text = None
    if failure.file and (mset.folder / failure.file).is_file():
        text = (mset.folder / failure.file).read_text(encoding="utf-8", errors="replace")
    failure = enrich(failure, text)
    line = failure.error_line or failure.line or 1
    missing = _UNAVAILABLE_EXTENSION.search(failure.message or "")
    if failure.sqlstate == "0A000" and missing and missing.group(1) in SUPABASE_EXTENSIONS:
        return Finding(
            _path_of(mset, failure.file),
            line,
            SKIPPED,
            WARNING,
            f'the replay stopped here: extension "{missing.group(1)}" is not installed on the scratch PostgreSQL, '
            "though Supabase provides it; the second run and the privilege check were skipped",
            "replay on a server that has it (--db-url; the supabase/postgres image has every Supabase extension)",
        )
    return Finding(
        _path_of(mset, failure.file),
        line,
        APPLY_FAILED,
        ERROR,
        (
            "applying all migrations in order on a fresh database failed"
            if where == "on a fresh database"
            else f"applying the files the target lacks {where} failed"
        )
        + f": {_message(failure)}",
        failure.hint,
    )


_UNAVAILABLE_EXTENSION = re.compile(r'extension "([^"]+)" is not available')


def _run_again(conn: psycopg.Connection, source: MigrationSource) -> Finding | None:
    """Run the file's statements once more, as the CLI would (``conn`` is in autocommit mode)."""
    text = (source.text or "").removeprefix("\ufeff")  # the CLI applies BOM files; so must the re-run
    statements = split_statements(text)
    index = 0  # the failing statement's, for the except clause
    try:
        for statement in statements:
            conn.execute(statement.text)
            index += 1
        return None
    except psycopg.Error as exc:
        diag = exc.diag
        message = diag.message_primary or str(exc).splitlines()[0]
        failure = Failure(
            category=classify(diag.sqlstate, message),
            message=message,
            file=source.name,
            version=version_of(source.name),
            sqlstate=diag.sqlstate,
            detail=diag.message_detail or "",
            statement=statements[index].text,
            statement_index=index,
        )
        failure = enrich(failure, text)
        statement = statements[index]
        # The CLI's statement keeps its leading comments; point at the SQL itself,
        # or at the error position when PostgreSQL gives one.
        if diag.statement_position:
            line = statement.line + statement.text.count("\n", 0, int(diag.statement_position) - 1)
        else:
            line = statement.code_line
        return Finding(
            source.path,
            line,
            NOT_IDEMPOTENT,
            ERROR,
            f"running this migration a second time fails: {_message(failure)}",
            failure.hint,
        )


def _privileges(conn: psycopg.Connection, source: MigrationSource) -> list[Finding]:
    text = (source.text or "").removeprefix("\ufeff")
    parsed = parse_file(text)
    if parsed.error is not None:
        return []
    suppressions = read_comments(text, source.path).ignores
    findings = []
    for obj, _granted, revoked, _state in coverage(parsed.occurrences):
        if _suppressed(suppressions, obj.occ.line, obj.occ.span, parsed.spans):
            continue
        roles = [role for role in API_ROLES if role not in revoked]  # a REVOKE in the file is deliberate
        if obj.family == "relation":
            rows = conn.execute(
                "select r, has_table_privilege(r, c.oid, 'SELECT') from pg_class c, unnest(%s::text[]) r "
                "where c.oid = to_regclass(%s)",
                (roles, display(obj.schema, obj.name)),
            ).fetchall()
            privilege, grant = "SELECT on", f"GRANT SELECT ON {display(obj.schema, obj.name)} TO"
        else:
            rows = conn.execute(
                "select r, bool_and(has_function_privilege(r, p.oid, 'EXECUTE')) from pg_proc p "
                "join pg_namespace n on n.oid = p.pronamespace, unnest(%s::text[]) r "
                "where n.nspname = %s and p.proname = %s group by r",
                (roles, obj.schema, obj.name),
            ).fetchall()
            privilege, grant = "EXECUTE on", f"GRANT EXECUTE ON FUNCTION {obj.signature} TO"
        missing = sorted(role for role, allowed in rows if not allowed)
        if missing:
            label = obj.signature if obj.family == "function" else display(obj.schema, obj.name)
            findings.append(
                Finding(
                    source.path,
                    obj.occ.line,
                    MISSING_PRIVILEGE,
                    ERROR,
                    f"after all migrations ran, {' and '.join(missing)} lack{'s' if len(missing) == 1 else ''} "
                    f"{privilege} {obj.what} {label} (from the catalog)",
                    f"{grant} {', '.join(missing)};",
                )
            )
    conn.rollback()
    return findings


def _suppressed(suppressions, line: int, span, spans) -> bool:
    """A ``-- lint-ignore: missing-grant <why>`` on the statement also covers the catalog check."""
    probe = Finding("", line, "missing-grant", ERROR, "", "", span)
    return any(covers(sup, probe, spans) for sup in suppressions)
