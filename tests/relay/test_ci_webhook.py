"""POST /github/webhook: signatures, sizes, bad input, pings, redeliveries, GitHub's own example payloads."""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from dragonfly_bot.core.activity import Activity
from dragonfly_bot.core.ci_runs import RunInfo
from dragonfly_bot.relay.webhook import MAX_BODY_BYTES, PATH, READ_BACKLOG, READ_DELAY_MAX, GitHubWebhook
from tests.fakes.github_fake import FakeGitHub, signed_headers

SECRET = "It's a Secret to Everybody"
# Well-formed but wrong: the body is read (and hashed) before it is refused.
UNSIGNED = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
EXAMPLES = PROJECT_ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"


def _examples(*names: str) -> list[tuple[str, dict]]:
    data = json.loads(EXAMPLES.read_text())
    found = [(e["name"], ex) for e in data if e["name"] in names for ex in e["examples"]]
    assert found, f"no examples for {names}"
    return found


async def _client(workflow: str = "supabase-migrate.yml", **kwargs) -> tuple[TestClient, GitHubWebhook]:
    queue: asyncio.Queue = asyncio.Queue(maxsize=kwargs.pop("queue_size", 0))
    hook = GitHubWebhook(SECRET, workflow, queue, **kwargs)
    app = web.Application()
    app.router.add_post(PATH, hook.handle)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client, hook


def _failed_run_payload(run_id: int = 501, attempt: int = 1) -> dict:
    fake = FakeGitHub()
    run = fake.run_payload(run_id, attempt, conclusion="failure")
    return {"action": "completed", "workflow_run": run, "repository": run["repository"], "sender": run["actor"]}


async def _post(client, payload, *, event="workflow_run", delivery="d-1", secret=SECRET, body=None, headers=None):
    raw = body if body is not None else json.dumps(payload).encode()
    h = signed_headers(secret, raw, event, delivery)
    h.update(headers or {})
    return await client.post(PATH, data=raw, headers=h)


async def test_failed_migrations_run_is_accepted_at_once_and_queued_after_the_answer():
    client, hook = await _client()
    try:
        resp = await _post(client, _failed_run_payload())
        assert resp.status == 202
        assert (await resp.json())["result"] == "accepted"
        assert hook.queue.empty()  # read once the burst is answered, within READ_DELAY_MAX
        await asyncio.wait_for(hook.until_read(), READ_DELAY_MAX + 1)
        run = hook.queue.get_nowait()
        assert isinstance(run, RunInfo) and run.run_id == 501 and run.failed
    finally:
        await client.close()


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "sha256=zz", "garbage"],
)
async def test_bad_signatures_are_401(signature):
    client, hook = await _client()
    try:
        raw = json.dumps(_failed_run_payload()).encode()
        headers = signed_headers(SECRET, raw, "workflow_run", "d-sig")
        headers["X-Hub-Signature-256"] = signature
        if not signature:
            del headers["X-Hub-Signature-256"]
        resp = await client.post(PATH, data=raw, headers=headers)
        assert resp.status == 401
        assert hook.queue.empty()
    finally:
        await client.close()


