"""``dragonfly-bot status`` and ``python -m tools.migration_status``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import respx

from dragonfly_bot.adapters.localdb import PROJECT_ROOT, migration_up
from dragonfly_bot.cli import main
from tests.adapters.test_status_rest import KEY, URL, make_rows
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.postgrest_fake import FakePostgrest

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_"))}


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("SUPABASE_", "DISCORD_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture
def applied_db(scratch_db):
    assert migration_up(scratch_db.url, REPO_MIGRATIONS).returncode == 0
    return scratch_db


def test_json_output_and_exit_codes(applied_db, tmp_path, capsys):
    folder = tmp_path / "m"
    shutil.copytree(REPO_MIGRATIONS, folder)
    assert main(["status", "--db-url", applied_db.url, "--migrations-dir", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["environment"] == "dev" and data["summary"]["applied"] == len(list(folder.glob("*.sql")))
    assert applied_db.name in data["source"]
    assert {"version", "name", "file", "source", "state"} <= set(data["migrations"][0])
    (folder / "20990101000000_next.sql").write_text("select 1;\n")
    assert main(["status", "--db-url", applied_db.url, "--migrations-dir", str(folder), "--json", "--env", "prod"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["environment"] == "prod"
    assert data["migrations"][0] == {**data["migrations"][0], "version": "20990101000000", "state": "pending"}


def test_text_output_follows_the_protocol(applied_db, tmp_path, capsys):
    folder = tmp_path / "m"
    shutil.copytree(REPO_MIGRATIONS, folder)
    (folder / "20990101000000_next.sql").write_text("select 1;\n")
    (folder / "README.sql").write_text("-- not a migration\n")
    assert main(["status", "--db-url", applied_db.url, "--migrations-dir", str(folder)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "🔍 Checking migration status for: DEV"
    assert lines[1].startswith("📡 Fetching from: postgresql://")
    assert lines[2] == f"📂 Found {len(list(folder.glob('*.sql')))} local migration files"
    assert out.index("Needs attention") < out.index("Supabase CLI Migrations")
    assert "20990101000000_next.sql" in out and "⏳ PENDING" in out
    assert "README.sql" in out  # the CLI skips it; say so
    expected = f"Legacy: 0 applied. Supabase: {len(list(REPO_MIGRATIONS.glob('*.sql')))} applied, 1 pending, 0 failed."
    assert lines[-1] == f"❌ {expected}"


@respx.mock
def test_rest_path_uses_supabase_mode_and_the_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUPABASE_MODE", "prod")
    monkeypatch.setenv("SUPABASE_URL", URL)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", KEY)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20990101000000_next.sql").write_text("select 1;\n")
    fake = FakePostgrest(make_rows(1200), KEY)
    respx.get(f"{URL}/rest/v1/v_migration_status").mock(side_effect=fake)
    assert main(["status", "--migrations-dir", str(folder), "--json"]) == 1  # all 1200 are missing locally
    data = json.loads(capsys.readouterr().out)
    assert data["environment"] == "prod" and data["source"].endswith("/rest/v1/v_migration_status")
    assert data["summary"]["missing_local"] == 1200 and data["schema_version"] == 2
    assert data["next_run"]["outcome"] == "refuse" and data["summary"]["blocked"] == 1
    assert KEY not in json.dumps(data)


@respx.mock
@pytest.mark.parametrize("pasted", [f"{URL}/rest/v1", f"{URL}/rest/v1/", f"{URL}/"])
def test_the_rest_url_as_the_dashboard_shows_it_works_too(tmp_path, monkeypatch, capsys, pasted):
    # Supabase's API settings show the project URL and the REST URL (…/rest/v1/); either may be pasted.
    monkeypatch.setenv("SUPABASE_DEV_URL", pasted)
    monkeypatch.setenv("SUPABASE_DEV_SERVICE_ROLE_KEY", KEY)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20990101000000_next.sql").write_text("select 1;\n")
    respx.get(f"{URL}/rest/v1/v_migration_status").mock(side_effect=FakePostgrest(make_rows(3), KEY))
    assert main(["status", "--migrations-dir", str(folder), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == f"{URL}/rest/v1/v_migration_status" and data["summary"]["missing_local"] == 3


def test_configuration_and_source_errors_are_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SUPABASE_DEV_URL" in err
    monkeypatch.setenv("SUPABASE_DEV_URL", "ftp://nope")
    assert main(["status"]) == 2
    assert "SUPABASE_DEV_URL" in capsys.readouterr().err
    monkeypatch.delenv("SUPABASE_DEV_URL")
    assert main(["status", "--db-url", "postgresql://postgres:pw-secret@127.0.0.1:1/x"]) == 3
    err = capsys.readouterr().err
    assert "pw-secret" not in err and "cannot connect" in err and err.count("\n") == 1
    assert main(["status", "--db-url", "postgresql://x@127.0.0.1/x", "--migrations-dir", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    a_file = tmp_path / "20250101000000_a.sql"
    a_file.write_text("select 1;")
    assert main(["status", "--db-url", "postgresql://x@127.0.0.1/x", "--migrations-dir", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_db_url_run_reads_its_settings_without_loading_pydantic(applied_db, tmp_path):
    # SUPABASE_MODE and MIGRATIONS_DIR come from .env as Settings would read them; the other settings
    # (an invalid one included) are not loaded, which keeps pydantic's ~70 ms out of a CI status run.
    shutil.copytree(REPO_MIGRATIONS, tmp_path / "db" / "m")
    (tmp_path / ".env").write_text("SUPABASE_MODE=prod\nMIGRATIONS_DIR=db/m\nWEB_PORT=eighty\n")
    probe = (
        "import json, sys\n"
        "from dragonfly_bot.cli import main\n"
        f"code = main(['status', '--db-url', {applied_db.url!r}, '--json'])\n"
        "print(json.dumps({'code': code, 'pydantic': 'pydantic' in sys.modules}), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True)
    outcome = json.loads(done.stderr.strip().splitlines()[-1])
    data = json.loads(done.stdout)
    assert outcome == {"code": 0, "pydantic": False}
    assert data["environment"] == "prod" and data["summary"]["applied"] == len(list(REPO_MIGRATIONS.glob("*.sql")))
    (tmp_path / ".env").write_text("SUPABASE_MODE=staging\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True)
    assert json.loads(done.stdout)["error"]["kind"] == "configuration"
    assert done.stderr.startswith("error: setting SUPABASE_MODE") and '"code": 2' in done.stderr


@pytest.mark.parametrize(
    ("url", "exit_code"),
    [
        ("postgresql://127.0.0.1:1/x?user=u&password=pw-secret", 3),  # libpq takes the password from the query too
        ("host=127.0.0.1 port=1 dbname=x password=pw-secret", 3),  # a key/value connection string
        ("postgresql://postgres:pw@-secret@127.0.0.1:1/x", 3),  # pasted unencoded: libpq splits at the first '@'
        ("postgresql://postgres:pw-secret@[::1/x", 2),  # malformed: a configuration error, found before connecting
        ("http://postgres:pw-secret@127.0.0.1:1/x", 2),  # wrong scheme: the same
        ("postgresql://postgres:pw-secret@127.0.0.1:port/x", 2),  # a port that is not a number
    ],
)
def test_no_form_of_database_url_shows_its_password(tmp_path, capsys, url, exit_code):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    code = main(["status", "--db-url", url])
    err = capsys.readouterr().err
    assert code == exit_code and err.startswith("error: ") and err.count("\n") == 1, err
    assert "secret" not in err and "pw" not in err, err


def test_tools_entry_point_as_the_protocol_documents(applied_db, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.migration_status",
            "--db-url",
            applied_db.url,
            "--json",
            "--migrations-dir",
            str(REPO_MIGRATIONS),
        ],
        cwd=PROJECT_ROOT,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["applied"] == len(list(REPO_MIGRATIONS.glob("*.sql")))
    result = subprocess.run(
        [sys.executable, "-m", "tools.migration_status", "--env", "staging"],
        cwd=PROJECT_ROOT,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def _run_into_closed_pipe(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m dragonfly_bot.cli ARGS`` writing to a pipe whose reader has gone (``... | head -1``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "dragonfly_bot.cli", *args],
            cwd=PROJECT_ROOT,
            env=CLEAN_ENV,
            input=stdin,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)


def test_output_piped_into_head_ends_quietly(applied_db):
    status = _run_into_closed_pipe(["status", "--db-url", applied_db.url, "--migrations-dir", str(REPO_MIGRATIONS)])
    console = _run_into_closed_pipe(
        ["console", "--db-url", applied_db.url], stdin="/migrations dev\n/migrations prod\n"
    )
    for result in (status, console):
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
        assert result.returncode == 141  # as a shell reports a command stopped by SIGPIPE
