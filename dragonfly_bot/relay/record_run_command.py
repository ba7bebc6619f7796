"""``dragonfly-bot record-run``: append a migrate step's result to ``public.migration_runs``.

Run by the "Supabase Migrations" workflow after ``supabase migration up``
(CI is the only writer). The run's link, commit and actor default to what
GitHub Actions puts in the environment.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from dragonfly_bot.core.diagnosis.facts import facts_line
from dragonfly_bot.core.environments import ENVIRONMENTS
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.relay.run_record import insert_rows, read_run

NAME = "record-run"
HELP = "Record a migrate step's applied/failed migrations (from its log) in public.migration_runs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logfile", type=Path, help="the output of `supabase migration up` (e.g. migrate.log)")
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS, help="the environment the step migrated")
    parser.add_argument("--db-url", help="Postgres URL to write to (default: $DB_URL)")
    parser.add_argument(
        "--outcome",
        choices=("success", "failure", "cancelled"),
        help="the migrate step's outcome; cancelled counts as failure (default: failure when the log shows an error)",
    )
    parser.add_argument("--migrations-dir", type=Path, default=Path("supabase/migrations"))
    parser.add_argument("--run-url", help="CI run link (default: from GITHUB_* variables)")
    parser.add_argument("--commit", help="commit SHA (default: $GITHUB_SHA)")
    parser.add_argument("--actor", help="who triggered the run (default: $GITHUB_ACTOR)")
    parser.add_argument("--dry-run", action="store_true", help="print the rows as JSON, write nothing")


def _github_run_url() -> str | None:
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (server and repo and run_id):
        return None
    url = f"{server}/{repo}/actions/runs/{run_id}"
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT")
    return f"{url}/attempts/{attempt}" if attempt and attempt != "1" else url


def run(args: argparse.Namespace) -> int:
    if not args.logfile.is_file():
        raise UserFacingError(f"log file {args.logfile} not found; pass the file the migrate step wrote (migrate.log)")
    db_url = args.db_url or os.environ.get("DB_URL") or ""
    if not db_url and not args.dry_run:
        raise UserFacingError("no database to write to: pass --db-url or set DB_URL")
    with args.logfile.open("rb") as log:
        record = read_run(
            log,
            environment=args.env,
            failed=None if args.outcome is None else args.outcome != "success",
            migrations_dir=args.migrations_dir,
            ci_run_url=args.run_url or _github_run_url(),
            commit_sha=args.commit or os.environ.get("GITHUB_SHA"),
            actor=args.actor or os.environ.get("GITHUB_ACTOR"),
            db_url=db_url or None,
        )
    failure = record.failure
    if failure is not None and failure.facts is not None:
        # In the job log: the bot's alert reads the facts there, without a database connection.
        print(facts_line(failure))
        if failure.facts.unavailable:
            print(f"catalog facts: database not read ({failure.facts.unavailable}); diagnosed without them")
    if args.dry_run:
        print(json.dumps([row.__dict__ for row in record.rows], indent=2))
    elif db_url:
        insert_rows(db_url, record.rows)
    applied = sum(1 for r in record.rows if r.status == "applied")
    failed = [r for r in record.rows if r.status == "failed"]
    summary = f"recorded {applied} applied" + (f", 1 failed ({failed[0].file_name})" if failed else "")
    print(summary + (" [dry run]" if args.dry_run else ""))
    if record.unrecorded:
        print(f"not recorded: {record.unrecorded}")
    return 0
