"""Webhook acknowledgement latency under concurrent signed deliveries on loopback.

Starts the real ``/github/webhook`` handler (``bot.github.webhook``) in a
separate process on 127.0.0.1, whose queue is drained by a worker as the
bot's would be (the relay itself is not run: this measures the
acknowledgement GitHub waits for). Then fires ``--concurrency`` signed
``workflow_run`` deliveries at once (GitHub-sized payloads built from the
@octokit/webhooks-examples sample, each a different failed run, so every
one is queued), for ``--rounds`` rounds, and prints p50/p95/p99 latency and
how many were acknowledged, queued and dropped. Goal: p99 < 50 ms, nothing
dropped. Prints figures only; asserts nothing.

    python bench/bench_webhook.py [--concurrency 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, web  # noqa: E402

from bot.github.webhook import PATH, GitHubWebhook, signature_for  # noqa: E402

SECRET = "bench-secret"
FLOOR_PATH = "/bench/floor"
EXAMPLES = ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"


async def serve(port_file: Path) -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=100_000)
    hook = GitHubWebhook(SECRET, "supabase-migrate.yml", queue)
    drained = 0

    async def worker() -> None:
        nonlocal drained
        while True:
            await queue.get()
            drained += 1
            queue.task_done()

    async def floor(request: web.Request) -> web.Response:
        # The same aiohttp server doing nothing but read the body and answer:
        # what any handler costs here, whatever it does.
        await request.read()
        return web.json_response({"result": "read"}, status=202)

    async def stats(request: web.Request) -> web.Response:
        await queue.join()
        q = statistics.quantiles(handler_ms, n=100) if len(handler_ms) > 1 else [0.0] * 99
        return web.json_response(
            {
                **hook.stats.__dict__,
                "drained": drained,
                "handler_p50": q[49],
                "handler_p99": q[98],
                "cpu_seconds": time.process_time(),  # the server process's own CPU, whatever else runs
            }
        )

    handler_ms: list[float] = []

    @web.middleware
    async def timed(request: web.Request, handler):
        # Time inside the webhook handler alone (reading, verifying, parsing, queueing).
        t0 = time.perf_counter()
        response = await handler(request)
        if request.path == PATH:
            handler_ms.append((time.perf_counter() - t0) * 1000)
        return response

    app = web.Application(middlewares=[timed])
    app.router.add_post(PATH, hook.handle)
    app.router.add_post(FLOOR_PATH, floor)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    task = asyncio.create_task(worker())
    port_file.write_text(str(site._server.sockets[0].getsockname()[1]))
    try:
        await asyncio.Event().wait()
    finally:
        task.cancel()


def payloads(count: int, start: int) -> list[bytes]:
    examples = json.loads(EXAMPLES.read_text())
    sample = next(ex for e in examples if e["name"] == "workflow_run" for ex in e["examples"] if ex["action"] == "completed" and ex["workflow_run"]["conclusion"])
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


async def fire(host: str, port: int, bodies: list[bytes], round_no: int, path: str = PATH) -> list[tuple[int, float]]:
    """Every delivery at once, each on its own connection as GitHub sends them.

    A bare asyncio client (requests built and signed beforehand) keeps the
    load generator's own cost out of the figures as far as possible.
    """
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


async def bench(concurrency: int, rounds: int) -> None:
    port_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-webhook-{os.getpid()}.port"
    port_file.unlink(missing_ok=True)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    try:
        for _ in range(200):
            if port_file.exists() and port_file.read_text():
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        base = f"http://127.0.0.1:{port}"
        await fire("127.0.0.1", port, payloads(20, 1), 0)  # warm-up (imports, first connections)
        latencies: list[float] = []
        floor: list[float] = []
        statuses: dict[int, int] = {}
        sent = 0
        size = len(payloads(1, 1)[0])
        async def server_cpu() -> tuple[float, dict]:
            async with ClientSession() as session:
                async with session.get(base + "/stats") as resp:
                    data = await resp.json()
            return data["cpu_seconds"], data

        rounds_bodies = [payloads(concurrency, r * 1_000_000) for r in range(1, rounds + 1)]
        cpu0, _ = await server_cpu()
        for r, bodies in enumerate(rounds_bodies, 1):
            results = await fire("127.0.0.1", port, bodies, r)
            sent += len(bodies)
            for status, seconds in results:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(seconds * 1000)
        cpu1, stats = await server_cpu()
        for r, bodies in enumerate(rounds_bodies, 1):
            floor += [sec * 1000 for _, sec in await fire("127.0.0.1", port, bodies, r, FLOOR_PATH)]
        cpu2, _ = await server_cpu()
        cpu_ms = (cpu1 - cpu0) * 1000 / sent
        floor_cpu_ms = (cpu2 - cpu1) * 1000 / sent
    finally:
        server.terminate()
        server.wait()
        port_file.unlink(missing_ok=True)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    acknowledged = sum(n for s, n in statuses.items() if 200 <= s < 300)
    print(f"webhook acknowledgement: {rounds} rounds x {concurrency} concurrent signed deliveries, payload {size} bytes")
    print(f"  latency ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  p99 {q[98]:.1f}  max {latencies[-1]:.1f}")
    f = statistics.quantiles(sorted(floor), n=100)
    print(f"  floor (same server, same load, a handler that only reads the body): p50 {f[49]:.1f}  p95 {f[94]:.1f}  p99 {f[98]:.1f}")
    print(f"  inside the webhook handler (server side): p50 {stats['handler_p50']:.2f}  p99 {stats['handler_p99']:.2f}")
    print(
        f"  server CPU per delivery: {cpu_ms:.2f} ms (floor handler {floor_cpu_ms:.2f} ms); "
        f"{concurrency} at once on one idle core ≈ {cpu_ms * concurrency:.0f} ms for the last acknowledgement"
    )
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    warmup = 20
    print(
        f"  sent {sent}, acknowledged {acknowledged}, queued {stats['queued'] - warmup}, "
        f"drained by the worker {stats['drained'] - warmup}, dropped {sent - (stats['queued'] - warmup)}"
    )
    print(f"  goal p99 < 50 ms: {'met' if q[98] < 50 else 'NOT met'}; nothing dropped: {'yes' if sent == stats['queued'] - warmup else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        try:
            asyncio.run(serve(args.serve))
        except KeyboardInterrupt:
            pass
        return
    asyncio.run(bench(args.concurrency, args.rounds))


if __name__ == "__main__":
    main()
