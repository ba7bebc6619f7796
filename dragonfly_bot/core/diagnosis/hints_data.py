"""Hints for failures about data and definitions: NULLs, bad values, constraints, guards, timeouts."""

from __future__ import annotations

import re

from dragonfly_bot.core.diagnosis.context import Context, first_line
from dragonfly_bot.core.diagnosis.extensions import SUPABASE_EXTENSIONS, enable_extension_sql
from dragonfly_bot.core.diagnosis.model import Confidence, Hint
from dragonfly_bot.core.diagnosis.rewrite import parse_one, qualified, quote_ident
from dragonfly_bot.core.sql import line_of

CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK

_NULL_COLUMN = re.compile(r'column "(?P<col>[^"]+)" of relation "(?P<rel>[^"]+)"')
_NULL_VALUE = re.compile(r'null value in column "(?P<col>[^"]+)" of relation "(?P<rel>[^"]+)"')
_BAD_VALUE = re.compile(
    r'invalid input (?:syntax|value) for (?:type )?(?P<type>[\w ]+?)(?: enum)?: (?P<value>".*")$', re.S
)
_UNAVAILABLE = re.compile(r'extension "(?P<name>[^"]+)" is not available')
_SET_TIMEOUT = re.compile(
    r"^\s*set\s+(?:local\s+|session\s+)?statement_timeout\s*(?:=|to)\s*(?P<value>[^;\n]+)", re.I | re.M
)


def not_null(ctx: Context) -> Hint:
    f = ctx.f
    node = parse_one(ctx.statement)
    kind = type(node).__name__
    match = _NULL_COLUMN.search(f.message) or _NULL_VALUE.search(f.message)
    column = match.group("col") if match else "the column"
    if kind == "AlterTableStmt" and node.relation is not None:
        table = qualified(node.relation)
        subtypes = {getattr(c.subtype, "name", "") for c in node.cmds or ()}
        if "AT_SetNotNull" in subtypes:
            return Hint(
                f"Existing rows of {table} have NULL in {column}. Backfill them in this migration before the SET NOT "
                f"NULL (UPDATE {table} SET {quote_ident(column)} = <value> WHERE {quote_ident(column)} IS NULL;); "
                "a DEFAULT would not help: it fills no row that exists.",
                LIKELY,
            )
        if "AT_AddColumn" in subtypes:
            return Hint(
                f"{table} has rows, and the new column {column} is NOT NULL without a value for them: give it a "
                "DEFAULT in the ADD COLUMN (that fills the existing rows), or add it nullable, backfill, then SET "
                "NOT NULL.",
                LIKELY,
            )
    if kind == "InsertStmt":
        source = (
            "the SELECT yields NULL for it"
            if node.selectStmt is not None and not _is_values(node)
            else ("a row gives NULL for it")
        )
        return Hint(
            f"The inserted rows have no value for {column} ({source}, or the column is missing from the column "
            "list while it has no DEFAULT). An explicit NULL does not take the column's DEFAULT: give a value, "
            f"e.g. COALESCE(<expression>, <value>) for {column}. {_failing_row(f.detail)}".rstrip(),
            LIKELY,
        )
    if kind == "UpdateStmt":
        return Hint(f"The UPDATE at {ctx.where()} sets {column} to NULL for some rows: {_failing_row(f.detail)}", CHECK)
    return Hint(
        f"At {ctx.where()} a NULL reached the NOT NULL column {column}. {_failing_row(f.detail)}".rstrip(), CHECK
    )


def _is_values(node) -> bool:
    return bool(getattr(node.selectStmt, "valuesLists", None))


def _failing_row(detail: str) -> str:
    line = first_line(detail)
    return f"PostgreSQL says: {line}" if line else ""


def invalid_value(ctx: Context) -> Hint:
    f = ctx.f
    match = _BAD_VALUE.search(f.message)
    value = f" {match.group('value')} is not a valid {match.group('type')}" if match else ""
    where = ctx.where()
    return Hint(
        f"A cast over a bad value at {where}:{value}. Find the rows holding it (SELECT ... WHERE <column> = "
        f"{match.group('value').strip(chr(34)) if match else '<value>'!r}) and clean them first, or cast with a "
        "guard (CASE WHEN <column> ~ '<pattern>' THEN <column>::<type> END).",
        CHECK,
    )


