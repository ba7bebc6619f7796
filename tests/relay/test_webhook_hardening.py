"""The webhook under hostile bodies: streamed signature check, bounded memory, the unchecked-bytes budget, deep JSON.

Served through the bot's own WebServer (dragonfly_bot/chat/web.py) on loopback; every
attack is bounded in size and time.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import tracemalloc

import pytest
from aiohttp import ClientSession, web

from dragonfly_bot.chat.web import WebServer
from dragonfly_bot.chat.web_guard import ConnectionLimits
from dragonfly_bot.relay.webhook import PATH, GitHubWebhook
from dragonfly_bot.relay.webhook_body import UnauthenticatedBytes
from tests.fakes.github_fake import FakeGitHub, signed_headers

SECRET = "hardening-secret-0123456789"
UNSIGNED = {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": "sha256=" + "0" * 64}
MB = 1024 * 1024


def _delivery(run_id: int = 701) -> bytes:
    run = FakeGitHub().run_payload(run_id, 1, conclusion="failure")
    payload = {"action": "completed", "workflow_run": run, "repository": run["repository"], "sender": run["actor"]}
    return json.dumps(payload).encode()


class Served:
    def __init__(self, hook: GitHubWebhook, server: WebServer):
        self.hook = hook
        self.server = server
        self.url = f"http://127.0.0.1:{server.port}{PATH}"


@pytest.fixture
async def served(request):
    options = getattr(request, "param", {})
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", asyncio.Queue(), **options)
    app = web.Application()
    app.router.add_post(PATH, hook.handle)
    server = WebServer(app, ConnectionLimits(header_timeout=5.0, lingering=0.5))
    await server.start("127.0.0.1", 0)
    try:
        yield Served(hook, server)
    finally:
        await server.stop()


async def _signed(session: ClientSession, url: str, body: bytes, delivery: str) -> int:
    async with session.post(url, data=body, headers=signed_headers(SECRET, body, "workflow_run", delivery)) as resp:
        return resp.status


async def _same_chunk(size: int, chunk: bytes, pause: float = 0.0):
    # One bytes object sent over and over: the client allocates nothing per chunk.
    for _ in range(size // len(chunk)):
        yield chunk
        if pause:
            await asyncio.sleep(pause)


@pytest.mark.parametrize("served", [{"memory_bytes": 256 * 1024}], indirect=True)
@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
async def test_a_large_unsigned_body_is_hashed_as_it_arrives_and_never_held_in_memory(served, announced):
    size = 20 * MB
    chunk = b"a" * (256 * 1024)
    headers = dict(UNSIGNED, **({"Content-Length": str(size)} if announced else {}))
    gc.collect()
    tracemalloc.start()
    try:
        async with (
            ClientSession() as session,
            session.post(served.url, data=_same_chunk(size, chunk), headers=headers) as resp,
        ):
            status = resp.status
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 401
    # The whole body went through this process; what was held at any time is a few chunks,
    # the in-memory bound, and aiohttp's buffers, not the 20 MB.
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB traced for a {size // MB} MB body"
    assert served.hook.budget.in_flight == 0 and served.hook.budget.peak <= size


@pytest.mark.parametrize("served", [{"memory_bytes": 64 * 1024, "max_body": 64 * 1024}], indirect=True)
async def test_with_no_room_to_spool_a_body_over_the_memory_bound_is_413_before_its_end(served):
    async with (
        ClientSession() as session,
        session.post(served.url, data=_same_chunk(8 * MB, b"b" * 65536), headers=UNSIGNED) as resp,
    ):
        assert resp.status == 413
    assert served.hook.stats.rejected == 1 and served.hook.budget.in_flight == 0


@pytest.mark.parametrize("served", [{"memory_bytes": 64 * 1024}], indirect=True)
async def test_a_valid_body_over_the_memory_bound_is_spooled_and_accepted(served):
    body = _delivery()
    padded = body[:-1] + b', "padding": "' + b"p" * (3 * MB) + b'"}'
    async with ClientSession() as session:
        assert await _signed(session, served.url, padded, "big-1") == 202
    served.hook.read_unread()
    assert served.hook.queue.get_nowait().run_id == 701
    assert served.hook.budget.in_flight == 0


@pytest.mark.parametrize(
    "served", [{"budget": UnauthenticatedBytes(4 * MB), "memory_bytes": 256 * 1024}], indirect=True
)
async def test_past_the_unchecked_bytes_budget_the_answer_is_503_and_valid_deliveries_still_pass(served):
    budget = served.hook.budget
    release = asyncio.Event()

    async def held_open(total: int):
        yield b"c" * (MB // 2)
        await release.wait()  # the rest never comes until the test says so
        for _ in range(total // (MB // 2) - 1):
            yield b"c" * (MB // 2)

    async with ClientSession() as session:
        # Holds 3 MB of the 4 MB budget (announced by Content-Length) while it stalls.
        slow = asyncio.create_task(
            session.post(served.url, data=held_open(3 * MB), headers=dict(UNSIGNED, **{"Content-Length": str(3 * MB)}))
        )
        for _ in range(200):
            if budget.in_flight:
                break
            await asyncio.sleep(0.01)
        assert budget.in_flight == 3 * MB
        # Announced 2 MB: over the budget, refused at once, without reading it.
        async with session.post(
            served.url, data=b"d" * (2 * MB), headers=dict(UNSIGNED, **{"Content-Length": str(2 * MB)})
        ) as resp:
            assert resp.status == 503 and "unauthenticated" in (await resp.json())["error"]
        # Chunked, no length: refused once it passes what is left.
        async with session.post(served.url, data=_same_chunk(2 * MB, b"e" * 65536), headers=UNSIGNED) as resp:
            assert resp.status == 503
        # A GitHub-sized signed delivery still gets through.
        assert await _signed(session, served.url, _delivery(702), "during") == 202
        release.set()
        async with await slow as resp:
            assert resp.status == 401
    assert budget.in_flight == 0 and budget.large_in_flight == 0
    served.hook.read_unread()
    assert served.hook.stats.busy == 2 and served.hook.queue.get_nowait().run_id == 702


async def test_json_nested_past_the_limit_is_accepted_then_dropped_without_a_traceback(served, caplog):
    # Signed, so GitHub's (or the secret holder's): answered like any signed body, and refused when
    # read, before json.loads would recurse into it (dragonfly_bot/relay/webhook_payload.py).
    caplog.set_level(logging.DEBUG)
    async with ClientSession() as session:
        for deep in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 70_000 + b"1" + b"}" * 70_000):
            headers = signed_headers(SECRET, deep, "workflow_run", os.urandom(6).hex())
            async with session.post(served.url, data=deep, headers=headers) as resp:
                assert resp.status == 202
        # 64 levels is fine (and brackets inside strings do not count).
        shallow = json.dumps({"zen": "[[[[" * 100, "n": json.loads("[" * 63 + "]" * 63)}).encode()
        headers = signed_headers(SECRET, shallow, "ping", "p-1")
        async with session.post(served.url, data=shallow, headers=headers) as resp:
            assert resp.status == 200
    served.hook.read_unread()
    dropped = [r.getMessage() for r in caplog.records if r.name == "dragonfly_bot.relay.webhook"]
    assert len(dropped) == 2 and all("nests deeper than 64" in line for line in dropped)
    assert served.hook.stats.rejected == 2 and served.hook.queue.empty()
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_webhook_itself_refuses_a_weak_secret():
    for secret in ("", " " * 32, "short"):
        with pytest.raises(ValueError, match="webhook secret"):
            GitHubWebhook(secret, "supabase-migrate.yml", asyncio.Queue())
