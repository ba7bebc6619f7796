"""Log parsing throughput and memory: ``explain``'s streaming path beside grep.

Writes GitHub-style job logs (timestamped noise: npm, pytest, compiler and
Docker output, with one real-looking ``supabase migration up`` failure near
the end) of ~25 MB and ~100 MB to a temp dir, then for the 100 MB one times

* ``failure_from_log`` (what ``dragonfly-bot explain`` runs: the chunked
  reader, which hands the parser only the lines near ``##[error]`` markers,
  ``Applying migration`` lines and the log's end; classifier; hint), and
* ``grep -E 'ERROR|Applying migration'`` over the same file (output piped
  back, so grep cannot take its /dev/null shortcut),

best of three each, and prints MB/s and the ratio. Peak Python memory
(tracemalloc) is measured in a separate, untimed pass for both sizes to show
it stays flat as the log grows. Prints figures only; asserts nothing.

    python bench/bench_log_parse.py [--mb 100]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dragonfly_bot.relay.explain_command import failure_from_log

NOISE = [
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
    "added 1423 packages, and audited 1424 packages in 23s",
    "tests/core/test_status_engine.py::test_pending_versions_sort_as_strings PASSED            [ 42%]",
    "\x1b[32m✓\x1b[0m src/components/Table.test.tsx (12 tests) 41ms",
    "#12 [build 4/9] RUN pip install --no-cache-dir -r requirements.txt",
    "Collecting pydantic-settings>=2.16 (from -r requirements.txt (line 7))",
    "  Downloading psycopg_binary-3.3.9-cp311-cp311-manylinux_2_17_x86_64.whl (4.4 MB)",
    "warning: unused variable `handle` --> src/worker.rs:118:13",
    "[command]/usr/bin/git -c protocol.version=2 fetch --no-tags --prune --no-recurse-submodules --depth=1 origin",
    "gcc -pthread -Wno-unused-result -Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall -fPIC -c psycopg/pq.c",
    "Error: no test specified (ignored: continue-on-error)",
    "  at Object.<anonymous> (/home/runner/work/app/app/node_modules/jest-circus/build/utils.js:298:28)",
]
FAILURE = """##[group]Run supabase migration up --db-url "$DB_URL" --yes
supabase migration up --db-url "$DB_URL" --yes
shell: /usr/bin/bash -e {0}
env:
  DB_URL: ***
##[endgroup]
Warning: --db-url is deprecated and will be removed in v4. Use --remote=<db-url> instead
Target: custom Postgres (db.abcdefghijkl.supabase.co:5432)
Applying migration 20251209000001_step1.sql...
Applying migration 20251209000002_step2.sql...
\x1b[31mERROR: duplicate key value violates unique constraint "k_pkey" (SQLSTATE 23505)\x1b[0m
Key (id)=(1) already exists.
At statement: 0
insert into public.k values (1)
Try rerunning the command with --debug to troubleshoot the error.
##[error]Process completed with exit code 1.""".splitlines()


def write_log(path: Path, megabytes: int, seed: int = 4) -> int:
    """A log of about ``megabytes`` MB with the failure 95% of the way in."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    failure_at = int(target * 0.95)
    written = 0
    placed = False
    second = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        while written < target:
            batch = []
            for _ in range(2000):
                second += 1
                clock = f"{(second // 3600) % 24:02d}:{(second // 60) % 60:02d}:{second % 60:02d}"
                stamp = f"2025-12-09T{clock}.{rng.randrange(10**7):07d}Z "
                batch.append(stamp + rng.choice(NOISE) + f" #{second}\n")
            if not placed and written >= failure_at:
                batch.extend(f"2025-12-09T23:59:59.0000000Z {line}\n" for line in FAILURE)
                placed = True
            chunk = "".join(batch)
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
    return path.stat().st_size


def time_parser(path: Path) -> tuple[float, object]:
    start = time.perf_counter()
    with open(path, "rb") as stream:
        failure = failure_from_log(stream)
    return time.perf_counter() - start, failure


def time_every_line(path: Path) -> float:
    """For reference: parse_log fed every line of a text file (no chunked reader)."""
    from dragonfly_bot.core.failures import parse_log

    start = time.perf_counter()
    with open(path, encoding="utf-8", errors="replace", newline="") as lines:
        parse_log(lines)
    return time.perf_counter() - start


def time_grep(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(["grep", "-E", "ERROR|Applying migration", str(path)], stdout=subprocess.PIPE, check=False)
    return time.perf_counter() - start, done.stdout.count(b"\n")


def peak_memory(path: Path) -> int:
    tracemalloc.start()
    with open(path, "rb") as stream:
        failure_from_log(stream)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the large log (the small one is a quarter)")
    args = parser.parse_args()
    if shutil.which("grep") is None:
        sys.exit("grep is needed for the comparison")
    with tempfile.TemporaryDirectory(prefix="dragonfly-bench-") as tmp:
        small, large = Path(tmp) / "small.log", Path(tmp) / "large.log"
        small_size = write_log(small, args.mb // 4)
        large_size = write_log(large, args.mb)
        print(f"logs: {small_size / 1e6:.1f} MB and {large_size / 1e6:.1f} MB")

        for _ in range(1):  # warm the page cache and imports
            time_grep(large), time_parser(large)
        parse_s, failure = min((time_parser(large) for _ in range(3)), key=lambda r: r[0])
        grep_s, grep_lines = min((time_grep(large) for _ in range(3)), key=lambda r: r[0])
        assert failure is not None and failure.category == "duplicate_key", failure

        mb = large_size / 1e6
        print(
            f"parser (explain's path): {parse_s:.3f} s  {mb / parse_s:8.1f} MB/s  -> {failure.category} in "
            f"{failure.file}"
        )
        print(f"grep -E:                 {grep_s:.3f} s  {mb / grep_s:8.1f} MB/s  ({grep_lines} matching lines)")
        print(f"ratio parser/grep time:  {parse_s / grep_s:.2f}x (goal: within 3x)")
        every_s = time_every_line(large)
        print(
            f"for reference, parse_log over every line (no chunked reader): {every_s:.3f} s  {mb / every_s:8.1f} MB/s"
        )

        peak_small, peak_large = peak_memory(small), peak_memory(large)
        print(
            f"peak Python memory: {peak_small / 1e6:.1f} MB for {small_size / 1e6:.0f} MB log, "
            f"{peak_large / 1e6:.1f} MB for {large_size / 1e6:.0f} MB log"
        )


if __name__ == "__main__":
    main()
