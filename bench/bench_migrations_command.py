"""Time from invoking /migrations to the reply being sent, with the REST source.

A local aiohttp server on 127.0.0.1 answers like PostgREST (Range /
Content-Range paging, max-rows 1000, count=exact, select/eq/in filters) for
300 and 10,000 applied migrations whose files are on disk, plus a few
pending ones. The /migrations callback runs with a spec'd interaction fake;
the clock stops when the reply is handed to Discord (followup.send).

    python bench/bench_migrations_command.py [--runs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dragonfly_bot.chat.app import DragonflyBot  # noqa: E402
from dragonfly_bot.cogs.status import Migrations  # noqa: E402
from dragonfly_bot.core.status import LocalMigration  # noqa: E402
from dragonfly_bot.core.versions import parse_file_name  # noqa: E402
from dragonfly_bot.settings import Settings  # noqa: E402
from tests.fakes.helpers import RecordingPoster, make_interaction  # noqa: E402
from tests.fakes.postgrest_fake import FakePostgrest  # noqa: E402

KEY = "bench-service-role-key"
PENDING = 3


def make_history(folder: Path, count: int) -> list[dict]:
    """``count`` applied files (rows match their digests) and a few pending ones."""
    rows = []
    for i in range(count + PENDING):
        version = f"{20200101000000 + i}"
        name = f"change_{i}"
        sql = f"create table if not exists public.t{i} (id bigint primary key, note text);\n"
        path = folder / f"{version}_{name}.sql"
        path.write_text(sql)
        if i >= count:
            continue
        local = LocalMigration.from_text(parse_file_name(path.name), sql)
        rows.append(
            {
                "source": "supabase",
                "version": version,
                "name": name,
                "status": "applied",
                "executed_at": "2025-12-09T14:30:00+00:00",
                "applied_by": "ci",
                "statement_count": 1,
                "statements_digest": local.digest,
                "error_sqlstate": None,
                "error_message": None,
                "error_statement": None,
                "ci_run_url": None,
                "commit_sha": None,
                "statements": [sql.strip()],
            }
        )
    return rows


def postgrest_app(fake: FakePostgrest) -> web.Application:
    async def view(request: web.Request) -> web.Response:
        answer = fake(httpx.Request("GET", str(request.url), headers=dict(request.headers)))
        headers = {k: v for k, v in answer.headers.items() if k.lower() in ("content-range", "content-type")}
        return web.Response(status=answer.status_code, body=answer.content, headers=headers)

    app = web.Application()
    app.router.add_get("/rest/v1/v_migration_status", view)
    return app


async def measure(count: int, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="dragonfly-bench-") as tmp:
        folder = Path(tmp)
        fake = FakePostgrest(make_history(folder, count), KEY, max_rows=1000)
        runner = web.AppRunner(postgrest_app(fake), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        settings = Settings(
            _env_file=None,
            supabase_dev_url=f"http://127.0.0.1:{port}",
            supabase_dev_service_role_key=KEY,
            migrations_dir=folder,
        )
        bot = DragonflyBot(settings, poster=RecordingPoster(), serve_web=False, sync_commands=False)
        timings = []
        try:
            async with bot:
                await bot.setup_hook()
                cog = Migrations(bot)
                for i in range(runs + 2):  # two warm-up runs (connection pool, imports)
                    inter = make_interaction()
                    sent_at = []
                    original_send = inter.followup.send.side_effect

                    async def timed_send(*args, _orig=original_send, _sent=sent_at, **kwargs):
                        _sent.append(time.perf_counter())
                        return await _orig(*args, **kwargs)

                    inter.followup.send.side_effect = timed_send
                    start = time.perf_counter()
                    await cog.migrations.callback(cog, inter, env="dev")
                    assert sent_at, "no reply was sent"
                    if i >= 2:
                        timings.append((sent_at[0] - start) * 1000)
                pages = len(inter.sent)
        finally:
            await runner.cleanup()
        requests = len(fake.requests) // (runs + 2)
        print(f"  ({count} rows: {requests} HTTP request(s) per command, {pages} message(s) sent)")
        return timings


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs for 300 rows (10,000 rows: a quarter)")
    args = parser.parse_args()
    print("/migrations env:dev, REST source on 127.0.0.1 (PostgREST-like, max-rows 1000)")
    for count, runs in ((300, args.runs), (10_000, max(5, args.runs // 4))):
        timings = await measure(count, runs)
        print(
            f"{count:>6} rows: median {statistics.median(timings):7.1f} ms   p95 {p95(timings):7.1f} ms   "
            f"(n={len(timings)})"
        )
    print("goal: median under 50 ms for 300 rows")


if __name__ == "__main__":
    asyncio.run(main())
