"""Status for N local files against N applied rows: 1,000 and 10,000.

Prints, for each size: reading + splitting the files, the engine alone, and
the whole path through the Postgres source on a scratch database (the view
over a schema_migrations filled with N rows). Goal: under 1 s for 10,000,
growing linearly.

    python bench/bench_status.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from dragonfly_bot.adapters.localdb import PROJECT_ROOT, ScratchDatabase, find_server, migration_up
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.core.sql import split_statements, statements_digest
from dragonfly_bot.core.status import AppliedRow, compute_status, versions_to_verify
from dragonfly_bot.status import service as status_service
from dragonfly_bot.status.service import collect_status, read_local_migrations

BODY = """-- migration {i}
create table if not exists public.t{i} (
    id bigint generated always as identity primary key,
    name text not null default 'row {i}',
    created_at timestamptz not null default now()
);
create index if not exists t{i}_name_idx on public.t{i} (name);
grant select on public.t{i} to authenticated, service_role;
"""


def write_files(folder: Path, n: int) -> list[tuple[str, str, list[str]]]:
    made = []
    for i in range(n):
        version = f"{20200101000000 + i}"
        text = BODY.format(i=i)
        (folder / f"{version}_table_{i}.sql").write_text(text)
        made.append((version, f"table_{i}", [s.text for s in split_statements(text)]))
    return made


def best_of(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


async def through_postgres(url: str, folder: Path):
    return await collect_status(PostgresStatusSource(url), read_local_migrations(folder))


def main() -> None:
    server = find_server()
    print(
        f"{'n':>7} {'read+split files':>17} {'(cached)':>9} {'engine':>9} {'whole status, cold (Postgres)':>31} "
        f"{'(bot, files cached)':>20}"
    )
    results = {}
    for n in (1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            made = write_files(folder, n)
            rows = [
                AppliedRow("supabase", v, name, statement_count=len(s), statements_digest=statements_digest(s))
                for v, name, s in made
            ]

            def cold_read(folder=folder):
                status_service._parsed.clear()  # as a fresh CLI process reads them
                return read_local_migrations(folder)

            local = cold_read()
            read_time = best_of(cold_read, 3)
            warm_read_time = best_of(lambda folder=folder: read_local_migrations(folder), 3)

            def engine(local=local, rows=rows, n=n):
                assert not versions_to_verify(local.migrations, rows)
                report = compute_status(local.migrations, rows)
                assert report.healthy and len(report.migrations) == n

            engine_time = best_of(engine)
            with ScratchDatabase(server.url) as db:
                empty = folder / "none"
                empty.mkdir()
                assert migration_up(db.url, PROJECT_ROOT / "supabase" / "migrations").returncode == 0
                with (
                    psycopg.connect(db.url) as conn,
                    conn.cursor() as cur,
                    cur.copy(
                        "copy supabase_migrations.schema_migrations (version, name, statements) from stdin"
                    ) as copy,
                ):
                    for v, name, s in made:
                        copy.write_row((v, name, s))
                whole = []
                warm = []
                for _ in range(3):
                    status_service._parsed.clear()
                    start = time.perf_counter()
                    report = asyncio.run(through_postgres(db.url, folder))
                    whole.append(time.perf_counter() - start)
                    start = time.perf_counter()  # again, files cached as in the running bot
                    asyncio.run(through_postgres(db.url, folder))
                    warm.append(time.perf_counter() - start)
                # The repository's own migrations are applied but not in this folder.
                assert sum(1 for m in report.migrations if m.state.value == "applied") == n
            results[n] = min(whole)
            print(
                f"{n:>7} {read_time * 1000:>15.0f}ms {warm_read_time * 1000:>7.0f}ms {engine_time * 1000:>7.1f}ms"
                f" {min(whole) * 1000:>22.0f}ms (med {statistics.median(whole) * 1000:.0f})"
                f" {min(warm) * 1000:>18.0f}ms"
            )
    ratio = results[10_000] / results[1_000]
    print(f"growth 1,000 -> 10,000: x{ratio:.1f} (linear would be x10); goal: 10,000 under 1,000 ms")


if __name__ == "__main__":
    main()
