"""``dragonfly-bot explain LOGFILE``: why did ``supabase migration up`` fail?

Reads a GitHub Actions job log (or the CLI's raw output; ``-`` for stdin),
finds the failure with the same parser the CI relay uses, looks the failing
file up in the migrations folder to give the statement's line, and prints
the protocol's fix. Exit 0: a failure was found; 1: none; 2: unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from dragonfly_bot.adapters.supabase.catalog import read_facts
from dragonfly_bot.core.diagnosis.facts import facts_lines, facts_query
from dragonfly_bot.core.failures import NEEDS_OTHER_FILES, Failure, enrich, parse_log
from dragonfly_bot.core.joblog import interesting_lines
from dragonfly_bot.errors import UserFacingError

NAME = "explain"
HELP = "Explain a failed `supabase migration up` from its job log: file, line, statement, error, fix."

DEFAULT_MIGRATIONS_DIR = Path("supabase") / "migrations"
MAX_MIGRATION_BYTES = 8 << 20  # a migration file larger than this is read only this far
EXIT_FOUND, EXIT_NONE = 0, 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logfile", help="job log or CLI output to read; - for stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--db-url",
        help="Postgres URL of the database the run migrated: adds catalog facts (read-only; skipped in one line "
        "when it cannot be reached)",
    )
    parser.add_argument(
        "--migrations-dir",
        type=Path,
        help="folder of migration files, to find the statement's line (default supabase/migrations when present)",
    )


def run(args: argparse.Namespace) -> int:
    migrations_dir = args.migrations_dir
    if migrations_dir is not None and not migrations_dir.is_dir():
        raise UserFacingError(f"--migrations-dir {migrations_dir} is not a folder")
    if migrations_dir is None and DEFAULT_MIGRATIONS_DIR.is_dir():
        migrations_dir = DEFAULT_MIGRATIONS_DIR
    db_url = args.db_url or None
    if args.logfile == "-":
        failure = failure_from_log(sys.stdin.buffer, migrations_dir, db_url=db_url)
    else:
        try:
            with open(args.logfile, "rb") as stream:
                failure = failure_from_log(stream, migrations_dir, db_url=db_url)
        except OSError as exc:
            raise UserFacingError(f"cannot read {args.logfile}: {exc.strerror or exc}") from exc
    if failure is None:
        if args.json:
            print(json.dumps(None))
        else:
            print(f"No migration failure found in {'stdin' if args.logfile == '-' else args.logfile}.")
        return EXIT_NONE
    if args.json:
        print(json.dumps(failure.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_text(render_text(failure))
    return EXIT_FOUND


def failure_from_log(
    stream: BinaryIO, migrations_dir: Path | None = None, *, db_url: str | None = None
) -> Failure | None:
    """The failure in a binary log stream, with line numbers from ``migrations_dir`` when given, and
    catalog facts from ``db_url`` when given (read-only; an unreachable database is noted in the facts).

    Streams the log (memory stays flat for any size); only the failing file
    (and, for missing-dependency errors, the other migration files) are read.
    """
    failure = parse_log(interesting_lines(stream))
    if failure is None or (migrations_dir is None and not db_url):
        return failure
    file_text = _read_migration(migrations_dir, failure.file) if migrations_dir else None
    others = None
    if failure.category in NEEDS_OTHER_FILES and migrations_dir is not None:
        others = {p.name: _read_migration(migrations_dir, p.name) or "" for p in sorted(migrations_dir.glob("*.sql"))}
    enriched = enrich(failure, file_text, others)
    if not db_url:
        return enriched
    # The query needs the statement's full text (and the files' creators); then diagnose again with the answers.
    query = facts_query(enriched, others)
    if query.asks_nothing:
        return enriched
    facts = read_facts(db_url, query)
    return enrich(replace(failure, facts=facts), file_text, others, facts)


def _read_migration(migrations_dir: Path, name: str | None) -> str | None:
    # The name comes from the log (outside input): only a plain file name in that folder.
    if not name or Path(name).name != name or name in (".", ".."):
        return None
    path = migrations_dir / name
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_MIGRATION_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None


def statement_position(f: Failure) -> str:
    """'statement 2 of 12, line 5' (1-based, unlike the CLI's "At statement: 1")."""
    parts = []
    if f.statement_index is not None:
        total = f" of {f.statement_count}" if f.statement_count else ""
        parts.append(f"statement {f.statement_index + 1}{total}")
    if f.line is not None:
        parts.append(f"line {f.line}")
    return ", ".join(parts)


def fix_label(f: Failure) -> str:
    """'Fix (certain)', 'Fix (likely)', or 'Check' when the hint only says what to look at."""
    if f.confidence == "check":
        return "Check"
    return f"Fix ({f.confidence})" if f.confidence else "Fix"


def render_text(f: Failure) -> str:
    """The explanation for a terminal (everything in ``f`` is already redacted)."""
    out: list[str] = []
    if f.file:
        where = f"{f.file}:{f.error_line or f.line}" if (f.error_line or f.line) else f.file
        position = statement_position(f)
        out.append(f"File:     {where}" + (f" ({position})" if position else ""))
    out.append(f"Error:    {f.headline.replace(chr(10), chr(10) + ' ' * 10)}")
    if f.detail:
        out.extend(f"          {line}" for line in f.detail.splitlines())
    if f.cli_hint:
        out.append(f"CLI:      {f.cli_hint}")
    out.append(f"Category: {f.category}")
    if f.context:
        marked = f.error_line or f.line
        out.append("Where:")
        for number, text in f.context:
            out.append(f"  {'>' if number == marked else ' '} {number:>4} | {text}")
    elif f.statement:
        out.append("Statement:")
        out.extend(f"    {line}" for line in f.statement.splitlines())
    database = facts_lines(f.facts)
    if database:
        out.append(f"Database: {database[0]}")
        out.extend(f"          {line}" for line in database[1:])
    out.append(f"{fix_label(f)}:")
    out.extend(f"    {line}" for line in f.advice.splitlines())
    if f.fix_sql:
        out.append("Run instead:")
        out.extend(f"    {line}" for line in f.fix_sql.splitlines())
    if f.category == "unknown" and f.error_lines:
        out.append("Error lines:")
        out.extend(f"    {line}" for line in f.error_lines)
    return "\n".join(out)


def _print_text(text: str) -> None:
    # A Windows console may not encode every character of a log; never crash on it.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding))
