"""A respx side effect that answers like PostgREST does for one view.

It reproduces what the REST adapter relies on: ``max-rows`` capping,
``Range``/``Range-Unit`` requests answered with ``Content-Range`` (total only
with ``Prefer: count=exact``), 206 for partial and 200 for complete answers,
416 past the end, ``eq.``/``in.()`` filters, ``limit``, ``select=`` column lists
(400 with 42703 JSON for a column the view lacks, whether or not it has rows), the
OpenAPI description at ``/rest/v1/`` (``openapi``), and the ``apikey`` check with
PostgREST/Kong-style error JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx

from dragonfly_bot.adapters.supabase.base import ROW_COLUMNS

RANGE = re.compile(r"^(\d+)-(\d*)$")


def error(status: int, code: str, message: str, details=None, hint=None) -> httpx.Response:
    body = {"code": code, "message": message, "details": details, "hint": hint}
    return httpx.Response(status, json=body)


@dataclass
class FakePostgrest:
    rows: list[dict]
    key: str
    max_rows: int = 1000
    requests: list[httpx.Request] = field(default_factory=list)
    columns: list[str] | None = None  # the view's columns (default: the first row's keys)
    view: str = "v_migration_status"

    def _columns(self) -> list[str]:
        if self.columns is not None:
            return self.columns
        return list(self.rows[0]) if self.rows else [*ROW_COLUMNS, "statements"]  # the bot's view

    def _refused(self, request: httpx.Request) -> httpx.Response | None:
        self.requests.append(request)
        if request.headers.get("apikey") != self.key or request.headers.get("authorization") != f"Bearer {self.key}":
            return httpx.Response(
                401,
                json={
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        return None

    def openapi(self, request: httpx.Request) -> httpx.Response:
        """``GET /rest/v1/``: PostgREST's Swagger 2.0 description, one definition per table or view."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        properties = {c: {"type": "string", "format": "text"} for c in self._columns()}
        body = {"swagger": "2.0", "info": {"title": "PostgREST API"}, "paths": {f"/{self.view}": {}}}
        body["definitions"] = {self.view: {"type": "object", "properties": properties}}
        return httpx.Response(200, json=body, headers={"Content-Type": "application/openapi+json; charset=utf-8"})

    def _filter(self, rows: list[dict], params: httpx.QueryParams) -> list[dict]:
        for column, expr in params.multi_items():
            if column in ("select", "order", "limit", "offset"):
                continue
            if expr.startswith("eq."):
                rows = [r for r in rows if str(r.get(column)) == expr[3:]]
            elif expr.startswith("in.(") and expr.endswith(")"):
                wanted = set(expr[4:-1].split(","))
                rows = [r for r in rows if str(r.get(column)) in wanted]
        return rows

    def __call__(self, request: httpx.Request) -> httpx.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        params = request.url.params
        rows = self._filter(list(self.rows), params)
        order = params.get("order")
        if order:
            keys = [part.split(".")[0] for part in order.split(",")]
            rows.sort(key=lambda r: tuple(str(r.get(k)) for k in keys))
        select = params.get("select")
        if select and select != "*":
            columns = select.split(",")
            unknown = [c for c in columns if c not in self._columns()]
            if unknown:
                return error(400, "42703", f"column {self.view}.{unknown[0]} does not exist")
            rows = [{c: r.get(c) for c in columns} for r in rows]
        if params.get("limit"):
            rows = rows[: int(params["limit"])]
        total = len(rows)
        start, end = 0, total - 1
        wanted = request.headers.get("range")
        if wanted:
            match = RANGE.match(wanted.strip())
            if not match:
                return error(416, "PGRST103", "Requested range not satisfiable")
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else total - 1
            if start > 0 and start >= total:
                return httpx.Response(
                    416,
                    json={
                        "code": "PGRST103",
                        "message": "Requested range not satisfiable",
                        "details": f"An offset of {start} was requested, but there are only {total} rows.",
                        "hint": None,
                    },
                    headers={"Content-Range": f"*/{total}"},
                )
        end = min(end, start + self.max_rows - 1, total - 1)
        page = rows[start : end + 1]
        exact = "count=exact" in request.headers.get("prefer", "")
        shown_total = str(total) if exact else "*"
        content_range = f"{start}-{end}/{shown_total}" if page else f"*/{shown_total}"
        status = 206 if page and (start > 0 or end < total - 1) else 200
        return httpx.Response(
            status,
            content=json.dumps(page, default=str).encode(),
            headers={"Content-Range": content_range, "Content-Type": "application/json; charset=utf-8"},
        )
