"""The hotfix service on real PostgreSQL (tables made by the Supabase CLI), acting as service_role."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import HotfixState
from dragonfly_bot.errors import UserFacingError
from tests.fakes.helpers import RecordingPoster, embed_text
from tests.fakes.hotfix_support import DEV, LEAD, LEAD2, NOBODY, T0, Clock, copy_migrations, make_service, migrate

CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:1/postgres"


@pytest.fixture
def fresh_db(scratch_db):
    """For tests that apply their own migrations with the CLI (it refuses versions it has not seen)."""
    migrate(scratch_db)
    return scratch_db


def count(db_url: str, sql: str, *params) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


async def test_migration_applies_twice_and_locks_down_roles(migrated_db, tmp_path):
    with psycopg.connect(migrated_db.url, autocommit=True) as conn:
        # Every hotfix migration again, in order (the later ones take back what the first one granted).
        for name in (
            "20251210000000_hotfix_incidents.sql",
            "20251210120000_hotfix_cancel.sql",
            "20251214200000_hotfix_sql_secret.sql",
        ):
            conn.execute(Path("supabase/migrations", name).read_text())
        privs = dict(
            conn.execute(
                "select r, has_table_privilege(r, 'public.hotfixes', 'insert') from "
                "unnest(array['anon','authenticated','service_role']) r"
            ).fetchall()
        )
        assert privs == {"anon": False, "authenticated": False, "service_role": True}
        # Least privilege (issue 14): app users read nothing of the hotfix records; the bot is service_role.
        readers = conn.execute(
            "select r from unnest(array['anon','authenticated','service_role']) r "
            "where has_table_privilege(r, 'public.hotfixes', 'select')"
        ).fetchall()
        assert readers == [("service_role",)]
        assert not conn.execute("select has_table_privilege('anon', 'public.hotfixes', 'select')").fetchone()[0]
        assert not conn.execute(
            "select has_function_privilege('authenticated', "
            "'public.claim_hotfix_reminder(uuid,integer,text,timestamptz,timestamptz,timestamptz)', 'execute')"
        ).fetchone()[0]
    service = make_service(migrated_db.url, tmp_path, RecordingPoster())
    declared = await service.declare(DEV, "dev", "timeline check", None)
    with (
        psycopg.connect(migrated_db.url) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute("update public.hotfix_events set kind = 'x' where hotfix_id = %s", (declared.hotfix.id,))


async def test_dev_lifecycle_with_link_sync_and_resolve(fresh_db, tmp_path):
    db = fresh_db
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    clock = Clock()
    service = make_service(db.url, tmp_path / "data", poster, clock=clock, migrations_dir=migrations)

    declared = await service.declare(
        DEV, "dev", "orders index missing", "create index orders_created_idx on orders (created_at);"
    )
    hotfix = declared.hotfix
    assert hotfix.state is HotfixState.DECLARED and hotfix.code.startswith("HF-")
    alert = poster.posts_to("alerts")[0]
    assert hotfix.code in embed_text(alert["embeds"][0]) and "If You Must Hotfix" in embed_text(alert["embeds"][0])
    assert alert["thread_name"].startswith(hotfix.code)
    assert (await service.get(hotfix.code)).alert_thread_id == alert["ref"].thread_id

    with pytest.raises(UserFacingError, match="once its migration is applied"):
        await service.resolve(DEV, hotfix.code, "the index was dropped by mistake")

    (migrations / "20251221000000_orders_index.sql").write_text(
        "create table orders (id int, created_at timestamptz);\n"
        "create index orders_created_idx on orders (created_at);\n"
    )
    linked = await service.link(DEV, hotfix.code, "20251221000000_orders_index.sql")
    assert linked.state is HotfixState.MIGRATION_LINKED and linked.linked_version == "20251221000000"
    assert linked.link_findings["missing"] == []
    assert len(linked.link_findings["not_idempotent"]) == 2  # both CREATEs lack IF NOT EXISTS
    assert "not idempotent" in embed_text(poster.replies[-1]["embeds"][0])

    assert await service.sync_check() == 0  # not applied yet
    assert migration_up(db.url, migrations).returncode == 0
    clock.advance(hours=2)
    assert await service.sync_check() == 1
    assert await service.sync_check() == 0  # announced once
    synced = await service.get(hotfix.code)
    assert synced.state is HotfixState.SYNCED and synced.time_to_sync().total_seconds() == 7200
    assert sum("synced" in (r["embeds"][0].title or "") for r in poster.replies) == 1

    with pytest.raises(UserFacingError, match="only the declarer"):
        await service.resolve(NOBODY, hotfix.code, "the index was dropped by mistake")
    with pytest.raises(UserFacingError, match="review is required"):
        await service.resolve(DEV, hotfix.code, "short")
    resolved = await service.resolve(DEV, hotfix.code, "the index was dropped by mistake")
    assert resolved.state is HotfixState.RESOLVED
    # The original #alerts post was kept current: linked, synced, resolved.
    assert [e["ref"].message_id for e in poster.edits] == [alert["ref"].message_id] * 3
    assert poster.edits[-1]["embeds"][0].title == f"Hotfix {hotfix.code} in dev: resolved"
    with pytest.raises(UserFacingError, match="already resolved"):
        await service.resolve(DEV, hotfix.code, "the index was dropped by mistake")

    _, events = await service.show(hotfix.code)
    assert [e.kind for e in events] == ["declared", "migration_linked", "synced", "resolved"]
    name, markdown = await service.export("markdown")
    assert name.endswith(".md") and hotfix.code in markdown and "2h 0m" in markdown
    _, csv_text = await service.export("csv")
    assert f"{hotfix.code},dev,resolved" in csv_text


async def test_prod_needs_a_lead_who_did_not_declare(migrated_db, tmp_path):
    poster = RecordingPoster()
    service = make_service(migrated_db.url, tmp_path, poster, lead_role_id=9000)
    declared = await service.declare(LEAD, "prod", "payments timeout, kill the lock", "select pg_cancel_backend(1);")
    hotfix = declared.hotfix
    assert hotfix.state is HotfixState.AWAITING_APPROVAL
    alert = poster.posts_to("alerts")[0]
    assert alert["content"].startswith("<@&9000>")
    assert [r.id for r in alert["allowed_mentions"].roles] == [9000] and alert["allowed_mentions"].everyone is False

    with pytest.raises(UserFacingError, match="another DevOps lead"):
        await service.approve(LEAD, hotfix.code)
    with pytest.raises(UserFacingError, match="only a DevOps lead"):
        await service.approve(DEV, hotfix.code)
    with pytest.raises(UserFacingError, match="awaiting a DevOps lead"):
        await service.link(LEAD, hotfix.code, "20251209000000_migration_status_view.sql")
    approved = await service.approve(LEAD2, hotfix.code)
    assert approved.state is HotfixState.APPROVED and approved.approved_by_name == "lou"
    with pytest.raises(UserFacingError, match="not awaiting approval"):
        await service.approve(LEAD2, hotfix.code)

    dev = (await service.declare(DEV, "dev", "dev one", None)).hotfix
    with pytest.raises(UserFacingError, match="need no approval"):
        await service.approve(LEAD2, dev.code)
    with pytest.raises(UserFacingError, match="no hotfix HF-9999"):
        await service.approve(LEAD2, "HF-9999")
    with pytest.raises(UserFacingError, match="not a hotfix code"):
        await service.show("bogus")
    assert {h.code for h in await service.list(environment="prod")} >= {hotfix.code}
    assert dev.code not in {h.code for h in await service.list(environment="prod")}


async def test_auto_link_and_auto_sync_announce_once(fresh_db, tmp_path):
    db = fresh_db
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    service = make_service(db.url, tmp_path / "data", poster, migrations_dir=migrations)
    hotfix = (
        await service.declare(DEV, "dev", "add status column", "alter table public.jobs add column status text;")
    ).hotfix
    (migrations / "20251222000000_jobs_status.sql").write_text(
        f"-- hotfix: {hotfix.code}\n"
        "create table if not exists public.jobs (id int);\n"
        "alter table public.jobs add column if not exists status text;\n"
    )
    assert migration_up(db.url, migrations).returncode == 0

    first = await service.tick()
    second = await service.tick()
    assert (first.linked, first.synced) == (1, 1)
    assert (second.linked, second.synced) == (0, 0)
    final = await service.get(hotfix.code)
    assert final.state is HotfixState.SYNCED and final.linked_file == "20251222000000_jobs_status.sql"
    assert final.link_findings["missing"] == [] and final.link_findings["not_idempotent"] == []
    titles = [r["embeds"][0].title for r in poster.replies]
    assert sum("found automatically" in t for t in titles) == 1
    assert sum("synced" in t for t in titles) == 1


async def test_link_reports_statements_missing_from_the_migration(migrated_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    service = make_service(migrated_db.url, tmp_path / "data", RecordingPoster(), migrations_dir=migrations)
    sql = "create index if not exists a_idx on a (x);\nupdate settings set flag = true where id = 1;"
    hotfix = (await service.declare(DEV, "dev", "two changes", sql)).hotfix
    (migrations / f"20251223000000_hf_{hotfix.code[3:]}_partial.sql").write_text(
        "create index if not exists a_idx on public.a (x);\n"
    )
    assert (await service.tick()).linked == 1
    linked = await service.get(hotfix.code)
    assert linked.link_findings["missing"] == ["update settings set flag = true where id = 1"]
    with pytest.raises(UserFacingError, match="is not a migration"):
        await service.link(DEV, hotfix.code, "../../etc/passwd")


async def test_reminders_are_not_repeated_across_restarts(migrated_db, tmp_path):
    clock = Clock(T0 - timedelta(days=365))  # before every other test's hotfix: only this one comes due
    poster = RecordingPoster()
    first = make_service(migrated_db.url, tmp_path, poster, clock=clock)
    hotfix = (await first.declare(DEV, "dev", "reminder test", None)).hotfix
    clock.advance(hours=4, minutes=1)
    assert await first.send_due_reminders() == 1
    assert await first.send_due_reminders() == 0

    restarted = make_service(migrated_db.url, tmp_path, poster, clock=clock)  # new objects, same database
    assert await restarted.send_due_reminders() == 0
    reminder = [r for r in poster.replies if "reminder" in (r["embeds"][0].title or "")]
    assert len(reminder) == 1 and reminder[0]["content"].startswith(f"<@{DEV.id}>")
    assert [u.id for u in reminder[0]["allowed_mentions"].users] == [int(DEV.id)]

    clock.advance(hours=20)  # 24h+: the lead is reminded too
    racing = [make_service(migrated_db.url, tmp_path, poster, clock=clock) for _ in range(3)]
    results = await asyncio.gather(*(s.send_due_reminders() for s in racing))
    assert sorted(results) == [0, 0, 1]
    lead = [r for r in poster.replies if "reminder" in (r["embeds"][0].title or "")][-1]
    assert lead["content"].startswith("<@&9000>")
    assert count(migrated_db.url, "select count(*) from public.hotfix_reminders where hotfix_id = %s", hotfix.id) == 2


async def test_declarations_while_the_store_is_down_arrive_exactly_once(migrated_db, tmp_path):
    poster = RecordingPoster()
    down = make_service(migrated_db.url, tmp_path, poster, store=PostgresHotfixStore(CLOSED_PORT_URL))
    outcome = await down.declare(DEV, "dev", "made during the outage", "select 1;")
    second = await down.declare(LEAD, "prod", "also during the outage", None)
    assert outcome.journaled and second.journaled and outcome.posted
    assert "code pending" in poster.posts_to("alerts")[0]["embeds"][0].title
    assert await down.replay_journal() == 0  # still down: nothing lost
    assert len(await HotfixJournal(tmp_path).pending()) == 2

    back = make_service(migrated_db.url, tmp_path, poster)
    assert await back.replay_journal() == 2
    assert await back.replay_journal() == 0
    assert (
        count(
            migrated_db.url,
            "select count(*) from public.hotfixes where id = any(%s::uuid[])",
            [outcome.declaration.id, second.declaration.id],
        )
        == 2
    )
    [stored] = [h for h in await back.list(state="awaiting_approval") if h.id == second.declaration.id]
    assert stored.declared_at == second.declaration.declared_at  # the original time, not the replay's
    # Changed on purpose: one post per declaration. The "code pending" post is edited to show the
    # code (it was a second post before); the prod one pinged the lead and carried Approve from the start.
    pending = poster.posts_to("alerts")
    assert len(pending) == 2 and all("code pending" in p["embeds"][0].title for p in pending)
    assert pending[1]["content"].startswith("<@&9000>") and [r.id for r in pending[1]["allowed_mentions"].roles] == [
        9000
    ]
    [approve] = pending[1]["view"].children
    assert approve.custom_id == f"hotfix:approve:{second.declaration.id}"
    shown = {e["ref"].message_id: e["embeds"][0].title for e in poster.edits}
    assert set(shown) == {p["ref"].message_id for p in pending}
    assert all(title.startswith("🚨 Hotfix HF-") for title in shown.values())
    assert not (tmp_path / "hotfix-journal.jsonl").read_text().strip()  # compacted once all done


async def test_crash_between_journal_and_store_replays_once(migrated_db, tmp_path):
    clock = Clock()
    journal = HotfixJournal(tmp_path)
    # The process wrote the journal line, then died before the store write.
    new = rules.declare(DEV, "dev", "crash test", None, now=clock(), reminder_hours=4)
    await journal.record(new)
    # ...and a second one died after the store write, before "done".
    other = rules.declare(DEV, "dev", "crash test two", None, now=clock(), reminder_hours=4)
    await journal.record(other)
    await PostgresHotfixStore(migrated_db.url).declare(other)
    with open(journal.path, "a") as fh:
        fh.write('{"op": "declare", "id": "torn')  # and a torn last line from the crash

    poster = RecordingPoster()
    for _ in range(2):  # two restarts
        await make_service(migrated_db.url, tmp_path, poster, clock=clock).replay_journal()
    assert (
        count(migrated_db.url, "select count(*) from public.hotfixes where id = any(%s::uuid[])", [new.id, other.id])
        == 2
    )
    assert (
        count(
            migrated_db.url,
            "select count(*) from public.hotfix_events where kind = 'declared' and hotfix_id = any(%s::uuid[])",
            [new.id, other.id],
        )
        == 2
    )
    assert len(poster.posts_to("alerts")) == 2  # each announced once


async def test_an_unreadable_environment_does_not_stop_the_other(migrated_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    service = make_service(migrated_db.url, tmp_path / "data", poster, migrations_dir=migrations)
    prod = (await service.declare(LEAD, "prod", "prod side", None)).hotfix
    await service.approve(LEAD2, prod.code)
    dev = (await service.declare(DEV, "dev", "dev side", None)).hotfix
    for hotfix in (prod, dev):  # both linked to a migration every test database has applied
        await service.link(LEAD, hotfix.code, "20251209000000_migration_status_view.sql")
    real_read = service.read_status

    async def prod_unconfigured(env):
        if env == "prod":
            raise UserFacingError("no Supabase settings for prod: set SUPABASE_PROD_URL ...")
        return await real_read(env)

    service.read_status = prod_unconfigured
    report = await service.tick()
    assert report.synced >= 1
    assert (await service.get(dev.code)).state is HotfixState.SYNCED
    assert (await service.get(prod.code)).state is HotfixState.MIGRATION_LINKED


async def test_concurrent_replays_of_one_declaration_store_it_once(migrated_db):
    new = rules.declare(DEV, "dev", "raced replay", None, now=Clock()(), reminder_hours=4)
    stores = [PostgresHotfixStore(migrated_db.url, role="service_role") for _ in range(6)]
    results = await asyncio.gather(*(s.declare(new) for s in stores))
    assert len({h.code for h in results}) == 1
    assert count(migrated_db.url, "select count(*) from public.hotfixes where id = %s", new.id) == 1
    assert count(migrated_db.url, "select count(*) from public.hotfix_events where hotfix_id = %s", new.id) == 1
