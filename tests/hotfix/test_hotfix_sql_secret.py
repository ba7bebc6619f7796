"""The declared SQL is secret (issue 13 item 2, issue 14 item 1): as `authenticated` or `anon` with JWT
claims set, nothing of the hotfix records can be read; as `service_role` the raw SQL can; the stored copy,
the findings and the timeline are redacted; the journal is owner-only and lets go of the SQL once stored."""

from __future__ import annotations

import json
import shutil
import stat

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from tests.fakes.helpers import RecordingPoster, embed_text
from tests.fakes.hotfix_support import DEV, REPO_MIGRATIONS, copy_migrations, make_service, migrate

SECRET_SQL = "alter role app_user password 'hunter2';\nselect vault.create_secret('sk_live_abcdefghijklmnop');"
SECRET_MIGRATION = "20251214200000_hotfix_sql_secret.sql"
DENIED = "permission denied"


def as_role(db_url: str, role: str, query: str, *params):
    """One query as an API role with its JWT claims set, the way PostgREST runs a request."""
    with psycopg.connect(db_url) as conn:
        try:
            with conn.transaction():
                conn.execute(f"set local role {role}")
                conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"role": role}),))
                return conn.execute(query, params).fetchall()
        except psycopg.errors.InsufficientPrivilege:
            return DENIED


async def test_app_users_read_nothing_and_service_role_reads_the_raw_sql(migrated_db, tmp_path):
    service = make_service(migrated_db.url, tmp_path, RecordingPoster())
    hotfix = (await service.declare(DEV, "dev", "rotate the app password", SECRET_SQL)).hotfix
    await service.store.append_event(hotfix.id, "note", DEV, {"note": "ran it"}, hotfix.declared_at)
    url = migrated_db.url

    for role in ("authenticated", "anon"):
        for query in (
            "select code, sql_text from public.hotfixes",
            "select summary, closed_reason, link_findings from public.hotfixes",
            "select detail from public.hotfix_events",
            "select * from public.hotfix_reminders",
            "select sql_text from dragonfly_private.hotfix_sql",
        ):
            assert as_role(url, role, query) == DENIED, (role, query)
        assert as_role(url, role, "select public.hotfix_declared_sql(%s::uuid)", hotfix.id) == DENIED

    assert as_role(url, "service_role", "select public.hotfix_declared_sql(%s::uuid)", hotfix.id) == [(SECRET_SQL,)]
    assert as_role(
        url, "service_role", "select sql_text from dragonfly_private.hotfix_sql where hotfix_id = %s", hotfix.id
    ) == [(SECRET_SQL,)]
    [(copy,)] = as_role(url, "service_role", "select sql_text from public.hotfixes where id = %s", hotfix.id)
    assert "hunter2" not in copy and "sk_live_abcdefghijklmnop" not in copy and "[REDACTED]" in copy
    assert hotfix.sql_text == copy and await service.store.declared_sql(hotfix.id) == SECRET_SQL

    with psycopg.connect(url) as conn:
        sequences = conn.execute(
            "select r, s, has_sequence_privilege(r, s, 'usage') or has_sequence_privilege(r, s, 'select') "
            "or has_sequence_privilege(r, s, 'update') from unnest(array['anon', 'authenticated']) r, "
            "unnest(array[pg_get_serial_sequence('public.hotfix_events', 'id'), 'public.hotfix_code_seq']) s"
        ).fetchall()
    assert [row for row in sequences if row[2]] == []


async def test_findings_and_timeline_are_stored_redacted(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    service = make_service(fresh_db.url, tmp_path / "data", RecordingPoster(), migrations_dir=migrations)
    hotfix = (await service.declare(DEV, "dev", "token sk_live_abcdefghijklmnop leaked", SECRET_SQL)).hotfix
    assert "sk_live_abcdefghijklmnop" not in hotfix.summary
    (migrations / f"20251229000000_hf_{hotfix.code[3:]}_nothing.sql").write_text("select 1;\n")
    assert (await service.tick()).linked == 1
    linked = await service.get(hotfix.code)
    assert len(linked.link_findings["missing"]) == 2  # the raw SQL was compared, the findings keep it redacted
    with psycopg.connect(fresh_db.url) as conn:
        stored = conn.execute(
            "select (select string_agg(to_jsonb(h)::text, '') from public.hotfixes h where id = %s)"
            " || (select string_agg(detail::text, '') from public.hotfix_events where hotfix_id = %s)",
            (hotfix.id, hotfix.id),
        ).fetchone()[0]
    assert "hunter2" not in stored and "sk_live_abcdefghijklmnop" not in stored and "[REDACTED]" in stored


@pytest.fixture
def fresh_db(scratch_db):
    migrate(scratch_db)
    return scratch_db


async def test_rows_stored_before_the_migration_move_their_sql_out_of_reach(scratch_db, tmp_path):
    before = tmp_path / "before"
    shutil.copytree(REPO_MIGRATIONS, before, ignore=shutil.ignore_patterns(SECRET_MIGRATION))
    migrate(scratch_db, before)
    with psycopg.connect(scratch_db.url) as conn:
        conn.execute(
            "select * from public.declare_hotfix('6b0c4c8e-9d51-4d7b-9d0f-8a7f8f1f0001'::uuid, 'dev', 'old one', "
            "%s, 'digest', '111', 'dana', now(), 'declared', now())",
            (SECRET_SQL,),
        )
    assert migration_up(scratch_db.url, REPO_MIGRATIONS).returncode == 0
    assert as_role(scratch_db.url, "service_role", "select sql_text from public.hotfixes") == [(None,)]
    assert as_role(scratch_db.url, "service_role", "select sql_text from dragonfly_private.hotfix_sql") == [
        (SECRET_SQL,)
    ]
    service = make_service(scratch_db.url, tmp_path / "data", RecordingPoster())
    [old] = await service.list()
    shown, _ = await service.show(old.code)
    assert "[REDACTED]" in shown.sql_text and "hunter2" not in shown.sql_text
    _, markdown = await service.export("markdown")
    assert "alter role app_user password [REDACTED]" in markdown and "hunter2" not in markdown


async def test_the_journal_is_owner_only_and_lets_go_of_the_sql_once_stored(migrated_db, tmp_path):
    poster = RecordingPoster()
    down = make_service(
        migrated_db.url, tmp_path, poster, store=PostgresHotfixStore("postgresql://postgres@127.0.0.1:1/postgres")
    )
    outcome = await down.declare(DEV, "dev", "made during the outage", SECRET_SQL)
    journal = HotfixJournal(tmp_path)
    assert outcome.journaled and stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert "hunter2" in journal.path.read_text()  # kept, owner-only, until the store has it
    assert "hunter2" not in embed_text(poster.posts_to("alerts")[0]["embeds"][0])

    back = make_service(migrated_db.url, tmp_path, poster)
    assert await back.replay_journal() == 1
    assert "hunter2" not in journal.path.read_text()
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
