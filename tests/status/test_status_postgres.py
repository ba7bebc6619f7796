"""The view and the Postgres source on a real PostgreSQL, driven by the real Supabase CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import migration_up, run_supabase
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.core.status import State, versions_to_verify
from dragonfly_bot.errors import SourceUnavailable
from dragonfly_bot.status.service import collect_status, read_local_migrations
from tests.conftest import REPO_MIGRATIONS


def cli_ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def repair(db_url: str, migrations: Path, status: str, *versions: str):
    return cli_ok(
        run_supabase(
            ["migration", "repair", "--db-url", db_url, "--status", status, *versions, "--yes"],
            migrations_dir=migrations,
        )
    )


def cli_list(db_url: str, migrations: Path) -> tuple[set[str], set[str]]:
    """(local versions, remote versions) from ``supabase migration list``'s table."""
    out = cli_ok(run_supabase(["migration", "list", "--db-url", db_url], migrations_dir=migrations)).stdout
    local, remote = set(), set()
    for line in out.splitlines():
        cells = [c.strip().strip("`").strip() for c in line.split("|")]
        if len(cells) == 3 and re.fullmatch(r"\d*", cells[0]) and re.fullmatch(r"\d*", cells[1]):
            if cells[0]:
                local.add(cells[0])
            if cells[1]:
                remote.add(cells[1])
    return local, remote


@pytest.fixture
def migrations(tmp_path) -> Path:
    """A copy of the repository's migrations plus a few app migrations."""
    folder = tmp_path / "migrations"
    shutil.copytree(REPO_MIGRATIONS, folder)
    for version, body in [
        (
            "20260101000000",
            "create table if not exists public.customers (id bigint primary key);\n"
            "grant select on public.customers to authenticated, service_role;\n",
        ),
        ("20260102000000", "alter table public.customers add column if not exists tier text;\n"),
        ("20260103000000", "create index if not exists customers_tier_idx on public.customers (tier);\n"),
        ("20260104000000", "comment on table public.customers is 'customers';\n"),
    ]:
        (folder / f"{version}_step.sql").write_text(body)
    return folder


async def status(db_url: str, folder: Path):
    return await collect_status(PostgresStatusSource(db_url), read_local_migrations(folder))


