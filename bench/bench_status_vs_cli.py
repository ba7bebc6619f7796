"""`dragonfly-bot status --db-url` beside `supabase migration list --db-url`, same database, one run.

The history is a team's as issue 10 found it: 319 files (160 four-digit, 9 eight-digit,
150 fourteen-digit), the four-digit ones recorded with `migration repair`, the rest applied
by `migration up`, plus the bot's own migrations adopted by `dragonfly-bot init`. Each tool
runs as a fresh process (what CI and a person at a terminal pay), alternating, N rounds;
medians are printed with the ratio. Goal: status at most 0.5x the CLI's wall time.

    python bench/bench_status_vs_cli.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dragonfly_bot.adapters.localdb import ScratchDatabase, find_server, migration_up, run_supabase  # noqa: E402
from tests.fakes.team_project import build_team_database, write_team_repo  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_"))}
ENV.update(SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    server = find_server()
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(server.url) as db:
        root = write_team_repo(Path(tmp) / "team", legacy=160, eight=9, fourteen=150)
        folder = root / "supabase" / "migrations"
        build_team_database(db.url, root)
        adopted = subprocess.run(
            [sys.executable, "-m", "dragonfly_bot.cli", "init", "--db-url", db.url, "--yes"],
            cwd=root, env=ENV, capture_output=True, text=True,
        )  # fmt: skip
        assert adopted.returncode == 0, adopted.stderr
        assert migration_up(db.url, folder).returncode == 0
        files = len(list(folder.glob("*.sql")))

        def status() -> None:
            done = subprocess.run(
                [sys.executable, "-m", "dragonfly_bot.cli", "status", "--db-url", db.url, "--json"],
                cwd=root, env=ENV, capture_output=True,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr

        def cli_list() -> None:
            done = run_supabase(["migration", "list", "--db-url", db.url], migrations_dir=folder)
            assert done.returncode == 0, done.stderr

        status()
        cli_list()  # warm both (page cache, node's module cache) before measuring
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(status))
            theirs.append(timed(cli_list))
        mine, cli = statistics.median(ours), statistics.median(theirs)
        print(f"history: {files} files (incl. the bot's adopted migrations), all applied")
        print(f"dragonfly-bot status --db-url --json : median {mine * 1000:7.1f} ms  (min {min(ours) * 1000:.1f})")
        print(f"supabase migration list --db-url     : median {cli * 1000:7.1f} ms  (min {min(theirs) * 1000:.1f})")
        print(f"ratio status / CLI: {mine / cli:.2f}x  (goal <= 0.5x: {'met' if mine / cli <= 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
