"""record-run: the workflow's record of a migrate step, against a real database and the real CLI."""

from __future__ import annotations

import argparse
import io
import shutil

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.relay import record_run_command as record_run
from dragonfly_bot.relay.run_record import read_run


def main(argv: list[str]) -> int:
    """Run just this subcommand (the CLI's other subcommands are not under test here)."""
    parser = argparse.ArgumentParser()
    record_run.add_arguments(parser)
    assert argv[0] == record_run.NAME
    return record_run.run(parser.parse_args(argv[1:]))


BAD_STEP = "create table if not exists public.rr_bar (id int);\n\ncreate table public.rr_foo (id int);\n"


@pytest.fixture
def failing_run(tmp_path, scratch_db, repo_migrations_dir):
    """The repo's migrations + two new files, the second failing (42P07), applied for real."""
    migrations = tmp_path / "migrations"
    shutil.copytree(repo_migrations_dir, migrations)
    (migrations / "20991209000001_rr_step1.sql").write_text("create table public.rr_foo (id int);\n")
    (migrations / "20991209000002_rr_step2.sql").write_text(BAD_STEP)
    result = migration_up(scratch_db.url, migrations)
    assert result.returncode != 0
    log = tmp_path / "migrate.log"
    log.write_text(result.stdout + result.stderr)
    return scratch_db, migrations, log


def _status(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select version, status, error_sqlstate, error_message, error_statement, ci_run_url, commit_sha"
            " from public.v_migration_status"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_record_run_writes_applied_and_failed_rows(failing_run, capsys):
    db, migrations, log = failing_run
    code = main(
        [
            "record-run",
            str(log),
            "--env",
            "dev",
            "--db-url",
            db.url,
            "--outcome",
            "failure",
            "--migrations-dir",
            str(migrations),
            "--run-url",
            "https://github.com/o/r/actions/runs/7",
            "--commit",
            "0123456789abcdef",
            "--actor",
            "octocat",
        ]
    )
    assert code == 0
    assert "1 failed (20991209000002_rr_step2.sql)" in capsys.readouterr().out
    with psycopg.connect(db.url) as conn:
        runs = conn.execute("select version, status, actor from public.migration_runs order by id").fetchall()
    applied = {v for v, s, _ in runs if s == "applied"}
    assert "20991209000001_rr_step1.sql"[:14] in applied
    assert ("20991209000002", "failed", "octocat") in runs
    status = _status(db.url)
    failed = status["20991209000002"]
    assert failed[0] == "failed"
    assert failed[1] == "42P07"
    assert 'relation "rr_foo" already exists' in failed[2]
    assert failed[3].lower().startswith("create table public.rr_foo")
    assert failed[4].endswith("/runs/7") and failed[5] == "0123456789abcdef"
    # The applied file shows the run's link as where it was applied.
    assert status["20991209000001"][0] == "applied"
    assert status["20991209000001"][4].endswith("/runs/7")


def test_success_after_fix_clears_the_failure(failing_run):
    db, migrations, log = failing_run
    assert main(["record-run", str(log), "--env", "dev", "--db-url", db.url, "--migrations-dir", str(migrations)]) == 0
    (migrations / "20991209000002_rr_step2.sql").write_text(
        BAD_STEP.replace("table public.rr_foo", "table if not exists public.rr_foo")
    )
    result = migration_up(db.url, migrations)
    assert result.returncode == 0, result.stderr
    log.write_text(result.stdout + result.stderr)
    assert main(["record-run", str(log), "--env", "dev", "--db-url", db.url, "--outcome", "success"]) == 0
    assert _status(db.url)["20991209000002"][0] == "applied"


def test_no_file_failure_records_nothing_and_says_why():
    log = io.BytesIO(
        b"Connecting to remote database...\n"
        b"failed to connect to postgres: failed to connect to `host=db.example.supabase.co user=postgres "
        b"database=postgres`: hostname resolving error (lookup db.example.supabase.co: no such host)\n"
        b"Try rerunning the command with --debug to troubleshoot the error.\n"
    )
    record = read_run(log, environment="prod", failed=True)
    assert record.rows == []
    assert record.unrecorded and "no migration file" in record.unrecorded


def test_killed_step_without_error_marks_the_file_being_applied():
    log = io.BytesIO(b"Applying migration 20991209000001_a.sql...\nApplying migration 20991209000002_b.sql...\n")
    record = read_run(log, environment="dev", failed=True)
    assert [(r.version, r.status) for r in record.rows] == [("20991209000001", "applied"), ("20991209000002", "failed")]


def test_secrets_in_the_log_are_not_stored():
    log = io.BytesIO(
        b"Applying migration 20991209000003_c.sql...\n"
        b'ERROR: role "x" does not exist postgresql://postgres:hunter2secret@db.example.co:5432/postgres '
        b"(SQLSTATE 42704)\n"
        b"At statement: 0\n"
        b"grant select on t to x -- eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.abcDEF123\n"
        b"Try rerunning the command with --debug to troubleshoot the error.\n"
    )
    record = read_run(log, environment="dev", failed=True)
    (row,) = record.rows
    stored = f"{row.error_message} {row.failing_statement}"
    assert "hunter2secret" not in stored and "eyJhbGciOiJIUzI1NiJ9" not in stored


def test_missing_log_file_is_one_clear_error(tmp_path):
    with pytest.raises(UserFacingError, match="not found"):
        main(["record-run", str(tmp_path / "nope.log"), "--env", "dev", "--db-url", "postgresql://x@127.0.0.1/x"])


def test_unreachable_database_is_one_clear_error_without_the_password(tmp_path):
    log = tmp_path / "migrate.log"
    log.write_text("Applying migration 20991209000001_a.sql...\n")
    url = "postgresql://postgres:s3cretpw@127.0.0.1:1/postgres"
    with pytest.raises(UserFacingError) as caught:
        main(["record-run", str(log), "--env", "dev", "--db-url", url, "--outcome", "success"])
    assert "could not record" in caught.value.message and "s3cretpw" not in caught.value.message
