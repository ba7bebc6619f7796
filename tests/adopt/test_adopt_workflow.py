"""The workflow `dragonfly-bot init` writes has this repository's pre-flight: static checks and the replay on
Supabase's image pinned by digest, from the target's schema (pushes, dispatches) or the committed
supabase/schema.sql (pull requests), before any apply. The script is run here with a stand-in
dragonfly-bot, in a real git repository, to see what it asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dragonfly_bot.adopt.workflow import ACTIONS, PREFLIGHT_SCRIPT, SUPABASE_POSTGRES, new_workflow

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / ".github" / "workflows" / "supabase-migrate.yml"
SECRETS = {"dev": "DEV_URL", "prod": "PROD_URL"}


def load(text: str) -> dict:
    data = yaml.safe_load(text)
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data


@pytest.fixture(scope="module")
def written() -> dict:
    return load(new_workflow(SECRETS, "dragonfly-bot==0.2.0"))


def test_the_preflight_runs_on_pull_requests_and_before_every_apply(written):
    assert written["on"]["pull_request"]["paths"] == ["supabase/migrations/**"]
    assert "'pre-flight'" in written["run-name"]  # how the relay tells a pre-flight run from an apply
    migrate = written["jobs"]["migrate"]
    assert migrate["needs"] == "preflight" and migrate["if"] == "github.event_name != 'pull_request'"
    # a missing prod secret gives an empty URL, never the dev one
    assert migrate["env"]["DB_URL"] == (
        "${{ (inputs.environment || 'dev') == 'prod' && secrets.PROD_URL"
        " || (inputs.environment || 'dev') != 'prod' && secrets.DEV_URL || '' }}"
    )


def test_the_preflight_is_this_repository_s_own(written):
    ours = load(OURS.read_text())["jobs"]["preflight"]
    theirs = written["jobs"]["preflight"]
    assert theirs["services"]["postgres"]["image"] == ours["services"]["postgres"]["image"] == SUPABASE_POSTGRES
    assert theirs["services"]["postgres"]["options"] == ours["services"]["postgres"]["options"]
    mine = {s.get("id"): s for s in ours["steps"]}["preflight"]
    step = {s.get("id"): s for s in theirs["steps"]}["preflight"]
    assert step["run"] == mine["run"] == PREFLIGHT_SCRIPT
    renamed = {
        k: v.replace("SUPABASE_PROD_DB_URL", "PROD_URL").replace("SUPABASE_DEV_DB_URL", "DEV_URL")
        for k, v in mine["env"].items()
    }
    assert step["env"] == renamed
    assert "--replay" in step["run"] and "replay+=(--base-schema supabase/schema.sql)" in step["run"]
    checkout = theirs["steps"][0]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}


def test_actions_are_pinned_to_the_commits_this_repository_uses(written):
    ours = {s["uses"] for job in load(OURS.read_text())["jobs"].values() for s in job["steps"] if "uses" in s}
    theirs = {s["uses"] for job in written["jobs"].values() for s in job["steps"] if "uses" in s}
    assert theirs == {pin.split(" #")[0] for pin in ACTIONS.values()} and theirs <= ours


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    assert found.exists(), f"{name} is a dev dependency (pip install -e '.[dev]')"
    return str(found)


def test_actionlint_and_zizmor_find_nothing_in_it(tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    path = folder / "supabase-migrate.yml"
    path.write_text(new_workflow({"dev": "SUPABASE_DB_URL_DEV", "prod": "SUPABASE_DB_URL_PROD"}, "dragonfly-bot"))
    lint = subprocess.run([_tool("actionlint"), str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run([_tool("zizmor"), "--offline", "--quiet", str(folder)], capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.fixture
def repository(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "supabase" / "migrations").mkdir(parents=True)
    (repo / "supabase" / "migrations" / "20250101000000_a.sql").write_text("select 1;\n")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "one")
    git("update-ref", "refs/remotes/origin/main", "HEAD")
    return repo


def run_preflight(repo: Path, tmp_path: Path, **env: str) -> list[str]:
    """The step's script under bash with a stand-in dragonfly-bot: the argument lists it was called with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    fake = bin_dir / "dragonfly-bot"
    fake.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
    fake.chmod(0o755)
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir(exist_ok=True)
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(runner_temp),
        "SCRATCH_URL": "postgresql://supabase_admin:postgres@127.0.0.1:5432/postgres",
        "PG_CONTAINER": "abc123",
        "EVENT": "pull_request",
        "BASE_REF": "main",
        "BEFORE": "",
        "BASE_DB_URL": "",
        **env,
    }
    done = subprocess.run(
        ["bash", "-e", "-c", PREFLIGHT_SCRIPT], cwd=repo, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert 'docker exec -i -e PGPASSWORD -e PGCONNECT_TIMEOUT "abc123" pg_dump' in (runner_temp / "pg_dump").read_text()
    return calls.read_text().splitlines()


SCRATCH = "--replay --db-url postgresql://supabase_admin:postgres@127.0.0.1:5432/postgres"


def test_a_pull_request_replays_from_the_committed_snapshot_when_there_is_one(repository, tmp_path):
    assert run_preflight(repository, tmp_path) == [
        "guard --github",
        f"lint --github {SCRATCH} --changed-since origin/main",
    ]
    (repository / "supabase" / "schema.sql").write_text("-- snapshot\n")
    assert run_preflight(repository, tmp_path)[1] == (
        f"lint --github {SCRATCH} --base-schema supabase/schema.sql --changed-since origin/main"
    )


def test_a_push_replays_from_the_target_and_an_unknown_base_lints_everything(repository, tmp_path):
    (repository / "supabase" / "schema.sql").write_text("-- snapshot\n")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True).stdout.strip()
    calls = run_preflight(repository, tmp_path, EVENT="push", BEFORE=head, BASE_DB_URL="postgresql://target/db")
    assert calls[1] == f"lint --github {SCRATCH} --base-db postgresql://target/db --changed-since {head}"
    calls = run_preflight(repository, tmp_path, EVENT="workflow_dispatch", BASE_DB_URL="postgresql://target/db")
    assert calls[1] == f"lint --github {SCRATCH} --base-db postgresql://target/db"
