"""The failure classifier against real ``supabase migration up`` failures.

Every category here is produced for real: the pinned Supabase CLI runs
migration files written to tmp_path against a scratch database on the real
PostgreSQL, and its output is wrapped the way GitHub serves a job log
(timestamps, ##[group] markers, ANSI colours). Where a hint proposes SQL
(a rewritten statement, a GRANT), the test runs that SQL to prove it works.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dragonfly_bot.adapters.localdb import ScratchDatabase, migration_up
from dragonfly_bot.core.failures import (
    CATEGORIES,
    SQLSTATE_CATEGORIES,
    Failure,
    LogParser,
    enrich,
    locate_statement,
    parse_log,
)
from dragonfly_bot.core.fixes import hint_for, idempotent_rewrite
from dragonfly_bot.core.joblog import clean_line, interesting_lines

SECRET = "hunter2-Sup3r"


def github_log(cli_output: str, db_url: str) -> list[str]:
    """``cli_output`` as GitHub serves a failed step's job log: one str per line."""
    body = [
        f'##[group]Run supabase migration up --db-url "{db_url}" --yes',
        f'\x1b[36;1msupabase migration up --db-url "{db_url}" --yes\x1b[0m',
        "shell: /usr/bin/bash -e {0}",
        "env:",
        "  SUPABASE_TELEMETRY_DISABLED: 1",
        "##[endgroup]",
    ]
    for line in cli_output.splitlines():
        # The CLI's errors arrive in red on a colour terminal; GitHub keeps the codes.
        body.append(f"\x1b[31m{line}\x1b[0m" if line.startswith("ERROR") else line)
    body += ["##[error]Process completed with exit code 1.", "Post job cleanup."]
    return [f"2025-12-09T14:30:{i // 100:02d}.{i % 100:07d}Z {line}\r\n" for i, line in enumerate(body)]


def with_password(url: str) -> str:
    """The scratch URL with a password in it (the local server trusts, so it is ignored)."""
    return url.replace("postgres@", f"postgres:{SECRET}@", 1)


def run_failing(db_url: str, migrations_dir: Path, files: dict[str, str], *, expect_failure: bool = True) -> list[str]:
    migrations_dir.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (migrations_dir / name).write_text(sql)
    result = migration_up(db_url, migrations_dir)
    if expect_failure:
        assert result.returncode != 0, result.stderr
    return github_log(result.stdout + result.stderr, db_url)


def explained(lines: list[str], migrations_dir: Path) -> Failure:
    """What ``explain`` does: parse through the chunked reader, then enrich from the files."""
    data = "".join(lines).encode()
    failure = parse_log(interesting_lines(io.BytesIO(data), chunk_size=97))
    assert failure is not None
    # The chunked fast path and a plain line-by-line parse agree.
    assert failure == parse_log(lines)
    text = (migrations_dir / failure.file).read_text() if failure.file else None
    others = {p.name: p.read_text() for p in migrations_dir.glob("*.sql")}
    enriched = enrich(failure, text, others)
    json.dumps(enriched.to_dict())  # always serialisable
    assert SECRET not in json.dumps(enriched.to_dict())
    return enriched


def execute(db_url: str, sql: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql)


# ---------------------------------------------------------------- real failures

