"""The status source interface and what both adapters share.

A source reads ``public.v_migration_status``: the REST adapter through
PostgREST (the protocol's path), the Postgres adapter over a direct,
read-only connection (CI, the local stack, tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.core.redact import redact
from bot.core.status import AppliedRow
from bot.core.times import parse_time

VIEW = "v_migration_status"
VIEW_MIGRATION = "20251209000000_migration_status_view.sql"
# Everything but ``statements``: those are fetched only for versions whose digest differs.
ROW_COLUMNS = (
    "source",
    "version",
    "name",
    "status",
    "executed_at",
    "applied_by",
    "statement_count",
    "statements_digest",
    "error_sqlstate",
    "error_message",
    "error_statement",
    "ci_run_url",
    "commit_sha",
)


class StatusSource(Protocol):
    """Reads the applied side of the status: rows, and statements on demand."""

    @property
    def description(self) -> str:
        """Where the data comes from, safe to show (no secrets)."""

    async def fetch_rows(self) -> list[AppliedRow]:
        """Every row of the view."""

    async def fetch_statements(self, versions: Sequence[str]) -> dict[str, list[str] | None]:
        """The applied statements of these Supabase versions."""


def row_from_mapping(data: Mapping[str, Any]) -> AppliedRow:
    """One view row (a JSON object or a dict row) as an AppliedRow."""
    count = data.get("statement_count")
    return AppliedRow(
        source=str(data["source"]),
        version=str(data["version"]),
        name=data.get("name"),
        status=str(data.get("status") or "applied"),
        executed_at=parse_time(data.get("executed_at")),
        applied_by=data.get("applied_by"),
        statement_count=int(count) if count is not None else None,
        statements_digest=data.get("statements_digest"),
        error_sqlstate=data.get("error_sqlstate"),
        error_message=data.get("error_message"),
        error_statement=data.get("error_statement"),
        ci_run_url=data.get("ci_run_url"),
        commit_sha=data.get("commit_sha"),
    )


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def safe_url(url: str) -> str:
    """A database URL (or key/value connection string) without its password, for
    messages and ``source`` fields: ``user:***@host`` in the authority, and a
    ``password=`` in the query string or a key/value string redacted."""
    if _url_password(url) is not None:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        url = urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, ""))
    return redact(url)


def hide_password(text: str, url: str) -> str:
    """``text`` (a driver's error about ``url``) with no trace of the URL's password.

    Besides the URL itself, libpq may quote part of a password pasted with an
    unencoded '@': it splits at the first '@' and names the rest as the host.
    """
    text = text.replace(url, safe_url(url))
    password = _url_password(url)
    if password and "@" in password:
        text = text.replace(password.split("@", 1)[1] + "@", "***@")
    return redact(text)
