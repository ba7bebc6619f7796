"""Status for one environment: local files + a source + the engine.

The one code path behind ``dragonfly-bot status``, ``python -m
tools.migration_status``, ``/migrations`` and the console.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dragonfly_bot.adapters.supabase.base import StatusSource
from dragonfly_bot.adapters.supabase.factory import SupabaseBackend, backend_for
from dragonfly_bot.core.environments import Environment, is_environment
from dragonfly_bot.core.status import LocalMigration, StatusReport, compute_status, versions_to_verify
from dragonfly_bot.core.versions import parse_file_name
from dragonfly_bot.errors import SourceUnavailable, UserFacingError

if TYPE_CHECKING:  # PyGithub and httpx are imported only where used, not by `dragonfly-bot status --db-url`
    import httpx

    from dragonfly_bot.adapters.github import GitHubClient, GitHubUnavailable
    from dragonfly_bot.settings import Settings

log = logging.getLogger(__name__)

# Where CI's migrations live in the repository (the protocol's folder).
REPO_MIGRATIONS_FOLDER = "supabase/migrations"


@dataclass(frozen=True)
class LocalFiles:
    migrations: tuple[LocalMigration, ...]
    ignored: tuple[str, ...]  # *.sql files the CLI would skip (name does not match)
    # Where the files came from, for the source line ("" for the local folder, which needs no saying).
    origin: str = ""


# A parsed file with what identifies its content: (cache key, parsed). The key is
# (size, mtime_ns) for a local file and the content's SHA-256 for one from GitHub.
ParseCache = dict[str, tuple[object, LocalMigration]]


def parse_migration_files(
    files: Iterable[tuple[str, object, Callable[[], bytes]]], previous: ParseCache
) -> tuple[LocalFiles, ParseCache]:
    """The one parser of migration files, whatever their provider.

    ``files`` gives (file name, cache key, read the bytes); a file whose name and
    key are in ``previous`` is not read or parsed again. Returns the files and the
    cache to pass next time.
    """
    current: ParseCache = {}
    ignored = []
    for name, key, read in files:
        if not name.endswith(".sql"):
            continue
        parsed = parse_file_name(name)
        if parsed is None:
            ignored.append(name)
            continue
        cached = previous.get(name)
        if cached is not None and cached[0] == key:
            current[name] = cached
            continue
        text = read().decode("utf-8", errors="replace")
        current[name] = (key, LocalMigration.from_text(parsed, text))
    migrations = sorted((m for _, m in current.values()), key=lambda m: (m.version, m.file))
    return LocalFiles(tuple(migrations), tuple(sorted(ignored))), current


# Parsed files per folder: a running bot re-reads only files that changed, so
# /migrations stays fast on 10,000 files.
_parsed: dict[Path, ParseCache] = {}


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def read_local_migrations(directory: Path) -> LocalFiles:
    """Every migration file the Supabase CLI would consider, sorted by version."""
    if not directory.is_dir():
        problem = "is a file, not a folder" if directory.exists() else "does not exist"
        raise UserFacingError(
            f"migrations folder {directory} {problem}; run from the repository root "
            "or pass --migrations-dir (the folder holding the .sql files)"
        )
    key = directory.resolve()
    with os.scandir(directory) as entries:
        found = []
        for entry in entries:
            if not entry.name.endswith(".sql") or not entry.is_file():
                continue
            stat = entry.stat()
            found.append((entry.name, (stat.st_size, stat.st_mtime_ns), partial(_read_bytes, entry.path)))
        local, _parsed[key] = parse_migration_files(found, _parsed.get(key, {}))
    return local


class MigrationFiles(Protocol):
    """A provider of the migration files a status compares with."""

    async def read(self) -> LocalFiles: ...


class FolderFiles:
    """The files in a local folder (the CLI, the console, a bot without GitHub)."""

    def __init__(self, directory: Path, *, origin: str = ""):
        self.directory = directory
        self.origin = origin

    async def read(self) -> LocalFiles:
        local = await asyncio.to_thread(read_local_migrations, self.directory)
        return replace(local, origin=self.origin) if self.origin else local


@dataclass
class _Snapshot:
    sha: str
    etag: str | None
    files: LocalFiles
    confirmed_at: float  # time.time() when GitHub last said this is the head


class GitHubFiles:
    """``supabase/migrations`` on the repository's branch (what CI applies), kept as a snapshot.

    Each read asks GitHub one cheap question, the branch head with the last
    ETag: an unchanged head answers 304 (free of the rate limit) and the
    snapshot is reused. Only a new head costs a download: the tarball of that
    commit, streamed, with only the folder's files kept, then parsed by the one
    parser (files whose content did not change are not parsed again). When
    GitHub fails, the last good snapshot is used and the origin says so; with
    none, a SourceUnavailable line says what to do.
    """

    def __init__(
        self,
        client: GitHubClient,
        *,
        branch: str | None = None,
        folder: str = REPO_MIGRATIONS_FOLDER,
        web_host: str = "github.com",
        min_interval: float = 2.0,
    ):
        self.client = client
        self.repository = client.repository
        self.configured_branch = branch
        self.folder = folder
        self.web_host = web_host
        self.min_interval = min_interval  # reads closer than this share one check (/migrations compare)
        self.snapshot: _Snapshot | None = None
        self._branch: str | None = branch
        self._asked_branch: str | None = branch  # for error messages
        self._cache: ParseCache = {}
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    def _origin(self, sha: str) -> str:
        return f"{self.web_host}/{self.repository}@{sha[:7]}"

    async def read(self) -> LocalFiles:
        from dragonfly_bot.adapters.github import GitHubUnavailable

        async with self._lock:
            if self.snapshot is not None and time.monotonic() - self._checked_at < self.min_interval:
                return self.snapshot.files
            try:
                self.snapshot = await self._refresh()
            except GitHubUnavailable as exc:
                problem = self._explain(exc)
                if self.snapshot is None:
                    raise SourceUnavailable(problem) from None
                log.warning("migration files: %s; using the snapshot of %s", problem, self.snapshot.sha[:7])
                age = _age(time.time() - self.snapshot.confirmed_at)
                return replace(
                    self.snapshot.files,
                    origin=f"{self._origin(self.snapshot.sha)}, last good snapshot "
                    f"({age} old; GitHub failed just now: {exc})",
                )
            self._checked_at = time.monotonic()
            return self.snapshot.files

    async def _refresh(self) -> _Snapshot:
        if self._branch is None:
            self._branch = await self.client.default_branch()
        self._asked_branch = self._branch
        known = self.snapshot
        try:
            sha, etag = await self.client.branch_head(self._branch, known.etag if known else None)
        except Exception as exc:
            if getattr(exc, "status", None) in (404, 422) and self.configured_branch is None:
                self._branch = None  # the default branch may have been renamed: ask again next time
            raise
        if sha is None:  # 304: the head did not move (an ETag is only sent with a snapshot)
            assert known is not None
            return replace(known, confirmed_at=time.time())
        if known is not None and sha == known.sha:
            return replace(known, etag=etag, confirmed_at=time.time())
        files = await self.client.archive_files(sha, self.folder)
        if not files and known is None:
            log.warning("no files in %s of %s@%s", self.folder, self.repository, sha[:7])
        local, self._cache = await asyncio.to_thread(
            parse_migration_files,
            [(name, hashlib.sha256(data).hexdigest(), partial(bytes, data)) for name, data in files.items()],
            self._cache,
        )
        return _Snapshot(sha, etag, replace(local, origin=self._origin(sha)), time.time())

    def _explain(self, exc: GitHubUnavailable) -> str:
        from dragonfly_bot.adapters.github import ArchiveTooLarge

        branch = self._branch or self._asked_branch
        where = f"{self.folder} of {self.repository}" + (f"@{branch}" if branch else "")
        head = f"could not read {where} from GitHub"
        if exc.rate_limited:
            when = f" (it resets at {datetime.fromtimestamp(exc.reset, UTC):%H:%M} UTC)" if exc.reset else ""
            todo = f"GitHub's rate limit for GITHUB_TOKEN is used up{when}; try again then"
        elif exc.status == 401:
            todo = "GitHub refused GITHUB_TOKEN (401): set a valid token with contents:read"
        elif exc.status == 403:
            todo = "GITHUB_TOKEN may not read the repository (403): give it contents:read on it"
        elif exc.status == 404:
            todo = (
                f"repository {self.repository} not found (404): check GITHUB_REPOSITORY, "
                "and that GITHUB_TOKEN can see it"
            )
        elif exc.status == 422:
            todo = f"branch {branch or '?'} not found (422): check MIGRATIONS_BRANCH"
        elif isinstance(exc, ArchiveTooLarge):
            todo = f"{exc}; set MIGRATIONS_SOURCE=local to compare with the bot's own copy"
        else:
            todo = f"{exc}; try again in a minute (or set MIGRATIONS_SOURCE=local)"
        return f"{head}: {todo}"


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{max(int(seconds), 0)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


async def collect_status(source: StatusSource, local: LocalFiles) -> StatusReport:
    rows = await source.fetch_rows()
    applied = sum(1 for r in rows if r.status != "failed")
    if not local.migrations and not local.ignored and applied:
        # Not 300 missing_local lines: the folder read is almost surely the wrong one.
        where = local.origin or "the migrations folder"
        raise UserFacingError(
            f"{where} has no migration files, but {source.description} has {applied} applied: the folder looks "
            "wrong; run from the repository root or pass --migrations-dir (the folder holding the .sql files)"
        )
    suspects = versions_to_verify(local.migrations, rows)
    statements = await source.fetch_statements(suspects) if suspects else {}
    return compute_status(
        local.migrations,
        rows,
        statements,
        ignored_files=local.ignored,
        missing_features=source.missing_features,
    )


class StatusService:
    """The status of each environment: its backend's source against one provider of files.

    The one path behind ``/migrations``, the hotfix service's sync check, the
    console and ``/readyz``. Built by the composition root (``dragonfly_bot.compose``).
    """

    def __init__(
        self,
        backends: Mapping[Environment, SupabaseBackend],
        files: Callable[[], MigrationFiles],
        *,
        note: str | None = None,
    ):
        self.backends = backends
        self._files = files
        self.note = note

    @property
    def files(self) -> MigrationFiles:
        return self._files()

    async def read(self, env: Environment) -> tuple[str, StatusReport]:
        """(where the data came from, the report) for ``env``."""
        local = await self.files.read()
        source = self.backends[env].status_source()
        report = await collect_status(source, local)
        where = source.description
        if self.note:
            where = f"{where} ({self.note})"
        if local.origin:
            where = f"{where}; files: {local.origin}"
        return where, report

    async def report(self, env: str) -> StatusReport:
        """The report alone, for services that hold an environment as text (a hotfix's)."""
        if not is_environment(env):
            raise UserFacingError(f"unknown environment `{env}`: use dev or prod")
        return (await self.read(env))[1]

    async def probe(self, env: Environment) -> str | None:
        """None when ``env``'s status source answers (one row), else one line saying why not."""
        from dragonfly_bot.adapters.supabase.readiness import probe_backend

        return await probe_backend(self.backends[env])


async def status_for(
    settings: Settings,
    env: Environment,
    *,
    db_url: str | None = None,
    migrations_dir: Path | None = None,
    client: httpx.AsyncClient | None = None,
    local: LocalFiles | None = None,
) -> tuple[StatusSource, StatusReport]:
    """Read the migration files (unless given as ``local``) and the source, then compute the report."""
    import httpx

    owns_client = client is None
    client = client or httpx.AsyncClient()
    try:
        source = backend_for(settings, env, db_url=db_url, client=client).status_source()
        if local is None:
            local = await FolderFiles(migrations_dir or settings.migrations_dir).read()
        return source, await collect_status(source, local)
    finally:
        if owns_client:
            await client.aclose()
