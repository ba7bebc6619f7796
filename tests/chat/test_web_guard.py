"""The web server under slowloris: bounded count and time, loopback only.

20 idle and 60 trickling connections from 127.0.0.1 against a server capped
at 50 per address: the 30 over the cap are reset at once, the others are
closed when the header timeout runs out (while still trickling), and
meanwhile ``/healthz`` and a valid webhook from 127.0.0.2 are answered at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from aiohttp import ClientSession, TCPConnector

from dragonfly_bot.chat.web import WebServer, create_web_app
from dragonfly_bot.chat.web_guard import ACTIVITY_KEY, ConnectionGuard, ConnectionLimits
from dragonfly_bot.relay.webhook import PATH, GitHubWebhook
from tests.chat.test_web import FakeBot
from tests.fakes.github_fake import FakeGitHub, signed_headers

SECRET = "slowloris-secret-0123456789"
HEADER_TIMEOUT = 1.5
LIMITS = ConnectionLimits(header_timeout=HEADER_TIMEOUT, per_ip=50, total=150, lingering=0.5)
IDLE, TRICKLING = 20, 60
ATTACKER, VISITOR = "127.0.0.1", "127.0.0.2"


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _held(port: int, trickle: bool, stop_at: float) -> tuple[str, float]:
    """One attacking connection: how it ended ("reset" or "closed") and after how long."""
    opened = time.monotonic()
    reader, writer = await asyncio.open_connection(ATTACKER, port)
    try:
        if trickle:
            writer.write(f"POST {PATH} HTTP/1.1\r\nHost: x\r\n".encode())
        while time.monotonic() < stop_at:
            try:
                if trickle:
                    writer.write(b"X-Slow: 1\r\n")  # never the blank line that ends the headers
                    await writer.drain()
                if await asyncio.wait_for(reader.read(1024), 0.25) == b"":
                    return "closed", time.monotonic() - opened
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return "reset", time.monotonic() - opened
        return "still open", time.monotonic() - opened
    finally:
        writer.close()


@pytest.fixture
async def server():
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", asyncio.Queue())
    app = create_web_app(FakeBot())
    app.router.add_post(PATH, hook.handle)
    web_server = WebServer(app, LIMITS)
    await web_server.start(ATTACKER, 0)
    try:
        yield web_server, hook
    finally:
        await web_server.stop()


async def test_slowloris_is_cut_off_and_healthz_and_webhooks_still_answer(server):
    web_server, hook = server
    port = web_server.port
    guard = web_server.runner.guard
    captured = _Captured()
    logging.getLogger().addHandler(captured)
    try:
        async with asyncio.timeout(20):
            stop_at = time.monotonic() + HEADER_TIMEOUT + 4
            idle = [asyncio.create_task(_held(port, False, stop_at)) for _ in range(IDLE)]
            await asyncio.sleep(0.2)  # the idle ones are in first
            trickling = [asyncio.create_task(_held(port, True, stop_at)) for _ in range(TRICKLING)]
            await asyncio.sleep(0.5)
            assert guard.by_ip[ATTACKER] == LIMITS.per_ip and guard.refused == IDLE + TRICKLING - LIMITS.per_ip

            # Another address is served at once, meanwhile.
            run = FakeGitHub().run_payload(901, 1, conclusion="failure")
            body = json.dumps({"action": "completed", "workflow_run": run, "repository": run["repository"]}).encode()
            connector = TCPConnector(local_addr=(VISITOR, 0), force_close=True)
            async with ClientSession(connector=connector) as visitor:
                began = time.monotonic()
                async with visitor.get(f"http://{ATTACKER}:{port}/healthz") as resp:
                    assert resp.status == 200 and (await resp.json())["status"] == "alive"
                headers = signed_headers(SECRET, body, "workflow_run", "during-slowloris")
                async with visitor.post(f"http://{ATTACKER}:{port}{PATH}", data=body, headers=headers) as resp:
                    assert resp.status == 202
                assert time.monotonic() - began < 1.0
            # The attacker's own address is at its cap: a new connection is reset.
            assert (await _held(port, False, time.monotonic() + 1))[0] == "reset"

            ends = await asyncio.gather(*idle, *trickling)
    finally:
        logging.getLogger().removeHandler(captured)
    reset = [seconds for how, seconds in ends if how == "reset"]
    closed = [seconds for how, seconds in ends if how == "closed"]
    assert len(reset) == IDLE + TRICKLING - LIMITS.per_ip and max(reset) < 1.0
    # The admitted ones, idle or trickling, are closed by the header timeout, not by us.
    assert len(closed) == LIMITS.per_ip
    assert min(closed) >= HEADER_TIMEOUT - 0.5 and max(closed) < HEADER_TIMEOUT + 1.5
    assert hook.queue.get_nowait().run_id == 901
    for _ in range(50):
        if guard.open == 0:
            break
        await asyncio.sleep(0.02)
    assert guard.open == 0 and not guard.by_ip
    # 81 refused or cut-off connections: one summary line, no per-connection noise, no traceback.
    assert sum(len(r.getMessage()) for r in captured.records) < 2000, [r.getMessage() for r in captured.records]
    assert not [r for r in captured.records if r.exc_info]
    assert len([r for r in captured.records if r.name == "dragonfly_bot.chat.web_guard"]) == 1


def test_the_refusal_summary_is_logged_once_a_minute(caplog):
    now = [0.0]
    guard = ConnectionGuard(ConnectionLimits(per_ip=1, total=10), clock=lambda: now[0])
    assert guard.admit("203.0.113.9")
    with caplog.at_level(logging.WARNING, "dragonfly_bot.chat.web_guard"):
        for _ in range(1000):
            assert not guard.admit("203.0.113.9")
        now[0] = 61.0
        assert not guard.admit("203.0.113.9")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "1000 connection(s)" in lines[1] and guard.refused == 1001
    guard.leave("203.0.113.9")
    assert guard.admit("203.0.113.9") and guard.admit("198.51.100.1")


async def test_the_servers_connections_touch_the_apps_activity():
    # What the webhook waits on before reading what it accepted (dragonfly_bot/relay/webhook.py).
    app = create_web_app(FakeBot())
    activity = app[ACTIVITY_KEY]
    web_server = WebServer(app, LIMITS)
    await web_server.start(VISITOR, 0)
    try:
        assert web_server.runner.guard.activity is activity and activity.last == float("-inf")
        async with ClientSession() as session, session.get(f"http://{VISITOR}:{web_server.port}/healthz") as resp:
            assert resp.status == 200
        assert activity.last > float("-inf")
    finally:
        await web_server.stop()