# Independent single-run scenarios: (migration files, how the URL is made). The
# CLI takes about a second per run, so these run three at a time in the
# background while the tests consume them (see ``prefetched``).
SCENARIOS: dict[str, tuple[dict[str, str], str]] = {
    "relation_exists": (
        {
            "20251209000001_step1.sql": "create table public.foo (id int);\n",
            "20251209000002_step2.sql": "-- add foo again\nselect 1;\n\nCREATE TABLE public.foo (\n  id int\n);\n",
        },
        "password",
    ),
    "column_missing": (
        {
            "20251209000001_table.sql": "create table public.t (id int);\n",
            "20251209000002_index.sql": "select 1;\n\ncreate index t_nope_idx\n  on public.t (nope);\n",
            "20251209000003_column.sql": "alter table public.t add column nope int;\n",
        },
        "db",
    ),
    "syntax_error": (
        {
            "20251209000001_bad.sql": "create table public.ok (id int);\n\n"
            "create table public.x (\n  id int,\n  name tex t\n);\n"
        },
        "db",
    ),
    "duplicate_key": (
        {
            "20251209000001_k.sql": "create table public.k (id int primary key, n text);\n"
            "insert into public.k values (1, 'a');\n",
            "20251209000002_seed.sql": "insert into public.k (id, n)\nvalues (1, 'a')\nreturning id;\n",
        },
        "db",
    ),
    "undefined_function": (
        {
            "20251209000001_use.sql": "create table public.t (id int);\nselect public.answer();\n",
            "20251209000002_define.sql": (
                "create or replace function public.answer() returns int language sql as $$ select 42 $$;\n"
            ),
        },
        "db",
    ),
    "dependent_objects": (
        {
            "20251209000001_a.sql": "create table public.a (id int);\n"
            "create view public.v as select * from public.a;\n",
            "20251209000002_drop.sql": "drop table public.a;\n",
        },
        "db",
    ),
    "unknown": ({"20251209000001_x.sql": "do $$ begin raise exception 'boom %', 42; end $$;\n"}, "db"),
    "connection_refused": ({"20251209000001_a.sql": "select 1;\n"}, "closed_port"),
    "dns": ({"20251209000001_a.sql": "select 1;\n"}, "unresolvable"),
    "unknown_role": ({"20251209000001_a.sql": "select 1;\n"}, "unknown_role"),
}


@dataclass
class Scenario:
    db: ScratchDatabase | None
    url: str
    migrations: Path
    lines: list[str]


@pytest.fixture(scope="module")
def prefetched(pg_server, tmp_path_factory, scratch_databases):
    """``prefetched(name)``: the SCENARIOS run, each on its own scratch database."""

    def run(name: str) -> Scenario:
        files, how = SCENARIOS[name]
        db = scratch_databases() if how in ("db", "password") else None
        url = {
            "db": lambda: db.url,
            "password": lambda: with_password(db.url),
            "closed_port": lambda: f"postgresql://postgres:{SECRET}@127.0.0.1:{_closed_port()}/postgres",
            "unresolvable": lambda: (
                f"postgresql://postgres.abcdefghij:{SECRET}@aws-0-nowhere.pooler.invalid:6543/postgres"
            ),
            "unknown_role": lambda: pg_server.url.replace("postgres@", f"nosuchrole:{SECRET}@", 1),
        }[how]()
        migrations = tmp_path_factory.mktemp(name) / "migrations"
        return Scenario(db, url, migrations, run_failing(url, migrations, files))

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run, name) for name in SCENARIOS}
        yield lambda name: futures[name].result()


def test_relation_exists_gives_a_rewrite_that_runs(prefetched):
    run = prefetched("relation_exists")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.version, f.sqlstate, f.category) == (
        "20251209000002_step2.sql",
        "20251209000002",
        "42P07",
        "relation_exists",
    )
    assert f.statement_index == 1 and f.line == 4
    assert "CREATE TABLE IF NOT EXISTS public.foo" in f.hint
    assert "20251209000002_step2.sql line 4" in f.hint
    rewritten = f.hint.split("write:\n", 1)[1]
    execute(run.db.url, rewritten)  # the proposed statement runs where the original failed


@pytest.mark.parametrize(
    ("second", "code"),
    [
        ("create policy p on public.r for select using (true);", "42710"),
        ("alter table public.r add column id int;", "42701"),
    ],
)
def test_relation_exists_variants_rewrite_into_sql_that_runs(scratch_db, tmp_path, second, code):
    migrations = tmp_path / "migrations"
    first = (
        "create table public.r (id int); create policy p on public.r for select using (true);\n"
        "create type public.mood as enum ('a');\n"
    )
    lines = run_failing(
        scratch_db.url, migrations, {"20251209000001_a.sql": first, "20251209000002_b.sql": second + "\n"}
    )
    f = explained(lines, migrations)
    assert (f.sqlstate, f.category, f.file, f.line) == (code, "relation_exists", "20251209000002_b.sql", 1)
    execute(scratch_db.url, f.hint.split("write:\n", 1)[1])


