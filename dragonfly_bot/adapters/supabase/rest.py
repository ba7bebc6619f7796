"""PostgREST adapter: ``GET {SUPABASE_URL}/rest/v1/v_migration_status``.

PostgREST caps rows per response (``max-rows``), so rows are fetched in
pages with ``Range`` until ``Content-Range`` says all were read. 5xx, 429
and connection failures are retried with backoff; everything else becomes
one ``SourceUnavailable`` line saying what to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Sequence

import httpx

from dragonfly_bot.adapters.supabase.base import ROW_COLUMNS, VIEW, VIEW_MIGRATION, columns_to_read, row_from_mapping
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.status import AppliedRow
from dragonfly_bot.errors import SourceUnavailable

log = logging.getLogger(__name__)

CONTENT_RANGE = re.compile(r"^\s*(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
STATEMENT_BATCH = 100  # versions per ``in.(...)`` filter, to keep URLs short


class PostgrestClient:
    """What both PostgREST adapters share: ``{project}/rest/v1``, the service-role key
    as ``apikey`` and bearer token, ``request_with_retries``, and reading JSON answers."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        project_url: str,
        service_role_key: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        self._client = client
        self._base = f"{project_url.rstrip('/')}/rest/v1"
        self._key = service_role_key
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "apikey": self._key,
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
        }
        headers.update(extra or {})
        return headers

    async def describe(self) -> dict[str, dict[str, str]] | None:
        """PostgREST's OpenAPI description at ``/rest/v1/``: each exposed table or view -> its columns, in
        order, with their Postgres type (the property's ``format``). None when the root gives none."""
        root = await self._request(
            "GET", f"{self._base}/", unreachable=SourceUnavailable, headers={"Accept": "application/openapi+json"}
        )
        if root.status_code in (401, 403):  # the key is refused: nothing else will answer either
            raise SourceUnavailable(_error_message(f"{self._base}/", root))
        if root.status_code != 200:
            return None
        try:
            definitions = root.json().get("definitions")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return None
        if not isinstance(definitions, dict):
            return None
        described = {}
        for name, definition in definitions.items():
            properties = definition.get("properties") if isinstance(definition, dict) else None
            if isinstance(properties, dict):
                described[name] = {
                    column: str(spec.get("format") or "") if isinstance(spec, dict) else ""
                    for column, spec in properties.items()
                }
        return described

    async def _request(
        self,
        method: str,
        url: str,
        *,
        unreachable: type[SourceUnavailable],
        headers: dict[str, str] | None = None,
        **kwargs,
    ) -> httpx.Response:
        """The response after retries; ``unreachable(message)`` when no attempt got one."""
        try:
            return await request_with_retries(
                self._client,
                method,
                url,
                retries=self._retries,
                backoff=self._backoff,
                headers=self._headers(headers),
                timeout=self._timeout,
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise unreachable(_transport_message(url, exc)) from None


def json_body(url: str, response: httpx.Response):
    """A successful answer's JSON; a proxy's or login page's HTML says so in one line."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SourceUnavailable(
            f"{url} answered with malformed JSON (HTTP {response.status_code}); "
            "check SUPABASE_URL points at the project, not a proxy or login page"
        ) from None


def json_rows(url: str, body) -> list:
    """``body`` when it is a list of rows, as a table or view GET answers."""
    if not isinstance(body, list):
        raise SourceUnavailable(f"{url} answered with JSON that is not a list of rows")
    return body


class RestStatusSource(PostgrestClient):
    def __init__(
        self,
        client: httpx.AsyncClient,
        project_url: str,
        service_role_key: str,
        *,
        page_size: int = 1000,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        super().__init__(client, project_url, service_role_key, timeout=timeout, retries=retries, backoff=backoff)
        self._endpoint = f"{self._base}/{VIEW}"
        self._page_size = page_size
        self._missing: tuple[str, ...] = ()
        self._columns: tuple[str, ...] = (*ROW_COLUMNS, "statements")  # the bot's view, until PostgREST says not

    @property
    def missing_features(self) -> tuple[str, ...]:
        return self._missing

    @property
    def description(self) -> str:
        return self._endpoint

    async def _get(self, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        return await self._request("GET", self._endpoint, unreachable=SourceUnavailable, params=params, headers=headers)

    def _check(self, response: httpx.Response) -> list:
        if response.status_code in (200, 206):
            return json_rows(self._endpoint, json_body(self._endpoint, response))
        raise SourceUnavailable(_error_message(self._endpoint, response))

    async def fetch_rows(self) -> list[AppliedRow]:
        try:
            rows = await self._fetch_pages(list(ROW_COLUMNS))
        except _UnknownColumn:
            # Not the bot's view (a team's own, older one): ask which columns it has, read those.
            columns = await self._view_columns()
            if columns is None:
                return []  # an empty view without an OpenAPI description: nothing to read
            wanted, self._missing = columns_to_read(columns)
            self._columns = tuple(columns)
            rows = await self._fetch_pages(wanted)
        try:
            return [row_from_mapping(r) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(
                f"{self._endpoint} returned rows without the expected columns ({exc}); "
                f"is {VIEW_MIGRATION} the version of the view deployed?"
            ) from None

    async def _view_columns(self) -> list[str] | None:
        """The view's columns: PostgREST's OpenAPI description at ``/rest/v1/``, else the keys of one row."""
        described = (await self.describe() or {}).get(VIEW)
        if described:
            return list(described)
        one = self._check(await self._get({"select": "*", "limit": "1"}, {}))
        return list(one[0]) if one and isinstance(one[0], dict) else None

    async def _fetch_pages(self, columns: list[str]) -> list[dict]:
        rows: list[dict] = []
        start = 0
        order = ",".join(f"{c}.asc" for c in ("source", "version") if c in columns)
        params = {"select": ",".join(columns), "order": order}
        while True:
            end = start + self._page_size - 1
            response = await self._get(
                params, {"Range-Unit": "items", "Range": f"{start}-{end}", "Prefer": "count=exact"}
            )
            if response.status_code == 416:  # asked past the end: everything is read
                break
            if response.status_code == 400 and _postgrest_error(response).get("code") == "42703":
                raise _UnknownColumn
            page = self._check(response)
            rows.extend(page)
            total = _total(response.headers.get("Content-Range"))
            if not page:
                break
            start += len(page)
            if total is not None and start >= total:
                break
            if total is None and response.status_code == 200:
                break  # no Content-Range paging in play: that was everything
        return rows

    async def probe(self) -> None:
        """Ask for one row (``/readyz``); SourceUnavailable says why the view does not answer."""
        self._check(await self._get({"select": "version", "limit": "1"}, {}))

    async def fetch_statements(self, versions: Sequence[str]) -> dict[str, list[str] | None]:
        found: dict[str, list[str] | None] = {}
        if not {"statements", "status", "source"} <= set(self._columns):
            return found
        for i in range(0, len(versions), STATEMENT_BATCH):
            batch = versions[i : i + STATEMENT_BATCH]
            params = {
                "select": "version,statements",
                "source": "eq.supabase",
                "status": "eq.applied",
                "version": f"in.({','.join(batch)})",
            }
            for row in self._check(await self._get(params, {})):
                found[str(row["version"])] = row.get("statements")
        return found


class _UnknownColumn(Exception):
    """PostgREST said 42703: the view lacks a column asked for."""


def _total(content_range: str | None) -> int | None:
    if not content_range:
        return None
    match = CONTENT_RANGE.match(content_range)
    if not match or match.group(3) == "*":
        return None
    return int(match.group(3))


def _postgrest_error(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _error_message(endpoint: str, response: httpx.Response) -> str:
    status = response.status_code
    body = _postgrest_error(response)
    code = str(body.get("code") or "")
    said = redact(str(body.get("message") or "").strip()[:500])  # PostgREST may echo a key or a value
    suffix = f" (PostgREST {code}: {said})" if code else f" ({said})" if said else ""
    if status in (401, 403) and code != "42501":
        return (
            f"{endpoint} refused the key (HTTP {status}){suffix}; check the service-role key for this "
            "environment (SUPABASE_<ENV>_SERVICE_ROLE_KEY) is the project's current one"
        )
    if code == "42501" or status == 403:
        return (
            f"{endpoint}: permission denied{suffix}; the key's role cannot read {VIEW}: "
            f"use the service-role key, and check the GRANTs in {VIEW_MIGRATION}"
        )
    if status == 404 or code in ("PGRST205", "42P01", "PGRST202"):
        return (
            f"{VIEW} is not deployed at {endpoint}{suffix}; it is created by "
            f"supabase/migrations/{VIEW_MIGRATION}: push it so CI applies it"
        )
    if status == 416:
        return f"{endpoint} rejected the requested range{suffix}"
    return f"{endpoint} answered HTTP {status}{suffix}; try again, and check the Supabase status page if it persists"


def _transport_message(endpoint: str, exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{endpoint} did not answer in time; check the network, or raise REST_TIMEOUT_SECONDS"
    return (
        f"cannot reach {endpoint} ({type(exc).__name__}); check SUPABASE_URL and your network. "
        "DNS failures here are often IPv6-only or pooler host names: use the project's "
        "https://<ref>.supabase.co URL, never a db./pooler host"
    )


async def request_with_retries(
    client: httpx.AsyncClient, method: str, url: str, *, retries: int, backoff: float, **kwargs
) -> httpx.Response:
    """One request, retried with backoff on 5xx/429 and transport errors.

    Returns the last response (whatever its status); raises the last
    ``httpx.TransportError`` when every attempt failed to get one. Shared by
    the status source and the hotfix store.
    """
    attempt = 0
    while True:
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt >= retries:
                raise
            delay = _retry_delay(backoff, attempt, None)
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= retries:
                return response
            delay = _retry_delay(backoff, attempt, response.headers.get("Retry-After"))
        attempt += 1
        log.info("retrying %s in %.2fs (attempt %d)", url, delay, attempt + 1)
        await asyncio.sleep(delay)


def _retry_delay(backoff: float, attempt: int, retry_after: str | None) -> float:
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), 30.0)
    return backoff * (2**attempt) * (0.5 + random.random() / 2)