async def test_signature_with_another_secret_or_a_changed_body_is_401():
    client, hook = await _client()
    try:
        assert (await _post(client, _failed_run_payload(), secret="not the secret")).status == 401
        raw = json.dumps(_failed_run_payload()).encode()
        headers = signed_headers(SECRET, raw, "workflow_run", "d-trunc")
        # A truncated body no longer matches its signature.
        resp = await client.post(PATH, data=raw[: len(raw) // 2], headers=headers)
        assert resp.status == 401
        assert hook.queue.empty()
    finally:
        await client.close()


async def test_body_over_the_limit_is_413_by_length_and_by_streaming():
    client, hook = await _client()
    try:
        big = b"x" * (MAX_BODY_BYTES + 1)
        resp = await client.post(PATH, data=big, headers={"X-GitHub-Event": "push"})
        assert resp.status == 413

        async def chunks():  # no Content-Length: the cap on what is read must hold
            for _ in range(MAX_BODY_BYTES // (1 << 20) + 2):
                yield b"y" * (1 << 20)

        resp = await client.post(PATH, data=chunks(), headers={"X-GitHub-Event": "push", **UNSIGNED})
        assert resp.status == 413
        assert hook.stats.rejected == 2
    finally:
        await client.close()


async def test_malformed_bodies_are_dropped_with_one_line_once_read(caplog):
    # Signed, so from GitHub (or whoever holds the secret): acknowledged, then read and dropped.
    client, hook = await _client()
    try:
        bodies = (b"{not json", b"\xff\xfe\x00garbage\x81", json.dumps([1, 2]).encode(), b"")
        for body in bodies:
            resp = await _post(client, None, body=body, delivery=f"d-{body[:3]!r}")
            assert resp.status == 202, body
        missing = _failed_run_payload()
        del missing["workflow_run"]["id"]
        resp = await _post(client, missing, delivery="d-missing")
        assert resp.status == 202
        with caplog.at_level(logging.WARNING, "dragonfly_bot.relay.webhook"):
            hook.read_unread()
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 5 and hook.stats.rejected == 5 and hook.queue.empty()
        assert any("workflow_run.id" in line for line in lines) and "not JSON" in lines[0]
        raw = json.dumps(_failed_run_payload()).encode()
        headers = signed_headers(SECRET, raw, "workflow_run", "d-noevent")
        del headers["X-GitHub-Event"]
        assert (await client.post(PATH, data=raw, headers=headers)).status == 400
        assert hook.queue.empty()
    finally:
        await client.close()


async def test_ping_unknown_events_and_other_workflows():
    client, hook = await _client()
    try:
        for _, ping in _examples("ping"):
            resp = await _post(client, ping, event="ping", delivery=os.urandom(8).hex())
            assert resp.status == 200 and (await resp.json())["msg"] == "pong"
        resp = await _post(client, {"zen": "x"}, event="star", delivery="d-star")
        assert resp.status == 202 and (await resp.json())["result"] == "ignored"
        other = _failed_run_payload()
        other["workflow_run"]["path"] = ".github/workflows/tests.yml"
        other["workflow_run"]["name"] = "Tests"
        resp = await _post(client, other, delivery="d-other")
        assert resp.status == 202
        in_progress = _failed_run_payload()
        in_progress["action"] = "in_progress"
        resp = await _post(client, in_progress, delivery="d-progress")
        assert resp.status == 202
        hook.read_unread()
        assert hook.queue.empty() and hook.stats.ignored == 3 and hook.stats.rejected == 0
    finally:
        await client.close()


async def test_a_burst_that_never_pauses_is_read_as_it_comes_and_none_is_refused():
    # More deliveries than the queue holds, with no quiet moment between them: reading waits for a
    # pause, but the unread ones take the queue's room, so they must not pile up meanwhile.
    queue_size = 3 * READ_BACKLOG
    client, hook = await _client(queue_size=queue_size)
    drained: list[RunInfo] = []

    async def worker() -> None:
        while True:
            drained.append(await hook.queue.get())
            hook.queue.task_done()

    task = asyncio.create_task(worker())
    try:
        payload = json.dumps(_failed_run_payload()).encode()
        statuses = []
        most_unread = 0
        for n in range(2 * queue_size):
            resp = await _post(client, None, body=payload, delivery=f"burst-{n}")
            statuses.append(resp.status)
            most_unread = max(most_unread, len(hook._unread))
        await asyncio.wait_for(hook.until_read(), READ_DELAY_MAX + 1)
        await asyncio.wait_for(hook.queue.join(), 5)
        assert set(statuses) == {202} and len(drained) == 2 * queue_size
        assert most_unread <= READ_BACKLOG
    finally:
        task.cancel()
        await client.close()


async def test_while_the_server_is_busy_an_accepted_delivery_waits_for_its_lull():
    # The server's Activity (dragonfly_bot/chat/web_guard.py touches it per connection and per chunk of bytes).
    activity = Activity(lull=0.2)
    client, hook = await _client(activity=activity)
    loop = asyncio.get_running_loop()
    try:
        assert (await _post(client, _failed_run_payload())).status == 202
        for _ in range(30):  # 0.3 s of traffic, well under READ_DELAY_MAX
            activity.touch(loop.time())
            await asyncio.sleep(0.01)
        assert hook.queue.empty()
        await asyncio.wait_for(hook.until_read(), READ_DELAY_MAX + 1)  # the lull came
        assert hook.queue.get_nowait().run_id == 501
    finally:
        await client.close()


async def test_a_server_that_never_falls_quiet_still_has_every_delivery_read():
    # A flood (of unsigned bodies, say) must not hold accepted deliveries back past READ_DELAY_MAX.
    activity = Activity(lull=0.2)
    client, hook = await _client(activity=activity)
    loop = asyncio.get_running_loop()
    try:
        for n in range(3 * 8):
            assert (await _post(client, _failed_run_payload(600 + n), delivery=f"busy-{n}")).status == 202
        give_up = loop.time() + READ_DELAY_MAX + 5
        while hook.queue.qsize() < 3 * 8 and loop.time() < give_up:
            activity.touch(loop.time())
            await asyncio.sleep(0.01)
        assert hook.queue.qsize() == 3 * 8 and activity.lull_at() > loop.time()  # read while still busy
    finally:
        await client.close()


async def test_redelivery_is_dropped_by_delivery_id():
    client, hook = await _client()
    try:
        payload = _failed_run_payload()
        first = await _post(client, payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
        again = await _post(client, payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
        assert first.status == 202 and again.status == 200
        assert (await again.json())["result"] == "duplicate delivery"
        hook.read_unread()
        assert hook.queue.qsize() == 1 and hook.stats.duplicates == 1
    finally:
        await client.close()


async def test_full_queue_is_503_and_the_redelivery_is_accepted_later():
    client, hook = await _client(queue_size=1)
    try:
        assert (await _post(client, _failed_run_payload(1), delivery="a")).status == 202
        assert (await _post(client, _failed_run_payload(2), delivery="b")).status == 503  # "a" holds the room
        hook.read_unread()
        hook.queue.get_nowait()
        assert (await _post(client, _failed_run_payload(2), delivery="b")).status == 202
    finally:
        await client.close()


@pytest.mark.parametrize(
    "workflow", ["supabase-migrate.yml", ".github/workflows/test.yml", "Manually triggered workflow"]
)
async def test_every_octokit_workflow_example_is_relayed_or_ignored(workflow):
    """GitHub's example payloads: each answers 2xx; the ones for the configured workflow are queued."""
    client, hook = await _client(workflow)
    try:
        examples = _examples("workflow_run", "workflow_job")
        assert len(examples) == 13
        statuses = []
        for i, (event, payload) in enumerate(examples):
            resp = await _post(client, payload, event=event, delivery=f"ex-{i}")
            statuses.append(resp.status)
            assert resp.status in (200, 202), (event, payload.get("action"), await resp.text())
        hook.read_unread()
        queued = []
        while not hook.queue.empty():
            queued.append(hook.queue.get_nowait())
        if workflow == ".github/workflows/test.yml":
            # The two completed+success examples of test.yml (the relay's "fixed" path).
            assert [r.conclusion for r in queued] == ["success", "success"]
        else:
            assert queued == []
    finally:
        await client.close()


def _mutations(payload: dict, rng) -> dict:
    """The payload with a few fields deleted or replaced by values of the wrong type."""
    data = json.loads(json.dumps(payload))
    odd = [None, 0, -1, True, "", "x" * 300, [], {}, [1, "a"], {"id": "nope"}, 1.5, "2026-13-45T99:99:99Z"]
    for _ in range(rng.randint(1, 6)):
        target = data if rng.random() < 0.4 or not isinstance(data.get("workflow_run"), dict) else data["workflow_run"]
        if not target:
            continue
        key = rng.choice(list(target))
        if rng.random() < 0.3:
            del target[key]
        else:
            target[key] = rng.choice(odd)
    return data


async def test_mutated_payloads_never_cause_a_server_error():
    import random

    rng = random.Random(20261125)
    client, hook = await _client(".github/workflows/test.yml")
    try:
        bases = [p for _, p in _examples("workflow_run", "workflow_job")] + [_failed_run_payload()]
        for i in range(400):
            payload = _mutations(rng.choice(bases), rng)
            event = rng.choice(["workflow_run", "workflow_job", "ping", "push"])
            resp = await _post(client, payload, event=event, delivery=f"fuzz-{i}")
            assert resp.status in (200, 202, 400), (resp.status, await resp.text())
        hook.read_unread()  # reading them never raises either
        # What was queued can be relayed: every item reads as a run.
        while not hook.queue.empty():
            assert isinstance(hook.queue.get_nowait(), RunInfo)
    finally:
        await client.close()


def test_the_quick_reading_of_a_payload_gives_what_json_loads_gives(monkeypatch):
    """dragonfly_bot/relay/webhook_payload.py parses a GitHub-shaped body for the relay's fields only: same runs, same
    skips."""
    import random

    from dragonfly_bot.relay import webhook_payload

    rng = random.Random(20261203)
    bases = [p for _, p in _examples("workflow_run", "workflow_job")] + [_failed_run_payload()]
    payloads = bases + [_mutations(rng.choice(bases), rng) for _ in range(300)]
    run = _failed_run_payload()
    odd = [
        json.dumps(run).encode().replace(b'"action": "completed"', b'"action": "queued", "action": "completed"'),
        json.dumps(run).encode().replace(b'"name": "', b'"name": "\\ud800', 1),  # a lone surrogate
        b"\xef\xbb\xbf" + json.dumps(run).encode(),  # a byte-order mark
        json.dumps(run).encode("utf-16"),
        json.dumps({**run, "workflow_run": {**run["workflow_run"], "repository": "octo/repo"}}).encode(),
        json.dumps({**run, "repository": ["octo/repo"]}).encode(),
        json.dumps({**run, "workflow_run": "x"}).encode(),
        b'{"action": "completed", "workflow_run": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
    ]
    bodies = [json.dumps(p).encode() for p in payloads] + odd
    for workflow in ("supabase-migrate.yml", ".github/workflows/test.yml"):
        quick = [webhook_payload.read_run(body, workflow) for body in bodies]
        with monkeypatch.context() as patched:
            patched.setattr(webhook_payload, "quick_fields", lambda body: None)
            lenient = [webhook_payload.read_run(body, workflow) for body in bodies]
        assert quick == lenient
        assert any(isinstance(found, RunInfo) for found in quick)
    # The quick way read most of them (the rest were read the lenient way).
    assert sum(webhook_payload.quick_fields(body) is not None for body in bodies) > len(bodies) // 2


async def test_body_cut_short_by_the_sender_is_400_not_500():
    # Served like the bot serves it (bot/web.py's AppRunner: handlers are not cancelled on
    # disconnect, so the handler itself must cope with the body ending early).
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", asyncio.Queue())
    app = web.Application()
    app.router.add_post(PATH, hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    signed = f"X-GitHub-Event: push\r\nX-Hub-Signature-256: {UNSIGNED['X-Hub-Signature-256']}\r\n"
    try:
        for head in (
            f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n{signed}\r\n0123456789",
            f"POST {PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{signed}\r\n10\r\n0123",
        ):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head.encode())
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.close()
        for _ in range(200):
            if hook.stats.rejected == 2:
                break
            await asyncio.sleep(0.01)
        assert hook.stats.rejected == 2 and hook.stats.received == 2 and hook.queue.empty()
    finally:
        await runner.cleanup()


async def test_stalled_body_times_out_with_408():
    client, hook = await _client(body_timeout=0.2)
    try:

        async def trickle():
            yield b'{"zen": '
            await asyncio.sleep(1)
            yield b'"late"}'

        resp = await client.post(PATH, data=trickle(), headers={"X-GitHub-Event": "ping", **UNSIGNED})
        assert resp.status == 408 and hook.stats.rejected == 1
    finally:
        await client.close()


async def test_body_already_received_is_taken_at_once_and_still_capped():
    # aiohttp usually has a GitHub-sized body (tens of KB) before the handler runs: the handler
    # takes it as it is (no read loop, no timer). The cap holds on that path too, for a chunked
    # body with no Content-Length to check first.
    from unittest import mock

    from aiohttp import streams
    from aiohttp.test_utils import make_mocked_request

    def received(body: bytes, *, length: bool) -> web.Request:
        stream = streams.StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
        stream.feed_data(body)
        stream.feed_eof()
        headers = signed_headers(SECRET, body, "workflow_run", os.urandom(8).hex())
        headers["Content-Length" if length else "Transfer-Encoding"] = str(len(body)) if length else "chunked"
        return make_mocked_request("POST", PATH, headers=headers, payload=stream)

    raw = json.dumps(_failed_run_payload()).encode()
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", asyncio.Queue(), body_timeout=0)
    resp = await hook.handle(received(raw, length=True))
    hook.read_unread()
    assert resp.status == 202 and hook.queue.get_nowait().run_id == 501

    capped = GitHubWebhook(SECRET, "supabase-migrate.yml", asyncio.Queue(), max_body=len(raw) - 1, body_timeout=0)
    assert (await capped.handle(received(raw, length=False))).status == 413
    assert (await capped.handle(received(raw, length=True))).status == 413
    assert capped.queue.empty() and capped.stats.rejected == 2