@pytest.mark.parametrize(
    "statement",
    [
        "create index r_idx on public.r (id)",
        "CREATE UNIQUE INDEX r_uidx ON public.r (id)",
        "create view public.v as select 1 as x",
        "create materialized view public.mv as select 1 as x",
        "create function public.f() returns int language sql as $$ select 1 $$",
        "create sequence public.s",
        "create schema s2",
        "alter table public.r add constraint r_id_positive check (id > 0)",
        "create trigger r_t before insert on public.r for each row execute function public.noop()",
        "create domain public.posint as int check (value > 0)",
        "create type public.mood as enum ('a')",
        "create table public.foo (id int primary key)",
        "alter table public.r add column note text",
    ],
)
def test_rewrites_run_twice_where_the_original_fails(scratch_db, statement):
    """Without the CLI: the original fails the second time, the rewrite never does."""
    execute(
        scratch_db.url,
        "create table public.r (id int);"
        "create function public.noop() returns trigger language plpgsql as $$ begin return new; end $$",
    )
    execute(scratch_db.url, statement)
    with pytest.raises(psycopg.Error) as failed:
        execute(scratch_db.url, statement)
    assert SQLSTATE_CATEGORIES[failed.value.sqlstate] == "relation_exists"
    rewritten = idempotent_rewrite(statement)
    assert rewritten is not None and rewritten != statement
    execute(scratch_db.url, rewritten)
    execute(scratch_db.url, rewritten)


def test_column_missing_names_the_later_file_that_adds_it(prefetched):
    run = prefetched("column_missing")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.sqlstate, f.category, f.statement_index, f.line) == (
        "20251209000002_index.sql",
        "42703",
        "column_missing",
        1,
        3,
    )
    assert "Order: 20251209000003_column.sql line 1 creates column nope of public.t" in f.hint
    assert "rename 20251209000003" not in f.hint.lower()


def test_permission_denied_gives_the_missing_grant(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    files = {
        # Supabase grants every new table to the API roles by default: take it back, as a migration would.
        "20251209000001_q.sql": "create table public.q (id int);\n"
        "revoke all on public.q from public, anon, authenticated;\n",
        "20251209000002_read_q.sql": "set role authenticated;\nselect * from public.q;\nreset role;\n",
    }
    lines = run_failing(scratch_db.url, migrations, files)
    f = explained(lines, migrations)
    assert (f.file, f.sqlstate, f.category, f.statement_index, f.line) == (
        "20251209000002_read_q.sql",
        "42501",
        "permission_denied",
        1,
        2,
    )
    grant = "GRANT SELECT ON public.q TO authenticated;"  # the role SET ROLE switched to
    assert grant in f.hint
    execute(scratch_db.url, grant)
    assert migration_up(scratch_db.url, migrations).returncode == 0  # the hint fixed it


def test_syntax_error_points_at_the_line_and_column(prefetched):
    run = prefetched("syntax_error")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.sqlstate, f.category, f.statement_index, f.line, f.error_line) == (
        "20251209000001_bad.sql",
        "42601",
        "syntax_error",
        1,
        3,
        5,
    )
    assert f.caret_column == 12  # under the 't' of "tex t"
    assert "20251209000001_bad.sql line 5" in f.hint and "Fix the syntax" in f.hint


def test_duplicate_key_rewrites_the_insert(prefetched):
    run = prefetched("duplicate_key")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.sqlstate, f.category, f.line) == ("20251209000002_seed.sql", "23505", "duplicate_key", 1)
    assert f.detail == "Key (id)=(1) already exists."
    rewritten = f.hint.split("write:\n", 1)[1]
    assert "on conflict do nothing" in rewritten.lower()
    execute(run.db.url, rewritten)


def test_undefined_function_names_the_later_definition(prefetched):
    run = prefetched("undefined_function")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.sqlstate, f.category, f.line) == ("20251209000001_use.sql", "42883", "undefined_function", 2)
    assert "Order: 20251209000002_define.sql line 1 creates function public.answer" in f.hint


