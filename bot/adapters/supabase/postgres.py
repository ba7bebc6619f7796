"""Direct Postgres adapter: the same view over a read-only connection.

For CI (which holds the DB URL), the local stack and the tests. Every query
runs in a read-only transaction, so this adapter cannot write even if the
URL's role could.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import DictRow, dict_row

from bot.adapters.supabase.base import ROW_COLUMNS, VIEW, VIEW_MIGRATION, hide_password, row_from_mapping, safe_url
from bot.core.status import AppliedRow
from bot.errors import SourceUnavailable

ROWS_SQL = f"select {', '.join(ROW_COLUMNS)} from public.{VIEW} order by source, version"
STATEMENTS_SQL = (
    f"select version, statements from public.{VIEW} "
    "where source = 'supabase' and status = 'applied' and version = any(%s)"
)


async def connect(
    url: str, unreachable: Callable[[str], SourceUnavailable], **kwargs
) -> psycopg.AsyncConnection[DictRow]:
    """``psycopg.AsyncConnection.connect(url, **kwargs)`` reading rows as dicts, failing in one line (shared by
    the status source and the hotfix store): ``unreachable(reason)`` when the server
    cannot be reached, ``reason`` being the error's first line with the URL's password
    hidden; ``SourceUnavailable`` when the URL is malformed."""
    try:
        return await psycopg.AsyncConnection.connect(url, row_factory=dict_row, **kwargs)
    except psycopg.OperationalError as exc:
        raise unreachable(hide_password(_first_line(exc), url)) from None
    except psycopg.ProgrammingError as exc:
        reason = hide_password(_first_line(exc), url)
        raise SourceUnavailable(f"the database URL is not valid ({reason}); expected postgresql://...") from None


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


class PostgresStatusSource:
    def __init__(self, db_url: str, *, connect_timeout: int = 10):
        self._url = db_url
        self._connect_timeout = connect_timeout

    @property
    def description(self) -> str:
        return safe_url(self._url)

    async def _query(self, sql: str, params: tuple = ()) -> list[dict]:
        conn = await connect(
            self._url,
            lambda reason: SourceUnavailable(
                f"cannot connect to {self.description}: {reason}; "
                "check the --db-url / SUPABASE_<ENV>_DB_URL and that the database is up"
            ),
            connect_timeout=self._connect_timeout,
        )
        try:
            async with conn, conn.transaction():
                await conn.execute("set transaction read only")
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()
        except pg_errors.UndefinedTable:
            raise SourceUnavailable(
                f"{VIEW} does not exist in {self.description}; it is created by "
                f"supabase/migrations/{VIEW_MIGRATION}: apply the migrations first"
            ) from None
        except pg_errors.InsufficientPrivilege as exc:
            raise SourceUnavailable(
                f"permission denied reading {VIEW} as this role: {exc.diag.message_primary}"
            ) from None
        except psycopg.OperationalError as exc:
            raise SourceUnavailable(f"the connection to {self.description} failed: {exc}") from None

    async def fetch_rows(self) -> list[AppliedRow]:
        return [row_from_mapping(r) for r in await self._query(ROWS_SQL)]

    async def fetch_statements(self, versions: Sequence[str]) -> dict[str, list[str] | None]:
        if not versions:
            return {}
        rows = await self._query(STATEMENTS_SQL, (list(versions),))
        return {r["version"]: r["statements"] for r in rows}
