"""One contract, three outbox stores: SQLite, the database directly, the database over PostgREST.

The database runs the real migration (applied by the real Supabase CLI), and
the adapters act as service_role, as the bot does; anon and authenticated
(with JWT claims set, as PostgREST does) can read and call nothing.
"""

from __future__ import annotations

import asyncio

import httpx
import psycopg
import pytest
import respx

from dragonfly_bot.adapters.state.files import StateProblems
from dragonfly_bot.adapters.state.outbox import SqliteOutbox
from dragonfly_bot.adapters.state.outbox_db import PostgresOutbox, RestOutbox
from dragonfly_bot.chat.channels import PostRef
from dragonfly_bot.chat.outbox_message import post
from dragonfly_bot.chat.outbox_sender import Outbox
from tests.fakes.helpers import RecordingPoster
from tests.fakes.postgrest_sql_fake import PostgrestOverPostgres

PROJECT = "https://outbox-test.supabase.co"
KEY = "service-role-key-for-the-outbox-tests"
STORES = ["sqlite", "postgres", "rest"]


@pytest.fixture(params=STORES)
async def store(request, tmp_path):
    kind = request.param
    if kind == "sqlite":
        s = SqliteOutbox(tmp_path / "outbox.sqlite3", problems=StateProblems())
        yield s
        s.close()
        return
    db = request.getfixturevalue("migrated_db")
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute("truncate dragonfly_private.outbox")  # the module shares one database
    if kind == "postgres":
        yield PostgresOutbox(db.url, role="service_role")
        return
    with respx.mock(assert_all_called=False) as mock:
        mock.route(url__startswith=PROJECT).mock(side_effect=PostgrestOverPostgres(db.url, KEY))
        async with httpx.AsyncClient() as client:
            yield RestOutbox(client, PROJECT, KEY, retries=0)


MESSAGE = post(content="hello", mention_users=[7])


async def test_enqueue_is_idempotent_and_keeps_the_message_as_data(store):
    assert await store.enqueue("k", "alerts", MESSAGE, tag="t") is True
    assert await store.enqueue("k", "alerts", post(content="other")) is False
    row = await store.get("k")
    assert row.message == MESSAGE and row.state == "pending" and row.ref is None and row.tag == "t"
    assert await store.get("missing") is None
    assert await store.pending_count() == 1


async def test_claims_are_leases_and_sent_rows_carry_their_message_id(store):
    await store.enqueue("a", "alerts", MESSAGE)
    await store.enqueue("b", "alerts", MESSAGE)
    first = await store.claim(lease_seconds=3)
    assert [r.key for r in first] == ["a", "b"]
    assert await store.claim(lease_seconds=3) == []
    await asyncio.sleep(3.5)  # the holder died
    again = await store.claim(lease_seconds=30)
    assert [r.key for r in again] == ["a", "b"]
    assert await store.mark_attempted("a", first[0].lease_token) is False  # lost its lease
    assert await store.mark_attempted("a", again[0].lease_token) is True
    await store.mark_sent("a", PostRef("alerts", 11, 22, 33))
    row = await store.get("a")
    assert row.state == "sent" and row.ref == PostRef("alerts", 11, 22, 33) and row.attempts == 1
    assert row.attempted_at is not None
    assert await store.pending_count() == 1


async def test_failures_retry_later_or_for_good(store):
    await store.enqueue("a", "alerts", MESSAGE)
    await store.enqueue("b", "alerts", MESSAGE)
    a, b = await store.claim(lease_seconds=30)
    await store.mark_failed("a", a.lease_token, "Discord answered 503", retry_in=3)
    await store.mark_failed("b", b.lease_token, "Discord answered 400", retry_in=None)
    assert (await store.get("b")).state == "dead" and "400" in (await store.get("b")).last_error
    assert await store.claim(lease_seconds=30) == []
    await asyncio.sleep(3.5)
    assert [r.key for r in await store.claim(lease_seconds=30)] == ["a"]


async def test_edits_wait_for_their_target_and_for_earlier_edits(store):
    await store.enqueue("post", "alerts", MESSAGE)
    await store.enqueue("edit-1", "alerts", post(content="1"), edit_of="post")
    await store.enqueue("edit-2", "alerts", post(content="2"), edit_of="post")
    await store.enqueue("reply", "alerts", post(content="r"), reply_to="post")
    [claimed] = await store.claim(lease_seconds=30)
    assert claimed.key == "post"
    await store.mark_sent("post", PostRef("alerts", 1, 2))
    assert [r.key for r in await store.claim(lease_seconds=30)] == ["edit-1", "reply"]
    with pytest.raises(ValueError):
        await store.enqueue("both", "alerts", MESSAGE, edit_of="post", reply_to="post")


