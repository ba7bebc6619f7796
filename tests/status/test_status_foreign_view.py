"""Status against a team's own, older v_migration_status (issue 10, item 2), and the exit-code contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import respx

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from dragonfly_bot.cli import main
from tests.adapters.test_status_rest import KEY, URL
from tests.fakes.postgrest_fake import FakePostgrest
from tests.fakes.team_project import FUTURE_FILE, TEAM_VIEW_COLUMNS, build_team_database, team_files, write_team_repo

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_"))}


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("SUPABASE_", "DISCORD_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def team(scratch_databases, tmp_path_factory):
    root = write_team_repo(tmp_path_factory.mktemp("team"))
    db = scratch_databases()
    build_team_database(db.url, root)
    return root, db


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.cli", *args],
        cwd=cwd or PROJECT_ROOT,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
    )


def by_file(data: dict) -> dict[str, str]:
    return {m["file"] or m["version"]: m["state"] for m in data["migrations"]}


def test_the_teams_own_view_over_postgres_gives_the_right_sets(team):
    root, db = team
    folder = root / "supabase" / "migrations"
    done = cli("status", "--db-url", db.url, "--migrations-dir", str(folder), "--json")
    assert done.returncode == 0, done.stderr  # every file is applied: the foreign view is no reason for 1
    data = json.loads(done.stdout)
    assert set(by_file(data).values()) == {"applied"} and len(data["migrations"]) == len(team_files())
    assert set(data["missing_features"]) == {"files modified after they were applied", "who applied each migration"}
    assert data["next_run"]["outcome"] == "nothing"
    # a new file, an out-of-order one and a file the database no longer has: the CLI's own sets
    (folder / "20280101000000_next.sql").write_text("select 1;\n")
    (folder / "20250101120000_late.sql").write_text("select 1;\n")
    moved = folder / "20240101_batch_1.sql"
    moved.rename(root / "batch_1.sql")
    try:
        text = cli("status", "--db-url", db.url, "--migrations-dir", str(folder))
        data = json.loads(cli("status", "--db-url", db.url, "--migrations-dir", str(folder), "--json").stdout)
    finally:
        (root / "batch_1.sql").rename(moved)
        (folder / "20280101000000_next.sql").unlink()
        (folder / "20250101120000_late.sql").unlink()
    states = by_file(data)
    assert states["20280101000000_next.sql"] == "blocked" and states["20250101120000_late.sql"] == "out_of_order"
    assert states["20240101"] == "missing_local" and states[FUTURE_FILE] == "applied"
    assert text.returncode == 1 and "Traceback" not in text.stderr + text.stdout
    assert text.stdout.count("dragonfly-bot init") == 1  # said once
    assert "refuses the whole run" in text.stdout


@respx.mock
def test_the_teams_own_view_over_rest_reads_the_columns_it_has(team, monkeypatch, capsys):
    import psycopg
    from psycopg.rows import dict_row

    root, db = team
    with psycopg.connect(db.url, row_factory=dict_row) as conn:
        rows = conn.execute("select * from public.v_migration_status").fetchall()
    assert list(rows[0]) == TEAM_VIEW_COLUMNS
    for row in rows:
        row["executed_at"] = row["executed_at"] and row["executed_at"].isoformat()
    fake = FakePostgrest(rows, KEY, max_rows=7)  # pages of 7, as a project's max-rows would
    respx.get(f"{URL}/rest/v1/v_migration_status").mock(side_effect=fake)
    respx.get(f"{URL}/rest/v1/").mock(side_effect=fake.openapi)
    monkeypatch.setenv("SUPABASE_DEV_URL", URL)
    monkeypatch.setenv("SUPABASE_DEV_SERVICE_ROLE_KEY", KEY)
    assert main(["status", "--migrations-dir", str(root / "supabase" / "migrations"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(by_file(data).values()) == {"applied"} and len(data["migrations"]) == len(team_files())
    asked = [r.url.params.get("select") for r in fake.requests if r.url.path.endswith("v_migration_status")]
    assert "status" in asked[0] and asked[-1] == "source,version,name,executed_at,success"
    # Without an OpenAPI description, one row tells the columns.
    respx.get(f"{URL}/rest/v1/").respond(404, json={"code": "PGRST125", "message": "Invalid path"})
    assert main(["status", "--migrations-dir", str(root / "supabase" / "migrations"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["missing_features"]


def test_every_exit_code_and_the_json_error_through_the_cli(team, tmp_path):
    root, db = team
    folder = str(root / "supabase" / "migrations")
    assert cli("status", "--db-url", db.url, "--migrations-dir", folder).returncode == 0
    pending = tmp_path / "pending"
    pending.mkdir()
    for name in os.listdir(folder):
        (pending / name).write_text((root / "supabase" / "migrations" / name).read_text())
    (pending / "20280101000000_next.sql").write_text("select 1;\n")
    assert cli("status", "--db-url", db.url, "--migrations-dir", str(pending)).returncode == 1
    cases = {
        2: ["--db-url", "postgresql://u:pw-secret@127.0.0.1:notaport/x"],
        3: ["--db-url", "postgresql://u:pw-secret@127.0.0.1:1/x"],
    }
    for code, args in cases.items():
        for as_json in (False, True):
            done = cli("status", *args, "--migrations-dir", folder, *(["--json"] if as_json else []))
            assert done.returncode == code, done.stderr
            assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and "pw-secret" not in done.stderr
            if as_json:
                error = json.loads(done.stdout)["error"]
                assert error["kind"] == ("configuration" if code == 2 else "unavailable") and error["message"]
    done = cli("status", "--env", "staging", "--json")
    assert done.returncode == 2 and json.loads(done.stdout.splitlines()[0])["error"]["kind"] == "usage"
    # An empty folder against a full history: the folder looks wrong, not 300 missing_local lines.
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("status", "--db-url", db.url, "--migrations-dir", str(empty), "--json")
    assert done.returncode == 2 and "looks wrong" in json.loads(done.stdout)["error"]["message"]
    # A bug is its own code (4), never 1, with one line.
    crash = (
        "import sys, dragonfly_bot.core.status as s\n"
        "def boom(*a, **k): raise RuntimeError('unexpected')\n"
        "s.compute_status = boom\n"
        "import dragonfly_bot.status.service as svc; svc.compute_status = boom\n"
        "from dragonfly_bot.cli import main; sys.exit(main(sys.argv[1:]))\n"
    )
    for as_json in (False, True):
        args = ["status", "--db-url", db.url, "--migrations-dir", folder, *(["--json"] if as_json else [])]
        done = subprocess.run(
            [sys.executable, "-c", crash, *args], cwd=PROJECT_ROOT, env=CLEAN_ENV, capture_output=True, text=True
        )
        assert done.returncode == 4 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        if as_json:
            assert json.loads(done.stdout)["error"]["kind"] == "internal"


def test_a_file_only_the_legacy_tracker_knows_is_legacy_only_blocks_the_next_run_and_says_what_resolves_it(
    scratch_db, tmp_path
):
    import psycopg

    root = write_team_repo(tmp_path / "team")
    build_team_database(scratch_db.url, root)
    folder = root / "supabase" / "migrations"
    (folder / "0007_legacy_step_7.sql").write_text("create table if not exists public.legacy_7 (id int);\n")
    with psycopg.connect(scratch_db.url, autocommit=True) as conn:  # recorded by the old tooling, not by the CLI
        conn.execute("insert into public.dragonfly_migrations (migration_filename) values ('0007_legacy_step_7.sql')")
    done = cli("status", "--db-url", scratch_db.url, "--migrations-dir", str(folder), "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert by_file(data)["0007_legacy_step_7.sql"] == "legacy_only"
    assert data["next_run"]["outcome"] == "refuse"
    text = cli("status", "--db-url", scratch_db.url, "--migrations-dir", str(folder))
    assert text.returncode == 1 and "migration repair --status applied 0007" in text.stdout, text.stdout
