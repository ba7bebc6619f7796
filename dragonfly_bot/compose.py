"""The composition root: settings -> backends -> clients -> services, built once.

Everything that decides *which* implementation the bot uses lives here, and
only here: the one shared HTTP client, the one GitHub client, the per-
environment Supabase backends (``dragonfly_bot.adapters.supabase.factory``), the
provider of migration files and the status service. ``dragonfly-bot run``,
``dragonfly-bot console``, the CLI commands and the tests all get their
parts from ``build_services``; the Discord app (``dragonfly_bot.chat.app``) receives
them and cogs read them as ``bot.services``.

    services = build_services(settings)                            # the deployed bot
    services = build_services(settings, db_url=url, note="...",    # the console: one
                              local_files=True)                     # database, local files
    async with services:                                           # the CLI
        where, report = await services.status.read("dev")
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dragonfly_bot.adapters.supabase.factory import SupabaseBackend, backend_for
from dragonfly_bot.core.environments import ENVIRONMENTS, Environment
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.status.service import FolderFiles, GitHubFiles, MigrationFiles, StatusService

if TYPE_CHECKING:  # PyGithub, httpx and pydantic are imported only when used, not by `dragonfly-bot status --db-url`
    import httpx

    from dragonfly_bot.adapters.github import GitHubClient
    from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore
    from dragonfly_bot.settings import Settings

log = logging.getLogger(__name__)


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    """The process's one HTTP client (PostgREST); closed by ``Services.aclose``."""
    import httpx

    return httpx.AsyncClient(
        timeout=settings.rest_timeout_seconds,
        headers={"User-Agent": "dragonfly-bot"},
        limits=httpx.Limits(max_connections=20),
    )


def github_configured(settings: Settings) -> bool:
    return settings.github_token is not None and bool(settings.github_repository)


def github_files_wanted(settings: Settings) -> bool:
    """MIGRATIONS_SOURCE for the running bot: github, local, or auto (github when GitHub is configured)."""
    configured = github_configured(settings)
    if settings.migrations_source == "github" and not configured:
        raise UserFacingError(
            "MIGRATIONS_SOURCE=github needs GITHUB_TOKEN (contents:read) and GITHUB_REPOSITORY (owner/name); "
            "set them, or MIGRATIONS_SOURCE=local"
        )
    return settings.migrations_source == "github" or (settings.migrations_source == "auto" and configured)


def github_web_host(api_url: str) -> str:
    """github.com for the public API, else the Enterprise host (for links and source lines)."""
    host = urlsplit(api_url.rstrip("/")).netloc
    return "github.com" if host == "api.github.com" else host


class Services:
    """The parts every surface shares, made once per process.

    ``db_url`` (console, tests, ``--db-url``): every environment reads this
    database. ``note``: said after the source line (the console says which
    database answers). ``local_files``: compare with the local folder
    whatever MIGRATIONS_SOURCE says (engineers check their own checkout).
    """

    def __init__(
        self,
        settings: Settings | None,
        *,
        db_url: str | None = None,
        note: str | None = None,
        local_files: bool = False,
        migrations_dir: Path | None = None,
        http: httpx.AsyncClient | None = None,
    ):
        if settings is not None:
            self.__dict__["settings"] = settings
        self.db_url = db_url
        if http is not None:
            self.__dict__["http"] = http
        backends = {env: backend_for(None if db_url else self.settings, env, db_url=db_url) for env in ENVIRONMENTS}
        # The HTTP client (and its TLS context) is made only when some environment is read over REST.
        self.backends: dict[Environment, SupabaseBackend] = {
            env: replace(b, client=self.http) if b.kind == "rest" else b for env, b in backends.items()
        }
        self._local_files = local_files
        self._migrations_dir = migrations_dir
        self.status = StatusService(self.backends, lambda: self.migration_files, note=note)

    @cached_property
    def settings(self) -> Settings:
        """The settings given, else loaded on first use: a ``status --db-url`` run never needs them."""
        from dragonfly_bot.settings import load_settings

        return load_settings()

    @cached_property
    def http(self) -> httpx.AsyncClient:
        """The process's one HTTP client, made on first use."""
        return new_http_client(self.settings)

    @cached_property
    def github(self) -> GitHubClient | None:
        """The one GitHub client (CI relay, migration files), or None without GITHUB_TOKEN/REPOSITORY."""
        if not github_configured(self.settings):
            return None
        from dragonfly_bot.adapters.github import GitHubClient

        s = self.settings
        assert s.github_token is not None and s.github_repository
        return GitHubClient(
            s.github_token.get_secret_value(),
            s.github_repository,
            s.migrations_workflow,
            api_url=s.github_api_url.rstrip("/"),
            timeout=s.rest_timeout_seconds,
        )

    @cached_property
    def migration_files(self) -> MigrationFiles:
        """Where migration files come from: the repository's branch (MIGRATIONS_SOURCE), else the folder."""
        if not self._local_files and github_files_wanted(self.settings):
            assert self.github is not None
            return GitHubFiles(
                self.github,
                branch=self.settings.migrations_branch or None,
                web_host=github_web_host(self.settings.github_api_url),
            )
        return FolderFiles(self._migrations_dir or self.settings.migrations_dir)

    def hotfix_store(self) -> HotfixStore:
        """The hotfix log's store: it lives in the SUPABASE_MODE environment's project."""
        return self.backends[self.settings.supabase_mode].hotfix_store()

    async def aclose(self) -> None:
        http = self.__dict__.get("http")
        if http is not None:
            await http.aclose()
        github = self.__dict__.get("github")
        if github is not None:
            github.close()

    async def __aenter__(self) -> Services:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def build_services(
    settings: Settings | None,
    *,
    db_url: str | None = None,
    note: str | None = None,
    local_files: bool = False,
    migrations_dir: Path | None = None,
) -> Services:
    return Services(settings, db_url=db_url, note=note, local_files=local_files, migrations_dir=migrations_dir)
