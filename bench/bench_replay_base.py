"""``lint --replay --base-db`` on a ~300-file history, beside a replay from file 0001.

The history is generated here (nothing fetched): a first file with a real bug (42883), recorded
on the target with ``migration repair --status applied`` as a team would, then files with what
Supabase teams write (tables with RLS and policies, SECURITY DEFINER functions with a pinned
search_path and revokes, views with security_invoker, indexes, DO blocks, seed rows). The target
is built by the real CLI. Then two new files (one not idempotent, one fine) are linted:

* ``--replay --base-db TARGET``: pg_dump of the target, restore, the CLI applies the 2 new files;
* ``--replay --base-schema FILE`` from a snapshot ``schema-snapshot`` wrote;
* the peer: ``--replay`` from file 0001 on the same history with its first file fixed (the
  CLI applies all ~302 files; with the broken file it would stop at once and check nothing).

Each as a fresh process (``python -m dragonfly_bot.cli``), N rounds, medians printed.

    python bench/bench_replay_base.py [--files 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dragonfly_bot.adapters.localdb import ScratchDatabase, find_server, migration_up, run_supabase  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_"))}
ENV.update(SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1", PYTHONPATH=str(ROOT))

BROKEN = "select public.helper_that_no_file_creates(1);\n"


def feature(k: int) -> str:
    t = f"public.feature_{k}"
    seed = ",\n".join(f"  ({i}, 'row {i} of feature {k}')" for i in range(1, 41))
    return f"""-- feature {k}: table, RLS, policies, a definer function, a view, an index, seed rows
create table if not exists {t} (
  id bigint primary key,
  owner_id uuid references auth.users (id) on delete cascade,
  title text not null default '',
  body jsonb not null default '{{}}'::jsonb,
  created_at timestamptz not null default now()
);
alter table {t} enable row level security;
revoke all on {t} from anon;
grant select, insert, update, delete on {t} to authenticated;
grant all on {t} to service_role;
drop policy if exists feature_{k}_read on {t};
create policy feature_{k}_read on {t} for select to authenticated using (owner_id = (select auth.uid()));
drop policy if exists feature_{k}_write on {t};
create policy feature_{k}_write on {t} for insert to authenticated with check (owner_id = (select auth.uid()));
create index if not exists feature_{k}_owner_idx on {t} (owner_id);
create or replace function public.feature_{k}_count(p_owner uuid) returns bigint
language plpgsql stable security definer set search_path = '' as $$
declare n bigint;
begin
  select count(*) into n from {t} where owner_id = p_owner;
  return n;
end $$;
revoke execute on function public.feature_{k}_count(uuid) from public, anon;
grant execute on function public.feature_{k}_count(uuid) to authenticated, service_role;
create or replace view public.feature_{k}_titles with (security_invoker = on) as select id, title from {t};
revoke all on public.feature_{k}_titles from anon;
grant select on public.feature_{k}_titles to authenticated, service_role;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'feature_{k}_title_len') then
    alter table {t} add constraint feature_{k}_title_len check (char_length(title) < 500);
  end if;
