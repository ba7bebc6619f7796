"""The console's own database: a local PostgreSQL made to look like a Supabase project.

Used when no Supabase settings and no --db-url are given, so ``dragonfly-bot
console`` answers on a fresh machine: find (or start an embedded) server,
create ``dragonfly_console`` once and reuse it, add Supabase's platform roles
and schemas, and apply this repository's migrations with the pinned Supabase
CLI. Without the CLI (no ``npm install`` yet) the files are applied the way the
CLI applies them (same statement split, same ``schema_migrations`` record),
because this database is a local throw-away, never dev or prod.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from dragonfly_bot.adapters.localdb import (
    PLATFORM_SQL,
    LocalDatabaseError,
    LocalServer,
    find_server,
    migration_up,
    start_embedded,
    with_database,
)
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.sql import split_statements
from dragonfly_bot.status.service import read_local_migrations

CONSOLE_DATABASE = "dragonfly_console"

CLI_TRACKER_SQL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
    version text primary key, statements text[], name text
);
"""


@dataclass
class ConsoleDatabase:
    server: LocalServer
    url: str
    how: str  # "supabase CLI" or "built-in applier"

    def stop(self) -> None:
        self.server.stop()


def _ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def create_platform(url: str, attempts: int = 5) -> None:
    """Supabase's roles and schemas. Roles are cluster-wide: another process creating or
    granting them at the same moment makes PostgreSQL say "tuple concurrently updated"; try again."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(PLATFORM_SQL)
            return
        except (psycopg.errors.InternalError_, psycopg.errors.UniqueViolation):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def apply_like_cli(db_url: str, migrations_dir: Path) -> list[str]:
    """Apply pending files in version order, one transaction each, recording them as the CLI does."""
    applied_now = []
    local = read_local_migrations(migrations_dir)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(CLI_TRACKER_SQL)
        done = {row[0] for row in conn.execute("select version from supabase_migrations.schema_migrations")}
        for mig in local.migrations:
            if mig.version in done:
                continue
            statements = [s.text for s in split_statements(mig.sql)]
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)",
                    (mig.version, mig.name, statements),
                )
            applied_now.append(mig.file)
    return applied_now


def _acquire_server(data_dir: Path, force_embedded: bool, say: Callable[[str], None]) -> LocalServer:
    """A running server; an embedded one gets a second chance (pg_ctl gives up after 10 s on a busy machine)."""
    for attempt in (1, 2):
        try:
            if force_embedded:
                say(f"starting an embedded PostgreSQL in {data_dir}")
                return start_embedded(data_dir)
            server = find_server(data_dir)
            say(f"using the embedded PostgreSQL in {data_dir}" if server.embedded else "using the local PostgreSQL")
            return server
        except LocalDatabaseError:
            raise
        except (subprocess.SubprocessError, OSError, AssertionError, RuntimeError) as exc:
            if attempt == 2:
                raise LocalDatabaseError(
                    f"the embedded PostgreSQL in {data_dir} did not start ({type(exc).__name__}); "
                    f"see {data_dir / 'log'}, or pass --db-url postgresql://..."
                ) from None
            say(f"the embedded PostgreSQL did not start ({type(exc).__name__}); trying once more")
    raise AssertionError("unreachable")


def prepare_console_database(
    data_dir: Path,
    migrations_dir: Path,
    *,
    force_embedded: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> ConsoleDatabase:
    """A server, the console database on it, the platform roles, and the migrations applied."""
    server = _acquire_server(data_dir, force_embedded, say)
    try:
        _ensure_database(server.url, CONSOLE_DATABASE)
        url = with_database(server.url, CONSOLE_DATABASE)
        create_platform(url)
        say(f"applying {migrations_dir} to {CONSOLE_DATABASE}")
        try:
            result = migration_up(url, migrations_dir)
        except LocalDatabaseError:
            apply_like_cli(url, migrations_dir)
            return ConsoleDatabase(server, url, "built-in applier (run `npm install` to use the Supabase CLI)")
        if result.returncode != 0:
            # Still answer: /migrations will show what is pending or failed and why.
            tail = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()][-3:]
            say("supabase migration up failed: " + redact(" | ".join(tail)))
        return ConsoleDatabase(server, url, "supabase CLI")
    except psycopg.Error as exc:
        server.stop()
        raise LocalDatabaseError(
            f"the console database could not be prepared: {redact(str(exc)).splitlines()[0]}"
        ) from None
    except BaseException:
        server.stop()
        raise
