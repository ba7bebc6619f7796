"""``dragonfly-bot schema-snapshot``: write the target's schema snapshot for ``lint --replay --base-schema``.

Reads the database read-only (pg_dump --schema-only of the server's major version, role names,
``supabase_migrations.schema_migrations`` rows) and writes one deterministic file with a header
saying what made it and no secrets (dragonfly_bot.core.schema_snapshot). The workflow refreshes it after
each green apply to dev, so pull requests from forks, which get no secrets, replay from it.

Exit 0 when written (or unchanged), 1 with ``--check`` when the file differs from the target,
2 for usage errors (no pg_dump of the target's version, an unwritable path), 3 when the target
cannot be read.
"""

from __future__ import annotations

import argparse
import sys

from dragonfly_bot.cli_base import standalone_main

NAME = "schema-snapshot"
HELP = "Write the target database's schema and applied versions to a file for `lint --replay --base-schema`."
DEFAULT_OUT = "supabase/schema.sql"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", metavar="URL", required=True, help="the target database (read-only)")
    parser.add_argument(
        "--out", metavar="FILE", default=DEFAULT_OUT, help=f"where to write it (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the file is missing or differs"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dragonfly_bot.adapters.target_schema import read_snapshot, write_text
    from dragonfly_bot.core.schema_snapshot import render
    from dragonfly_bot.errors import UserFacingError

    snapshot = read_snapshot(args.db_url, made_by="dragonfly-bot schema-snapshot")
    text = render(snapshot)
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.is_file() else None
    summary = (
        f"{sum(1 for e in snapshot.entries if e.sql)} schema entries, {len(snapshot.applied)} applied "
        f"version{'s' if len(snapshot.applied) != 1 else ''}, {len(set(snapshot.roles))} roles"
    )
    if args.check:
        if old == text:
            print(f"{out} is up to date ({summary}).")
            return 0
        print(f"{out} {'is missing' if old is None else 'differs from the target'}: run dragonfly-bot schema-snapshot.")
        return 1
    if old == text:
        print(f"{out} is up to date ({summary}).")
        return 0
    try:
        write_text(out, text)
    except OSError as exc:
        raise UserFacingError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    print(f"Wrote {out}: {summary}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    return standalone_main(NAME, HELP, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
