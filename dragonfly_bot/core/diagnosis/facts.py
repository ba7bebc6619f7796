"""Catalog facts around a failure: what to ask the database, how the answer is kept, how it is shown.

Where CI holds the database URL (``record-run``, ``explain --db-url``), the
adapter (``dragonfly_bot.adapters.supabase.catalog``) answers a ``FactsQuery`` with
``Facts``. They are kept as one versioned JSON record, printed in the job log
(one ``FACTS_LINE`` line, read back by the log parser, so the bot's alert has
them without a database connection) and stored in ``migration_runs.diagnosis``.
Pure.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dragonfly_bot.core.diagnosis.categories import Category
from dragonfly_bot.core.diagnosis.context import Context
from dragonfly_bot.core.diagnosis.extensions import EXTENSION_SCHEMAS, FUNCTION_EXTENSIONS
from dragonfly_bot.core.diagnosis.hints_data import _UNAVAILABLE as _UNAVAILABLE_EXTENSION
from dragonfly_bot.core.diagnosis.hints_missing import _FUNCTION, _OBJECT, _RELATION, _SCHEMA, column_target
from dragonfly_bot.core.diagnosis.hints_privilege import _DENIED, _OWNER, _qualify, platform_trigger_table
from dragonfly_bot.core.diagnosis.model import Facts, Failure
from dragonfly_bot.core.diagnosis.objects import DEFAULT_SCHEMA, relation_schema
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.versions import version_of

FACTS_SCHEMA = 1  # the record's format; readers accept any version and ignore what they do not know
FACTS_LINE = "dragonfly-bot catalog facts: "  # prefix of the record's line in the job log
MAX_RECORD_CHARS = 16_000

C = Category


@dataclass(frozen=True)
class FactsQuery:
    """What to look up for one failure (empty strings: nothing of that kind)."""

    kind: str = ""  # table | column | function | schema | type | privilege
    schema: str = ""  # the object's schema ("" when the statement did not say: search_path)
    name: str = ""  # the bare name of the table, function, schema or type
    column: str = ""
    privilege_on: str = ""  # 42501: table | view | sequence | schema | function | procedure | database | type
    versions: tuple[str, ...] = ()  # versions of the files that create the object: in schema_migrations?
    extension: str = ""

    @property
    def asks_nothing(self) -> bool:
        """True when no fact would change the hint (then the database is not contacted at all)."""
        return not (self.kind or self.versions or self.extension)

    @property
    def object_name(self) -> str:
        base = f"{self.schema}.{self.name}" if self.schema and self.name else self.name
        return f"{base}.{self.column}" if self.column else base


def facts_query(failure: Failure, migrations: Mapping[str, str] | None = None) -> FactsQuery:
    """The catalog questions that would sharpen ``failure``'s hint (``current_user`` comes with any answer)."""
    try:
        return _query(Context(failure, migrations=migrations))
    except Exception:
        return FactsQuery()


def _versions(ctx: Context, kind: str, name: str) -> tuple[str, ...]:
    index = ctx.index()
    if index is None:
        return ()
    found = [version_of(c.file) for c in index.creators(kind, name)]
    return tuple(dict.fromkeys(v for v in found if v))[:20]


def _query(ctx: Context) -> FactsQuery:
    f = ctx.f
    if f.category == C.COLUMN_MISSING:
        target = column_target(ctx)
        if target is None:
            return FactsQuery()
        column, tables = target
        if not tables:
            return FactsQuery()
        schema, _, table = tables[0].rpartition(".")
        return FactsQuery("column", schema, table, column, versions=_versions(ctx, "column", f"{tables[0]}.{column}"))
    if f.category == C.UNDEFINED_TABLE and (match := _RELATION.search(f.message)):
        raw = match.group("name")
        schema, _, name = raw.rpartition(".")
        schema = schema or relation_schema(ctx.statement, raw) or ""
        qualified = f"{schema or DEFAULT_SCHEMA}.{name}"
        return FactsQuery("table", schema, name, versions=_versions(ctx, "table", qualified))
    if f.category == C.UNDEFINED_FUNCTION and (match := _FUNCTION.search(f.message)):
        schema, _, name = match.group("name").rpartition(".")
        qualified = f"{schema or DEFAULT_SCHEMA}.{name}"
        return FactsQuery(
            "function",
            schema,
            name,
            versions=_versions(ctx, "function", qualified),
            extension=FUNCTION_EXTENSIONS.get(name, ""),
        )
    if f.category == C.UNDEFINED_SCHEMA and (match := _SCHEMA.search(f.message)):
        name = match.group("name")
        return FactsQuery(
            "schema", "", name, versions=_versions(ctx, "schema", name), extension=EXTENSION_SCHEMAS.get(name, "")
        )
    if f.category == C.UNDEFINED_OBJECT and (match := _OBJECT.search(f.message)):
        if match.group("kind") == "extension":
            return FactsQuery(extension=match.group("name"))
        if match.group("kind") == "type":
            schema, _, name = match.group("name").rpartition(".")
            return FactsQuery("type", schema, name)
        return FactsQuery()
    if f.category == C.NOT_SUPPORTED and (match := _UNAVAILABLE_EXTENSION.search(f.message)):
        return FactsQuery(extension=match.group("name"))
    if f.category == C.PERMISSION_DENIED:
        return _privilege_query(ctx)
    return FactsQuery()


