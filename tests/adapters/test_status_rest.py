"""The PostgREST adapter at the HTTP boundary (respx), PostgREST's behaviour reproduced."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest
import respx
from psycopg.rows import dict_row

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.base import ROW_COLUMNS
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.adapters.supabase.rest import RestStatusSource
from dragonfly_bot.core.sql import statements_digest
from dragonfly_bot.errors import SourceUnavailable
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.postgrest_fake import FakePostgrest, error

URL = "https://abcdefgh.supabase.co"
ENDPOINT = f"{URL}/rest/v1/v_migration_status"
KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLW5vdC1yZWFs"


def make_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        stmts = [f"select {i}"]
        rows.append(
            {
                "source": "supabase",
                "version": f"{20200101000000 + i}",
                "name": f"m{i}",
                "status": "applied",
                "executed_at": "2025-12-09T14:30:00+00:00",
                "applied_by": "ci",
                "statement_count": 1,
                "statements_digest": statements_digest(stmts),
                "statements": stmts,
                "error_sqlstate": None,
                "error_message": None,
                "error_statement": None,
                "ci_run_url": None,
                "commit_sha": None,
            }
        )
    return rows


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


def source(client, **kw) -> RestStatusSource:
    return RestStatusSource(client, URL, KEY, backoff=0.001, **kw)


@respx.mock
async def test_pages_until_content_range_says_all_rows_are_read(client):
    fake = FakePostgrest(make_rows(5000), KEY, max_rows=1000)
    respx.get(ENDPOINT).mock(side_effect=fake)
    rows = await source(client, page_size=5000).fetch_rows()  # asks for more than max-rows allows
    assert [r.version for r in rows] == [f"{20200101000000 + i}" for i in range(5000)]
    assert len(fake.requests) == 5
    first = fake.requests[0]
    assert first.headers["range"] == "0-4999" and first.headers["range-unit"] == "items"
    assert first.headers["apikey"] == KEY and first.headers["authorization"] == f"Bearer {KEY}"
    assert "statements" not in first.url.params["select"].split(",")


@respx.mock
async def test_small_pages_and_exact_multiple(client):
    fake = FakePostgrest(make_rows(300), KEY, max_rows=1000)
    respx.get(ENDPOINT).mock(side_effect=fake)
    rows = await source(client, page_size=100).fetch_rows()
    assert len(rows) == 300 and len(fake.requests) == 3


@respx.mock
async def test_without_a_total_it_reads_until_past_the_end(client):
    class NoCount(FakePostgrest):
        def __call__(self, request):
            response = super().__call__(request)
            if "Content-Range" in response.headers:
                response.headers["Content-Range"] = response.headers["Content-Range"].split("/")[0] + "/*"
            return response

    fake = NoCount(make_rows(2500), KEY, max_rows=1000)
    respx.get(ENDPOINT).mock(side_effect=fake)
    rows = await source(client).fetch_rows()
    assert len(rows) == 2500


@respx.mock
async def test_statements_are_fetched_only_for_asked_versions_in_batches(client):
    fake = FakePostgrest(make_rows(250), KEY)
    respx.get(ENDPOINT).mock(side_effect=fake)
    wanted = [f"{20200101000000 + i}" for i in range(0, 250, 2)]
    found = await source(client).fetch_statements(wanted)
    assert set(found) == set(wanted) and found[wanted[1]] == ["select 2"]
    assert len(fake.requests) == 2  # 125 versions, 100 per in.() filter


@respx.mock
async def test_retries_5xx_and_429_then_succeeds(client):
    fake = FakePostgrest(make_rows(3), KEY)
    route = respx.get(ENDPOINT)
    route.side_effect = [
        httpx.Response(503, json={"message": "upstream"}),
        httpx.Response(429, headers={"Retry-After": "0"}, json={}),
        httpx.ConnectError("reset"),
        fake,
    ]
    rows = await source(client).fetch_rows()
    assert len(rows) == 3 and route.call_count == 4


@pytest.mark.parametrize(
    "response, expected",
    [
        # Kong's answer has no code: say what it said, without an empty "PostgREST :" label.
        (
            httpx.Response(401, json={"message": "Invalid API key", "hint": "Double check"}),
            "refused the key (HTTP 401) (Invalid API key);",
        ),
        (error(401, "PGRST301", "JWSError JWSInvalidSignature"), "(PostgREST PGRST301: JWSError"),
        (error(401, "PGRST301", "JWSError JWSInvalidSignature"), "refused the key"),
        (
            error(
                404,
                "PGRST205",
                "Could not find the table 'public.v_migration_status' in the schema cache",
                hint="Perhaps you meant the table 'public.migration_runs'",
            ),
            "20251209000000_migration_status_view.sql",
        ),
        (error(403, "42501", "permission denied for view v_migration_status"), "permission denied"),
        (httpx.Response(200, content=b"<html>login</html>"), "malformed JSON"),
        (httpx.Response(200, json={"not": "a list"}), "not a list"),
        (error(500, "XX000", "boom"), "HTTP 500"),
    ],
)
@respx.mock
async def test_errors_become_one_clear_line_without_the_key(client, response, expected):
    respx.get(ENDPOINT).mock(return_value=response)
    with pytest.raises(SourceUnavailable) as exc:
        await source(client, retries=1).fetch_rows()
    assert expected in exc.value.message
    assert KEY not in exc.value.message and "\n" not in exc.value.message


@respx.mock
async def test_dns_failure_mentions_the_pooler_hint(client):
    respx.get(ENDPOINT).mock(side_effect=httpx.ConnectError("[Errno -2] Name or service not known"))
    with pytest.raises(SourceUnavailable, match="pooler"):
        await source(client, retries=1).fetch_rows()


@respx.mock
async def test_rest_and_postgres_sources_agree_on_the_real_view(client, scratch_db):
    """The SQL runs on the real PostgreSQL; PostgREST's JSON encoding of it is reproduced."""
    assert migration_up(scratch_db.url, REPO_MIGRATIONS).returncode == 0
    with psycopg.connect(scratch_db.url) as conn:
        conn.execute(
            "insert into public.migration_runs (environment, status, version, file_name, sqlstate, error_message)"
            " values ('dev', 'failed', '20990101000000', '20990101000000_x.sql', '42601', 'syntax error')"
        )
        conn.execute(
            "insert into public.dragonfly_migrations (version, name, applied_at) values ('0007', 'old', now())"
        )
        with conn.cursor(row_factory=dict_row) as cur:
            view_rows = cur.execute("select * from public.v_migration_status").fetchall()
    assert set(ROW_COLUMNS) <= set(view_rows[0])
    as_json = json.loads(json.dumps(view_rows, default=lambda v: v.isoformat()))
    respx.get(ENDPOINT).mock(side_effect=FakePostgrest(as_json, KEY, max_rows=2))
    over_rest = await source(client, page_size=2).fetch_rows()
    respx.stop()
    direct = await PostgresStatusSource(scratch_db.url).fetch_rows()
    assert over_rest == direct
    assert {(r.source, r.status) for r in direct} == {
        ("supabase", "applied"),
        ("supabase", "failed"),
        ("legacy", "applied"),
    }
