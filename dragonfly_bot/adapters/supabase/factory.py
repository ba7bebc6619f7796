"""One environment's Supabase backend: how the bot reaches it, decided once.

The decision is "an explicit database URL (console, tests, ``--db-url``),
else PostgREST with the project URL and service-role key (the protocol's
path), else the environment's direct database URL". It is made here and
nowhere else; the status source, the hotfix store and the readiness probe of
an environment all come from the same ``SupabaseBackend`` (the probe is
``dragonfly_bot.adapters.supabase.readiness.probe_backend``), so they can never
disagree about where that environment lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from dragonfly_bot.adapters.supabase.base import StatusSource, check_db_url
from dragonfly_bot.core.environments import Environment
from dragonfly_bot.errors import UserFacingError

if TYPE_CHECKING:  # each adapter (psycopg, httpx) is imported when a backend of its kind is used
    import httpx

    from dragonfly_bot.adapters.supabase.hotfix_store import HotfixStore
    from dragonfly_bot.adapters.supabase.rest import RestStatusSource
    from dragonfly_bot.settings import Settings

Kind = Literal["postgres", "rest"]


@dataclass(frozen=True)
class SupabaseBackend:
    """Where one environment lives. ``kind`` is None when nothing is configured;
    then every method says, in one line, what to set."""

    env: Environment
    kind: Kind | None
    db_url: str | None = field(default=None, repr=False)  # kind == "postgres" (may hold a password)
    project_url: str | None = None  # kind == "rest"
    service_role_key: str | None = field(default=None, repr=False)
    client: httpx.AsyncClient | None = field(default=None, repr=False)  # the process's one HTTP client (REST)
    timeout: float = 10.0
    page_size: int = 1000
    missing_key: bool = False  # a project URL without its key: say which setting is missing

    @property
    def configured(self) -> bool:
        return self.kind is not None

    def status_source(self, *, retries: int = 3) -> StatusSource:
        """The source of ``v_migration_status``; ``retries`` applies to REST (the probe asks for none)."""
        if self.kind == "postgres":
            from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource

            check_db_url(self._url())  # a malformed URL is a configuration error (exit 2), found before connecting
            return PostgresStatusSource(self._url())
        if self.kind == "rest":
            return self.rest_status_source(retries=retries)
        upper = self.env.upper()
        if self.missing_key:
            raise UserFacingError(
                f"SUPABASE_{upper}_SERVICE_ROLE_KEY is not set: the service-role key for {self.env}, needed to "
                "read v_migration_status over REST"
            )
        raise UserFacingError(
            f"no Supabase settings for {self.env}: set SUPABASE_{upper}_URL and SUPABASE_{upper}_SERVICE_ROLE_KEY "
            f"(or SUPABASE_URL/SUPABASE_SERVICE_ROLE_KEY with SUPABASE_MODE={self.env}), or pass --db-url"
        )

    def rest_status_source(self, *, retries: int = 3) -> RestStatusSource:
        from dragonfly_bot.adapters.supabase.rest import RestStatusSource

        return RestStatusSource(
            self._client(),
            self._project(),
            self._key(),
            page_size=self.page_size,
            timeout=self.timeout,
            retries=retries,
        )

    def hotfix_store(self) -> HotfixStore:
        if self.kind == "postgres":
            from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore

            return PostgresHotfixStore(self._url())
        if self.kind == "rest":
            from dragonfly_bot.adapters.supabase.hotfix_rest import RestHotfixStore

            return RestHotfixStore(self._client(), self._project(), self._key(), timeout=self.timeout)
        upper = self.env.upper()
        raise UserFacingError(
            f"no store for hotfixes: set SUPABASE_{upper}_URL and SUPABASE_{upper}_SERVICE_ROLE_KEY "
            "(the hotfix log lives in the SUPABASE_MODE project), or pass --db-url"
        )

    def _url(self) -> str:
        assert self.db_url is not None
        return self.db_url

    def _project(self) -> str:
        assert self.project_url is not None
        return self.project_url

    def _key(self) -> str:
        assert self.service_role_key is not None
        return self.service_role_key

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise UserFacingError("internal: the REST backend needs the shared HTTP client")
        return self.client


def backend_for(
    settings: Settings | None,
    env: Environment,
    *,
    db_url: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> SupabaseBackend:
    """The one decision: explicit ``db_url``, else REST, else the environment's DB URL.

    With ``db_url`` the settings are not read (``None`` is accepted then).
    """
    if db_url:
        return SupabaseBackend(env, "postgres", db_url=db_url, client=client)
    if settings is None:
        raise TypeError("backend_for needs settings when no db_url is given")
    none = SupabaseBackend(
        env, None, client=client, timeout=settings.rest_timeout_seconds, page_size=settings.rest_page_size
    )
    url, key = settings.project_url(env), settings.service_role_key(env)
    if url and key:
        return replace(none, kind="rest", project_url=url, service_role_key=key.get_secret_value())
    configured = settings.db_url(env)
    if configured is not None:
        return replace(none, kind="postgres", db_url=configured.get_secret_value())
    return replace(none, missing_key=bool(url))