def _privilege_query(ctx: Context) -> FactsQuery:
    table = platform_trigger_table(ctx.statement)
    if table is not None:
        schema, _, name = table.rpartition(".")
        return FactsQuery("privilege", schema, name, privilege_on="table")
    match = _OWNER.search(ctx.f.message) or _DENIED.search(ctx.f.message)
    if match is None:
        return FactsQuery()
    kind = {"relation": "table", "materialized view": "table", "view": "table"}.get(match.group("kind"))
    kind = kind or match.group("kind")
    name = _qualify(match.group("name"), ctx.statement) if kind not in ("schema", "database") else match.group("name")
    schema, _, bare = name.strip('"').rpartition(".")
    return FactsQuery("privilege", schema, bare, privilege_on=kind)


# ---------------------------------------------------------------------------- ranking (used by the adapter)


def closest(name: str, pool: list[str], limit: int = 3) -> tuple[str, ...]:
    """The names of ``pool`` closest to ``name``, best first (difflib, like the files' did-you-mean)."""
    return tuple(difflib.get_close_matches(name, sorted(set(pool) - {name}), n=limit, cutoff=0.6))


# ---------------------------------------------------------------------------- the stored record


def diagnosis_record(failure: Failure) -> dict[str, Any]:
    """The versioned record of a diagnosis and its facts (job log line, ``migration_runs.diagnosis``)."""
    record: dict[str, Any] = {
        "schema": FACTS_SCHEMA,
        "file": failure.file,
        "version": failure.version,
        "sqlstate": failure.sqlstate,
        "category": str(failure.category),
        "confidence": str(failure.confidence) if failure.confidence else None,
        "hint": failure.hint,
    }
    if failure.facts is not None:
        record["facts"] = failure.facts.to_dict()
    return record


def facts_line(failure: Failure) -> str:
    """The record as one job-log line (redacted; cut facts-first if it would be huge)."""
    record = diagnosis_record(failure)
    text = redact(json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=True))
    if len(text) > MAX_RECORD_CHARS:
        record["hint"] = ""
        text = redact(json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=True))
    return FACTS_LINE + text


def read_record(data: Any) -> dict[str, Any] | None:
    """A stored record (a dict, or its JSON text), or None: a row written before records existed has none."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data[: MAX_RECORD_CHARS * 2])
        except ValueError:
            return None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), int) or data["schema"] < 1:
        return None
    return data


def facts_of(record: Any, failure: Failure | None = None) -> Facts | None:
    """The facts of a record, when it is about ``failure`` (same file and SQLSTATE); else None."""
    data = read_record(record)
    if data is None:
        return None
    if failure is not None and (data.get("file"), data.get("sqlstate")) != (failure.file, failure.sqlstate):
        return None  # another failure's (an earlier attempt in the same log)
    return Facts.from_dict(data.get("facts"))


def parse_facts_line(line: str) -> dict[str, Any] | None:
    """The record on a cleaned log line carrying ``FACTS_LINE``, or None."""
    at = line.find(FACTS_LINE)
    if at < 0:
        return None
    return read_record(line[at + len(FACTS_LINE) :].strip())


# ---------------------------------------------------------------------------- how they are shown


def facts_lines(facts: Facts | None) -> list[str]:
    """Short lines saying what the database showed (explain's "Database:" section, the alert's field)."""
    if facts is None:
        return []
    facts = facts.redacted()  # before any name is split below: a split secret no longer looks like one
    if facts.unavailable:
        return [f"not read ({facts.unavailable}): diagnosed without catalog facts"]
    out = []
    name = facts.object_name
    if facts.current_user:
        out.append(f"CI connects as {facts.current_user}")
    if facts.table_exists is False and name:  # asked for a column: its table is not there either
        out.append(f"table {name.rsplit('.', 1)[0]}: not in the database")
    if facts.other_schemas:
        out.append(f"{name.rsplit('.', 1)[-1] or 'it'} exists in schema {', '.join(facts.other_schemas[:5])}")
    if facts.similar_columns:
        out.append(f"closest columns of {name.rsplit('.', 1)[0]}: {', '.join(facts.similar_columns[:5])}")
    if facts.object_owner:
        owns = "" if facts.is_owner is None else (" (its owner)" if facts.is_owner else ", not its owner")
        out.append(f"{name} is owned by {facts.object_owner}" + (f"; {facts.current_user}{owns}" if owns else ""))
    if facts.privileges:
        held = ", ".join(f"{p} {'yes' if g else 'no'}" for p, g in facts.privileges)
        out.append(f"privileges of {facts.current_user or 'the CI role'} on {name}: {held}")
    for version, applied in facts.applied_versions[:5]:
        out.append(f"{version} {'is' if applied else 'is not'} in supabase_migrations.schema_migrations")
    if facts.extension:
        if facts.extension_installed_schema:
            state = f"installed in schema {facts.extension_installed_schema}"
        elif facts.extension_available is True:
            state = "available here (pg_available_extensions), not installed"
        elif facts.extension_available is False:
            state = "not available on this server (pg_available_extensions)"
        else:
            state = "not looked up"
        out.append(f"extension {facts.extension}: {state}")
    return [redact(line) for line in out]
