"""A cheap "does the status source answer?" check for ``/readyz``.

Reading the whole view every few seconds would be wasteful on a long
history, so this asks for one row: ``limit=1`` over REST, ``limit 1`` over
Postgres. The answer is None when the source works, else one line saying why.
"""

from __future__ import annotations

import httpx
import psycopg

from bot.adapters.supabase.base import VIEW, safe_url
from bot.settings import Environment, Settings


async def _probe_rest(client: httpx.AsyncClient, url: str, key: str, timeout: float) -> str | None:
    endpoint = f"{url}/rest/v1/{VIEW}"
    try:
        response = await client.get(
            endpoint,
            params={"select": "version", "limit": "1"},
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        return f"{endpoint} unreachable ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{endpoint} answered HTTP {response.status_code}"
    return None


async def _probe_postgres(db_url: str) -> str | None:
    try:
        async with await psycopg.AsyncConnection.connect(db_url, connect_timeout=5) as conn:
            await conn.execute(f"select 1 from public.{VIEW} limit 1")
    except psycopg.Error as exc:
        return f"{safe_url(db_url)}: {type(exc).__name__}"
    return None


async def probe_source(
    settings: Settings,
    env: Environment,
    *,
    db_url: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> str | None:
    if db_url:
        return await _probe_postgres(db_url)
    url, key = settings.project_url(env), settings.service_role_key(env)
    if url and key:
        if client is None:
            return "the HTTP client is not started"
        return await _probe_rest(client, url, key.get_secret_value(), settings.rest_timeout_seconds)
    configured = settings.db_url(env)
    if configured is not None:
        return await _probe_postgres(configured.get_secret_value())
    return f"no status source configured for {env} (SUPABASE_{env.upper()}_URL / _SERVICE_ROLE_KEY)"
