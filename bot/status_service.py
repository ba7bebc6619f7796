"""Status for one environment: local files + a source + the engine.

The one code path behind ``dragonfly-bot status``, ``python -m
tools.migration_status``, ``/migrations`` and the console.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.domain.status import LocalMigration, StatusReport, compute_status, versions_to_verify
from bot.domain.versions import parse_file_name
from bot.errors import UserFacingError
from bot.settings import Environment, Settings
from bot.sources.base import StatusSource
from bot.sources.postgres import PostgresStatusSource
from bot.sources.rest import RestStatusSource


@dataclass(frozen=True)
class LocalFiles:
    migrations: tuple[LocalMigration, ...]
    ignored: tuple[str, ...]  # *.sql files the CLI would skip (name does not match)


# Parsed files per folder, keyed by name with (size, mtime_ns): a running bot
# re-reads only files that changed, so /migrations stays fast on 10,000 files.
_parsed: dict[Path, dict[str, tuple[int, int, LocalMigration]]] = {}


def read_local_migrations(directory: Path) -> LocalFiles:
    """Every migration file the Supabase CLI would consider, sorted by version."""
    if not directory.is_dir():
        problem = "is a file, not a folder" if directory.exists() else "does not exist"
        raise UserFacingError(
            f"migrations folder {directory} {problem}; run from the repository root "
            "or pass --migrations-dir (the folder holding the .sql files)"
        )
    key = directory.resolve()
    previous = _parsed.get(key, {})
    current: dict[str, tuple[int, int, LocalMigration]] = {}
    ignored = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.endswith(".sql") or not entry.is_file():
                continue
            parsed = parse_file_name(entry.name)
            if parsed is None:
                ignored.append(entry.name)
                continue
            stat = entry.stat()
            cached = previous.get(entry.name)
            if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
                current[entry.name] = cached
                continue
            with open(entry.path, "rb") as handle:
                text = handle.read().decode("utf-8", errors="replace")
            current[entry.name] = (stat.st_size, stat.st_mtime_ns, LocalMigration.from_text(parsed, text))
    _parsed[key] = current
    migrations = sorted((m for _, _, m in current.values()), key=lambda m: (m.version, m.file))
    return LocalFiles(tuple(migrations), tuple(sorted(ignored)))


async def collect_status(source: StatusSource, local: LocalFiles) -> StatusReport:
    rows = await source.fetch_rows()
    suspects = versions_to_verify(local.migrations, rows)
    statements = await source.fetch_statements(suspects) if suspects else {}
    return compute_status(local.migrations, rows, statements, ignored_files=local.ignored)


def make_source(
    settings: Settings,
    env: Environment,
    *,
    db_url: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> StatusSource:
    """The source for ``env``: an explicit DB URL, else REST, else the env's DB URL."""
    if db_url:
        return PostgresStatusSource(db_url)
    url = settings.project_url(env)
    key = settings.service_role_key(env)
    if url and key:
        if client is None:
            raise UserFacingError("internal: the REST source needs an HTTP client")
        return RestStatusSource(
            client,
            url,
            key.get_secret_value(),
            page_size=settings.rest_page_size,
            timeout=settings.rest_timeout_seconds,
        )
    configured = settings.db_url(env)
    if configured is not None:
        return PostgresStatusSource(configured.get_secret_value())
    upper = env.upper()
    if url and not key:
        raise UserFacingError(
            f"SUPABASE_{upper}_SERVICE_ROLE_KEY is not set: the service-role key for {env}, needed to read "
            "v_migration_status over REST"
        )
    raise UserFacingError(
        f"no Supabase settings for {env}: set SUPABASE_{upper}_URL and SUPABASE_{upper}_SERVICE_ROLE_KEY "
        f"(or SUPABASE_URL/SUPABASE_SERVICE_ROLE_KEY with SUPABASE_MODE={env}), or pass --db-url"
    )


async def status_for(
    settings: Settings,
    env: Environment,
    *,
    db_url: str | None = None,
    migrations_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
) -> tuple[StatusSource, StatusReport]:
    """Read local files and the source concurrently, then compute the report."""
    owns_client = client is None
    client = client or httpx.AsyncClient()
    try:
        source = make_source(settings, env, db_url=db_url, client=client)
        local = await asyncio.to_thread(read_local_migrations, migrations_dir or settings.migrations_dir)
        return source, await collect_status(source, local)
    finally:
        if owns_client:
            await client.aclose()
