"""``lint --replay --base-db / --base-schema``: replay from the target's schema, with the real CLI and pg_dump.

The target is built the way a team's dev database is: the real Supabase CLI applies a history whose
first file is broken (it stops there), the team records that file as applied with
``migration repair --status applied`` and applies the rest. A replay from file 0001 can never get
past it; a replay from the target's schema applies only the new files.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import SCRATCH_PREFIX_ENV, ScratchDatabase, migration_up, run_supabase
from dragonfly_bot.cli import main
from dragonfly_bot.core import schema_snapshot
from dragonfly_bot.core.failures import classify, parse_log

PASSWORD = "s3cr3t-Pw-for-the-test"
BROKEN = "20250101000000_init.sql"
BROKEN_TEXT = (
    "create table if not exists public.legacy (id int primary key);\n"
    "-- the real history's first file called a function no file creates (42883)\n"
    "select public.no_such_helper(1);\n"
)
SECOND = "20250102000000_items.sql"
SECOND_TEXT = (
    "create table if not exists public.items (id bigint primary key, title text not null);\n"
    "alter table public.items enable row level security;\n"
    "revoke all on public.items from anon, authenticated;\n"
    "grant select on public.items to authenticated, service_role;\n"
    "drop policy if exists items_read on public.items;\n"
    "create policy items_read on public.items for select to authenticated using (true);\n"
)
BAD = "20250201000000_orders.sql"
BAD_TEXT = (
    "create table public.orders (id bigint primary key, item_id bigint references public.items (id));\n"
    "alter table public.orders enable row level security;\n"
    "revoke all on public.orders from anon, authenticated;\n"
    "grant select on public.orders to service_role;\n"
)
GOOD = "20250202000000_item_notes.sql"
GOOD_TEXT = (
    "alter table public.items add column if not exists notes text;\n"
    "create or replace view public.item_titles with (security_invoker = on) as select id, title from public.items;\n"
    "revoke all on public.item_titles from anon, authenticated;\n"
    "grant select on public.item_titles to authenticated, service_role;\n"
)


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, f"{user.split(':')[0]}:{PASSWORD}@{host}", parts.path, parts.query, ""))


def _scratch_names(server_url: str, prefix: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database where starts_with(datname, %s)", (prefix,))}


@pytest.fixture(scope="module")
def target(pg_server, tmp_path_factory):
    """A dev database made by the real CLI from a history whose first file is broken, repaired by hand."""
    history = tmp_path_factory.mktemp("history") / "migrations"
    history.mkdir()
    (history / BROKEN).write_text(BROKEN_TEXT)
    (history / SECOND).write_text(SECOND_TEXT)
    db = ScratchDatabase(pg_server.url).create()
    try:
        first = migration_up(db.url, history)
        assert first.returncode != 0 and "SQLSTATE 42883" in first.stdout + first.stderr  # the CLI stops at file 1
        repaired = run_supabase(
            ["migration", "repair", "--status", "applied", BROKEN.split("_")[0], "--db-url", db.url, "--yes"],
            migrations_dir=history,
        )
        assert repaired.returncode == 0, repaired.stderr
        rest = migration_up(db.url, history)
        assert rest.returncode == 0, rest.stdout + rest.stderr
        yield db, history
    finally:
        db.drop()


def _project(tmp_path: Path, history: Path, new: dict[str, str]) -> Path:
    folder = tmp_path / "supabase" / "migrations"
    shutil.copytree(history, folder)
    for name, text in new.items():
        (folder / name).write_text(text)
    return folder


def _replay_findings(out: str) -> list[tuple[str, str, int]]:
    return [(Path(f["file"]).name, f["rule"], f["line"]) for f in json.loads(out) if f["rule"].startswith("replay-")]


def test_replay_from_the_target_database_reports_only_the_new_files(tmp_path, pg_server, target, capsys, monkeypatch):
    db, history = target
    folder = _project(tmp_path, history, {BAD: BAD_TEXT, GOOD: GOOD_TEXT})
    monkeypatch.chdir(tmp_path)
    files = [str(folder.relative_to(tmp_path) / n) for n in (BROKEN, BAD, GOOD)]  # the broken old file linted too
    # From file 0001, as before: the broken old file stops the replay, the new ones are never run.
    assert main(["lint", "--replay", "--db-url", pg_server.url, "--json", "--no-baseline", *files]) == 1
    assert _replay_findings(capsys.readouterr().out) == [(BROKEN, "replay-apply-failed", 3)]

    prefix = f"dragonfly_scratch_base_{secrets.token_hex(3)}"  # other runs share the server: count only ours
    monkeypatch.setenv(SCRATCH_PREFIX_ENV, prefix)
    made: list[str] = []

    class Recording(ScratchDatabase):
        def create(self, **kwargs):
            made.append(self.name)
            return super().create(**kwargs)

    monkeypatch.setattr("dragonfly_bot.preflight.replay.ScratchDatabase", Recording)
    base = _with_password(db.url)
    code = main(["lint", "--replay", "--base-db", base, "--db-url", pg_server.url, "--json", "--no-baseline", *files])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert PASSWORD not in out + err
    findings = json.loads(out)
    assert not [f for f in findings if f["file"].endswith(BROKEN) and f["rule"].startswith("replay-")]
    assert _replay_findings(out) == [(BAD, "replay-not-idempotent", 1)]
    [bad] = [f for f in findings if f["rule"] == "replay-not-idempotent"]
    relay = parse_log([f"Applying migration {BAD}...", 'ERROR: relation "orders" already exists (SQLSTATE 42P07)'])
    assert relay is not None and relay.category == classify("42P07", 'relation "orders" already exists')
    assert bad["message"] == (
        f'running this migration a second time fails: [{relay.category}] relation "orders" already exists '
        "(SQLSTATE 42P07)"
    )
    assert len(made) == 1 and made[0].startswith(prefix)
    assert _scratch_names(pg_server.url, prefix) == set()  # the scratch database was dropped
    with psycopg.connect(db.url) as conn:  # the target was only read
        assert conn.execute("select to_regclass('public.orders')").fetchone() == (None,)


def test_a_new_file_that_needs_what_the_broken_file_never_made_fails_as_on_the_target(
    tmp_path, pg_server, target, capsys, monkeypatch
):
    """The broken file's table never existed on the target: a new file using it fails there, and here."""
    db, history = target
    _project(tmp_path, history, {BAD: "alter table public.legacy add column if not exists note text;\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--replay", "--base-db", db.url, "--db-url", pg_server.url, "--json", "--no-baseline"]) == 1
    out = capsys.readouterr().out
    assert _replay_findings(out) == [(BAD, "replay-apply-failed", 1)]
    [failed] = [f for f in json.loads(out) if f["rule"] == "replay-apply-failed"]
    assert "on a copy of the target's schema" in failed["message"]
    category = classify("42P01", 'relation "public.legacy" does not exist')
    assert f"[{category}]" in failed["message"] and "SQLSTATE 42P01" in failed["message"]