def test_repo_migrations_apply_twice_and_grant_read_only(scratch_db):
    cli_ok(migration_up(scratch_db.url, REPO_MIGRATIONS))
    versions = [p.name.split("_", 1)[0] for p in sorted(REPO_MIGRATIONS.glob("*.sql"))]
    # Run every file a second time on the same database: idempotent or it fails here.
    repair(scratch_db.url, REPO_MIGRATIONS, "reverted", *versions)
    cli_ok(migration_up(scratch_db.url, REPO_MIGRATIONS))
    with psycopg.connect(scratch_db.url) as conn:
        check = lambda role, obj, priv: conn.execute(  # noqa: E731
            "select has_table_privilege(%s, %s, %s)", (role, obj, priv)
        ).fetchone()[0]
        # Least privilege (issue 14): only service_role reads the status schema, statements included.
        assert check("service_role", "public.v_migration_status", "select")
        assert check("service_role", "public.migration_runs", "select")
        for role in ("anon", "authenticated", "service_role"):
            assert not check(role, "public.migration_runs", "insert")
            assert not check(role, "public.migration_runs", "update")
        for role in ("anon", "authenticated"):
            for table in ("public.v_migration_status", "public.migration_runs", "public.dragonfly_migrations"):
                assert not check(role, table, "select"), (role, table)
            seq = conn.execute("select pg_get_serial_sequence('public.migration_runs', 'id')").fetchone()[0]
            assert not conn.execute(
                "select has_sequence_privilege(%s, %s, 'usage') or has_sequence_privilege(%s, %s, 'update')",
                (role, seq, role, seq),
            ).fetchone()[0]
        options = conn.execute("select reloptions from pg_class where oid = 'public.v_migration_status'::regclass")
        assert "security_invoker=true" in options.fetchone()[0]
        config = conn.execute("select proconfig from pg_proc where proname = 'migration_runs_append_only'")
        assert config.fetchone()[0] == ['search_path=""']
        # As the app's signed-in user (JWT claims set, as PostgREST does): nothing to read.
        conn.commit()  # each block below is then its own transaction, its SET LOCAL ending with it
        with conn.transaction():
            conn.execute("set local role authenticated")
            conn.execute("""select set_config('request.jwt.claims', '{"role":"authenticated"}', true)""")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("select statements from public.v_migration_status")
        with conn.transaction():  # and the service role reads the view, running as itself
            conn.execute("set local role service_role")
            assert conn.execute("select count(*) from public.v_migration_status").fetchone()[0] >= len(versions)
        conn.execute("insert into public.migration_runs (environment, status, version) values ('dev', 'applied', '1')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("update public.migration_runs set actor = 'x'")


async def test_status_matches_supabase_migration_list(scratch_db, migrations):
    cli_ok(migration_up(scratch_db.url, REPO_MIGRATIONS))
    # Build a remote history without running SQL, as an operator would with repair.
    repair(scratch_db.url, migrations, "applied", "20260101000000", "20260102000000")
    report = await status(scratch_db.url, migrations)
    local, remote = cli_list(scratch_db.url, migrations)
    applied = {m.version for m in report.migrations if m.state is State.APPLIED}
    pending = {m.version for m in report.migrations if m.state is State.PENDING}
    assert applied == remote and applied >= {"20260101000000", "20260102000000"}
    assert pending == local - remote == {"20260103000000", "20260104000000"}
    assert report.exit_code == 1


async def test_editing_an_applied_file_marks_exactly_that_one(scratch_db, migrations):
    cli_ok(migration_up(scratch_db.url, migrations))
    report = await status(scratch_db.url, migrations)
    assert report.healthy, report.attention
    target = migrations / "20260102000000_step.sql"
    layout_only = migrations / "20260103000000_step.sql"
    target.write_text("alter table public.customers add column if not exists tier varchar(20);\n")
    layout_only.write_text(
        "-- reformatted\r\nCREATE INDEX IF NOT EXISTS customers_tier_idx\r\n  ON public.customers (tier);\r\n"
    )
    report = await status(scratch_db.url, migrations)
    changed = {m.version: m.state for m in report.migrations if m.state is not State.APPLIED}
    assert changed == {"20260102000000": State.MODIFIED}


async def test_files_saved_with_a_byte_order_mark_are_applied_not_modified(scratch_db, migrations):
    # Windows editors save UTF-8 with a BOM; the CLI applies and records such files without it.
    bom = migrations / "20260105000000_bom.sql"
    bom.write_bytes("\ufeff-- saved by Notepad\ncreate table if not exists public.bom_t (id int);\n".encode())
    cli_ok(migration_up(scratch_db.url, migrations))
    report = await status(scratch_db.url, migrations)
    assert report.healthy, report.attention
    # Reformatting it (still with its BOM) is no change either; a real edit is.
    bom.write_bytes("\ufeff-- saved by Notepad\r\nCREATE TABLE IF NOT EXISTS public.bom_t\r\n  (id int);\r\n".encode())
    assert (await status(scratch_db.url, migrations)).healthy
    bom.write_bytes("\ufeffcreate table if not exists public.bom_t (id bigint);\n".encode())
    report = await status(scratch_db.url, migrations)
    assert {m.version: m.state for m in report.attention} == {"20260105000000": State.MODIFIED}


async def test_a_crlf_checkout_of_applied_files_is_not_modified(scratch_db, migrations):
    # CI applies the LF files from git; a Windows checkout (core.autocrlf) has CRLF everywhere,
    # inside multi-line string literals too. Nothing was edited.
    literal = migrations / "20260105000000_comment.sql"
    literal.write_text(
        "comment on table public.customers is 'Customers.\nOne row per paying account.';\n"
        "create or replace view public.v_customers as\n  select id, 'multi\nline' as label from public.customers;\n"
        "grant select on public.v_customers to authenticated, service_role;\n"
    )
    cli_ok(migration_up(scratch_db.url, migrations))
    for path in migrations.glob("*.sql"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    report = await status(scratch_db.url, migrations)
    assert report.healthy, report.attention
    local = read_local_migrations(migrations).migrations
    rows = await PostgresStatusSource(scratch_db.url).fetch_rows()
    assert versions_to_verify(local, rows) == []  # matched by digest: nothing to fetch or re-parse


async def test_failed_missing_and_out_of_order(scratch_db, migrations):
    cli_ok(migration_up(scratch_db.url, REPO_MIGRATIONS))
    repair(scratch_db.url, migrations, "applied", "20260101000000", "20260104000000")
    (migrations / "20260104000000_step.sql").unlink()
    with psycopg.connect(scratch_db.url) as conn:
        conn.execute(
            "insert into public.migration_runs (environment, status, version, file_name, sqlstate, error_message,"
            " ci_run_url, actor) values ('dev', 'failed', '20260102000000', '20260102000000_step.sql', '42703',"
            " 'column \"tier\" does not exist', 'https://github.com/o/r/actions/runs/1', 'octocat')"
        )
    report = await status(scratch_db.url, migrations)
    got = {m.version: m.state for m in report.migrations if m.state is not State.APPLIED}
    assert got == {
        "20260102000000": State.FAILED,
        "20260103000000": State.OUT_OF_ORDER,
        "20260104000000": State.MISSING_LOCAL,
    }
    failed = next(m for m in report.migrations if m.state is State.FAILED)
    assert (failed.error_sqlstate, failed.applied_by) == ("42703", "octocat")
    assert failed.executed_at is not None  # the run record's time, not one made up from the version


async def test_applied_run_records_give_real_times_and_none_otherwise(scratch_db, migrations):
    cli_ok(migration_up(scratch_db.url, migrations))
    with psycopg.connect(scratch_db.url) as conn:
        conn.execute(
            "insert into public.migration_runs (environment, status, version, actor, commit_sha)"
            " values ('dev', 'applied', '20260101000000', 'ci-bot', 'abc123')"
        )
        conn.execute(
            "insert into public.dragonfly_migrations (version, name, applied_at) values ('0001', 'init', now())"
        )
    rows = {(r.source, r.version): r for r in await PostgresStatusSource(scratch_db.url).fetch_rows()}
    assert rows[("supabase", "20260101000000")].applied_by == "ci-bot"
    assert rows[("supabase", "20260101000000")].executed_at is not None
    assert rows[("supabase", "20260102000000")].executed_at is None
    assert rows[("legacy", "0001")].executed_at is not None
    assert rows[("supabase", "20260102000000")].statement_count == 1


async def test_postgres_source_errors_are_one_clear_line(scratch_db):
    with pytest.raises(SourceUnavailable) as exc:
        await PostgresStatusSource("postgresql://postgres:hunter2secret@127.0.0.1:1/postgres").fetch_rows()
    assert "hunter2secret" not in exc.value.message and "cannot connect" in exc.value.message
    with pytest.raises(SourceUnavailable, match=r"does not exist.*20251209000000_migration_status_view\.sql"):
        await PostgresStatusSource(scratch_db.url).fetch_rows()


def test_local_files_are_reparsed_only_when_they_change(tmp_path):
    import os

    folder = tmp_path / "m"
    folder.mkdir()
    path = folder / "20250101000000_a.sql"
    path.write_text("select 1;")
    first = read_local_migrations(folder).migrations[0]
    assert read_local_migrations(folder).migrations[0] is first  # unchanged: the cached parse
    path.write_text("select 22;")
    os.utime(path, ns=(1, 1))  # a new size and mtime, even on a coarse clock
    changed = read_local_migrations(folder).migrations[0]
    assert changed is not first and changed.digest != first.digest
    path.unlink()
    assert read_local_migrations(folder).migrations == ()
