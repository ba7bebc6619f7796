"""``dragonfly-bot lint``: pre-flight checks of migration files before CI applies them.

Static rules run on PostgreSQL's own parse tree (dragonfly_bot.core.lint); ``--replay``
also applies the migrations on a scratch database and runs the new ones twice
(dragonfly_bot.preflight.replay); with ``--base-db``/``--base-schema`` it starts from the target's
schema and applies only the files the target lacks (dragonfly_bot.preflight.replay_base). Exit 1 when
any error-severity finding remains, 0 otherwise, 2 for usage errors (a bad flag, an unreadable
snapshot, an unreachable target, a missing pg_dump).

``python -m dragonfly_bot.preflight.lint_command`` runs the same command without loading the
other subcommands (faster start for pre-commit hooks and benchmarks).
"""

from __future__ import annotations

import argparse
import sys

from dragonfly_bot.cli_base import standalone_main

NAME = "lint"
HELP = "Check migration files against the protocol (idempotency, GRANTs, destructive operations, names)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="migration files or folders (default: supabase/migrations)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON list of findings")
    output.add_argument("--github", action="store_true", help="print GitHub Actions ::error/::warning annotations")
    parser.add_argument(
        "--changed-since", metavar="REF", help="lint only files changed since this git ref (and untracked ones)"
    )
    parser.add_argument(
        "--replay",
        action="store_true",
        help="also apply all migrations on a scratch database and run the checked ones twice",
    )
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        "--write-baseline",
        action="store_true",
        help="record today's findings in the baseline file ([lint] baseline), so only new ones are reported",
    )
    baseline.add_argument("--no-baseline", action="store_true", help="report every finding, baselined or not")
    parser.add_argument("--baseline", metavar="FILE", help="baseline file to use instead of the config's")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every file again instead of reusing the content-hash cache ([lint] cache_dir)",
    )
    parser.add_argument("--list-rules", action="store_true", help="print the rule ids with what each checks, and exit")
    parser.add_argument(
        "--db-url", metavar="URL", help="PostgreSQL server for --replay's scratch database (default: local or embedded)"
    )
    base = parser.add_mutually_exclusive_group()
    base.add_argument(
        "--base-db",
        metavar="URL",
        help="--replay starts from this target database's schema and applied versions (read-only pg_dump), "
        "and applies only the files it lacks",
    )
    base.add_argument(
        "--base-schema",
        metavar="FILE",
        help="--replay starts from a snapshot written by `dragonfly-bot schema-snapshot` (no secrets needed)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dragonfly_bot.core.lint import RULES, has_errors
    from dragonfly_bot.errors import UserFacingError
    from dragonfly_bot.preflight.lint_service import LintRequest, run_lint
    from dragonfly_bot.preflight.render_text import render_github, render_json, render_text
    from dragonfly_bot.project_config import load

    if args.list_rules:
        for rule, what in RULES.items():
            print(f"{rule:34} {what}")
        return 0
    for flag, value in (("--db-url", args.db_url), ("--base-db", args.base_db), ("--base-schema", args.base_schema)):
        if value and not args.replay:
            raise UserFacingError(f"{flag} is only used with --replay")
    base = None
    if args.base_db or args.base_schema:
        from dragonfly_bot.preflight.replay_base import Base

        schema = Path(args.base_schema).resolve() if args.base_schema else None
        base = Base(db_url=args.base_db, schema_file=schema, shown_as=args.base_schema)
    cwd = Path.cwd()
    request = LintRequest(
        paths=args.paths,
        changed_since=args.changed_since,
        replay=args.replay,
        db_url=args.db_url,
        base=base,
        baseline=args.baseline,
        use_baseline=not args.no_baseline,
        write_baseline=args.write_baseline,
        use_cache=not args.no_cache,
    )
    outcome = run_lint(request, load(cwd), cwd)
    findings = outcome.findings
    if outcome.wrote_baseline is not None:
        print(f"Recorded {len(findings)} finding{'s' if len(findings) != 1 else ''} in {outcome.wrote_baseline}.")
        return 0
    if args.json:
        print(render_json(findings))
    elif args.github:
        text = render_github(findings)
        if text:
            print(text)
    else:
        print(render_text(findings, outcome.files_checked, outcome.baselined))
    return 1 if has_errors(findings) else 0


def main(argv: list[str] | None = None) -> int:
    return standalone_main(NAME, HELP, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
