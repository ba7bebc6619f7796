"""Catalog facts about a failed migration, read from the database CI migrates.

``read_facts(db_url, query)`` answers a ``FactsQuery`` (dragonfly_bot.core.diagnosis.facts)
in one read-only transaction with a short statement_timeout, as the role the
URL names (the one CI connects as). Each question runs in its own savepoint,
so one the role may not ask (no access to schema_migrations, say) costs only
that fact. Never raises: an unreachable database gives ``Facts(unavailable=...)``,
one line, password hidden.
"""

from __future__ import annotations

from typing import Any

import psycopg

from dragonfly_bot.adapters.supabase.base import hide_password
from dragonfly_bot.core.diagnosis.facts import FactsQuery, closest
from dragonfly_bot.core.diagnosis.model import Facts
from dragonfly_bot.core.redact import redact

STATEMENT_TIMEOUT_MS = 3000
CONNECT_TIMEOUT_S = 5
MAX_COLUMNS = 2000  # of the table, ranked for did-you-mean

_RELKINDS = "('r', 'v', 'm', 'p', 'f')"  # tables, views, materialized views, partitioned and foreign tables
_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_PRIVILEGES = {
    "schema": ("USAGE", "CREATE"),
    "sequence": ("USAGE", "SELECT", "UPDATE"),
    "database": ("CONNECT", "CREATE", "TEMPORARY"),
    "function": ("EXECUTE",),
    "procedure": ("EXECUTE",),
    "type": ("USAGE",),
}

# (owner, oid) of the object the 42501 is about, per kind; %s = schema (or None: search_path), name.
_OBJECT_SQL = {
    "table": f"""select pg_get_userbyid(c.relowner), c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relname = %(name)s and c.relkind in {_RELKINDS}
          and (n.nspname = %(schema)s or (%(schema)s is null and n.nspname = any(current_schemas(false))))
        order by array_position(current_schemas(false), n.nspname) nulls last limit 1""",
    "sequence": """select pg_get_userbyid(c.relowner), c.oid
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relname = %(name)s and c.relkind = 'S' and (n.nspname = %(schema)s or %(schema)s is null) limit 1""",
    "schema": "select pg_get_userbyid(nspowner), oid from pg_namespace where nspname = %(name)s",
    "database": "select pg_get_userbyid(datdba), oid from pg_database where datname = current_database()",
    "function": """select pg_get_userbyid(p.proowner), p.oid
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.proname = %(name)s and (n.nspname = %(schema)s or %(schema)s is null) limit 1""",
    "type": """select pg_get_userbyid(t.typowner), t.oid
        from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where t.typname = %(name)s and (n.nspname = %(schema)s or %(schema)s is null) limit 1""",
}
_HAS = {
    "table": "has_table_privilege",
    "sequence": "has_sequence_privilege",
    "schema": "has_schema_privilege",
    "database": "has_database_privilege",
    "function": "has_function_privilege",
    "type": "has_type_privilege",
}