async def test_held_rows_fold_once_into_one_summary_and_the_rate_limit_counts_rows(store):
    import time

    for n in range(3):
        await store.enqueue(f"h{n}", "alerts", MESSAGE, tag="ci", held=True)
    await store.enqueue("sent-one", "alerts", MESSAGE, tag="ci")
    assert await store.claim(lease_seconds=30) != []  # only sent-one
    assert [r.key for r in await store.held("ci")] == ["h0", "h1", "h2"]
    assert await store.count_since("ci", time.time() - 60) == 1
    folded = await store.fold("ci", "summary", "alerts", lambda rows: post(content=f"{len(rows)} more"))
    assert [r.key for r in folded] == ["h0", "h1", "h2"]
    assert await store.fold("ci", "summary-2", "alerts", lambda rows: post(content="x")) == []
    assert (await store.get("summary")).message == post(content="3 more")
    assert await store.get("summary-2") is None and (await store.get("h0")).state == "folded"


async def test_a_limited_fold_takes_the_oldest_held_rows_and_leaves_the_rest_held(store):
    for n in range(5):
        await store.enqueue(f"h{n}", "alerts", MESSAGE, tag="ci", held=True)
    folded = await store.fold("ci", "summary-a", "alerts", lambda rows: post(content=f"{len(rows)}"), limit=2)
    assert [r.key for r in folded] == ["h0", "h1"]
    assert [r.key for r in await store.held("ci")] == ["h2", "h3", "h4"]
    assert (await store.get("summary-a")).message == post(content="2")


async def test_the_sender_delivers_through_each_store(store):
    poster = RecordingPoster()
    outbox = Outbox(store, poster)
    await outbox.enqueue("a", "alerts", MESSAGE)
    await outbox.enqueue("a-edit", "alerts", post(content="edited"), edit_of="a")
    await outbox.drain()
    [sent] = poster.sent
    assert sent["content"] == "hello" and [u.id for u in sent["allowed_mentions"].users] == [7]
    assert poster.edits[0]["ref"] == sent["ref"] == await outbox.ref("a-edit")


def test_app_users_can_read_and_call_nothing_of_the_outbox(migrated_db):
    with psycopg.connect(migrated_db.url, autocommit=True) as conn:
        conn.execute("select public.outbox_enqueue('secret-row', 'alerts', '{\"content\": \"sk_live_x\"}')")
        for role in ("anon", "authenticated"):
            conn.execute(f"set role {role}")
            conn.execute("select set_config('request.jwt.claims', %s, false)", (f'{{"role": "{role}"}}',))
            for query in (
                "select * from dragonfly_private.outbox",
                "select public.outbox_pending_count()",
                "select * from public.outbox_rows(array['secret-row'])",
                "select public.outbox_enqueue('x', 'alerts', '{}')",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(query)
            conn.execute("reset role")
        conn.execute("set role service_role")
        assert conn.execute("select public.outbox_pending_count()").fetchone()[0] >= 1
        conn.execute("reset role")
        functions = conn.execute(
            "select p.proname, p.prosecdef, p.proconfig from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'public' and p.proname like 'outbox\\_%'"
        ).fetchall()
    assert len(functions) == 10
    assert all(not secdef and config == ['search_path=""'] for _, secdef, config in functions)


async def test_outbox_store_setting_picks_the_store(tmp_path):
    from dragonfly_bot.adapters.state.outbox import make_outbox_store
    from dragonfly_bot.errors import UserFacingError
    from dragonfly_bot.settings import Settings

    def settings(**values):
        return Settings(_env_file=None, data_dir=tmp_path, **values)

    local = make_outbox_store(settings())
    assert isinstance(local, SqliteOutbox)
    local.close()
    async with httpx.AsyncClient() as client:
        rest = make_outbox_store(
            settings(outbox_store="database", supabase_dev_url=PROJECT, supabase_dev_service_role_key=KEY),
            client=client,
        )
        assert isinstance(rest, RestOutbox) and rest.description == f"{PROJECT}/rest/v1"
    direct = make_outbox_store(settings(outbox_store="database", supabase_dev_db_url="postgresql://u:pw@h/db"))
    assert isinstance(direct, PostgresOutbox) and "pw" not in direct.description
    with pytest.raises(UserFacingError) as missing:
        make_outbox_store(settings(outbox_store="database", supabase_mode="prod"))
    assert "SUPABASE_PROD_URL" in missing.value.message and "\n" not in missing.value.message
