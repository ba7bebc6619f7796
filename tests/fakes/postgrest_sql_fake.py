"""A respx side effect that answers like PostgREST, backed by a real PostgreSQL database.

What the hotfix REST adapter relies on, reproduced against the migration's
real functions and tables (acting as service_role, as the service-role key
does): ``POST /rest/v1/rpc/<fn>`` with named JSON arguments (a set-returning
function answers a JSON array, a scalar one the bare value), table GETs with
``eq.``/``in.()``/``lte.`` filters, ``order`` and ``limit``; errors as
PostgREST's ``{code, message, details, hint}`` JSON: PGRST202 for an unknown
function, the SQLSTATE for database errors (42501 -> 403; an unknown ``select=``
column is the database's own 42703 -> 400), and Kong's 401 for a wrong key.
``Range`` requests are answered with ``Content-Range`` (total with ``Prefer:
count=exact``) and 206 for a partial page; ``GET /rest/v1/`` is the OpenAPI
(Swagger 2.0) description, one definition per public table or view with each
column's type as PostgREST's ``format``, in column order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
import psycopg
from psycopg import sql

OPERATORS = {"eq": "=", "lte": "<=", "gte": ">=", "lt": "<", "gt": ">"}


def postgrest_error(status: int, code: str, message: str, details=None, hint=None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "details": details, "hint": hint})


@dataclass
class PostgrestOverPostgres:
    db_url: str
    key: str
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("apikey") != self.key or request.headers.get("authorization") != f"Bearer {self.key}":
            return httpx.Response(
                401,
                json={
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        path = request.url.path.removeprefix("/rest/v1/")
        try:
            with psycopg.connect(self.db_url, autocommit=True) as conn:
                conn.execute("set role service_role")
                if path.startswith("rpc/") and request.method == "POST":
                    return self._rpc(conn, path[4:], json.loads(request.content or b"{}"))
                if request.method == "GET" and path in ("", "/"):
                    return self._openapi(conn)
                if request.method == "GET":
                    return self._select(conn, path, request.url.params, request.headers)
        except psycopg.Error as exc:
            diag = exc.diag
            status = 403 if diag.sqlstate == "42501" else 400
            return postgrest_error(
                status,
                diag.sqlstate or "XX000",
                diag.message_primary or str(exc),
                diag.message_detail,
                diag.message_hint,
            )
        return postgrest_error(404, "PGRST125", f"Invalid path specified in request URL: {path}")

    def _rpc(self, conn, name: str, args: dict) -> httpx.Response:
        found = conn.execute(
            "select p.proretset, p.prorettype::regtype::text, "
            "array(select unnest(p.proargnames)), array(select unnest(p.proargtypes::regtype[])::text) "
            "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
            "where n.nspname = 'public' and p.proname = %s",
            (name,),
        ).fetchone()
        if found is None or not set(args) <= set(found[2]):
            return postgrest_error(
                404,
                "PGRST202",
                f"Could not find the function public.{name}({', '.join(sorted(args))}) in the schema cache",
                "Searched for the function with the given arguments, but no matches were found in the schema cache.",
            )
        returns_set, _return_type, arg_names, arg_types = found
        types = dict(zip(arg_names, arg_types, strict=True))
        named = sql.SQL(", ").join(
            sql.SQL("{} => {}::" + types[k]).format(sql.Identifier(k), sql.Placeholder()) for k in args
        )
        values = [json.dumps(v) if types[k] == "jsonb" else v for k, v in args.items()]
        call = sql.SQL("public.{}({})").format(sql.Identifier(name), named)
        if returns_set:
            query = sql.SQL("select coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb) from {} r").format(call)
        else:
            query = sql.SQL("select to_jsonb({})").format(call)
        return httpx.Response(200, json=conn.execute(query, values).fetchone()[0])

    def _openapi(self, conn) -> httpx.Response:
        definitions: dict[str, dict] = {}
        for table, column, data_type in conn.execute(
            "select c.relname, a.attname, format_type(a.atttypid, null) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'p') and a.attnum > 0 "
            "and not a.attisdropped and has_table_privilege(c.oid, 'select') order by c.relname, a.attnum"
        ):
            entry = definitions.setdefault(table, {"type": "object", "properties": {}})
            entry["properties"][column] = {"format": data_type, "type": "string"}
        body = {"swagger": "2.0", "info": {"title": "PostgREST API"}, "definitions": definitions}
        body["paths"] = {f"/{name}": {} for name in definitions}
        return httpx.Response(200, json=body, headers={"Content-Type": "application/openapi+json; charset=utf-8"})

    def _select(self, conn, table: str, params: httpx.QueryParams, headers=None) -> httpx.Response:
        exists = conn.execute("select to_regclass(%s) is not null", (f"public.{table}",)).fetchone()[0]
        if not exists:
            return postgrest_error(404, "PGRST205", f"Could not find the table 'public.{table}' in the schema cache")
        where, values = [], []
        for column, expr in params.multi_items():
            if column in ("select", "order", "limit", "offset"):
                continue
            op, _, value = expr.partition(".")
            if op == "in":
                where.append(sql.SQL("{}::text = any(%s)").format(sql.Identifier(column)))
                values.append(value.strip("()").split(","))
            else:
                where.append(sql.SQL("{} " + OPERATORS[op] + " %s").format(sql.Identifier(column)))
                values.append(value)
        order = [
            sql.SQL("{} {}").format(
                sql.Identifier(part.split(".")[0]), sql.SQL("desc" if part.endswith(".desc") else "asc")
            )
            for part in (params.get("order") or "").split(",")
            if part
        ]
        chosen = [c for c in (params.get("select") or "*").split(",") if c and c != "*"]
        columns = sql.SQL(", ").join(map(sql.Identifier, chosen)) if chosen else sql.SQL("*")
        start, end = 0, None
        wanted = (headers or {}).get("range", "")
        if "-" in wanted:
            first, _, last = wanted.partition("-")
            start, end = int(first), int(last) if last else None
        limit = int(params.get("limit") or 1000)
        if end is not None:
            limit = min(limit, end - start + 1)
        filtered = sql.SQL("from public.{} {}").format(
            sql.Identifier(table), sql.SQL("where ") + sql.SQL(" and ").join(where) if where else sql.SQL("")
        )
        query = sql.SQL(
            "select coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) from (select {} {} {} limit {} offset {}) t"
        ).format(
            columns,
            filtered,
            sql.SQL("order by ") + sql.SQL(", ").join(order) if order else sql.SQL(""),
            sql.Literal(limit),
            sql.Literal(start),
        )
        rows = conn.execute(query, values).fetchone()[0]
        if not wanted:
            return httpx.Response(200, json=rows)
        total = conn.execute(sql.SQL("select count(*) {}").format(filtered), values).fetchone()[0]
        if start > 0 and start >= total:
            return postgrest_error(416, "PGRST103", "Requested range not satisfiable")
        shown = str(total) if "count=exact" in (headers or {}).get("prefer", "") else "*"
        content_range = f"{start}-{start + len(rows) - 1}/{shown}" if rows else f"*/{shown}"
        status = 206 if start + len(rows) < total else 200
        return httpx.Response(status, json=rows, headers={"Content-Range": content_range})
