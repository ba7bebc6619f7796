"""The diagnosis: a ``Failure`` read from the log, enriched from its file, given a ``Hint``.

``parse_log`` reads the log and gives the hint the log alone allows;
``enrich`` adds what the migration file tells (the statement's full text,
its line, the error's line, the lines around it), what the other files tell
(who creates a missing object) and, when given, catalog ``Facts``, and
diagnoses again. Pure functions; none raises on any input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from dragonfly_bot.core.diagnosis import hints_data, hints_exists, hints_missing, hints_ops, hints_privilege
from dragonfly_bot.core.diagnosis.categories import Category
from dragonfly_bot.core.diagnosis.context import Context
from dragonfly_bot.core.diagnosis.logparse import MAX_TEXT, LogParser, is_at_statement, is_caret, read_log
from dragonfly_bot.core.diagnosis.model import Confidence, Facts, Failure, Hint
from dragonfly_bot.core.redact import redact

C = Category
CONTEXT_LINES = 3  # shown above and below the failing line
MAX_CONTEXT_WIDTH = 200

_HINTS: dict[Category, Callable[[Context], Hint]] = {
    C.RELATION_EXISTS: hints_exists.relation_exists,
    C.DUPLICATE_KEY: hints_exists.duplicate_key,
    C.FUNCTION_DEFINITION: hints_exists.function_definition,
    C.DEPENDENT_OBJECTS: hints_exists.dependent_objects,
    C.TABLE_DEFINITION: hints_exists.table_definition,
    C.COLUMN_MISSING: hints_missing.column_missing,
    C.UNDEFINED_TABLE: hints_missing.undefined_table,
    C.UNDEFINED_FUNCTION: hints_missing.undefined_function,
    C.UNDEFINED_SCHEMA: hints_missing.undefined_schema,
    C.UNDEFINED_OBJECT: hints_missing.undefined_object,
    C.AMBIGUOUS_FUNCTION: hints_missing.ambiguous_function,
    C.PERMISSION_DENIED: hints_privilege.permission_denied,
    C.NOT_NULL_VIOLATION: hints_data.not_null,
    C.INVALID_VALUE: hints_data.invalid_value,
    C.RAISED_EXCEPTION: hints_data.raised,
    C.OBJECT_DEFINITION: hints_data.object_definition,
    C.NOT_SUPPORTED: hints_data.not_supported,
    C.STATEMENT_TIMEOUT: hints_data.statement_timeout,
    C.SYNTAX_ERROR: hints_ops.syntax_error,
    C.LOCK_TIMEOUT: hints_ops.LOCK_TIMEOUT,
    C.QUERY_CANCELED: hints_ops.QUERY_CANCELED,
    C.DEADLOCK: hints_ops.DEADLOCK,
    C.SERIALIZATION_FAILURE: hints_ops.SERIALIZATION,
    C.TRANSACTION_BLOCK: hints_ops.TRANSACTION_BLOCK,
    C.NEEDS_TRANSACTION_BLOCK: hints_ops.NEEDS_TRANSACTION_BLOCK,
    C.FOREIGN_KEY_VIOLATION: hints_ops.FOREIGN_KEY,
    C.CHECK_VIOLATION: hints_ops.CHECK_VIOLATION,
    C.DATATYPE_MISMATCH: hints_ops.DATATYPE_MISMATCH,
    C.CONNECTION_FAILED: hints_ops.CONNECTION_FAILED,
    C.DNS_FAILED: hints_ops.DNS_FAILED,
    C.AUTHENTICATION_FAILED: hints_ops.AUTHENTICATION_FAILED,
    C.DATABASE_MISSING: hints_ops.DATABASE_MISSING,
    C.REMOTE_VERSION_MISSING: hints_ops.remote_version_missing,
    C.OUT_OF_ORDER: hints_ops.out_of_order,
    C.UNKNOWN: hints_ops.unknown,
}

# "Does not exist" categories: for a DROP or a RENAME they mean the statement already ran.
_GONE = frozenset({C.COLUMN_MISSING, C.UNDEFINED_TABLE, C.UNDEFINED_FUNCTION, C.UNDEFINED_SCHEMA, C.UNDEFINED_OBJECT})


def hint_for(ctx: Context) -> Hint:
    """The hint for the failure in ``ctx``."""
    if ctx.f.category in _GONE:
        gone = hints_exists.gone_already(ctx)
        if gone is not None:
            return gone
    return _HINTS.get(ctx.f.category, hints_ops.unknown)(ctx)


def diagnose(ctx: Context) -> Failure:
    """``ctx.f`` with its hint, confidence and (complete, runnable) SQL; never raises."""
    f = ctx.f
    try:
        hint = hint_for(ctx)
    except Exception:
        hint = Hint(
            "No known fix for this error: read what PostgreSQL reported and the failing statement.", Confidence.CHECK
        )
    text = redact(hint.text)
    sql = hint.sql
    if sql and redact(sql) != sql:
        sql = ""  # a statement with a secret in it is neither shown nor runnable once redacted
    return replace(f, hint=text + (f"\n{sql}" if sql else ""), confidence=hint.confidence, fix_sql=sql)


def parse_log(lines: Iterable[str]) -> Failure | None:
    """The failure a job log shows, with the hint the log alone allows, or None."""
    failure = read_log(lines)
    return diagnose(Context(failure)) if failure is not None else None


class DiagnosingParser(LogParser):
    """``LogParser`` whose ``result()`` carries the hint, for callers feeding lines one by one."""

    def result(self) -> Failure | None:
        failure = super().result()
        return diagnose(Context(failure)) if failure is not None else None


def _statements(file_text: str):
    from dragonfly_bot.core.sql import split_statements

    try:
        return split_statements(file_text)
    except Exception:
        return None


def locate_statement(file_text: str, statement_index: int | None) -> int | None:
    """1-based line where statement ``statement_index`` (the CLI's numbering) starts: its SQL, past leading comments."""
    if statement_index is None or statement_index < 0 or not file_text:
        return None
    statements = _statements(file_text)
    if not statements or statement_index >= len(statements):
        return None  # the CLI's own history INSERT, which follows the file's statements
    return statements[statement_index].code_line


def enrich(
    failure: Failure,
    file_text: str | None,
    migrations: Mapping[str, str] | None = None,
    facts: Facts | None = None,
) -> Failure:
    """Add what the migration file tells (and the other files, and catalog facts), and diagnose again.

    ``migrations`` (file name -> text), when given, lets the hint say which file creates a missing object.
    """
    try:
        facts = facts or failure.facts
        statements = _statements(file_text) if file_text else None
        index = failure.statement_index
        if not statements or index is None or not 0 <= index < len(statements):
            count = len(statements) if statements else failure.statement_count
            base = replace(failure, statement_count=count, facts=facts)
            return diagnose(Context(base, file_text=file_text, migrations=migrations, facts=facts))
        statement = statements[index]
        error_line = _error_line(failure, statement)
        text = statement.text
        complete = len(text) <= MAX_TEXT and redact(text) == text
        updated = replace(
            failure,
            statement=redact(text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " ..."),
            statement_complete=complete,
            statement_count=len(statements),
            line=statement.code_line,  # the CLI's text keeps the comments above it; point at the SQL
            error_line=error_line,
            # No error position: the statement's first line and what follows it, not the comments above.
            context=_context(file_text or "", error_line or statement.code_line, above=error_line is not None),
            facts=facts,
        )
        ctx = Context(updated, file_text=file_text, statement_start=statement.start, migrations=migrations, facts=facts)
        return diagnose(ctx)
    except Exception:
        return failure


def _error_line(failure: Failure, statement) -> int | None:
    offset = _caret_offset(failure)
    if offset is not None:
        return statement.line + offset - 1
    if failure.category == C.SYNTAX_ERROR:
        from dragonfly_bot.core.sql import syntax_error

        found = syntax_error(statement.text)
        if found is not None:
            return statement.line + found.line - 1
    return None


def _caret_offset(failure: Failure) -> int | None:
    """Which line of the statement (1-based) the CLI's caret points at, from the raw block."""
    if failure.caret_line:
        return failure.caret_line
    in_statement = False
    count = 0
    for line in failure.error_lines:
        if not in_statement:
            in_statement = is_at_statement(line)
            continue
        if is_caret(line) and count:
            return count
        count += 1
    return None


def _context(file_text: str, line: int, *, above: bool = True) -> tuple[tuple[int, str], ...]:
    """The lines around ``line`` (1-based; ``above=False``: from it down), redacted and cut to a readable width."""
    lines = file_text.splitlines()
    if not 1 <= line <= len(lines):
        return ()
    start = max(1, line - CONTEXT_LINES) if above else line
    end = min(len(lines), line + (CONTEXT_LINES if above else 2 * CONTEXT_LINES))
    out = []
    for number in range(start, end + 1):
        text = redact(lines[number - 1].rstrip())
        if len(text) > MAX_CONTEXT_WIDTH:
            text = text[:MAX_CONTEXT_WIDTH] + " ..."
        out.append((number, text))
    return tuple(out)
