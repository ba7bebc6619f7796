"""Webhook acknowledgement latency under concurrent signed deliveries on loopback.

Serves ``/github/webhook`` in a separate process the way the bot does: the
app from ``dragonfly_bot.chat.web.create_web_app`` (its body cap), the route through the
ci_alerts cog's slot, the cog's queue size, ``dragonfly_bot.relay.service.process_queue`` as
the worker (with a relay that does nothing: this measures the
acknowledgement GitHub waits for, not the relay), and ``dragonfly_bot.chat.web.WebServer``
to start it (the same AppRunner and TCPSite settings). The bot's modules
(``dragonfly_bot.chat.app`` and every cog) are imported first so the heap the garbage
collector walks is the bot's, not a small script's.

The client is this process (requests built and signed beforehand, one
epoll loop; ``--client asyncio`` for the earlier asyncio-streams client);
on a 2-core machine it has the other core. It fires
``--concurrency`` signed ``workflow_run`` deliveries at once (GitHub-sized
payloads built from the @octokit/webhooks-examples sample, each a different
failed run, so every one is queued), for ``--rounds`` rounds. Each round is
followed by the same deliveries to a floor handler on the same server (it
only reads the body and answers), so both see the same machine state.

Prints p50/p95/p99 latency, the floor, time inside the handler, server and
client CPU per delivery, full garbage collections during the rounds, and
how many were acknowledged, queued and dropped. Each round's p99 is set
against the floor's p99 of the same round; the medians over the rounds and
their ratio are the result. Goal (issue 12): p99 <= 1.2x the floor, nothing
dropped. Prints figures only; asserts nothing.

    python bench/bench_webhook.py [--concurrency 200] [--rounds 5] [--client epoll|asyncio] [--no-gc-freeze]

The server calls ``gc.freeze()`` after the imports, as the bot's setup_hook
does; ``--no-gc-freeze`` shows what the bot would pay without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, web  # noqa: E402

from dragonfly_bot.relay.webhook import PATH, GitHubWebhook, signature_for  # noqa: E402

SECRET = "bench-secret-0123456789"
FLOOR_PATH = "/bench/floor"
EXAMPLES = ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"


class _NoRelay:
    """Stands in for dragonfly_bot.relay.service.Relay: the worker's loop is real, the relay's work is not measured."""

    def __init__(self) -> None:
        self.handled = 0

    async def handle(self, run) -> str:
        self.handled += 1
        return "bench: not relayed"


class _Bot:
    """What dragonfly_bot.chat.web.create_web_app needs of the bot (health routes; unused here)."""

    gateway_state = "connected"
    started_at = time.monotonic()
    latency = 0.0

    def is_ready(self) -> bool:
        return True

    async def probe_status_source(self) -> str | None:
        return None


async def serve(port_file: Path, gc_freeze: bool) -> None:
    import importlib

    import dragonfly_bot.chat.app
    from dragonfly_bot.chat.web import WebServer, create_web_app
    from dragonfly_bot.chat.web_guard import ACTIVITY_KEY
    from dragonfly_bot.cogs.relay import QUEUE_SIZE, SLOT_KEY, _WebhookSlot
    from dragonfly_bot.relay.service import process_queue

    for name in dragonfly_bot.chat.app.EXTENSIONS:  # the bot's heap, as the collector sees it
        importlib.import_module(name)
    gc.collect()
    heap_objects = len(gc.get_objects())
    if gc_freeze:
        gc.freeze()

    app = create_web_app(_Bot())
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
    # as dragonfly_bot/cogs/relay.py
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", queue, activity=app[ACTIVITY_KEY])
    relay = _NoRelay()
    handler_ms: list[float] = []
    slot = _WebhookSlot()
    slot.webhook = hook

    async def timed_webhook(request: web.Request) -> web.Response:
        # Time inside the production route alone (slot -> reading, verifying, parsing, queueing).
        t0 = time.perf_counter()
        response = await slot.handle(request)
        handler_ms.append((time.perf_counter() - t0) * 1000)
        return response

    async def floor(request: web.Request) -> web.Response:
        # The same aiohttp server doing nothing but read the body and answer:
        # what any handler costs here, whatever it does.
        await request.read()
        return web.json_response({"result": "read"}, status=202)

    full_gcs: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            full_gcs.append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(on_gc)

    async def cpu(request: web.Request) -> web.Response:
        return web.json_response({"cpu_seconds": time.process_time(), "full_gcs": len(full_gcs)})

    async def stats(request: web.Request) -> web.Response:
        await hook.until_read()  # deliveries are read after their answers
        await queue.join()
        q = statistics.quantiles(handler_ms, n=100) if len(handler_ms) > 1 else [0.0] * 99
        return web.json_response(
            {
                **hook.stats.__dict__,
                "drained": relay.handled,
                "handler_p50": q[49],
                "handler_p99": q[98],
                "full_gc_ms": full_gcs,
                "heap_objects": heap_objects,
            }
        )

    app[SLOT_KEY] = slot
    app.router.add_post(PATH, timed_webhook)
    app.router.add_post(FLOOR_PATH, floor)
    app.router.add_get("/bench/cpu", cpu)
    app.router.add_get("/bench/stats", stats)
    server = WebServer(app)
    await server.start("127.0.0.1", 0)
    task = asyncio.create_task(process_queue(queue, relay))
    port_file.write_text(str(server.port))
    try:
        await asyncio.Event().wait()
    finally:
        task.cancel()
        await server.stop()


def payloads(count: int, start: int) -> list[bytes]:
    examples = json.loads(EXAMPLES.read_text())
    sample = next(
        ex
        for e in examples
        if e["name"] == "workflow_run"
        for ex in e["examples"]
        if ex["action"] == "completed" and ex["workflow_run"]["conclusion"]
    )
    out = []
    for i in range(count):
        payload = json.loads(json.dumps(sample))
        run = payload["workflow_run"]
        run.update(
            id=start + i,
            name="Supabase Migrations",
            path=".github/workflows/supabase-migrate.yml",
            conclusion="failure",
            display_title="Supabase Migrations (dev)",
        )
        out.append(json.dumps(payload).encode())
    return out


def _request(host: str, port: int, body: bytes, delivery: str, path: str = PATH) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "User-Agent: GitHub-Hookshot/bench\r\n"
        "Content-Type: application/json\r\n"
        "X-GitHub-Event: workflow_run\r\n"
        f"X-GitHub-Delivery: {delivery}\r\n"
        f"X-Hub-Signature-256: {signature_for(SECRET.encode(), body)}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def fire(host: str, port: int, bodies: list[bytes], round_no: int, path: str = PATH) -> list[tuple[int, float]]:
    """Every delivery at once, each on its own connection as GitHub sends them.

    Requests are built and signed beforehand; all connections are opened in
    one tight loop, then one epoll loop (no asyncio: no tasks, transports or
    futures per connection) writes each request and reads its answer to EOF.
    Each latency runs from that connection's connect() to the end of its
    answer, so what remains of the client's own cost still counts against
    the server (its CPU is printed). ``--client asyncio`` is the earlier
    client (asyncio streams), for comparison.
    """
    requests = [_request(host, port, body, f"bench-{round_no}-{i}", path) for i, body in enumerate(bodies)]
    results: list[tuple[int, float]] = [(0, 0.0)] * len(requests)
    selector = selectors.DefaultSelector()
    for i, raw in enumerate(requests):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        t0 = time.perf_counter()
        sock.connect_ex((host, port))  # EINPROGRESS: writable once connected
        selector.register(sock, selectors.EVENT_WRITE, [i, t0, memoryview(raw), bytearray()])
    pending = len(requests)
    while pending:
        events = selector.select(timeout=30)
        if not events:
            break  # what is left is not acknowledged (status 0, latency so far)
        for key, mask in events:
            sock = key.fileobj
            i, t0, unsent, received = key.data
            try:
                if mask & selectors.EVENT_WRITE:
                    sent = sock.send(unsent)
                    key.data[2] = unsent = unsent[sent:]
                    if not unsent:
                        selector.modify(sock, selectors.EVENT_READ, key.data)
                    continue
                chunk = sock.recv(65536)
                if chunk:
                    received += chunk
                    continue
                elapsed = time.perf_counter() - t0  # Connection: close -> the answer ends at EOF
                status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
                results[i] = (status, elapsed)
            except BlockingIOError:
                continue
            except OSError:
                results[i] = (0, time.perf_counter() - t0)
            selector.unregister(sock)
            sock.close()
            pending -= 1
    for key in list(selector.get_map().values()):
        results[key.data[0]] = (0, time.perf_counter() - key.data[1])
        key.fileobj.close()
    selector.close()
    return results


async def fire_asyncio(
    host: str, port: int, bodies: list[bytes], round_no: int, path: str = PATH
) -> list[tuple[int, float]]:
    """The earlier client: asyncio streams, one task per delivery (costs the client more CPU)."""
    requests = [_request(host, port, body, f"bench-{round_no}-{i}", path) for i, body in enumerate(bodies)]
    start = asyncio.Event()

    async def one(raw: bytes) -> tuple[int, float]:
        await start.wait()
        t0 = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(raw)
        await writer.drain()
        response = await reader.read()  # Connection: close -> read to EOF
        elapsed = time.perf_counter() - t0
        writer.close()
        status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
        return status, elapsed

    tasks = [asyncio.create_task(one(raw)) for raw in requests]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)


def _q(values: list[float]) -> list[float]:
    return statistics.quantiles(sorted(values), n=100) if len(values) > 1 else [values[0] if values else 0.0] * 99


async def bench(concurrency: int, rounds: int, gc_freeze: bool, client: str) -> None:
    async def send(bodies: list[bytes], round_no: int, path: str = PATH) -> list[tuple[int, float]]:
        if client == "asyncio":
            return await fire_asyncio("127.0.0.1", port, bodies, round_no, path)
        return fire("127.0.0.1", port, bodies, round_no, path)  # blocks this loop: nothing else runs here

    port_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-webhook-{os.getpid()}.port"
    port_file.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--serve", str(port_file)] + ([] if gc_freeze else ["--no-gc-freeze"])
    server = subprocess.Popen(command)
    try:
        for _ in range(600):
            if port_file.exists() and port_file.read_text():
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        base = f"http://127.0.0.1:{port}"
        warmup = 20
        await send(payloads(warmup, 1), 0)  # warm-up (first connections, caches)
        await send(payloads(warmup, 1), 0, FLOOR_PATH)
        latencies: list[float] = []
        floor: list[float] = []
        round_p99s: list[tuple[float, float]] = []  # (webhook, floor), one per round
        statuses: dict[int, int] = {}
        sent = 0
        cpu_s = floor_cpu_s = client_cpu_s = 0.0
        full_gcs_in_rounds = 0
        size = len(payloads(1, 1)[0])

        async with ClientSession() as session:

            async def server_get(path: str) -> dict:
                async with session.get(base + path) as resp:
                    return await resp.json()

            rounds_bodies = [payloads(concurrency, r * 1_000_000) for r in range(1, rounds + 1)]
            for r, bodies in enumerate(rounds_bodies, 1):
                before = await server_get("/bench/cpu")
                client0 = time.process_time()
                results = await send(bodies, r)
                client_cpu_s += time.process_time() - client0
                after = await server_get("/bench/cpu")
                cpu_s += after["cpu_seconds"] - before["cpu_seconds"]
                full_gcs_in_rounds += after["full_gcs"] - before["full_gcs"]
                sent += len(bodies)
                for status, seconds in results:
                    statuses[status] = statuses.get(status, 0) + 1
                    latencies.append(seconds * 1000)
                # The floor, right after, under the same machine state.
                floor_round = [sec * 1000 for _, sec in await send(bodies, r, FLOOR_PATH)]
                floor += floor_round
                round_p99s.append((_q([sec * 1000 for _, sec in results])[98], _q(floor_round)[98]))
                floor_cpu_s += (await server_get("/bench/cpu"))["cpu_seconds"] - after["cpu_seconds"]
            stats = await server_get("/bench/stats")
    finally:
        server.terminate()
        server.wait()
        port_file.unlink(missing_ok=True)
    q = _q(latencies)
    f = _q(floor)
    acknowledged = sum(n for s, n in statuses.items() if 200 <= s < 300)
    queued = stats["queued"] - warmup
    drained = stats["drained"] - warmup
    cpu_ms = cpu_s * 1000 / sent
    gcs = stats["full_gc_ms"]
    print(
        f"webhook acknowledgement: {rounds} rounds x {concurrency} concurrent signed deliveries, payload {size} bytes, "
        f"{client} client, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"  server: dragonfly_bot.chat.web app and WebServer, ci_alerts slot and queue; heap {stats['heap_objects']} "
        "objects"
        + (
            "; gc.freeze() after imports, as the bot does"
            if gc_freeze
            else "; WITHOUT gc.freeze() (not the bot's setting)"
        )
    )
    print(f"  latency ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  p99 {q[98]:.1f}  max {max(latencies):.1f}")
    print(
        f"  floor (same server, same load, a handler that only reads the body): p50 {f[49]:.1f}  p95 {f[94]:.1f}  "
        f"p99 {f[98]:.1f}"
    )
    print(f"  inside the webhook route (server side): p50 {stats['handler_p50']:.2f}  p99 {stats['handler_p99']:.2f}")
    print(
        f"  server CPU per delivery: {cpu_ms:.2f} ms (floor handler {floor_cpu_s * 1000 / sent:.2f} ms); "
        f"{concurrency} at once on one idle core ≈ {cpu_ms * concurrency:.0f} ms for the last acknowledgement; "
        f"client CPU per delivery {client_cpu_s * 1000 / sent:.2f} ms"
    )
    print(
        f"  full garbage collections in the server: {len(gcs)} (during webhook rounds {full_gcs_in_rounds}), "
        f"longest {max(gcs, default=0.0):.1f} ms"
    )
    print(
        f"  acknowledgements over 1 s (a connection that waited for a SYN retransmit: listen backlog full): "
        f"{sum(1 for ms in latencies if ms > 1000)}, floor {sum(1 for ms in floor if ms > 1000)}"
    )
    hook_p99 = statistics.median(w for w, _ in round_p99s)
    floor_p99 = statistics.median(f for _, f in round_p99s)
    ratio = statistics.median(w / f for w, f in round_p99s)
    print(
        "  p99 per round, webhook/floor ms: " + ", ".join(f"{w:.1f}/{f:.1f}" for w, f in round_p99s) + "; "
        f"medians {hook_p99:.1f}/{floor_p99:.1f}, median ratio {ratio:.2f}x "
        f"(CPU per delivery {cpu_ms / (floor_cpu_s * 1000 / sent):.2f}x the floor's)"
    )
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    print(
        f"  sent {sent}, acknowledged {acknowledged}, queued {queued}, "
        f"drained by the worker {drained}, dropped {sent - queued}"
    )
    print(
        f"  goal p99 <= 1.2x the floor: {'met' if ratio <= 1.2 else 'NOT met'} ({ratio:.2f}x); nothing dropped: "
        f"{'yes' if sent == queued == drained else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--client",
        choices=["epoll", "asyncio"],
        default="epoll",
        help="load generator (asyncio: the earlier, costlier one)",
    )
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="skip gc.freeze() in the server (the bot freezes its start-up heap)",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args.serve, args.gc_freeze))
        return
    asyncio.run(bench(args.concurrency, args.rounds, args.gc_freeze, args.client))


if __name__ == "__main__":
    main()