def test_undefined_table_and_schema(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    lines = run_failing(scratch_db.url, migrations, {"20251209000001_s.sql": "create table nosuch.t (id int);\n"})
    f = explained(lines, migrations)
    assert (f.sqlstate, f.category) == ("3F000", "undefined_schema")
    assert "No migration file creates schema nosuch" in f.hint and f.confidence == "check"
    (migrations / "20251209000001_s.sql").write_text("alter table public.missing add column a int;\n")
    lines = github_log(migration_up(scratch_db.url, migrations).stderr, scratch_db.url)
    f = explained(lines, migrations)
    assert (f.sqlstate, f.category, f.line) == ("42P01", "undefined_table", 1)


def test_dependent_objects_lists_the_dependents(prefetched):
    run = prefetched("dependent_objects")
    f = explained(run.lines, run.migrations)
    assert (f.file, f.sqlstate, f.category) == ("20251209000002_drop.sql", "2BP01", "dependent_objects")
    assert "view v depends on table a" in f.detail and "view v depends on table a" in f.hint
    assert "CASCADE" in f.hint


def test_lock_and_statement_timeouts(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    execute(scratch_db.url, "create table public.busy (id int)")
    with psycopg.connect(scratch_db.url) as holder:  # another session holds the table
        holder.execute("lock table public.busy in access exclusive mode")
        lines = run_failing(
            scratch_db.url,
            migrations,
            {"20251209000001_alter.sql": "set lock_timeout = '200ms';\nalter table public.busy add column x int;\n"},
        )
    f = explained(lines, migrations)
    assert (f.sqlstate, f.category, f.line) == ("55P03", "lock_timeout", 2)
    (migrations / "20251209000001_alter.sql").write_text("set statement_timeout = '50ms';\nselect pg_sleep(2);\n")
    f = explained(github_log(migration_up(scratch_db.url, migrations).stderr, scratch_db.url), migrations)
    assert (f.sqlstate, f.category, f.line) == ("57014", "statement_timeout", 2)
    assert "statement_timeout" in f.hint


def test_unknown_error_is_reported_with_its_lines(prefetched):
    run = prefetched("unknown")
    f = explained(run.lines, run.migrations)
    assert (f.sqlstate, f.category, f.message) == ("P0001", "raised_exception", "boom 42")
    assert "A guard in the migration raised" in f.hint and "boom 42" in f.hint
    assert any("boom 42" in line for line in f.error_lines)


def test_deadlock(scratch_db, tmp_path):
    """The migration locks a then b while another session holds b and then asks for a."""
    migrations = tmp_path / "migrations"
    execute(scratch_db.url, "create table public.a (id int); create table public.b (id int)")
    (migrations).mkdir()
    (migrations / "20251209000001_locks.sql").write_text(
        "set deadlock_timeout = '100ms';\nbegin;\nlock table public.a in access exclusive mode;\n"
        "lock table public.b in access exclusive mode;\ncommit;\n"
    )
    result = {}
    with psycopg.connect(scratch_db.url) as other, psycopg.connect(scratch_db.url, autocommit=True) as watcher:
        other.execute("set deadlock_timeout = '10s'")  # so the migration's session is the one that detects it
        other.execute("lock table public.b in access exclusive mode")
        cli = threading.Thread(target=lambda: result.update(run=migration_up(scratch_db.url, migrations)))
        cli.start()
        deadline = time.monotonic() + 60  # the CLI's start-up is slow on a busy machine
        while time.monotonic() < deadline:  # until the migration waits for b
            waiting = watcher.execute(
                "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                "where not l.granted and c.relname = 'b'"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.01)
        other.execute("lock table public.a in access exclusive mode")  # granted once the migration is the victim
        other.rollback()
        cli.join(60)
    run = result["run"]
    f = explained(github_log(run.stdout + run.stderr, scratch_db.url), migrations)
    assert (f.sqlstate, f.category, f.statement_index, f.line) == ("40P01", "deadlock", 3, 4)
    assert "Process" in f.detail and "Re-run" in f.hint


def test_cli_hint_paragraph_is_kept_apart(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    lines = run_failing(scratch_db.url, migrations, {"20251209000001_t.sql": "create table public.t (c mytype);\n"})
    f = explained(lines, migrations)
    assert (f.sqlstate, f.category, f.detail) == ("42704", "undefined_object", "")
    assert f.cli_hint.startswith("Hint: This type may be defined in a schema")
    assert f.statement == "create table public.t (c mytype)" and f.caret_column is not None
    (migrations / "20251209000001_t.sql").write_text("lock table public.nothing_yet;\n")
    f = explained(github_log(migration_up(scratch_db.url, migrations).stderr, scratch_db.url), migrations)
    assert (f.sqlstate, f.category) == ("25P01", "needs_transaction_block")
    assert "BEGIN" in f.hint and "BEGIN" in f.cli_hint


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_and_password_never_leaks(prefetched):
    run = prefetched("connection_refused")
    assert any(SECRET in line for line in run.lines)  # the group header echoes the URL
    f = explained(run.lines, run.migrations)
    assert f.category == "connection_failed"
    assert "postgres@127.0.0.1/postgres" in f.hint and "ECONNREFUSED" in f.message
    assert f.file is None


def test_dns_failure(prefetched):
    run = prefetched("dns")
    f = explained(run.lines, run.migrations)
    assert f.category == "dns_failed"
    assert "aws-0-nowhere.pooler.invalid" in f.hint


def test_unknown_role_is_an_authentication_failure(prefetched):
    run = prefetched("unknown_role")
    f = explained(run.lines, run.migrations)
    assert (f.category, f.sqlstate) == ("authentication_failed", "28000")


def test_out_of_order_file(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    run_failing(scratch_db.url, migrations, {"20261105_late.sql": "select 1;\n"}, expect_failure=False)
    lines = run_failing(scratch_db.url, migrations, {"20260118000000_early.sql": "select 2;\n"})
    f = explained(lines, migrations)
    assert (f.category, f.file, f.version, f.files) == (
        "out_of_order",
        "20260118000000_early.sql",
        "20260118000000",
        ("20260118000000_early.sql",),
    )
    assert "--include-all" in f.hint and "rename each" in f.hint and "applied in no environment" in f.hint


def test_remote_version_missing(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    run_failing(
        scratch_db.url,
        migrations,
        {"20251209000001_a.sql": "select 1;\n", "20251209000002_b.sql": "select 2;\n"},
        expect_failure=False,
    )
    (migrations / "20251209000002_b.sql").unlink()
    lines = run_failing(scratch_db.url, migrations, {"20251209000003_c.sql": "select 3;\n"})
    f = explained(lines, migrations)
    assert (f.category, f.versions) == ("remote_version_missing", ("20251209000002",))
    assert "migration repair" in f.hint and "blindly" in f.hint


# ---------------------------------------------------------------- units


def test_locate_statement_uses_the_cli_numbering():
    text = (
        "-- head\ncreate table a (x int);\n\n"
        "create function f() returns int language sql as $$ select 1; $$;\n\nselect 2;\n"
    )
    assert [locate_statement(text, i) for i in range(4)] == [2, 4, 6, None]  # past the leading comment
    assert locate_statement(text, None) is None and locate_statement("", 0) is None


def test_clean_line():
    raw = "2025-12-09T14:30:01.1234567Z \x1b[31m##[error]boom\x1b[0m\r\n"
    assert clean_line(raw) == "boom"
    assert clean_line("2025-12-09T14:30:01.1234567Z ##[group]Run x") == "Run x"
    assert clean_line("no stamp\r") == "no stamp"


def test_no_failure_in_a_green_log():
    lines = github_log(
        "Applying migration 20251209000001_a.sql...\nFinished supabase migration up.", "postgresql://x@h/p"
    )
    assert parse_log(lines) is None


def test_streaming_keeps_bounded_state():
    parser = LogParser()
    parser.feed("Applying migration 20251209000001_a.sql...")
    parser.feed("ERROR: boom (SQLSTATE 22000)")
    parser.feed("At statement: 0")
    for i in range(100_000):
        parser.feed(f"select {i}, 'x' as filler_text_for_a_very_long_statement")
    f = parser.result()
    assert f is not None and len(f.error_lines) <= 60 and len(f.statement) <= 16_010


def test_chunked_reader_matches_line_parser_with_noise():
    lines = [f"2025-12-09T00:00:00.0000000Z npm WARN noise line {i}\n" for i in range(5000)]
    lines[4000:4000] = github_log(
        "Applying migration 20251209000001_a.sql...\nERROR: permission denied for table q (SQLSTATE 42501)\n"
        "At statement: 0\nselect * from public.q\nTry rerunning the command with --debug to troubleshoot the error.",
        "postgresql://p@h/d",
    )
    data = "".join(lines).encode()
    expected = parse_log(lines)
    assert expected is not None and expected.category == "permission_denied"
    for size in (1, 50, 4096, 1 << 20):
        assert parse_log(interesting_lines(io.BytesIO(data), chunk_size=size)) == expected


def test_gh_cli_log_format():
    """`gh run view --log` puts "<job>\t<step>\t" before each timestamped line."""
    lines = github_log(
        'Applying migration 20251209000001_a.sql...\nERROR: syntax error at or near "x" (SQLSTATE 42601)\n'
        "At statement: 0\nselect x x x\n         ^\nTry rerunning the command with --debug to troubleshoot the error.",
        "postgresql://p@h/d",
    )
    prefixed = [f"migrate\tApply migrations\t{line}" for line in lines]
    f = parse_log(prefixed)
    assert f == parse_log(lines)
    assert (f.file, f.category, f.statement, f.caret_column) == (
        "20251209000001_a.sql",
        "syntax_error",
        "select x x x",
        10,
    )
    assert parse_log(interesting_lines(io.BytesIO("".join(prefixed).encode()))) == f


def test_reader_looks_back_from_github_error_marker_and_from_the_end():
    noise = "".join(f"2025-12-09T00:00:00.0000000Z noise {i}\n" for i in range(20_000)).encode()
    failure = "".join(
        github_log(
            "Applying migration 1_a.sql...\nERROR: boom (SQLSTATE 22000)\nAt statement: 0\nselect 1",
            "postgresql://p@h/d",
        )
    ).encode()
    for data in (noise + failure + noise, noise + failure.replace(b"##[error]", b"##[notice]")):
        f = parse_log(interesting_lines(io.BytesIO(data), chunk_size=4096, lookback=8192))
        assert f is not None and (f.file, f.sqlstate) == ("1_a.sql", "22000")
    # A failure neither before a ##[error] line nor at the end is out of reach: the documented limit.
    hidden = noise + failure.replace(b"##[error]", b"##[notice]") + noise
    assert parse_log(interesting_lines(io.BytesIO(hidden), lookback=8192)) is None
    assert parse_log(hidden.decode().splitlines(keepends=True)) is not None


# ---------------------------------------------------------------- fuzzing

_FRAGMENTS = st.sampled_from(
    [
        "Applying migration 20251209000002_x.sql...",
        "Applying migration ../../etc/passwd.sql...",
        'ERROR: relation "foo" already exists (SQLSTATE 42P07)',
        'ERROR: column "a" does not exist (SQLSTATE 42703)',
        "ERROR: permission denied for table t (SQLSTATE 42501)",
        'ERROR: syntax error at or near "x" (SQLSTATE 42601)',
        'ERROR: duplicate key value violates unique constraint "k" (SQLSTATE 23505)',
        "ERROR: (SQLSTATE )",
        "At statement: 0",
        "At statement: 99999999999999999999",
        "create table public.foo (id int)",
        "insert into t values (1) returning id",
        "       ^",
        "^",
        "Key (id)=(1) already exists.",
        "Try rerunning the command with --debug to troubleshoot the error.",
        "failed to connect to postgres: failed to connect to `host=h user=u database=d`: dial error",
        "Remote migration versions not found in local migrations directory.",
        "supabase migration repair --status reverted 20251209000002 --remote=<db-url>",
        "Found local migration files to be inserted before the last migration on remote database.",
        "/tmp/x/supabase/migrations/20250101_a.sql",
        "##[error]Process completed with exit code 1.",
        "##[group]Run x",
        "2025-12-09T14:30:01.1234567Z ",
        "\x1b[31m",
        "",
    ]
)
_LINES = st.lists(
    st.one_of(_FRAGMENTS, st.text(max_size=200), st.builds(lambda a, b: a + b, _FRAGMENTS, st.text(max_size=30))),
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LINES)
def test_parser_never_raises_on_fragments(lines):
    parser = LogParser()  # not parse_log: its safety net would hide a bug from the fuzzer
    for line in lines:
        parser.feed(line)
    f = parser.result()
    if f is not None:
        assert f.category in CATEGORIES
        hint_for(f)  # no safety net either
        json.dumps(enrich(f, "\n".join(lines)).to_dict())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=700))
def test_binary_garbage_never_raises(data, chunk_size):
    via_chunks = parse_log(interesting_lines(io.BytesIO(data), chunk_size=chunk_size))
    text_lines = data.decode("utf-8", errors="replace").split("\n")  # log lines end at \n only
    parser = LogParser()
    for line in text_lines:
        parser.feed(line)
    assert parser.result() == via_chunks


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400), st.integers(min_value=-3, max_value=10))
def test_enrich_and_rewrite_never_raise(file_text, index):
    f = Failure(category="relation_exists", message="x", file="1_a.sql", statement_index=index, statement=file_text)
    enrich(f, file_text, {"2_b.sql": file_text})
    idempotent_rewrite(file_text)
    for category in CATEGORIES:
        hint_for(Failure(category=category, message=file_text, statement=file_text, detail=file_text))


@settings(max_examples=200, deadline=None)
@given(_LINES, st.integers(min_value=1, max_value=300))
def test_chunked_reader_yields_every_line_once_when_the_log_is_small(lines, chunk_size):
    """With the look-back larger than the log, the regions cover every line exactly once, in order."""
    lines = [line.replace("\r", "").replace("\n", "") + "\n" for line in lines]
    data = "".join(lines).encode("utf-8", errors="replace")
    expected = [line + "\n" for line in data.decode("utf-8", errors="replace").split("\n")[:-1]]
    assert list(interesting_lines(io.BytesIO(data), chunk_size=chunk_size)) == expected


def test_password_failure_is_an_authentication_failure():
    # The CLI formats server errors as "server error (<severity>: <message> (SQLSTATE <code>))";
    # the trust-only local server cannot reject a password, so this one line is written by hand.
    line = (
        "failed to connect to postgres: "
        "failed to connect to `host=db.abc.supabase.co user=postgres database=postgres`: "
        'server error (FATAL: password authentication failed for user "postgres" (SQLSTATE 28P01))'
    )
    f = parse_log([line, "Try rerunning the command with --debug to troubleshoot the error."])
    assert (f.category, f.sqlstate) == ("authentication_failed", "28P01")
    assert "postgres@db.abc.supabase.co/postgres" in f.hint


def test_truncated_real_logs_never_raise():
    lines = github_log(
        'Applying migration 20251209000002_step2.sql...\nERROR: syntax error at or near "t" (SQLSTATE 42601)\n'
        "At statement: 0\ncreate table public.x (\n  name tex t\n           ^\n"
        "Try rerunning the command with --debug to troubleshoot the error.",
        "postgresql://u:pw@h/d",
    )
    data = "".join(lines)
    for cut in range(len(data)):
        parser = LogParser()
        for line in data[:cut].splitlines(keepends=True):
            parser.feed(line)
        parser.result()


def test_huge_line_is_capped():
    noise = b"z" * (5 << 20) + b"\n"
    block = b'ERROR: relation "' + b"x" * 10_000 + b'" already exists (SQLSTATE 42P07)\nAt statement: 0\n'
    data = noise + block + b"y" * (100 << 10) + b"\nTry rerunning the command with --debug\n##[error]failed\n"
    f = parse_log(interesting_lines(io.BytesIO(data)))
    assert f is not None and f.category == "relation_exists"
    assert len(f.message) <= 2010 and len(f.statement) <= 16_010 and all(len(x) <= 2000 for x in f.error_lines)


def test_line_is_the_statements_sql_not_its_leading_comments(scratch_db, tmp_path):
    """The CLI's statement keeps the comments above it; the line given is where the SQL starts."""
    migrations = tmp_path / "migrations"
    files = {
        "20251209000001_orders.sql": "create table public.orders (id int, customer_id int);\n",
        "20251209000002_index.sql": (
            "-- Orders: lookups by customer\n"
            "-- (for the dashboard)\n"
            "\n"
            "create index orders_customer_idx on public.orders (customer_id);\n"
            "\n"
            "/* the same index again */\n"
            "create index orders_customer_idx on public.orders (customer_id);\n"
        ),
    }
    f = explained(run_failing(scratch_db.url, migrations, files), migrations)
    assert (f.category, f.statement_index, f.line) == ("relation_exists", 1, 7)
    assert "20251209000002_index.sql line 7" in f.hint
    (migrations / "20251209000002_index.sql").write_text(
        "-- Orders: lookups by customer\n\nCREATE TABLE public.orders (id int);\n"
    )
    lines = github_log(migration_up(scratch_db.url, migrations).stderr, scratch_db.url)
    f = explained(lines, migrations)
    assert (f.category, f.statement_index, f.line, f.error_line) == ("relation_exists", 0, 3, None)


@pytest.mark.parametrize(
    ("setup", "statement", "sqlstate"),
    [
        (
            "create type public.status as enum ('open', 'archived');",
            "alter type public.status add value 'archived'",
            "42710",
        ),
        ("create table public.t (id int primary key);", "alter table public.t add primary key (id)", "42P16"),
        (
            "create table public.t (id int primary key); alter publication supabase_realtime add table public.t;",
            "alter publication supabase_realtime add table public.t",
            "42710",
        ),
    ],
)
def test_re_run_of_enum_value_and_primary_key_gets_a_rewrite_that_runs(
    scratch_db, tmp_path, setup, statement, sqlstate
):
    """Two common re-run failures: the hint writes the statement out idempotently, and that runs twice."""
    execute(scratch_db.url, setup)
    migrations = tmp_path / "migrations"
    f = explained(run_failing(scratch_db.url, migrations, {"20251209000001_again.sql": statement + ";\n"}), migrations)
    assert (f.sqlstate, f.category, f.line) == (sqlstate, "relation_exists", 1)
    rewritten = f.hint.split("write:\n", 1)[1]
    execute(scratch_db.url, rewritten)
    execute(scratch_db.url, rewritten)


@pytest.mark.parametrize(
    ("statement", "sqlstate", "category"),
    [
        ("alter table public.t rename column name to full_name", "42703", "column_missing"),
        ("alter table public.people rename to persons", "42P01", "undefined_table"),
    ],
)
def test_rename_run_again_is_explained_as_a_rename_not_as_dependency_order(
    scratch_db, tmp_path, statement, sqlstate, category
):
    """The old name is gone because the rename already ran: the hint says so and writes a guarded RENAME that runs
    twice, instead of advising to reorder migrations."""
    execute(
        scratch_db.url,
        "create table public.t (id int primary key, full_name text); create table public.persons (id int)",
    )
    migrations = tmp_path / "migrations"
    f = explained(run_failing(scratch_db.url, migrations, {"20251209000001_rename.sql": statement + ";\n"}), migrations)
    assert (f.sqlstate, f.category, f.line) == (sqlstate, category, 1)
    assert "renamed already" in f.hint and "dependency order" not in f.hint and "earlier timestamp" not in f.hint
    rewritten = f.hint.split("write:\n", 1)[1]
    execute(scratch_db.url, rewritten)
    execute(scratch_db.url, rewritten)


@pytest.mark.parametrize(
    ("statement", "category"),
    [
        ("drop table public.legacy", "undefined_table"),
        ("alter table public.t drop column old_col", "column_missing"),
        ('drop policy "old read" on public.t', "undefined_object"),
        ("drop function public.old_fn(int)", "undefined_function"),
        ("alter table public.t drop constraint t_old_check", "undefined_object"),
        ("drop materialized view public.mv_old", "undefined_table"),
        ("drop schema legacy_stuff", "undefined_schema"),
    ],
)
def test_drop_run_again_gets_drop_if_exists(scratch_db, tmp_path, statement, category):
    """The protocol's own case: a DROP without IF EXISTS fails once the object is gone. The hint says so and writes
    the DROP ... IF EXISTS (which runs twice), instead of 'create it in an earlier migration' / 'dependency order'."""
    execute(scratch_db.url, "create table if not exists public.t (id int primary key)")
    migrations = tmp_path / "migrations"
    f = explained(run_failing(scratch_db.url, migrations, {"20251209000001_drop.sql": statement + ";\n"}), migrations)
    assert (f.category, f.line) == (category, 1)
    assert "gone already" in f.hint and "earlier migration" not in f.hint and "dependency order" not in f.hint
    rewritten = f.hint.split("write:\n", 1)[1]
    assert "if exists" in rewritten.lower()
    execute(scratch_db.url, rewritten)
    execute(scratch_db.url, rewritten)
