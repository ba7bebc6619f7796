"""The PostgREST hotfix store, against PostgREST-shaped answers from the real migrated database."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.hotfix_rest import RestHotfixStore
from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStoreDown
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import HotfixState
from dragonfly_bot.errors import SourceUnavailable
from tests.fakes.helpers import RecordingPoster
from tests.fakes.hotfix_support import DEV, LEAD, LEAD2, Clock, copy_migrations, make_service, migrate
from tests.fakes.postgrest_sql_fake import PostgrestOverPostgres, postgrest_error

URL = "https://abcd.supabase.co"
KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"


def rest_store(client: httpx.AsyncClient, key: str = KEY) -> RestHotfixStore:
    return RestHotfixStore(client, URL, key, backoff=0.001, retries=2)


async def test_prod_lifecycle_over_rest(migrated_db, tmp_path):
    fake = PostgrestOverPostgres(migrated_db.url, KEY)
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="abcd.supabase.co").mock(side_effect=fake)
        async with httpx.AsyncClient() as client:
            service = make_service(migrated_db.url, tmp_path, RecordingPoster(), clock=clock, store=rest_store(client))
            declared = await service.declare(DEV, "prod", "stuck migration lock", "select pg_terminate_backend(42);")
            again = await service.store.declare(declared.declaration)  # a replay: same row, no second code
            assert again.code == declared.hotfix.code
            approved = await service.approve(LEAD2, declared.hotfix.code)
            assert approved.state is HotfixState.APPROVED
            clock.advance(hours=4, minutes=5)
            assert await service.send_due_reminders() == 1
            assert await service.send_due_reminders() == 0
            listed = await service.list(state="approved", environment="prod")
            _, events = await service.show(declared.hotfix.code)

    assert [h.code for h in listed] == [declared.hotfix.code]
    assert [e.kind for e in events] == ["declared", "approved", "reminder"]
    rpc = next(r for r in fake.requests if r.url.path.endswith("/rpc/declare_hotfix"))
    body = json.loads(rpc.content)
    assert body["p_id"] == declared.declaration.id and body["p_environment"] == "prod"
    assert rpc.headers["apikey"] == KEY and rpc.headers["authorization"] == f"Bearer {KEY}"


async def test_wrong_key_is_store_down_so_the_declaration_is_journaled(migrated_db, tmp_path):
    fake = PostgrestOverPostgres(migrated_db.url, KEY)
    with respx.mock as mock:
        mock.route(host="abcd.supabase.co").mock(side_effect=fake)
        async with httpx.AsyncClient() as client:
            service = make_service(migrated_db.url, tmp_path, RecordingPoster(), store=rest_store(client, key="wrong"))
            outcome = await service.declare(DEV, "dev", "made with a rotated key", None)
            with pytest.raises(HotfixStoreDown) as err:
                await service.store.list()
    assert outcome.journaled
    assert "refused the key (HTTP 401)" in err.value.message and "wrong" not in err.value.message


async def test_5xx_is_retried_then_reported_as_down():
    calls = []

    def flaky(request):
        calls.append(request)
        if len(calls) < 3:
            return postgrest_error(503, "PGRST000", "Could not connect with the database", "connection refused")
        return httpx.Response(200, json=[])

    with respx.mock as mock:
        mock.get(f"{URL}/rest/v1/hotfixes").mock(side_effect=flaky)
        async with httpx.AsyncClient() as client:
            assert await rest_store(client).list() == []
            assert len(calls) == 3
            calls.clear()
            mock.get(f"{URL}/rest/v1/hotfixes").mock(
                return_value=postgrest_error(503, "PGRST000", "Could not connect with the database")
            )
            with pytest.raises(HotfixStoreDown, match=r"HTTP 503 .*PGRST000: Could not connect with the database"):
                await rest_store(client).list()


async def test_connection_failure_is_store_down():
    with respx.mock as mock:
        mock.post(f"{URL}/rest/v1/rpc/approve_hotfix").mock(side_effect=httpx.ConnectError("name resolution failed"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(HotfixStoreDown, match="cannot reach"):
                await rest_store(client).approve(
                    "00000000-0000-0000-0000-000000000000", ["awaiting_approval"], LEAD, Clock()()
                )


async def test_postgrest_error_json_is_one_line_with_code_message_details_hint(migrated_db):
    fake = PostgrestOverPostgres(migrated_db.url, KEY)
    with respx.mock as mock:
        mock.route(host="abcd.supabase.co").mock(side_effect=fake)
        async with httpx.AsyncClient() as client:
            store = rest_store(client)
            # The database's own check constraint, relayed by PostgREST as 400 + SQLSTATE.
            bad = rules.declare(DEV, "dev", "x", None, now=Clock()(), reminder_hours=4)
            bad = bad.__class__(**{**bad.__dict__, "environment": "staging"})
            with pytest.raises(SourceUnavailable) as err:
                await store.declare(bad)
    assert not isinstance(err.value, HotfixStoreDown)
    assert 'HTTP 400 (PostgREST 23514: new row for relation "hotfixes" violates check constraint' in err.value.message
    assert "\n" not in err.value.message


async def test_functions_not_deployed_names_the_migration():
    with respx.mock as mock:
        mock.post(f"{URL}/rest/v1/rpc/declare_hotfix").mock(
            return_value=postgrest_error(
                404,
                "PGRST202",
                "Could not find the function public.declare_hotfix(p_id) in the schema cache",
                "Searched for the function public.declare_hotfix with parameter p_id",
                "Perhaps you meant to call ...",
            )
        )
        async with httpx.AsyncClient() as client:
            new = rules.declare(DEV, "dev", "x", None, now=Clock()(), reminder_hours=4)
            with pytest.raises(SourceUnavailable) as err:
                await rest_store(client).declare(new)
    assert not isinstance(err.value, HotfixStoreDown)
    assert "20251210000000_hotfix_incidents.sql" in err.value.message and "PGRST202" in err.value.message
    assert "Perhaps you meant" in err.value.message


async def test_permission_denied_says_use_the_service_role_key():
    with respx.mock as mock:
        mock.get(f"{URL}/rest/v1/hotfixes").mock(
            return_value=postgrest_error(403, "42501", "permission denied for table hotfixes")
        )
        async with httpx.AsyncClient() as client:
            with pytest.raises(SourceUnavailable, match="service-role key") as err:
                await rest_store(client).list()
    assert not isinstance(err.value, HotfixStoreDown)


async def test_malformed_json_is_reported():
    with respx.mock as mock:
        mock.get(f"{URL}/rest/v1/hotfixes").mock(return_value=httpx.Response(200, text="<html>login</html>"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(SourceUnavailable, match="malformed JSON"):
                await rest_store(client).list()


async def test_secret_sql_recheck_settle_and_accept_over_rest(scratch_db, tmp_path):
    migrate(scratch_db)
    migrations = copy_migrations(tmp_path / "migrations")
    fake = PostgrestOverPostgres(scratch_db.url, KEY)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="abcd.supabase.co").mock(side_effect=fake)
        async with httpx.AsyncClient() as client:
            store = rest_store(client)
            service = make_service(
                scratch_db.url, tmp_path / "data", RecordingPoster(), store=store, migrations_dir=migrations
            )
            sql = "alter role app password 'hunter2';\nupdate public.limits set n = 5 where id = 1;"
            hotfix = (await service.declare(DEV, "dev", "limits", sql)).hotfix
            assert "hunter2" not in hotfix.sql_text and await store.declared_sql(hotfix.id) == sql
            path = migrations / "20251231000000_limits.sql"
            path.write_text(
                f"-- hotfix: {hotfix.code}\ncreate table if not exists public.limits (id int, n int);\n"
                "update public.limits set n = 5 where id = 1;\n"
            )
            assert migration_up(scratch_db.url, migrations).returncode == 0
            await service.tick()
            held = await service.get(hotfix.code)
            assert held.state is HotfixState.APPLIED_WITH_DIFFERENCES
            assert held.link_findings["missing"] == ["alter role app password [REDACTED]"]
            path.write_text(path.read_text() + "update public.limits set n = 6 where id = 1;\n")
            await service.tick()  # re-checked: now also undone (set back to other values)
            rechecked = await service.get(hotfix.code)
            assert rechecked.link_findings["undone"] and rechecked.state is HotfixState.APPLIED_WITH_DIFFERENCES
            accepted = await service.accept(LEAD2, hotfix.code, "the role is rotated again by the vault job")
            _, events = await service.show(hotfix.code)
    assert accepted.state is HotfixState.SYNCED
    assert [e.kind for e in events] == [
        "declared",
        "migration_linked",
        "applied_with_differences",
        "rechecked",
        "accepted",
    ]
    called = {r.url.path.rsplit("/", 1)[-1] for r in fake.requests if "/rpc/" in r.url.path}
    assert {"hotfix_declared_sql", "link_hotfix", "settle_hotfix", "recheck_hotfix", "accept_hotfix"} <= called