def test_schema_snapshot_then_replay_from_it(tmp_path, pg_server, target, capsys, monkeypatch):
    db, history = target
    folder = _project(tmp_path, history, {BAD: BAD_TEXT, GOOD: GOOD_TEXT})
    monkeypatch.chdir(tmp_path)
    base = _with_password(db.url)
    assert main(["schema-snapshot", "--db-url", base]) == 0
    out, err = capsys.readouterr()
    snapshot = tmp_path / "supabase" / "schema.sql"
    text = snapshot.read_text()
    assert out.startswith("Wrote supabase/schema.sql: ") and "2 applied versions" in out
    assert PASSWORD not in text + out + err and "\\restrict" not in text
    assert text.startswith("-- Schema snapshot of a migrations' target, written by dragonfly-bot schema-snapshot.")
    assert "CREATE TABLE public.items" in text and "GRANT SELECT ON TABLE public.items TO authenticated;" in text
    assert "public.legacy" not in text  # the broken file's table never existed on the target
    parsed = schema_snapshot.parse(text)
    assert parsed.applied == [("20250101000000", "init"), ("20250102000000", "items")]
    assert schema_snapshot.render(parsed) == text  # parse and render agree
    # Deterministic: the same database gives the same bytes (--check compares without writing).
    assert main(["schema-snapshot", "--db-url", base, "--check"]) == 0
    assert "is up to date" in capsys.readouterr().out

    files = [str(folder.relative_to(tmp_path) / n) for n in (BROKEN, BAD, GOOD)]
    args = ["lint", "--replay", "--base-schema", "supabase/schema.sql", "--db-url", pg_server.url, "--json"]
    assert main([*args, "--no-baseline", *files]) == 1
    out = capsys.readouterr().out
    assert _replay_findings(out) == [(BAD, "replay-not-idempotent", 1)]
    assert not [f for f in json.loads(out) if f["file"].endswith(GOOD) and f["rule"].startswith("replay-")]


def _entry(name: str, kind: str, sql: str) -> schema_snapshot.Entry:
    return schema_snapshot.Entry(f"{name}; Type: {kind}; Schema: -; Owner: -", sql)