def read_facts(db_url: str, query: FactsQuery, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Facts:
    """What the database says about ``query``; ``Facts(unavailable=reason)`` when it cannot be read."""
    try:
        conn = psycopg.connect(db_url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=False)
    except (psycopg.Error, OSError, ValueError) as exc:
        return Facts(unavailable=_reason(exc, db_url))
    try:
        conn.read_only = True
        with conn.transaction():
            conn.execute(f"set local statement_timeout = {int(statement_timeout_ms)}")
            conn.execute("set local lock_timeout = 1000")
            user = conn.execute("select current_user").fetchone()
            found: dict[str, Any] = {"current_user": user[0] if user else ""}
            for ask in (_object, _privileges, _versions, _extension):
                try:
                    with conn.transaction():  # a savepoint: one refused question costs one fact
                        found.update(ask(conn, query))
                except psycopg.Error:
                    continue
        return Facts(object_name=query.object_name, **found)
    except (psycopg.Error, OSError) as exc:
        return Facts(unavailable=_reason(exc, db_url))
    except Exception as exc:  # a bug here must not cost the diagnosis (record-run runs in CI)
        return Facts(unavailable=f"catalog facts not read: {type(exc).__name__}")
    finally:
        conn.close()


def _reason(exc: BaseException, db_url: str) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return redact(hide_password(text, db_url))[:300]


def _rows(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def _object(conn: psycopg.Connection, q: FactsQuery) -> dict[str, Any]:
    """Does the object exist in another schema; the columns closest to a missing one."""
    params = {"schema": q.schema or None, "name": q.name, "column": q.column}
    if q.kind == "column":
        rows = _rows(
            conn,
            f"""select a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid
                join pg_namespace n on n.oid = c.relnamespace
                where c.relname = %(name)s and c.relkind in {_RELKINDS} and a.attnum > 0 and not a.attisdropped
                  and n.nspname = coalesce(%(schema)s, 'public') limit {MAX_COLUMNS}""",
            params,
        )
        elsewhere = _rows(
            conn,
            f"""select distinct n.nspname from pg_attribute a join pg_class c on c.oid = a.attrelid
                join pg_namespace n on n.oid = c.relnamespace
                where c.relname = %(name)s and c.relkind in {_RELKINDS} and a.attname = %(column)s
                  and not a.attisdropped and n.nspname <> coalesce(%(schema)s, 'public') order by 1 limit 10""",
            params,
        )
        return {
            "table_exists": bool(rows),
            "similar_columns": closest(q.column, [r[0] for r in rows]),
            "other_schemas": tuple(r[0] for r in elsewhere),
        }
    catalog = {
        "table": f"select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        f"where c.relname = %(name)s and c.relkind in {_RELKINDS}",
        "function": "select n.nspname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where p.proname = %(name)s",
        "type": "select n.nspname from pg_type t join pg_namespace n on n.oid = t.typnamespace "
        "where t.typname = %(name)s",
    }.get(q.kind)
    if catalog is None:
        return {}
    rows = _rows(conn, f"select distinct nspname from ({catalog}) s order by 1 limit 20", params)
    schemas = [r[0] for r in rows]
    # For an unqualified name, "elsewhere" is a schema not on the search_path; otherwise any other schema.
    on_path = {r[0] for r in _rows(conn, "select unnest(current_schemas(false))", {})} if not q.schema else set()
    other = tuple(s for s in schemas if s != (q.schema or "public") and s not in on_path)
    return {"other_schemas": other, "table_exists": None}


def _privileges(conn: psycopg.Connection, q: FactsQuery) -> dict[str, Any]:
    """current_user's privileges on the object of a 42501, its owner, and whether current_user owns it."""
    if q.kind != "privilege":
        return {}
    kind = "table" if q.privilege_on in ("table", "view", "materialized view", "relation") else q.privilege_on
    kind = "function" if kind == "procedure" else kind
    sql = _OBJECT_SQL.get(kind)
    if sql is None:
        return {}
    row = conn.execute(sql, {"schema": q.schema or None, "name": q.name}).fetchone()
    if row is None:
        return {}
    owner, oid = row
    wanted = _TABLE_PRIVILEGES if kind == "table" else _PRIVILEGES.get(kind, ())
    checks = ", ".join(f"{_HAS[kind]}(current_user, %(oid)s::oid, '{p}')" for p in wanted)
    granted = conn.execute(f"select {checks}", {"oid": oid}).fetchone() if checks else ()
    is_owner = conn.execute("select pg_has_role(current_user, %s::name, 'USAGE')", (owner,)).fetchone()
    return {
        "object_owner": owner,
        "privileges": tuple(zip(wanted, (bool(g) for g in granted or ()), strict=False)),
        "is_owner": bool(is_owner[0]) if is_owner else None,
    }


def _versions(conn: psycopg.Connection, q: FactsQuery) -> dict[str, Any]:
    """Which of the creating files' versions supabase_migrations.schema_migrations records."""
    if not q.versions:
        return {}
    table = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
    if table is None or table[0] is None:
        return {"applied_versions": tuple((v, False) for v in q.versions)}
    rows = _rows(
        conn,
        "select version from supabase_migrations.schema_migrations where version = any(%(versions)s)",
        {"versions": list(q.versions)},
    )
    applied = {r[0] for r in rows}
    return {"applied_versions": tuple((v, v in applied) for v in q.versions)}


def _extension(conn: psycopg.Connection, q: FactsQuery) -> dict[str, Any]:
    """Is the extension offered by this server (pg_available_extensions), and where is it installed."""
    if not q.extension:
        return {}
    available = conn.execute("select 1 from pg_available_extensions where name = %s", (q.extension,)).fetchone()
    installed = conn.execute(
        "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = %s",
        (q.extension,),
    ).fetchone()
    return {
        "extension": q.extension,
        "extension_available": available is not None,
        "extension_installed_schema": installed[0] if installed else "",
    }
