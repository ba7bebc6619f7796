"""A cheap "does the status source answer?" check for ``/readyz``.

Reading the whole view every few seconds would be wasteful on a long
history, so this asks for one row: ``limit=1`` over REST (through the same
``RestStatusSource`` and shared HTTP client as ``/migrations``, without
retries: a probe must answer quickly), ``limit 1`` over Postgres. The
answer is None when the source works, else one line saying why.
"""

from __future__ import annotations

import httpx
import psycopg

from dragonfly_bot.adapters.supabase.base import VIEW, safe_url
from dragonfly_bot.adapters.supabase.factory import SupabaseBackend, backend_for
from dragonfly_bot.core.environments import Environment
from dragonfly_bot.errors import SourceUnavailable
from dragonfly_bot.settings import Settings


async def probe_postgres(db_url: str) -> str | None:
    try:
        async with await psycopg.AsyncConnection.connect(db_url, connect_timeout=5) as conn:
            await conn.execute(f"select 1 from public.{VIEW} limit 1")
    except psycopg.Error as exc:
        return f"{safe_url(db_url)}: {type(exc).__name__}"
    return None


async def probe_backend(backend: SupabaseBackend) -> str | None:
    """None when ``backend``'s status view answers, else why not."""
    if backend.kind == "postgres":
        return await probe_postgres(backend.db_url or "")
    if backend.kind == "rest":
        if backend.client is None or backend.client.is_closed:
            return "the HTTP client is not started"
        try:
            await backend.rest_status_source(retries=0).probe()
        except SourceUnavailable as exc:
            return exc.message
        return None
    return f"no status source configured for {backend.env} (SUPABASE_{backend.env.upper()}_URL / _SERVICE_ROLE_KEY)"


async def probe_source(
    settings: Settings,
    env: Environment,
    *,
    db_url: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> str | None:
    """``probe_backend`` of the environment's backend, as the factory decides it."""
    return await probe_backend(backend_for(settings, env, db_url=db_url, client=client))