def raised(ctx: Context) -> Hint:
    """P0001: a RAISE EXCEPTION in the migration fired."""
    return Hint(
        f"A guard in the migration raised at {ctx.where()}: \u201c{first_line(ctx.f.message)}\u201d. The author wrote "
        "that check on purpose: read the condition above the RAISE; the database is not in the state the "
        "migration expects. Fix the data or state it checks, not the guard.",
        CHECK,
    )


def object_definition(ctx: Context) -> Hint:
    """42P17, mostly a generated column over a function that is not IMMUTABLE."""
    if "generation expression is not immutable" in ctx.f.message:
        return Hint(
            f"A generated column at {ctx.where()} uses a function that is not IMMUTABLE (now(), to_char on a "
            "timestamptz, a cast of timestamptz to text or date depends on the time zone). Use an immutable "
            "expression (e.g. extract/date_trunc on a timestamp without time zone, or (col AT TIME ZONE 'UTC')), "
            "or fill the column from a trigger instead.",
            LIKELY,
        )
    return Hint(f"PostgreSQL refused the object's definition at {ctx.where()}. Check the statement.", CHECK)


def not_supported(ctx: Context) -> Hint:
    """0A000: an extension this server lacks, or a feature it refuses."""
    match = _UNAVAILABLE.search(ctx.f.message)
    if match:
        name = match.group("name")
        facts = ctx.facts
        if facts is not None and facts.extension == name and facts.extension_available is False:
            shipped = (
                f" {name} ships with Supabase's own Postgres image, so this server is not one (or predates {name})."
                if name in SUPABASE_EXTENSIONS
                else ""
            )
            return Hint(
                f"This database's pg_available_extensions has no {name}: no migration can enable it here, and "
                f"retrying will not help.{shipped} Run the migration against a server that offers it, or remove the "
                f"dependency on {name}.",
                CHECK,
            )
        if name in SUPABASE_EXTENSIONS:
            return Hint(
                f"{name} ships with Supabase but not with this PostgreSQL server: on a Supabase project enable it "
                f"(Database -> Extensions, or `{enable_extension_sql(name)}`); a plain server needs the package.",
                LIKELY,
            )
        return Hint(
            f"{name} is not an extension this server (or Supabase) offers. Check the name "
            "(select name from pg_available_extensions).",
            CHECK,
        )
    return Hint(
        f"PostgreSQL does not support what the statement at {ctx.where()} asks ({first_line(ctx.f.message)}). "
        "Check the statement against the PostgreSQL 15 documentation for that command.",
        CHECK,
    )


def statement_timeout(ctx: Context) -> Hint:
    before = list(_SET_TIMEOUT.finditer(ctx.before))
    after = list(_SET_TIMEOUT.finditer(ctx.after))
    if before:
        setting = before[-1]
        line = line_of(ctx.before, setting.start("value"))
        return Hint(
            f"{ctx.f.file} sets statement_timeout = {setting.group('value').strip()} at line {line}, and the statement "
            f"at {ctx.where()} ran longer: raise that value (or set it to 0 for this migration), or split a large "
            "backfill into batches in separate migrations.",
            LIKELY,
        )
    if after:
        offset = ctx.statement_start + len(ctx.statement) if ctx.statement_start is not None else 0
        line = line_of(ctx.file_text or "", offset + after[0].start("value"))
        return Hint(
            f"{ctx.f.file} sets statement_timeout at line {line}, after the statement that timed out at "
            f"{ctx.where()}: move that SET above it (the server's or role's timeout applied instead).",
            LIKELY,
        )
    return Hint(
        f"The statement at {ctx.where()} ran longer than statement_timeout (the role's or server's setting). Add "
        f"`SET statement_timeout = '10min';` at the top of {ctx.f.file or 'the file'}, or split a large backfill "
        "into batches in separate migrations.",
        LIKELY,
    )
