"""'Done means the change is in the migration' (issue 13 item 1), on real PostgreSQL with the migrations
applied by the real Supabase CLI: applied_with_differences until the file is fixed, a correction lands or a
DevOps lead accepts; the findings follow the file."""

from __future__ import annotations

import asyncio

import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.core.hotfix import HotfixState
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.hotfix.render_discord import show_embed
from tests.fakes.helpers import RecordingPoster, embed_text
from tests.fakes.hotfix_support import DEV, LEAD, LEAD2, Clock, copy_migrations, make_service, migrate

AWD = HotfixState.APPLIED_WITH_DIFFERENCES


@pytest.fixture
def fresh_db(scratch_db):
    """The CLI refuses versions it has not seen before the applied ones: each test migrates its own database."""
    migrate(scratch_db)
    return scratch_db


def titles(poster: RecordingPoster) -> list[str]:
    return [r["embeds"][0].title or "" for r in poster.replies]


async def test_a_missing_statement_stays_applied_with_differences_until_the_file_is_fixed(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    poster, clock = RecordingPoster(), Clock()
    service = make_service(fresh_db.url, tmp_path / "data", poster, clock=clock, migrations_dir=migrations)
    sql = (
        "alter table public.invoices add column if not exists paid_at timestamptz;\n"
        "create index if not exists invoices_paid_idx on public.invoices (paid_at);"
    )
    hotfix = (await service.declare(DEV, "dev", "invoices need paid_at", sql)).hotfix
    path = migrations / "20251225000000_invoices_paid_at.sql"
    partial = (
        f"-- hotfix: {hotfix.code}\n"
        "create table if not exists public.invoices (id int);\n"
        "alter table public.invoices add column if not exists paid_at timestamptz;\n"
    )
    path.write_text(partial)
    assert migration_up(fresh_db.url, migrations).returncode == 0

    first = await service.tick()
    assert (first.linked, first.synced) == (1, 0)
    held = await service.get(hotfix.code)
    assert held.state is AWD and held.synced_at is None
    assert held.link_findings["missing"] == [
        "create index if not exists invoices_paid_idx on public.invoices (paid_at)"
    ]
    [posted] = [r for r in poster.replies if "applied with differences" in (r["embeds"][0].title or "")]
    assert "invoices_paid_idx" in embed_text(posted["embeds"][0]) and "/hotfix accept" in embed_text(
        posted["embeds"][0]
    )
    assert (await service.tick()).synced == 0  # nothing changed: no second post, still held
    assert sum("applied with differences" in t for t in titles(poster)) == 1
    assert (await service.get(hotfix.code)).state is AWD
    shown = embed_text(show_embed(*(await service.show(hotfix.code)), clock()))
    assert "does not contain 1 statement" in shown and "invoices_paid_idx" in shown

    clock.advance(hours=4, minutes=1)  # the reminders go on while the differences stand
    assert await service.send_due_reminders() == 1
    assert "fix the file" in embed_text(poster.replies[-1]["embeds"][0])
    with pytest.raises(UserFacingError, match="once its migration is applied"):
        await service.resolve(DEV, hotfix.code, "the column was missing in prod")

    # Fixed in place (the applied file changes: the database keeps the old text, the findings follow the file).
    path.write_text(partial + "create index if not exists invoices_paid_idx on public.invoices (paid_at);\n")
    shown_now, _ = await service.show(hotfix.code)  # before the loop runs: /hotfix show checks the file again
    assert shown_now.link_findings["missing"] == [] and shown_now.state is AWD
    assert "every statement declared" in embed_text(show_embed(shown_now, [], clock()))
    assert (await service.tick()).synced == 1
    synced = await service.get(hotfix.code)
    assert synced.state is HotfixState.SYNCED and synced.link_findings["missing"] == []
    assert sum("checked again" in t for t in titles(poster)) == 1
    hotfix_now, events = await service.show(hotfix.code)
    shown = embed_text(show_embed(hotfix_now, events, clock()))
    assert "every statement declared" in shown and "does not contain" not in shown
    assert [e.kind for e in events] == [
        "declared",
        "migration_linked",
        "applied_with_differences",
        "reminder",
        "rechecked",
        "synced",
    ]
    assert (await service.tick()).synced == 0  # announced once
    await service.resolve(DEV, hotfix.code, "the column was missing in prod")


async def test_a_migration_that_undoes_the_hotfix_is_caught_and_only_another_lead_accepts_it(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    service = make_service(fresh_db.url, tmp_path / "data", poster, migrations_dir=migrations)
    # HF-0003 of the issue: Studio set auto_dunning to 'false', the migration sets it back to 'true'.
    sql = "update public.billing_settings set auto_dunning = 'false' where id = 1;"
    hotfix = (await service.declare(LEAD, "dev", "dunning emails went out twice", sql)).hotfix
    (migrations / "20251226000000_billing_settings.sql").write_text(
        f"-- hotfix: {hotfix.code}\n"
        "create table if not exists public.billing_settings (id int primary key, auto_dunning text);\n"
        "insert into public.billing_settings values (1, 'true') on conflict (id) do nothing;\n"
        "update public.billing_settings set auto_dunning = 'true' where id = 1;\n"
    )
    assert migration_up(fresh_db.url, migrations).returncode == 0
    assert (await service.tick()).synced == 0
    held = await service.get(hotfix.code)
    assert held.state is AWD
    [pair] = held.link_findings["different_values"]
    assert "'false'" in pair["declared"] and "'true'" in pair["migration"][0]
    assert not any("synced" in t for t in titles(poster))

    with pytest.raises(UserFacingError, match="only a DevOps lead"):
        await service.accept(DEV, hotfix.code, "the value is set by the app anyway")
    with pytest.raises(UserFacingError, match="another DevOps lead must accept"):
        await service.accept(LEAD, hotfix.code, "the value is set by the app anyway")
    with pytest.raises(UserFacingError, match="reason is required"):
        await service.accept(LEAD2, hotfix.code, "ok")
    accepted = await service.accept(LEAD2, hotfix.code, "the value is set by the app anyway")
    assert accepted.state is HotfixState.SYNCED and accepted.synced_at is not None
    assert "differences accepted by lou" in titles(poster)[-1]
    with pytest.raises(UserFacingError, match="can have them accepted"):
        await service.accept(LEAD2, hotfix.code, "the value is set by the app anyway")
    _, events = await service.show(hotfix.code)
    [event] = [e for e in events if e.kind == "accepted"]
    assert event.actor_name == "lou" and event.detail["reason"] == "the value is set by the app anyway"
    assert event.detail["findings"]["different_values"]
    assert (await service.tick()).synced == 0  # accepted is synced: the loop leaves it alone
    resolved = await service.resolve(LEAD, hotfix.code, "a second dunning run was scheduled by mistake")
    assert resolved.state is HotfixState.RESOLVED


async def test_a_corrected_migration_landing_later_syncs_the_hotfix(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    service = make_service(fresh_db.url, tmp_path / "data", poster, migrations_dir=migrations)
    sql = "update public.flags set enabled = false where name = 'retries';"
    hotfix = (await service.declare(DEV, "dev", "retries storm", sql)).hotfix
    (migrations / "20251227000000_flags.sql").write_text(
        f"-- hotfix: {hotfix.code}\n"
        "create table if not exists public.flags (name text primary key, enabled boolean);\n"
        "update public.flags set enabled = true where name = 'retries';\n"
    )
    assert migration_up(fresh_db.url, migrations).returncode == 0
    await service.tick()
    assert (await service.get(hotfix.code)).state is AWD

    (migrations / "20251227100000_flags_fix.sql").write_text(
        f"-- hotfix: {hotfix.code} (correction)\nupdate public.flags set enabled = false where name = 'retries';\n"
    )
    assert (await service.tick()).synced == 0  # the correction is not applied yet
    rechecked = await service.get(hotfix.code)
    assert rechecked.state is AWD and rechecked.link_findings["different_values"] == []
    assert migration_up(fresh_db.url, migrations).returncode == 0
    assert (await service.tick()).synced == 1
    assert (await service.get(hotfix.code)).state is HotfixState.SYNCED


async def test_a_same_name_index_on_other_columns_is_reported_as_the_no_op_it_is(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    service = make_service(fresh_db.url, tmp_path / "data", RecordingPoster(), migrations_dir=migrations)
    sql = "create index if not exists orders_status_idx on public.orders (status);"
    hotfix = (await service.declare(DEV, "dev", "orders by status", sql)).hotfix
    (migrations / "20251228000000_orders.sql").write_text(
        f"-- hotfix: {hotfix.code}\n"
        "create table if not exists public.orders (id int, status text, region text);\n"
        "create index if not exists orders_status_idx on public.orders (region);\n"
    )
    assert migration_up(fresh_db.url, migrations).returncode == 0
    await service.tick()
    held = await service.get(hotfix.code)
    assert held.state is AWD and held.link_findings["missing"] == []
    [same] = held.link_findings["same_name"]
    assert same["object"] == "index public.orders_status_idx" and same["if_not_exists"] is True
    shown = embed_text(show_embed(held, [], held.declared_at))
    assert "silently does nothing on the hotfixed database" in shown


async def test_two_bots_checking_at_once_settle_and_post_once(fresh_db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    poster = RecordingPoster()
    bots = [make_service(fresh_db.url, tmp_path / f"data{i}", poster, migrations_dir=migrations) for i in range(3)]
    hotfix = (await bots[0].declare(DEV, "dev", "quota", "update public.quotas set n = 1 where id = 1;")).hotfix
    path = migrations / "20251229100000_quotas.sql"
    path.write_text(
        f"-- hotfix: {hotfix.code}\ncreate table if not exists public.quotas (id int, n int);\n"
        "update public.quotas set n = 2 where id = 1;\n"
    )
    assert migration_up(fresh_db.url, migrations).returncode == 0
    await bots[0].auto_link()
    await asyncio.gather(*(b.sync_check() for b in bots))
    assert (await bots[0].get(hotfix.code)).state is AWD
    path.write_text(path.read_text().replace("n = 2", "n = 1"))  # fixed in place, seen by three bots at once
    results = await asyncio.gather(*(b.sync_check() for b in bots))
    results += await asyncio.gather(*(b.sync_check() for b in bots))  # the losers of the re-check settle now
    assert sum(results) == 1 and (await bots[0].get(hotfix.code)).state is HotfixState.SYNCED
    assert sum("applied with differences" in t for t in titles(poster)) == 1
    assert sum("checked again" in t for t in titles(poster)) == 1
    assert sum(t.endswith(" synced") for t in titles(poster)) == 1
    _, events = await bots[0].show(hotfix.code)
    assert [e.kind for e in events].count("rechecked") == 1


async def test_an_accept_whose_post_a_crash_lost_is_told_once_and_another_bots_reminder_lands_in_the_thread(
    fresh_db, tmp_path
):
    migrations = copy_migrations(tmp_path / "migrations")
    poster, clock = RecordingPoster(), Clock()
    service = make_service(fresh_db.url, tmp_path / "data", poster, clock=clock, migrations_dir=migrations)
    sql = "update public.limits set n = 5 where id = 1;"
    hotfix = (await service.declare(DEV, "dev", "limits too low", sql)).hotfix
    (migrations / "20251229200000_limits.sql").write_text(
        f"-- hotfix: {hotfix.code}\ncreate table if not exists public.limits (id int, n int);\n"
        "update public.limits set n = 9 where id = 1;\n"
    )
    assert migration_up(fresh_db.url, migrations).returncode == 0
    await service.tick()
    assert (await service.get(hotfix.code)).state is AWD

    # A second bot (its own outbox) reminds: the reply goes in the thread of the first bot's post.
    other = make_service(fresh_db.url, tmp_path / "other", poster, clock=clock, migrations_dir=migrations)
    clock.advance(hours=4, minutes=1)
    assert await other.send_due_reminders() == 1
    assert len(poster.posts_to("alerts")) == 1
    assert f"{hotfix.code} reminder #1" in titles(poster)[-1] and "fix the file" in embed_text(
        poster.replies[-1]["embeds"][0]
    )

    crashed = make_service(fresh_db.url, tmp_path / "crashed", poster, clock=clock, migrations_dir=migrations)
    crashed.posts.outbox = None  # stored, then killed before anything was queued
    await crashed.accept(LEAD2, hotfix.code, "the app sets the limit at start anyway")
    assert not any("differences accepted" in t for t in titles(poster))
    await service.tick()
    await service.tick()
    assert sum("differences accepted" in t for t in titles(poster)) == 1
    assert len(poster.posts_to("alerts")) == 1