end $$;
insert into {t} (id, title) values
{seed}
on conflict (id) do nothing;
"""


BAD = (
    "create table public.new_orders (id bigint primary key);\n"
    "alter table public.new_orders enable row level security;\n"
    "revoke all on public.new_orders from anon, authenticated; grant select on public.new_orders to service_role;\n"
)
GOOD = (
    "alter table public.feature_1 add column if not exists archived boolean not null default false;\n"
    "create index if not exists feature_1_archived_idx on public.feature_1 (archived);\n"
)


def write_history(folder: Path, count: int, *, broken: bool) -> None:
    folder.mkdir(parents=True)
    init = "create table if not exists public.init (id int);\n"
    (folder / "20240101000000_init.sql").write_text(init + BROKEN * broken)
    for k in range(1, count):
        day, minute = divmod(k, 1440)
        (folder / f"202402{1 + day:02d}{minute // 60:02d}{minute % 60:02d}00_feature_{k}.sql").write_text(feature(k))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.cli", "lint", "--replay", "--json", "--no-baseline", *args],
        cwd=cwd, env=ENV, capture_output=True, text=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = find_server()
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(server.url) as target:
        root = Path(tmp) / "team"
        folder = root / "supabase" / "migrations"
        write_history(folder, args.files, broken=True)
        size = sum(p.stat().st_size for p in folder.glob("*.sql"))
        build = time.perf_counter()
        assert migration_up(target.url, folder).returncode != 0  # stops at the broken first file
        repaired = run_supabase(
            ["migration", "repair", "--status", "applied", "20240101000000", "--db-url", target.url, "--yes"],
            migrations_dir=folder,
        )
        assert repaired.returncode == 0, repaired.stderr
        done = migration_up(target.url, folder)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        build = time.perf_counter() - build
        (folder / "20250101000000_new_orders.sql").write_text(BAD)
        (folder / "20250101000100_archive_flag.sql").write_text(GOOD)
        new = [f"supabase/migrations/{n}" for n in ("20250101000000_new_orders.sql", "20250101000100_archive_flag.sql")]

        fixed_root = Path(tmp) / "fixed"
        shutil.copytree(root, fixed_root)
        (fixed_root / "supabase/migrations/20240101000000_init.sql").write_text(
            "create table if not exists public.init (id int);\n"
        )

        def base_db() -> None:
            out = lint(root, "--base-db", target.url, "--db-url", server.url, *new)
            assert out.returncode == 1 and "replay-not-idempotent" in out.stdout, out.stdout[-1500:] + out.stderr
            replayed = [f for f in json.loads(out.stdout) if f["rule"].startswith("replay-")]
            assert [Path(f["file"]).name for f in replayed] == ["20250101000000_new_orders.sql"], replayed

        snapshot = subprocess.run(
            [sys.executable, "-m", "dragonfly_bot.cli", "schema-snapshot", "--db-url", target.url],
            cwd=root, env=ENV, capture_output=True, text=True,
        )  # fmt: skip
        assert snapshot.returncode == 0, snapshot.stderr

        def base_schema() -> None:
            out = lint(root, "--base-schema", "supabase/schema.sql", "--db-url", server.url, *new)
            assert out.returncode == 1 and "replay-not-idempotent" in out.stdout, out.stdout[-1500:] + out.stderr

        def from_0001() -> None:
            out = lint(fixed_root, "--db-url", server.url, *new)
            assert out.returncode == 1 and "replay-not-idempotent" in out.stdout, out.stdout[-1500:] + out.stderr

        again = [
            sys.executable,
            "-m",
            "dragonfly_bot.cli",
            "schema-snapshot",
            "--db-url",
            target.url,
            "--out",
            "again.sql",
        ]
        snap_time = timed(lambda: subprocess.run(again, cwd=tmp, env=ENV, capture_output=True, check=True))
        results: dict[str, list[float]] = {"base-db": [], "base-schema": [], "0001": []}
        for _ in range(args.rounds):
            results["base-db"].append(timed(base_db))
            results["base-schema"].append(timed(base_schema))
            results["0001"].append(timed(from_0001))
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"history: {args.files} files, {size / 1e6:.2f} MB; target built by the CLI in {build:.1f} s")
        print(f"schema-snapshot (pg_dump + rows): {snap_time:.2f} s; snapshot {len(snapshot.stdout)} B summary: "
              f"{snapshot.stdout.strip()}")  # fmt: skip
        for key, label in (
            ("base-db", "lint --replay --base-db (2 new files)"),
            ("base-schema", "lint --replay --base-schema (2 new files)"),
            ("0001", "lint --replay from file 0001 (all files)"),
        ):
            print(f"{label:44}: median {med[key]:6.2f} s  (min {min(results[key]):.2f}, {args.rounds} rounds)")
        print(f"ratio base-db / from 0001: {med['base-db'] / med['0001']:.2f}x")


if __name__ == "__main__":
    main()
