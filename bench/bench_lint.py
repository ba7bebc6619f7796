"""Benchmark ``dragonfly-bot lint`` beside squawk on the same 300+ migration files.

Files: the precision corpus (tests/preflight/lint_precision, realistic Supabase
migrations) repeated under new versions until there are at least 300. Prints:

* static lint of the whole folder, in-process and through the CLI
  (``python -m bot.cli lint``, which also imports every other subcommand, and
  ``python -m bot.preflight.lint_command``, the lint command alone);
* ``--changed-since`` with one changed file in a temporary git repository;
* ``squawk`` (PyPI ``squawk-cli``, installed here with pip if missing) on the
  same files, in the same run.

Goals (issue 6): no more than 3x squawk's time and under 1 s for 300 files;
``--changed-since`` under 200 ms.

    python bench/bench_lint.py [--files 315] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PRECISION = ROOT / "tests" / "lint_precision"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def make_files(folder: Path, count: int) -> list[Path]:
    sources = sorted(PRECISION.glob("*.sql"))
    made = []
    for index in range(count):
        src = sources[index % len(sources)]
        # Distinct, ordered 14-digit versions: 2025-01-01 00:00:00 plus `index` minutes.
        day, minute = divmod(index, 1440)
        version = f"202501{1 + day:02d}{minute // 60:02d}{minute % 60:02d}00"
        target = folder / f"{version}_{src.name.split('_', 1)[1]}"
        target.write_text(src.read_text())
        made.append(target)
    return made


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best, median) wall time in seconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def run(cmd: list[str], cwd: Path, ok=(0, 1)) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({done.returncode}): {done.stderr[-500:]}")
    return done


def squawk_binary() -> str | None:
    found = shutil.which("squawk") or (Path(sys.executable).parent / "squawk")
    if found and Path(found).exists():
        return str(found)
    print("squawk not found; installing squawk-cli from PyPI (benchmark only) ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "squawk-cli>=2,<3"], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(f"squawk unavailable: pip install squawk-cli failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    found = shutil.which("squawk") or (Path(sys.executable).parent / "squawk")
    return str(found) if found and Path(found).exists() else None


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

    corpus = ROOT / "tests" / "lint_corpus"
    bad = [p for rule in IDEMPOTENCY_RULES for p in sorted((corpus / rule).glob("bad_*.sql"))]
    good = sorted(corpus.glob("*/good_*.sql"))

    def squawk_rules(path: Path) -> set[str]:
        done = run([squawk, "--reporter", "json", str(path)], cwd, ok=(0, 1, 2))
        try:
            return {v.get("rule_name") for v in json.loads(done.stdout or "[]")}
        except ValueError:
            return {"<unreadable output>"}

    caught = sum(1 for p in bad if "prefer-robust-stmts" in squawk_rules(p))
    false_syntax = [p for p in good if "syntax-error" in squawk_rules(p)]
    print(
        f"\ncorpus, non-idempotent files ({len(bad)}): dragonfly lint flags {len(bad)} (by construction, tested); "
        f"squawk prefer-robust-stmts flags {caught}"
    )
    print(
        f"corpus, good files PostgreSQL accepts ({len(good)}): squawk syntax-error on {len(false_syntax)}"
        + (f" ({', '.join(p.parent.name + '/' + p.name for p in false_syntax[:5])})" if false_syntax else "")
    )


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=315)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from bot.core.lint import lint_migrations
    from bot.preflight.files import collect

    with tempfile.TemporaryDirectory(prefix="dragonfly-bench-") as tmp:
        repo = Path(tmp)
        folder = repo / "supabase" / "migrations"
        folder.mkdir(parents=True)
        files = make_files(folder, args.files)
        total_kb = sum(f.stat().st_size for f in files) / 1024
        print(f"{len(files)} migration files, {total_kb:.0f} KiB, repeat {args.repeat} (best / median)\n")

        def in_process():
            findings = []
            for mset in collect([str(folder)]):
                findings.extend(lint_migrations(mset.targets, mset.others))
            return findings

        findings = in_process()
        results: dict[str, tuple[float, float]] = {}
        results["lint, in-process"] = timed(in_process, args.repeat)
        results["lint, python -m bot.cli lint"] = timed(
            lambda: run([sys.executable, "-m", "bot.cli", "lint", "--json", str(folder)], repo), args.repeat
        )
        results["lint, python -m bot.preflight.lint_command"] = timed(
            lambda: run([sys.executable, "-m", "bot.preflight.lint_command", "--json", str(folder)], repo), args.repeat
        )
        results["python -c pass (interpreter start)"] = timed(
            lambda: run([sys.executable, "-c", "pass"], repo), args.repeat
        )

        # --changed-since: a git repository with every file committed, then one file changed.
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        run([*git, "init", "-q"], repo)
        run([*git, "add", "."], repo)
        run([*git, "commit", "-qm", "base"], repo)
        (folder / "29991231235959_new_feature.sql").write_text(
            "create table if not exists public.bench (id bigint primary key);\n"
            "grant select on public.bench to authenticated, service_role;\n"
        )

        def changed_in_process():
            for mset in collect([str(folder)], changed_since="HEAD", cwd=repo):
                lint_migrations(mset.targets, mset.others)

        results["--changed-since (1 file), in-process"] = timed(changed_in_process, args.repeat)
        results["--changed-since (1 file), python -m bot.cli lint"] = timed(
            lambda: run([sys.executable, "-m", "bot.cli", "lint", "--changed-since", "HEAD"], repo), args.repeat
        )
        results["--changed-since (1 file), python -m bot.preflight.lint_command"] = timed(
            lambda: run([sys.executable, "-m", "bot.preflight.lint_command", "--changed-since", "HEAD"], repo),
            args.repeat,
        )
        (folder / "29991231235959_new_feature.sql").unlink()

        squawk = squawk_binary()
        if squawk:
            version = run([squawk, "--version"], repo).stdout.strip()
            paths = [str(f) for f in files]
            done = run([squawk, "--reporter", "json", *paths], repo, ok=(0, 1, 2))
            results[f"squawk ({version}), same {len(files)} files"] = timed(
                lambda: run([squawk, "--reporter", "json", *paths], repo, ok=(0, 1, 2)), args.repeat
            )
            syntax = done.stdout.count('"syntax-error"')
        for name, (best, median) in results.items():
            print(f"{name:58s} {fmt(best)} {fmt(median)}")
        print(f"\nlint findings on the generated set: {len(findings)} (the corpus is clean by design)")
        if squawk:
            print(f"squawk 'syntax-error' reports on the same files (PostgreSQL accepts all of them): {syntax}")
            squawk_best = results[f"squawk ({version}), same {len(files)} files"][0]
            cli_best = results["lint, python -m bot.preflight.lint_command"][0]
            print(
                f"ratio lint CLI / squawk: {cli_best / squawk_best:.2f}x "
                f"(in-process / squawk: {results['lint, in-process'][0] / squawk_best:.2f}x)"
            )
            compare_on_corpus(squawk, repo)
        else:
            print("squawk: unavailable (not installed and pip install squawk-cli failed); no figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
