"""An existing team's repository and database, as issue 10 found them, made by the tests.

* a legacy tracker ``public.dragonfly_migrations (id, migration_filename, applied_at)``
  holding the four-digit files;
* their own 5-column ``public.v_migration_status (source, version, name, executed_at,
  success)``, created by ``20251209000000_migration_status_view.sql``, the bot's own
  file name, and read by their own ``tools/migration_status.py``;
* 4-, 8- and 14-digit versions, one 8-digit file dated in the future, files whose
  versions equal the bot's own, a dbmate ``-- migrate:down`` section, an old file
  PostgreSQL cannot parse;
* the four-digit history recorded with ``supabase migration repair --status applied``
  (they were applied long before the CLI), the rest applied by ``migration up``;
* a workflow using their own secret name ``SUPABASE_DB_URL_DEV``.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from dragonfly_bot.adapters.localdb import migration_up, run_supabase

TEAM_VIEW_COLUMNS = ["source", "version", "name", "executed_at", "success"]
FUTURE_FILE = "20271105_future_dated_partitions.sql"
TEAM_VIEW_FILE = "20251209000000_migration_status_view.sql"

TEAM_VIEW_SQL = """-- Our status view (tools/migration_status.py reads it over REST).
create table if not exists public.dragonfly_migrations (
    id serial primary key,
    migration_filename text unique not null,
    applied_at timestamptz not null default now()
);

create or replace view public.v_migration_status as
select 'legacy'::text as source,
       split_part(migration_filename, '_', 1) as version,
       migration_filename as name,
       applied_at as executed_at,
       true as success
from public.dragonfly_migrations
union all
select 'supabase'::text, version, name, null::timestamptz, true
from supabase_migrations.schema_migrations;

grant select on public.v_migration_status to authenticated, service_role;
"""

TEAM_STATUS_TOOL = '''"""Our own status script: reads the five columns of v_migration_status."""
import json, os, sys, urllib.request

url = os.environ["SUPABASE_URL"] + "/rest/v1/v_migration_status?select=source,version,name,executed_at,success"
print(json.load(urllib.request.urlopen(url)))
'''

TEAM_WORKFLOW = """name: Supabase Migrations
on:
  push:
    branches: [main]
    paths: ["supabase/migrations/**"]
jobs:
  migrate-dev:
    runs-on: ubuntu-latest
    environment: dev
    steps:
      - uses: actions/checkout@v4
      - uses: supabase/setup-cli@v1
        with:
          version: latest
      - name: Apply migrations
        run: supabase migration up --db-url "${{ secrets.SUPABASE_DB_URL_DEV }}"
"""


def team_files(legacy: int = 6, eight: int = 3, fourteen: int = 8) -> dict[str, str]:
    """File name -> SQL. ``eight`` counts the future-dated file; ``fourteen`` the three clashing ones."""
    files: dict[str, str] = {}
    for i in range(1, legacy + 1):
        files[f"{i:04d}_legacy_step_{i}.sql"] = f"create table if not exists public.legacy_{i} (id int);\n"
    if legacy >= 3:
        files["0002_legacy_step_2.sql"] = (
            "-- migrate:up\ncreate table if not exists public.legacy_2 (id int);\n\n"
            "-- migrate:down\ndrop table public.legacy_2;\n"
        )
        # Written for the database they had before Postgres: it never ran through the CLI.
        files["0003_legacy_step_3.sql"] = "CREATE TABLE legacy_3 (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;\n"
    for m in range(1, eight):
        files[f"2024{m:02d}01_batch_{m}.sql"] = f"create table if not exists public.batch_{m} (id int);\n"
    files[FUTURE_FILE] = "create table if not exists public.partitions_2027 (id int);\n"
    files[TEAM_VIEW_FILE] = TEAM_VIEW_SQL
    files["20251210000000_add_invoices.sql"] = "create table if not exists public.invoices (id bigint);\n"
    files["20251210120000_add_payments.sql"] = "create table if not exists public.payments (id bigint);\n"
    for k in range(fourteen - 3):
        version = 20250101000000 + k * 1_000_000  # 2025-01-01, a day apart in the DDHH digits
        files[f"{version}_feature_{k}.sql"] = f"create table if not exists public.feature_{k} (id int);\n"
    return files


def write_team_repo(root: Path, **counts: int) -> Path:
    """The team's repository at ``root``: migrations, their status tool, their workflow, a git folder."""
    folder = root / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, text in team_files(**counts).items():
        (folder / name).write_text(text)
    (root / "tools").mkdir()
    (root / "tools" / "migration_status.py").write_text(TEAM_STATUS_TOOL)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "supabase-migrate.yml").write_text(TEAM_WORKFLOW)
    (root / ".git").mkdir()
    return root


def build_team_database(db_url: str, root: Path) -> None:
    """Their history: four-digit files recorded by ``repair``, the rest applied by ``migration up``."""
    folder = root / "supabase" / "migrations"
    legacy = sorted(p.name for p in folder.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    versions = [name.split("_", 1)[0] for name in legacy]
    repaired = run_supabase(
        ["migration", "repair", "--status", "applied", *versions, "--db-url", db_url, "--yes"], migrations_dir=folder
    )
    assert repaired.returncode == 0, repaired.stderr
    applied = migration_up(db_url, folder)
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(db_url, autocommit=True) as conn:
        for name in legacy:
            conn.execute("insert into public.dragonfly_migrations (migration_filename) values (%s)", (name,))