def test_an_extension_of_the_base_the_scratch_server_lacks_is_one_warning(
    tmp_path, pg_server, target, capsys, monkeypatch
):
    """vector, http... in the target's schema: one replay-skipped line (a plain PostgreSQL lacks them). The platform's
    own (pg_graphql in its graphql schema, supabase_vault), on every project and used by no migration, do not stop
    the replay."""
    db, history = target
    _project(tmp_path, history, {BAD: BAD_TEXT})
    monkeypatch.chdir(tmp_path)
    with psycopg.connect(pg_server.url) as conn:
        available = {row[0] for row in conn.execute("select name from pg_available_extensions")}
    lacking = next(e for e in ("vector", "pg_net", "pg_cron", "http", "pg_jsonschema") if e not in available)
    assert main(["schema-snapshot", "--db-url", db.url, "--out", "schema.sql"]) == 0
    capsys.readouterr()
    snap = schema_snapshot.parse((tmp_path / "schema.sql").read_text())
    platform = [
        _entry("pg_graphql", "EXTENSION", "CREATE EXTENSION IF NOT EXISTS pg_graphql WITH SCHEMA graphql;\n"),
        _entry("EXTENSION pg_graphql", "COMMENT", "COMMENT ON EXTENSION pg_graphql IS 'GraphQL support';\n"),
        _entry("supabase_vault", "EXTENSION", "CREATE EXTENSION IF NOT EXISTS supabase_vault WITH SCHEMA vault;\n"),
    ]
    snap.entries[:0] = platform
    (tmp_path / "schema.sql").write_text(schema_snapshot.render(snap))
    args = ["lint", "--replay", "--base-schema", "schema.sql", "--db-url", pg_server.url, "--json", "--no-baseline"]
    assert main(args) == 1
    assert _replay_findings(capsys.readouterr().out) == [(BAD, "replay-not-idempotent", 1)]

    snap.entries.insert(0, _entry(lacking, "EXTENSION", f"CREATE EXTENSION IF NOT EXISTS {lacking};\n"))
    (tmp_path / "schema.sql").write_text(schema_snapshot.render(snap))
    code = main(args)
    out = capsys.readouterr().out
    replayed = [f for f in json.loads(out) if f["rule"].startswith("replay-")]
    assert [(f["file"], f["rule"], f["severity"]) for f in replayed] == [("schema.sql", "replay-skipped", "warning")]
    assert f'"{lacking}"' in replayed[0]["message"] and "\n" not in replayed[0]["message"]
    assert code == (1 if any(f["severity"] == "error" for f in json.loads(out)) else 0)


def test_an_entry_that_cannot_be_restored_is_one_warning_and_the_replay_goes_on(
    tmp_path, pg_server, target, capsys, monkeypatch
):
    db, history = target
    _project(tmp_path, history, {GOOD: GOOD_TEXT})
    monkeypatch.chdir(tmp_path)
    assert main(["schema-snapshot", "--db-url", db.url, "--out", "schema.sql"]) == 0
    capsys.readouterr()
    snap = schema_snapshot.parse((tmp_path / "schema.sql").read_text())
    snap.entries.append(
        _entry("v_sessions", "VIEW", "CREATE VIEW public.v_sessions AS SELECT id FROM auth.sessions;\n")
    )
    (tmp_path / "schema.sql").write_text(schema_snapshot.render(snap))
    args = ["lint", "--replay", "--base-schema", "schema.sql", "--db-url", pg_server.url, "--json", "--no-baseline"]
    assert main([*args, f"supabase/migrations/{GOOD}"]) == 0  # a warning: the good file still passes
    [warning] = [f for f in json.loads(capsys.readouterr().out) if f["rule"].startswith("replay-")]
    assert (warning["file"], warning["rule"], warning["severity"]) == (
        "schema.sql",
        "replay-base-incomplete",
        "warning",
    )
    assert warning["message"].startswith("1 of the target schema's ")
    assert (
        'v_sessions; Type: VIEW; Schema: -: relation "auth.sessions" does not exist (SQLSTATE 42P01)'
        in (warning["message"])
    )


def test_usage_errors_are_one_line_without_the_password(tmp_path, pg_server, target, capsys, monkeypatch):
    db, history = target
    _project(tmp_path, history, {})
    monkeypatch.chdir(tmp_path)
    unreachable = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/postgres"
    assert main(["lint", "--replay", "--base-db", unreachable, "--no-baseline"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to the target database") and err.count("\n") == 1
    assert PASSWORD not in err
    assert main(["schema-snapshot", "--db-url", unreachable]) == 3
    assert PASSWORD not in capsys.readouterr().err

    monkeypatch.setenv("DRAGONFLY_PG_DUMP", str(tmp_path / "no-pg-dump"))
    assert main(["schema-snapshot", "--db-url", _with_password(db.url)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pg_dump for PostgreSQL ") and err.count("\n") == 1 and PASSWORD not in err

    assert main(["lint", "--base-schema", "schema.sql"]) == 2
    assert "--base-schema is only used with --replay" in capsys.readouterr().err
    assert main(["lint", "--replay", "--base-schema", "missing.sql"]) == 2
    assert "write it with `dragonfly-bot schema-snapshot" in capsys.readouterr().err
    (tmp_path / "other.sql").write_text("create table t (id int);\n")
    assert main(["lint", "--replay", "--base-schema", "other.sql"]) == 2
    assert "not a schema snapshot" in capsys.readouterr().err


def test_pg_dump_of_another_major_is_refused_in_one_line(tmp_path, monkeypatch):
    from dragonfly_bot.adapters.target_schema import find_pg_dump
    from dragonfly_bot.errors import UserFacingError

    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 99.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DRAGONFLY_PG_DUMP", str(fake))
    assert find_pg_dump(99) == (str(fake), "pg_dump (PostgreSQL) 99.1")
    with pytest.raises(UserFacingError) as caught:
        find_pg_dump(15)
    message = caught.value.message
    assert message.startswith("pg_dump for PostgreSQL 15 (the target's version) is not installed")
    assert "(found " in message and "99.1" in message and "postgresql-client-15" in message and "\n" not in message
