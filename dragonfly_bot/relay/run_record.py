"""Turn the output of ``supabase migration up`` into rows of ``public.migration_runs``.

CI (the protocol's only writer) runs ``dragonfly-bot record-run`` after the
migrate step, on the step's own output (``migrate.log``):

* every ``Applying migration X.sql...`` before the failure was applied (the
  CLI commits file by file; the failing file is rolled back);
* the failure itself, read by the one classifier (``dragonfly_bot.core.failures``),
  becomes a ``failed`` row with its version, SQLSTATE, message and statement.

A failure that names no file (the database unreachable, remote versions not
found locally) is not a migration's failure: there is no version to record it
under, so it yields no failed row (``RunRecord.unrecorded`` says so).
Everything stored is redacted: the table is readable through the REST view.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import psycopg

from dragonfly_bot.core.diagnosis.facts import diagnosis_record, facts_of
from dragonfly_bot.core.failures import Failure, parse_log
from dragonfly_bot.core.joblog import clean_line, interesting_lines
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.versions import parse_file_name
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.relay.explain_command import failure_from_log

_APPLYING = re.compile(r"Applying migration (?P<file>\S+?\.sql)\.\.\.")
NO_ERROR_FOUND = "the migrate step failed but its output shows no error"


@dataclass(frozen=True)
class RunRow:
    environment: str
    status: str  # applied | failed
    version: str
    file_name: str
    sqlstate: str | None = None
    error_message: str | None = None
    failing_statement: str | None = None
    ci_run_url: str | None = None
    commit_sha: str | None = None
    actor: str | None = None
    # the versioned diagnosis record (JSON, dragonfly_bot.core.diagnosis.facts), failed rows
    diagnosis: str | None = None


@dataclass
class RunRecord:
    rows: list[RunRow] = field(default_factory=list)
    failure: Failure | None = None
    unrecorded: str | None = None  # why a failure has no row


def _tap_applying(lines: Iterable[str], files: list[str]) -> Iterator[str]:
    """Pass lines through, noting each migration file the CLI starts applying."""
    for line in lines:
        if "Applying migration" in line:
            match = _APPLYING.search(clean_line(line))
            if match:
                files.append(match.group("file").rsplit("/", 1)[-1])
        yield line


def read_run(
    log: BinaryIO,
    *,
    environment: str,
    failed: bool | None = None,
    migrations_dir: Path | None = None,
    ci_run_url: str | None = None,
    commit_sha: str | None = None,
    actor: str | None = None,
    db_url: str | None = None,
) -> RunRecord:
    """The rows one migrate step's output stands for.

    ``failed``: the step's outcome when known (CI passes it); None lets the
    log decide (a failure found means failed). ``db_url``: read catalog facts
    for the failure's diagnosis there (read-only, never fatal).
    """
    applying: list[str] = []
    failure = parse_log(_tap_applying(interesting_lines(log), applying))
    if failed is None:
        failed = failure is not None
    row = partial(RunRow, environment=environment, ci_run_url=ci_run_url, commit_sha=commit_sha, actor=actor)
    record = RunRecord(failure=failure)

    failing_file = None
    if failed:
        if failure is not None and failure.file:
            failing_file = failure.file
        elif failure is None and applying:
            # No error text at all (killed, timed out): the file being applied did not finish.
            failing_file = applying[-1]
        elif failure is not None:
            record.unrecorded = f"{failure.category}: {failure.message} (no migration file to record it under)"
        else:
            record.unrecorded = NO_ERROR_FOUND + " and names no migration file"

    for file_name in dict.fromkeys(applying):
        if file_name == failing_file:
            continue
        version = _version(file_name)
        if version:
            record.rows.append(row(status="applied", version=version, file_name=file_name))

    if failing_file:
        version = _version(failing_file)
        if failure is not None and migrations_dir is not None and log.seekable():
            # Read again the way `dragonfly-bot explain` does: the same failure, plus the
            # statement's full text and line from the file (and the other files for hints).
            log.seek(0)
            failure = failure_from_log(log, Path(migrations_dir), db_url=db_url) or failure
            record.failure = failure
        if version:
            message = failure.message if failure else NO_ERROR_FOUND
            if failure is not None and failure.detail:
                message = f"{message}\n{failure.detail}"
            record.rows.append(
                row(
                    status="failed",
                    version=version,
                    file_name=failing_file,
                    sqlstate=failure.sqlstate if failure else None,
                    error_message=redact(message),
                    failing_statement=redact(failure.statement) if failure and failure.statement else None,
                    diagnosis=json.dumps(diagnosis_record(failure), sort_keys=True) if failure else None,
                )
            )
        else:
            record.unrecorded = f"{failing_file} has no version prefix"
    return record


def _version(file_name: str) -> str | None:
    parsed = parse_file_name(file_name)
    return parsed.version if parsed else None


INSERT = (
    "insert into public.migration_runs (environment, status, version, file_name, sqlstate,"
    " error_message, failing_statement, ci_run_url, commit_sha, actor{extra})"
    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s{values})"
)
# The diagnosis column came later (20251214100000): a database without it still gets its rows.
HAS_DIAGNOSIS = (
    "select 1 from pg_attribute where attrelid = to_regclass('public.migration_runs')"
    " and attname = 'diagnosis' and not attisdropped"
)


def insert_rows(db_url: str, rows: list[RunRow]) -> None:
    """Append the rows in one transaction (all or nothing)."""
    if not rows:
        return
    try:
        with psycopg.connect(db_url, connect_timeout=15) as conn, conn.cursor() as cur:
            diagnosis = cur.execute(HAS_DIAGNOSIS).fetchone() is not None
            sql = INSERT.format(extra=", diagnosis" if diagnosis else "", values=", %s" if diagnosis else "")
            cur.executemany(
                sql,
                [
                    (
                        r.environment,
                        r.status,
                        r.version,
                        r.file_name,
                        r.sqlstate,
                        r.error_message,
                        r.failing_statement,
                        r.ci_run_url,
                        r.commit_sha,
                        r.actor,
                        *((r.diagnosis,) if diagnosis else ()),
                    )
                    for r in rows
                ],
            )
    except psycopg.Error as exc:
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise UserFacingError(f"could not record the run in public.migration_runs: {reason}") from None


def stored_facts(diagnosis: object, failure: Failure | None = None):
    """The catalog facts of a stored ``migration_runs.diagnosis`` value; None for rows written before it
    existed (NULL), for another failure's, and for anything unreadable."""
    return facts_of(diagnosis, failure) if diagnosis is not None else None
