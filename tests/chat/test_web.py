"""/healthz and /readyz with aiohttp's test client; the readiness probe against real sources."""

from __future__ import annotations

import time

import httpx
import respx
from aiohttp.test_utils import TestClient, TestServer

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.readiness import probe_source
from dragonfly_bot.chat.web import READINESS_KEY, Readiness, create_web_app
from dragonfly_bot.settings import Settings
from tests.conftest import REPO_MIGRATIONS


class FakeBot:
    def __init__(self, state: str = "connected", problem: str | None = None):
        self.gateway_state = state
        self.started_at = time.monotonic() - 12
        self.latency = 0.042
        self.problem = problem
        self.probes = 0

    def is_ready(self) -> bool:
        return self.gateway_state == "connected"

    async def probe_status_source(self) -> str | None:
        self.probes += 1
        return self.problem


async def _get(app, path: str) -> tuple[int, dict]:
    async with TestClient(TestServer(app)) as client:
        resp = await client.get(path)
        return resp.status, await resp.json()


async def test_healthz_is_alive_whatever_the_gateway_says():
    status, body = await _get(create_web_app(FakeBot("reconnecting")), "/healthz")
    assert status == 200
    assert body["status"] == "alive" and body["gateway"] == "reconnecting" and body["latency_ms"] == 42
    assert body["uptime_seconds"] >= 12


async def test_readyz_needs_the_gateway_and_the_source():
    bot = FakeBot("connecting")
    status, body = await _get(create_web_app(bot), "/readyz")
    assert (status, body) == (503, {"ready": False, "reason": "Discord gateway is connecting"})
    assert bot.probes == 0
    bot = FakeBot("connected", problem="https://x.supabase.co/rest/v1/v_migration_status answered HTTP 401")
    status, body = await _get(create_web_app(bot), "/readyz")
    assert status == 503 and "HTTP 401" in body["reason"]
    status, body = await _get(create_web_app(FakeBot("connected")), "/readyz")
    assert (status, body) == (200, {"ready": True})


async def test_readyz_connected_but_not_ready_says_so():
    # Connected to the gateway, READY not received yet: "the gateway is connected" is no reason.
    bot = FakeBot("connected")
    bot.is_ready = lambda: False
    status, body = await _get(create_web_app(bot), "/readyz")
    assert (status, body) == (503, {"ready": False, "reason": "Discord gateway is connected but not ready yet"})


async def test_readyz_is_cached_for_a_few_seconds():
    bot = FakeBot("connected")
    now = [100.0]
    app = create_web_app(bot)
    app[READINESS_KEY] = Readiness(bot, ttl=5, clock=lambda: now[0])
    async with TestClient(TestServer(app)) as client:
        for _ in range(3):
            assert (await client.get("/readyz")).status == 200
        assert bot.probes == 1
        bot.problem = "down"
        now[0] += 6
        resp = await client.get("/readyz")
        assert resp.status == 503 and (await resp.json())["reason"] == "down"
        assert bot.probes == 2


async def test_a_crashing_probe_is_a_503_not_a_500():
    bot = FakeBot("connected")

    async def boom():
        raise RuntimeError("secret-ish detail")

    bot.probe_status_source = boom
    status, body = await _get(create_web_app(bot), "/readyz")
    assert status == 503 and body["reason"] == "status source check failed (RuntimeError)"


async def test_probe_against_postgres(scratch_databases):
    settings = Settings(_env_file=None)
    migrated, empty = scratch_databases(), scratch_databases()
    assert migration_up(migrated.url, REPO_MIGRATIONS).returncode == 0
    assert await probe_source(settings, "dev", db_url=migrated.url) is None
    problem = await probe_source(settings, "dev", db_url=empty.url)
    assert problem is not None and "UndefinedTable" in problem
    assert "no status source configured for dev" in await probe_source(settings, "dev")


@respx.mock
async def test_probe_over_rest_asks_for_one_row():
    settings = Settings(_env_file=None, supabase_dev_url="https://dev.supabase.co", supabase_dev_service_role_key="k")
    route = respx.get("https://dev.supabase.co/rest/v1/v_migration_status").mock(
        side_effect=[httpx.Response(200, json=[{"version": "1"}]), httpx.Response(401, json={})]
    )
    async with httpx.AsyncClient() as client:
        assert await probe_source(settings, "dev", client=client) is None
        assert "HTTP 401" in await probe_source(settings, "dev", client=client)
    assert route.calls[0].request.url.params["limit"] == "1"
    assert route.calls[0].request.headers["apikey"] == "k"
