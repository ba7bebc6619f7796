"""A realistic Supabase migration history, generated deterministically for ``bench_lint.py``.

Not committed data: every run writes the same files from a seed. The mix follows real
histories: tables with RLS, policies, indexes and grants; PL/pgSQL and SQL functions
(SECURITY DEFINER with ``SET search_path`` and revokes); guarded DO blocks; views with
``security_invoker``; private schemas locked with ``ALTER DEFAULT PRIVILEGES``; seed files
with thousands of rows (several over 50 KB); comments.

    python bench/lint_corpus.py OUT_DIR [--files 300]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

WORDS = [
    "account",
    "order",
    "invoice",
    "payment",
    "project",
    "task",
    "comment",
    "team",
    "member",
    "event",
    "ticket",
    "note",
    "file",
    "tag",
    "message",
    "channel",
    "report",
    "metric",
    "plan",
    "price",
    "coupon",
    "address",
    "review",
    "rating",
    "session",
    "device",
    "alert",
]
TYPES = ("text", "integer", "bigint", "boolean", "timestamptz", "jsonb", "numeric(12,2)", "uuid", "date")


def _col_default(kind: str, rng: random.Random) -> str:
    return {
        "text": " not null default ''",
        "integer": " not null default 0",
        "boolean": " not null default false",
        "timestamptz": " not null default now()",
        "jsonb": " not null default '{}'::jsonb",
    }.get(kind, "")


def _table(name: str, rng: random.Random, refs: list[str]) -> tuple[str, list[tuple[str, str]]]:
    cols = [("id", "uuid")]
    lines = [f"create table if not exists public.{name} (", "    id uuid primary key default gen_random_uuid(),"]
    lines.append("    owner_id uuid not null references auth.users (id) on delete cascade,")
    cols.append(("owner_id", "uuid"))
    if refs and rng.random() < 0.6:
        ref = rng.choice(refs)
        lines.append(f"    {ref}_id uuid references public.{ref} (id) on delete set null,")
    for index in range(rng.randint(5, 14)):
        kind = rng.choice(TYPES)
        col = f"{rng.choice(WORDS)}_{index}"
        cols.append((col, kind))
        lines.append(f"    {col} {kind}{_col_default(kind, rng)},")
    lines.append("    created_at timestamptz not null default now(),")
    lines.append("    updated_at timestamptz not null default now()")
    lines.append(");")
    lines.append(f"comment on table public.{name} is 'The {name.replace('_', ' ')} of a user (generated).';")
    lines.append(f"create index if not exists {name}_owner_id_idx on public.{name} (owner_id);")
    lines.append(f"create index if not exists {name}_created_at_idx on public.{name} (created_at desc);")
    lines.append(f"alter table public.{name} enable row level security;")
    for action in ("select", "insert", "update", "delete"):
        policy = f"{name}_{action}_own"
        using = "using ((select auth.uid()) = owner_id)" if action != "insert" else ""
        check = " with check ((select auth.uid()) = owner_id)" if action in ("insert", "update") else ""
        lines.append(f'drop policy if exists "{policy}" on public.{name};')
        lines.append(f'create policy "{policy}" on public.{name} for {action} to authenticated {using}{check};')
    lines.append(f"grant select, insert, update, delete on public.{name} to authenticated, service_role;")
    return "\n".join(lines) + "\n", cols


def _plpgsql_function(name: str, table: str, rng: random.Random) -> str:
    body = ["declare", "    total integer := 0;", "    item record;", "begin"]
    body.append("    if auth.uid() is null then")
    body.append("        raise exception 'not signed in' using errcode = '42501';")
    body.append("    end if;")
    for index in range(rng.randint(5, 18)):
        pick = rng.random()
        if pick < 0.3:
            body.append(f"    for item in select id, created_at from public.{table} where owner_id = auth.uid() loop")
            body.append(f"        total := total + {index + 1};")
            body.append(f"        update public.{table} set updated_at = now() where id = item.id;")
            body.append("    end loop;")
        elif pick < 0.6:
            body.append(
                f"    select count(*) into total from public.{table}"
                f" where created_at > now() - interval '{index + 1} days';"
            )
            body.append(f"    if total > {100 * (index + 1)} then")
            body.append("        raise notice 'busy: % rows', total;")
            body.append("    elsif total = 0 then")
            body.append("        total := -1;")
            body.append("    end if;")
        else:
            body.append("    begin")
            body.append(
                f"        perform pg_notify('{name}', json_build_object('step', {index}, 'total', total)::text);"
            )
            body.append("    exception when others then")
            body.append("        raise warning 'notify failed: %', sqlerrm;")
            body.append("    end;")
    body.append("    return total;")
    body.append("end;")
    sig = f"public.{name}(p_limit integer default 100)"
    return (
        f"create or replace function {sig}\nreturns integer\nlanguage plpgsql\nsecurity definer\nset search_path = ''\n"
        "as $$\n" + "\n".join(body) + "\n$$;\n"
        f"revoke execute on function public.{name}(integer) from public, anon;\n"
        f"grant execute on function public.{name}(integer) to authenticated, service_role;\n"
    )


def _sql_function(name: str, table: str) -> str:
    return (
        f"create or replace function public.{name}(p_owner uuid)\nreturns setof public.{table}\n"
        "language sql\nstable\nsecurity invoker\nset search_path = ''\nas $$\n"
        f"    select * from public.{table} where owner_id = p_owner order by created_at desc limit 50;\n$$;\n"
        f"grant execute on function public.{name}(uuid) to authenticated, service_role;\n"
    )


def _do_block(name: str, rng: random.Random) -> str:
    values = ", ".join(f"'{w}'" for w in rng.sample(WORDS, 5))
    return (
        "do $$\nbegin\n"
        f"    if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace\n"
        f"                   where t.typname = '{name}_kind' and n.nspname = 'public') then\n"
        f"        create type public.{name}_kind as enum ({values});\n"
        "    end if;\n"
        "end\n$$;\n"
        "do $$\nbegin\n"
        f"    alter table public.{name} add constraint {name}_owner_check check (owner_id is not null);\n"
        "exception when duplicate_object then null;\nend\n$$;\n"
    )


def _view(name: str, table: str, cols: list[tuple[str, str]]) -> str:
    picked = ", ".join(f"t.{c}" for c, _ in cols[:6])
    return (
        f"create or replace view public.{name} with (security_invoker = true) as\n"
        f"    select {picked}, p.id as profile_id\n    from public.{table} t\n"
        "    join public.profiles p on p.id = t.owner_id\n    where t.created_at > now() - interval '90 days';\n"
        f"grant select on public.{name} to authenticated, service_role;\n"
    )


def _private(schema: str) -> str:
    return (
        f"create schema if not exists {schema};\n"
        f"revoke all on schema {schema} from public, anon, authenticated;\n"
        f"grant usage on schema {schema} to service_role;\n"
        f"alter default privileges in schema {schema} revoke all on tables from public, anon, authenticated;\n"
        f"alter default privileges in schema {schema} revoke execute on functions from public, anon, authenticated;\n"
        f"alter default privileges in schema {schema} grant all on tables to service_role;\n"
        f"alter default privileges in schema {schema} grant execute on functions to service_role;\n"
        f"create table if not exists {schema}.jobs (\n    id bigint generated always as identity primary key,\n"
        "    payload jsonb not null,\n    run_at timestamptz not null default now()\n);\n"
    )


def _seed(table: str, cols: list[tuple[str, str]], rows: int, rng: random.Random) -> str:
    names = [c for c, k in cols if k in ("text", "integer", "boolean")][:6] or ["id"]
    kinds = dict(cols)
    out = [f"-- Seed data for public.{table} ({rows} rows)."]
    for start in range(0, rows, 500):
        out.append(f"insert into public.{table} (id, owner_id, {', '.join(names)}) values")
        values = []
        for row in range(start, min(rows, start + 500)):
            cells = [
                f"'{rng.getrandbits(128):032x}'::uuid"[:0] + "gen_random_uuid()",
                "'00000000-0000-0000-0000-000000000001'",
            ]
            for col in names:
                kind = kinds.get(col, "text")
                if kind == "integer":
                    cells.append(str(rng.randint(0, 10_000)))
                elif kind == "boolean":
                    cells.append(rng.choice(("true", "false")))
                else:
                    cells.append("'" + " ".join(rng.choices(WORDS, k=rng.randint(2, 8))) + f" #{row}'")
            values.append("    (" + ", ".join(cells) + ")")
        out.append(",\n".join(values) + "\non conflict do nothing;")
    return "\n".join(out) + "\n"


HEADER = "-- {title}\n--\n-- Generated for the lint benchmark: deterministic, realistic in shape.\n\n"


def generate(folder: Path, files: int = 300, seed: int = 11) -> list[Path]:
    """Write ``files`` migrations into ``folder``; the same seed gives the same bytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    tables: dict[str, list[tuple[str, str]]] = {}
    first = "create table if not exists public.profiles (\n"
    first += "    id uuid primary key references auth.users (id) on delete cascade,\n"
    first += "    full_name text,\n    created_at timestamptz not null default now()\n);\n"
    first += "alter table public.profiles enable row level security;\n"
    first += 'drop policy if exists "profiles_select_own" on public.profiles;\n'
    first += 'create policy "profiles_select_own" on public.profiles for select to authenticated'
    first += " using ((select auth.uid()) = id);\n"
    first += "grant select, insert, update on public.profiles to authenticated, service_role;\n"
    seeds = {files // 7 * k for k in range(1, 7)}  # six seed files over 50 KB
    for index in range(files):
        day, minute = divmod(index * 7, 1440)
        version = f"2024{1 + day // 28:02d}{1 + day % 28:02d}{minute // 60:02d}{minute % 60:02d}00"
        parts: list[str] = []
        if index == 0:
            name, parts = "profiles", [_private("private"), first]
        elif index in seeds and tables:
            table = rng.choice(sorted(tables))
            name = f"seed_{table}"
            parts = [_seed(table, tables[table], rng.randint(1700, 2800), rng)]
        else:
            table = f"{rng.choice(WORDS)}_{index}"
            name = f"add_{table}"
            sql, cols = _table(table, rng, sorted(tables)[-5:])
            tables[table] = cols
            parts = [sql]
            if rng.random() < 0.7:
                parts.append(_plpgsql_function(f"{table}_refresh", table, rng))
            if rng.random() < 0.5:
                parts.append(_sql_function(f"{table}_for_owner", table))
            if rng.random() < 0.5:
                parts.append(_do_block(table, rng))
            if rng.random() < 0.5:
                parts.append(_view(f"{table}_recent", table, cols))
            if rng.random() < 0.05:
                parts.append(_private(f"internal_{index}"))
            if rng.random() < 0.3:
                parts.append(_plpgsql_function(f"{table}_rollup", table, rng))
        path = folder / f"{version}_{name}.sql"
        path.write_text(HEADER.format(title=name.replace("_", " ")) + "\n".join(parts), "utf-8")
        made.append(path)
    return made


if __name__ == "__main__":
    out = Path(sys.argv[1])
    count = int(sys.argv[sys.argv.index("--files") + 1]) if "--files" in sys.argv else 300
    paths = generate(out, count)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} files, {size / 1e6:.2f} MB, {sum(p.stat().st_size > 50_000 for p in paths)} over 50 KB")
