"""Where a PL/pgSQL body fails to parse, as a line of the file, and every syntax error of a file.

PostgreSQL checks a PL/pgSQL function body when the function is created (``check_function_bodies`` is on)
and a DO block when it runs, so both fail the migration. pglast's ``parse_plpgsql`` says what is wrong but
not where; the grammar reads left to right, so the first prefix of the body that gives the same error ends
on the failing line (found by bisection over the body's lines: a handful of parses, only for a broken body).

A file PostgreSQL's SQL grammar rejects is split the way the Supabase CLI splits it, and each statement is
parsed on its own, so every broken statement is reported, not only the first.
"""

from __future__ import annotations

import re

from pglast import parser as pg

from dragonfly_bot.core.sql import SqlSyntaxError, line_of, split_statements, syntax_error

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
_END_OF_INPUT = "at end of input"
# pglast compiles a body without the database's catalog, so a type it cannot look up becomes "record":
# "Not implemented (LookupExplicitNamespace ...)" for a type of another schema, and, for the team's own types
# (an enum, an array of one, a table's %rowtype), errors PostgreSQL would not raise. Those are left to --replay,
# which runs the file on a real server; each entry says when the message is still PostgreSQL's own verdict.
_RECORD_ARRAY = re.compile(r"\brecord\s*\[", re.IGNORECASE)
_NEEDS_CATALOG: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Not implemented"), "never"),
    # `k public.key_mode[]` reads as record[]; only a literal record[] is refused by PostgreSQL too.
    (re.compile(r"^PL/pgSQL functions cannot (?:accept|return) type _record"), "record-array"),
    (re.compile(r'^variable ".*" has pseudo-type _record'), "record-array"),
    # Whether a variable is a row or a scalar depends on its type: `v public.status_enum` is a scalar.
    (re.compile(r'^".*" is not a scalar variable'), "never"),
    (re.compile(r"^record variable cannot be part of multiple-item INTO list"), "never"),
    # `r.status := ...` on `r public.t%rowtype`: the fields are the table's columns. An undeclared `z.y` stays.
    (re.compile(r'^"(?P<prefix>\w+)\.\w+" is not a known variable'), "declared-prefix"),
)


def _needs_catalog(message: str, stmt_text: str) -> bool:
    """True when ``message`` comes from a type pglast could not look up, not from the body's grammar."""
    for pattern, still_real in _NEEDS_CATALOG:
        match = pattern.match(message)
        if match is None:
            continue
        if still_real == "record-array":
            return _RECORD_ARRAY.search(stmt_text) is None
        if still_real == "declared-prefix":
            declared = re.compile(rf"\b{re.escape(match['prefix'])}\s+[A-Za-z_]", re.IGNORECASE)
            return declared.search(stmt_text) is not None
        return True
    return False


def plpgsql_error(stmt_text: str) -> tuple[int, str] | None:
    """(1-based line within ``stmt_text``, message) when its PL/pgSQL body does not parse, else None."""
    try:
        pg.parse_plpgsql_json(stmt_text)
        return None
    except (pg.ParseError, ValueError) as exc:
        message = str(exc.args[0] if exc.args else exc)
    if _needs_catalog(message, stmt_text):
        return None  # pglast's limit (no catalog), not a fault PostgreSQL would find
    body = _dollar_body(stmt_text)
    if body is None:
        return 1, message
    start, end, delimiter = body
    lines = stmt_text[start:end].split("\n")

    def same_error(count: int) -> bool:
        probe = stmt_text[:start] + "\n".join(lines[:count]) + "\n" + delimiter + stmt_text[end + len(delimiter) :]
        try:
            pg.parse_plpgsql_json(probe)
        except (pg.ParseError, ValueError) as exc:
            return str(exc.args[0] if exc.args else exc) == message and _END_OF_INPUT not in message
        return False

    low, high = 1, len(lines)  # the smallest prefix (in lines) that already fails the same way
    if _END_OF_INPUT in message or not same_error(high):
        return line_of(stmt_text, end), message
    while low < high:
        middle = (low + high) // 2
        if same_error(middle):
            high = middle
        else:
            low = middle + 1
    return line_of(stmt_text, start) + low - 1, message


def _dollar_body(stmt_text: str) -> tuple[int, int, str] | None:
    """(start, end, delimiter) of the first dollar-quoted string after AS / DO: the body."""
    match = re.search(r"\b(?:as|do)\s*(?=\$)", stmt_text, re.IGNORECASE)
    if not match:
        return None
    opening = _DOLLAR.match(stmt_text, match.end())
    if not opening:
        return None
    delimiter = opening.group(0)
    end = stmt_text.find(delimiter, opening.end())
    return (opening.end(), end, delimiter) if end >= 0 else None


def every_syntax_error(text: str, limit: int = 50) -> list[SqlSyntaxError]:
    """Each statement's syntax error, with file lines (at most ``limit``); the whole file's first one when the
    text cannot even be split (an unterminated quote swallows the rest)."""
    first = syntax_error(text)
    if first is None:
        return []
    try:
        statements = split_statements(text)
    except Exception:
        return [first]
    errors = []
    for statement in statements:
        try:
            pg.parse_sql_json(statement.text)
            continue
        except pg.ParseError:
            pass
        error = syntax_error(statement.text)
        if error is not None:
            offset = line_of(text, statement.start) - 1
            errors.append(SqlSyntaxError(error.message, error.line + offset, error.column))
            if len(errors) >= limit:
                break
    return errors or [first]
