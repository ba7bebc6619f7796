"""Server memory under a flood of unsigned 25 MB webhook bodies, while signed deliveries keep coming.

The server is bench/bench_webhook.py's: the bot's app and WebServer, the
ci_alerts slot and queue, the webhook with the settings' defaults (1 MB held
in memory per body, 32 MB of unchecked bytes in all), in a subprocess, all
the bot's modules imported. This process keeps ``--flooders`` (32) bodies of
25 MB in flight for ``--seconds`` (a flooder refused starts again), each
with a well-formed but wrong signature (so the server must read and hash
them; a missing one is refused before reading), either with a
Content-Length or chunked (no length: the harder case). Meanwhile a
signed GitHub-sized delivery goes out every 50 ms (from a thread of its own)
and must be acknowledged.
The server's RSS is sampled every 10 ms from /proc.

Goal (issue 14): RSS under 200 MB, every signed delivery acknowledged.
Prints figures (medians over ``--rounds`` per mode); asserts nothing.

    python bench/bench_webhook_flood.py [--flooders 32] [--rounds 3] [--seconds 5] [--mb 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_webhook import SECRET, payloads  # noqa: E402
from dragonfly_bot.relay.webhook import PATH, signature_for  # noqa: E402

MB = 1024 * 1024
WRONG = "sha256=" + "0" * 64
CHUNK = b"z" * MB  # one buffer, sent again and again


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def flood_one(port: int, size: int, chunked: bool) -> str:
    """One unsigned body; what the server said (or how the connection ended)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return f"connect {type(exc).__name__}"
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: bench\r\nX-GitHub-Event: workflow_run\r\n"
        f"X-Hub-Signature-256: {WRONG}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    )
    answer = asyncio.create_task(reader.read(200))
    try:
        writer.write(head.encode())
        for _ in range(size // MB):
            if answer.done():
                break  # answered before the end: refused
            if chunked:
                writer.write(b"100000\r\n" + CHUNK + b"\r\n")
            else:
                writer.write(CHUNK)
            await writer.drain()
        else:
            if chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        data = await asyncio.wait_for(answer, 30)
        return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
    except (ConnectionError, TimeoutError) as exc:
        if answer.done() and not answer.cancelled() and answer.exception() is None:
            data = answer.result()
            if data.startswith(b"HTTP/"):
                return data.split(b" ", 2)[1].decode()
        return type(exc).__name__
    finally:
        answer.cancel()
        writer.close()


def signed_one(port: int, body: bytes, delivery: str) -> tuple[int, float]:
    """One signed delivery on a blocking socket (a thread of its own: the flood's loop does not delay it)."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: bench\r\nX-GitHub-Event: workflow_run\r\nX-GitHub-Delivery: {delivery}\r\n"
        f"X-Hub-Signature-256: {signature_for(SECRET.encode(), body)}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    t0 = time.perf_counter()
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head.encode() + body)
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return 0, time.perf_counter() - t0
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - t0


async def keep_flooding(port: int, size: int, chunked: bool, until: float) -> list[str]:
    outcomes = []
    while time.perf_counter() < until:
        outcomes.append(await flood_one(port, size, chunked))
    return outcomes


async def one_round(
    port: int, pid: int, flooders: int, size: int, chunked: bool, round_no: int, seconds: float
) -> dict:
    samples: list[float] = []
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(rss_mb(pid))
            await asyncio.sleep(0.01)

    bodies = payloads(1000, round_no * 1_000_000 + (500_000 if chunked else 0))
    signed: list[tuple[int, float]] = []

    stop = threading.Event()

    def deliveries() -> None:
        i = 0
        while not stop.is_set():
            signed.append(signed_one(port, bodies[i % len(bodies)], f"flood-{round_no}-{chunked}-{i}"))
            i += 1
            stop.wait(0.05)

    before = rss_mb(pid)
    sampler = asyncio.create_task(sample())
    sender = threading.Thread(target=deliveries, daemon=True)
    sender.start()
    t0 = time.perf_counter()
    per_flooder = await asyncio.gather(*(keep_flooding(port, size, chunked, t0 + seconds) for _ in range(flooders)))
    if not flooders:
        await asyncio.sleep(seconds)
    outcomes = [outcome for outcomes in per_flooder for outcome in outcomes]
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(0.3)  # a few more deliveries after the flood
    done.set()
    stop.set()
    await sampler
    await asyncio.to_thread(sender.join)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return {
        "before": before,
        "peak": max(samples, default=before),
        "after": rss_mb(pid),
        "seconds": elapsed,
        "flood": counts,
        "signed": len(signed),
        "acknowledged": sum(1 for status, _ in signed if status == 202),
        "signed_p50_ms": statistics.median([s * 1000 for _, s in signed]) if signed else 0,
        "signed_p99_ms": (statistics.quantiles([s * 1000 for _, s in signed], n=100)[98] if len(signed) > 1 else 0),
    }


async def bench(flooders: int, rounds: int, size_mb: int, seconds: float) -> None:
    port_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-flood-{os.getpid()}.port"
    port_file.unlink(missing_ok=True)
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_webhook.py"), "--serve", str(port_file)])
    try:
        for _ in range(600):
            if port_file.exists() and port_file.read_text():
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        start_rss = rss_mb(server.pid)
        print(
            f"webhook memory flood: {flooders} concurrent unsigned {size_mb} MB bodies for {seconds:.0f} s x {rounds} "
            "rounds per mode, "
            f"a signed delivery every 50 ms meanwhile; server RSS at start {start_rss:.0f} MB; "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        )
        quiet = await one_round(port, server.pid, 0, 0, False, 0, 2.0)
        print(
            f"  no flood (2 s): RSS peak {quiet['peak']:.0f} MB; signed deliveries acknowledged "
            f"{quiet['acknowledged']}/{quiet['signed']} (p50 {quiet['signed_p50_ms']:.0f}, "
            f"p99 {quiet['signed_p99_ms']:.0f} ms)"
        )
        for chunked in (False, True):
            results = [
                await one_round(port, server.pid, flooders, size_mb * MB, chunked, r, seconds)
                for r in range(1, rounds + 1)
            ]
            mode = "chunked (no length)" if chunked else "Content-Length"
            peaks = [r["peak"] for r in results]
            print(f"  {mode}:")
            for r in results:
                print(
                    f"    RSS {r['before']:.0f} -> peak {r['peak']:.0f} -> {r['after']:.0f} MB "
                    f"over {r['seconds']:.1f} s; "
                    f"flood answers {dict(sorted(r['flood'].items()))}; signed deliveries acknowledged "
                    f"{r['acknowledged']}/{r['signed']} (p50 {r['signed_p50_ms']:.0f}, p99 {r['signed_p99_ms']:.0f} ms)"
                )
            acknowledged = sum(r["acknowledged"] for r in results)
            signed = sum(r["signed"] for r in results)
            print(
                f"    median peak RSS {statistics.median(peaks):.0f} MB (max {max(peaks):.0f}); "
                f"goal < 200 MB: {'met' if max(peaks) < 200 else 'NOT met'}; "
                f"signed deliveries acknowledged {acknowledged}/{signed}: "
                f"{'all' if acknowledged == signed else 'NOT all'}"
            )
    finally:
        server.terminate()
        server.wait()
        port_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flooders", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=25, help="size of each unsigned body")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each round keeps the flood up")
    args = parser.parse_args()
    asyncio.run(bench(args.flooders, args.rounds, args.mb, args.seconds))


if __name__ == "__main__":
    main()
