"""Direct Postgres adapter: the same view over a read-only connection.

For CI (which holds the DB URL), the local stack and the tests. Every query
runs in a read-only transaction, so this adapter cannot write even if the
URL's role could.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql
from psycopg.rows import DictRow, dict_row

from dragonfly_bot.adapters.supabase.base import (
    VIEW,
    VIEW_MIGRATION,
    columns_to_read,
    hide_password,
    row_from_mapping,
    safe_url,
)
from dragonfly_bot.core.status import AppliedRow
from dragonfly_bot.errors import SourceUnavailable, UserFacingError

# The view's columns in order, from the catalog (no rows when there is no such view).
COLUMNS_SQL = (
    "select a.attname from pg_attribute a "
    f"where a.attrelid = to_regclass('public.{VIEW}') and a.attnum > 0 and not a.attisdropped order by a.attnum"
)
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
        raise UserFacingError(f"the database URL is not valid ({reason}); expected postgresql://...") from None


async def call_as_role(
    url: str,
    query: str | pg_sql.Composed,
    params: Any,
    *,
    role: str | None,
    connect_timeout: int,
    store: str,
    down: Callable[[str], SourceUnavailable],
    missing: str,
    denied_advice: str,
    missing_errors: tuple[type[psycopg.Error], ...] = (pg_errors.UndefinedTable, pg_errors.UndefinedFunction),
) -> list[dict]:
    """One autocommit call on a short connection of its own, as ``role`` when given (how the tests
    prove a migration's GRANTs are enough); shared by the outbox and the hotfix store.

    Each failure is one line: ``down(...)`` when ``store`` cannot be reached or the connection
    breaks, ``SourceUnavailable(missing)`` when the migration's objects are not there, and a
    permission-denied line ending in ``denied_advice``."""
    where = safe_url(url)
    conn = await connect(
        url,
        lambda reason: down(f"cannot connect to {store} at {where}: {reason}"),
        connect_timeout=connect_timeout,
        autocommit=True,
    )
    try:
        async with conn:
            if role:
                await conn.execute(pg_sql.SQL("set role {}").format(pg_sql.Identifier(role)))
            cursor = await conn.execute(query, params)
            return list(await cursor.fetchall()) if cursor.description else []
    except missing_errors:
        raise SourceUnavailable(missing) from None
    except pg_errors.InsufficientPrivilege as exc:
        raise SourceUnavailable(f"permission denied in {store}: {exc.diag.message_primary}; {denied_advice}") from None
    except psycopg.OperationalError as exc:
        raise down(f"the connection to {store} at {where} failed: {exc}") from None


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


class PostgresStatusSource:
    def __init__(self, db_url: str, *, connect_timeout: int = 10):
        self._url = db_url
        self._connect_timeout = connect_timeout
        self._missing: tuple[str, ...] = ()
        self._columns: tuple[str, ...] = ("statements", "status", "source")  # the bot's view, until read

    @property
    def description(self) -> str:
        return safe_url(self._url)

    @property
    def missing_features(self) -> tuple[str, ...]:
        return self._missing

    async def _query(self, sql, params: tuple = ()) -> list[dict]:
        """``sql`` (text, or a function of the view's column names giving it) over one read-only connection."""
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
                if callable(sql):
                    found = await (await conn.execute(COLUMNS_SQL)).fetchall()
                    if not found:
                        raise pg_errors.UndefinedTable()
                    sql = sql([r["attname"] for r in found])
                cursor = await conn.execute(sql, params)
                rows: list[dict] = await cursor.fetchall()
                return rows
        except pg_errors.UndefinedTable:
            raise SourceUnavailable(
                f"{VIEW} does not exist in {self.description}; it is created by "
                f"supabase/migrations/{VIEW_MIGRATION}: apply the migrations first "
                "(in another project, run `dragonfly-bot init`)"
            ) from None
        except pg_errors.InsufficientPrivilege as exc:
            raise SourceUnavailable(
                f"permission denied reading {VIEW} as this role: {exc.diag.message_primary}"
            ) from None
        except psycopg.OperationalError as exc:
            raise SourceUnavailable(f"the connection to {self.description} failed: {exc}") from None
        except psycopg.Error as exc:  # e.g. a view that fails on its own tables (42703): one line, never a traceback
            said = hide_password(_first_line(exc), self._url)
            raise SourceUnavailable(
                f"reading {VIEW} in {self.description} failed ({exc.sqlstate or type(exc).__name__}: {said}); "
                "the view may be broken: check it, or run `dragonfly-bot init`"
            ) from None

    def _rows_sql(self, columns: list[str]) -> pg_sql.Composable:
        wanted, self._missing = columns_to_read(columns)
        self._columns = tuple(columns)
        order = [c for c in ("source", "version") if c in wanted]
        return pg_sql.SQL("select {} from public.{} order by {}").format(
            pg_sql.SQL(", ").join(map(pg_sql.Identifier, wanted)),
            pg_sql.Identifier(VIEW),
            pg_sql.SQL(", ").join(map(pg_sql.Identifier, order)),
        )

    async def fetch_rows(self) -> list[AppliedRow]:
        return [row_from_mapping(r) for r in await self._query(self._rows_sql)]

    async def fetch_statements(self, versions: Sequence[str]) -> dict[str, list[str] | None]:
        if not versions or not {"statements", "status", "source"} <= set(self._columns):
            return {}
        rows = await self._query(STATEMENTS_SQL, (list(versions),))
        return {r["version"]: r["statements"] for r in rows}
