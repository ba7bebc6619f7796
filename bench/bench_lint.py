"""Benchmark ``dragonfly-bot lint`` beside squawk on a realistic generated history, in the same run.

Corpus: ``bench/lint_corpus.py`` writes ~300 Supabase migrations (>= 3 MB: tables with RLS, policies and
grants, PL/pgSQL and SQL functions, DO blocks, views, private schemas, seed files over 50 KB), the same
bytes every time, into a temporary git repository (nothing is committed here).

Each round measures, through the CLI as a subprocess (``python -m dragonfly_bot.cli lint``, the console script's
code), CPU time (user + system of the child, from ``getrusage``) and wall time:

* squawk (PyPI ``squawk-cli``) on the same files;
* lint cold: the cache folder deleted first (the entries are written during the run);
* lint ``--no-cache``: every file parsed, nothing written;
* lint warm: the same folder again, unchanged;
* ``--changed-since HEAD`` with one new file, warm cache (a developer's pre-commit, CI with its cache
  restored) and with no cache folder at all.

Medians over the rounds; ratios to squawk's CPU time. Goals (issue 11, item 10): cold <= 2x squawk,
warm <= 1x squawk, ``--changed-since`` with one file < 150 ms wall.

The child runs with bytecode caching on (an installed package has its .pyc files): a shell that sets
PYTHONDONTWRITEBYTECODE would otherwise measure compiling the sources on every start.

    python bench/bench_lint.py [--rounds 3] [--files 300] [--profile]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(ROOT)}
LINT = [sys.executable, "-m", "dragonfly_bot.cli", "lint"]
NEW_FILE = "29991231235959_new_feature.sql"
NEW_SQL = (
    "create table if not exists public.bench (id bigint primary key, owner_id uuid not null);\n"
    "alter table public.bench enable row level security;\n"
    'drop policy if exists "bench_own" on public.bench;\n'
    'create policy "bench_own" on public.bench for select to authenticated using ((select auth.uid()) = owner_id);\n'
    "grant select on public.bench to authenticated, service_role;\n"
)


def measured(cmd: list[str], cwd: Path, ok=(0, 1)) -> tuple[float, float, subprocess.CompletedProcess]:
    """(CPU seconds of the child, wall seconds, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:5])} failed ({done.returncode}): {done.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done


def squawk_binary() -> str | None:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if Path(found).exists():
        return found
    print("squawk not found; installing squawk-cli from PyPI (benchmark only) ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "squawk-cli>=2,<3"], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"squawk unavailable: pip install squawk-cli failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    return found if Path(found).exists() else None


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def main() -> int:
    from lint_corpus import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one cold in-process run")
    args = parser.parse_args()

    squawk = squawk_binary()
    with tempfile.TemporaryDirectory(prefix="dragonfly-bench-") as tmp:
        repo = Path(tmp)
        folder = repo / "supabase" / "migrations"
        files = generate(folder, args.files)
        sizes = [f.stat().st_size for f in files]
        git(repo, "init", "-q")
        git(repo, "add", ".")
        git(repo, "commit", "-qm", "base")
        cache = repo / ".dragonfly-cache"
        print(
            f"{len(files)} files, {sum(sizes) / 1e6:.2f} MB, {sum(s > 50_000 for s in sizes)} over 50 KB "
            f"(largest {max(sizes) / 1e3:.0f} KB); {args.rounds} rounds; medians\n"
        )
        measured([*LINT, "--no-cache", "--json", str(folder)], repo)  # warm-up: .pyc files, page cache
        rows: dict[str, list[tuple[float, float]]] = {}

        def record(label: str, cmd: list[str], ok=(0, 1)) -> subprocess.CompletedProcess:
            cpu, wall, done = measured(cmd, repo, ok)
            rows.setdefault(label, []).append((cpu, wall))
            return done

        paths = [str(f) for f in files]
        outputs = {}
        for _ in range(args.rounds):
            if squawk:
                record("squawk, same files", [squawk, "--reporter", "json", *paths], ok=(0, 1, 2))
            shutil.rmtree(cache, ignore_errors=True)
            outputs["cold"] = record("lint cold (no cache folder)", [*LINT, "--json", str(folder)]).stdout
            outputs["warm"] = record("lint warm (unchanged files)", [*LINT, "--json", str(folder)]).stdout
            outputs["no-cache"] = record("lint --no-cache", [*LINT, "--no-cache", "--json", str(folder)]).stdout
            (folder / NEW_FILE).write_text(NEW_SQL)
            record("--changed-since HEAD, 1 new file, warm", [*LINT, "--changed-since", "HEAD"])
            shutil.rmtree(cache, ignore_errors=True)
            record("--changed-since HEAD, 1 new file, no cache", [*LINT, "--changed-since", "HEAD"])
            (folder / NEW_FILE).unlink()
            measured([*LINT, "--json", str(folder)], repo)  # leave a warm cache for the next round's order
        record("python -c pass (interpreter start)", [sys.executable, "-c", "pass"])

        print(f"{'':48s} {'CPU':>9s} {'wall':>9s}")
        medians = {}
        for label, runs in rows.items():
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            medians[label] = (cpu, wall)
            print(f"{label:48s} {cpu * 1000:7.0f}ms {wall * 1000:7.0f}ms")
        same = outputs["cold"] == outputs["warm"] == outputs["no-cache"]
        print(f"\nfindings identical cold / warm / --no-cache: {same}")
        if squawk:
            base = medians["squawk, same files"][0]
            for label, goal in (("lint cold (no cache folder)", 2.0), ("lint --no-cache", 2.0), ("lint warm", 1.0)):
                key = next(k for k in medians if k.startswith(label))
                ratio = medians[key][0] / base
                verdict = "met" if ratio <= goal else "MISSED"
                print(f"ratio {key} / squawk CPU: {ratio:.2f}x (goal <= {goal:g}x: {verdict})")
        wall = medians["--changed-since HEAD, 1 new file, warm"][1]
        verdict = "met" if wall < 0.15 else "MISSED"
        print(f"--changed-since, 1 file, warm: {wall * 1000:.0f} ms wall (goal < 150 ms: {verdict})")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if squawk:
            compare_on_corpus(squawk, repo)
        if args.profile:
            profile(folder)
    return 0 if same else 1


IDEMPOTENCY_RULES = (
    "create-without-if-not-exists",
    "create-without-or-replace",
    "drop-without-if-exists",
    "add-column-without-if-not-exists",
    "unguarded-create",
    "insert-without-on-conflict",
)


def compare_on_corpus(squawk: str, cwd: Path) -> None:
    """What each tool catches on the rule corpus (tests/preflight/lint_corpus): not speed, coverage."""
    import json

    corpus = ROOT / "tests" / "preflight" / "lint_corpus"
    bad = [p for rule in IDEMPOTENCY_RULES for p in sorted((corpus / rule).glob("bad_*.sql"))]
    good = sorted(corpus.glob("*/good_*.sql"))

    def squawk_rules(path: Path) -> set[str]:
        done = measured([squawk, "--reporter", "json", str(path)], cwd, ok=(0, 1, 2))[2]
        try:
            return {v.get("rule_name") for v in json.loads(done.stdout or "[]")}
        except ValueError:
            return {"<unreadable output>"}

    caught = sum(1 for p in bad if "prefer-robust-stmts" in squawk_rules(p))
    false_syntax = [p for p in good if "syntax-error" in squawk_rules(p)]
    print(
        f"corpus, non-idempotent files ({len(bad)}): dragonfly lint flags {len(bad)} (by construction, tested); "
        f"squawk prefer-robust-stmts flags {caught}"
    )
    print(f"corpus, good files PostgreSQL accepts ({len(good)}): squawk syntax-error on {len(false_syntax)}")


def profile(folder: Path) -> None:
    import cProfile
    import pstats

    from dragonfly_bot.core.lint import lint_migrations
    from dragonfly_bot.preflight.files import collect

    def cold():
        for mset in collect([str(folder)]):
            lint_migrations(mset.targets, mset.others, mset.read)

    profiler = cProfile.Profile()
    profiler.runcall(cold)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    sys.exit(main())
