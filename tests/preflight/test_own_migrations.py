"""This repository's own pre-flight is green: ``dragonfly-bot lint`` (the installed console script, in the
repository, with its dragonfly.toml and committed baseline) exits 0 and reports nothing over
supabase/migrations. A new migration with a problem, or a baselined finding that went stale, turns it red:
fix the file (a new one, never an applied one), or rewrite the baseline only when a recorded finding is gone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("dragonfly-bot")


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "dragonfly_bot.cli"]
    env = {k: v for k, v in os.environ.items() if k != "DRAGONFLY_CACHE_DIR"}
    return subprocess.run(
        [*command, "lint", "--no-cache", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_repository_s_own_migrations_pass_its_own_lint():
    human = lint(ROOT)
    assert human.returncode == 0, human.stdout + human.stderr
    assert human.stdout.startswith("No problems in "), human.stdout
    as_json = lint(ROOT, "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == [], as_json.stdout
    # it checked the real folder: every migration file, with the baseline hiding only the applied files' warnings
    count = len(list((ROOT / "supabase" / "migrations").glob("*.sql")))
    assert f"No problems in {count} migration files." in human.stdout


def test_a_new_bad_migration_in_a_copy_of_the_repository_turns_it_red(tmp_path):
    copy = tmp_path / "repo"
    (copy / "supabase").mkdir(parents=True)
    shutil.copy(ROOT / "dragonfly.toml", copy / "dragonfly.toml")
    shutil.copy(ROOT / "supabase" / "lint-baseline.json", copy / "supabase" / "lint-baseline.json")
    shutil.copytree(ROOT / "supabase" / "migrations", copy / "supabase" / "migrations")
    assert lint(copy).returncode == 0
    (copy / "supabase" / "migrations" / "20260201000000_bad.sql").write_text("create table public.t (id int);\n")
    red = lint(copy, "--json")
    assert red.returncode == 1
    assert {f["rule"] for f in json.loads(red.stdout)} >= {"create-without-if-not-exists", "rls-disabled"}
