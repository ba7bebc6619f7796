"""``dragonfly-bot explain`` through dragonfly_bot.cli.main and as a subprocess, on a real failure log."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from dragonfly_bot.adapters.localdb import PROJECT_ROOT, migration_up
from dragonfly_bot.cli import main
from dragonfly_bot.relay.explain_command import failure_from_log
from tests.core.test_failures import SECRET, github_log, with_password

REQUIRED_KEYS = {"file", "version", "sqlstate", "category", "message", "statement", "line", "hint"}


@pytest.fixture(scope="module")
def real_failure(scratch_databases, tmp_path_factory):
    """A real job log of a relation_exists failure, and its migrations folder."""
    db = scratch_databases()
    root = tmp_path_factory.mktemp("explain")
    migrations = root / "migrations"
    migrations.mkdir()
    (migrations / "20251209000001_one.sql").write_text("create table public.foo (id int);\n")
    (migrations / "20251209000002_two.sql").write_text("-- again\nselect 1;\n\ncreate table public.foo (id int);\n")
    url = with_password(db.url)
    result = migration_up(url, migrations)
    assert result.returncode != 0
    log = root / "job.log"
    log.write_text("".join(github_log(result.stdout + result.stderr, url)))
    green = root / "green.log"
    green.write_text("".join(github_log("Applying migration 20251209000001_one.sql...", "postgresql://x@h/d")))
    yield log, migrations, green


def test_json_output(real_failure, capsys):
    log, migrations, _ = real_failure
    assert main(["explain", str(log), "--json", "--migrations-dir", str(migrations)]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data.keys() >= REQUIRED_KEYS
    assert (data["file"], data["version"], data["sqlstate"], data["category"], data["line"]) == (
        "20251209000002_two.sql",
        "20251209000002",
        "42P07",
        "relation_exists",
        4,
    )
    assert data["statement"] == "create table public.foo (id int)"
    assert "create table if not exists public.foo" in data["hint"]
    assert SECRET not in out


def test_text_output_without_migrations_dir(real_failure, capsys, monkeypatch, tmp_path):
    log, _, _ = real_failure
    monkeypatch.chdir(tmp_path)  # no supabase/migrations here: no line number, still explained
    assert main(["explain", str(log)]) == 0
    out = capsys.readouterr().out
    assert "20251209000002_two.sql (statement 2)" in out
    assert 'relation "foo" already exists (SQLSTATE 42P07)' in out
    assert "relation_exists" in out and "if not exists" in out
    assert SECRET not in out


def test_stdin(real_failure, capsys, monkeypatch):
    log, migrations, _ = real_failure
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(log.read_bytes())))
    assert main(["explain", "-", "--json", "--migrations-dir", str(migrations)]) == 0
    assert json.loads(capsys.readouterr().out)["line"] == 4


def test_no_failure_exits_1(real_failure, capsys):
    _, _, green = real_failure
    assert main(["explain", str(green)]) == 1
    assert "No migration failure found" in capsys.readouterr().out
    assert main(["explain", str(green), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) is None


def test_unreadable_log_exits_2(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "missing.log")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["explain", str(tmp_path)]) == 2  # a directory is not a log


def test_bad_migrations_dir_exits_2(real_failure, tmp_path, capsys):
    log, _, _ = real_failure
    assert main(["explain", str(log), "--migrations-dir", str(tmp_path / "nope")]) == 2
    assert "--migrations-dir" in capsys.readouterr().err


def test_binary_garbage_is_no_failure(tmp_path, capsys):
    junk = tmp_path / "junk.log"
    junk.write_bytes(bytes(range(256)) * 1000)
    assert main(["explain", str(junk)]) == 1


def test_subprocess(real_failure, tmp_path):
    log, migrations, green = real_failure
    cmd = [sys.executable, "-m", "dragonfly_bot.cli", "explain"]
    found = subprocess.run(
        [*cmd, str(log), "--json", "--migrations-dir", str(migrations)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data.keys() >= REQUIRED_KEYS and data["category"] == "relation_exists" and data["line"] == 4
    none = subprocess.run([*cmd, str(green)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert none.returncode == 1
    missing = subprocess.run(
        [*cmd, str(tmp_path / "missing.log")], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and missing.stderr.startswith("error: cannot read")


def test_sqlstate_already_in_the_message_is_not_repeated(pg_server, tmp_path, capsys):
    """A connection error's message carries its SQLSTATE inside; explain, the alert and lint show it once."""
    from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
    from dragonfly_bot.relay.render_discord import render_alert
    from tests.fakes.github_fake import FakeGitHub

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20251209000001_a.sql").write_text("select 1;\n")
    url = pg_server.url.replace("postgres@", f"nosuchrole:{SECRET}@", 1)
    result = migration_up(url, migrations)
    log = tmp_path / "job.log"
    log.write_text("".join(github_log(result.stdout + result.stderr, url)))
    assert main(["explain", str(log), "--migrations-dir", str(migrations)]) == 0
    out = capsys.readouterr().out
    error = next(line for line in out.splitlines() if line.startswith("Error:"))
    assert error.count("SQLSTATE 28000") == 1 and error.endswith("(SQLSTATE 28000))")
    with open(log, "rb") as stream:
        failure = failure_from_log(stream, migrations)
    alert = CiAlert(run=RunInfo.from_api(FakeGitHub().run_payload(12, 1)), environment="dev", failure=failure)
    assert render_alert(alert).embed.description.count("SQLSTATE 28000") == 1


def test_alert_names_the_error_line_of_a_syntax_error(scratch_db, tmp_path):
    """The alert's File field says where the error is, not only where its statement starts."""
    from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
    from dragonfly_bot.relay.render_discord import render_alert
    from tests.fakes.github_fake import FakeGitHub

    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20251209000001_orders.sql").write_text(
        "create table if not exists public.orders (\n"
        "  id bigint primary key,\n  customer_id bigint\n  total numeric\n);\n"
    )
    result = migration_up(scratch_db.url, migrations)
    log = tmp_path / "job.log"
    log.write_text("".join(github_log(result.stdout + result.stderr, scratch_db.url)))
    with open(log, "rb") as stream:
        failure = failure_from_log(stream, migrations)
    assert (failure.category, failure.line, failure.error_line) == ("syntax_error", 1, 4)
    alert = CiAlert(run=RunInfo.from_api(FakeGitHub().run_payload(12, 1)), environment="dev", failure=failure)
    fields = {f.name: f.value for f in render_alert(alert).embed.fields}
    assert fields["File"] == "`20251209000001_orders.sql:4` · statement 1 of 1, line 1"
    assert "> 4 |   total numeric" in fields["Where"]  # the failing line, marked, with its neighbours
