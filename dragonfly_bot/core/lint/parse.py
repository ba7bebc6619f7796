"""One migration file as a list of statement occurrences, from PostgreSQL's own grammar.

The file is parsed once (``parse_sql_json``); the rules read plain dicts.
Bodies of ``DO $$ ... $$`` blocks are parsed with the PL/pgSQL grammar so the
SQL they run is checked too (an ``EXECUTE`` of a constant string included), with a ``guarded`` flag when it sits
under an existence check (``IF NOT EXISTS (SELECT ...)``) or in a block whose handler
catches ``duplicate_object`` and friends. Function bodies run later, at call
time, so only the protocol rule looks inside them (and only when they mention
``schema_migrations``: parsing every body would be wasted time).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from pglast import parser as pg

from dragonfly_bot.core.lint import value_rows
from dragonfly_bot.core.lint.dynamic_sql import MAX_TEXTS, Scope
from dragonfly_bot.core.lint.dynamic_sql import texts as dynamic_texts
from dragonfly_bot.core.sql import SqlSyntaxError, syntax_error

if TYPE_CHECKING:
    from dragonfly_bot.core.lint.later import Settles

TOP, DO_BODY, FUNCTION_BODY = "top", "do", "function"
WRITE_KINDS = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")

# Handler conditions after which a statement that already ran is harmless: a
# CREATE of something that exists, or a RENAME of something already renamed.
DUPLICATE_CONDITIONS = frozenset(
    {
        "duplicate_object",
        "duplicate_table",
        "duplicate_column",
        "duplicate_function",
        "duplicate_schema",
        "duplicate_alias",
        "unique_violation",
        "others",
        "undefined_column",
        "undefined_object",
        "undefined_table",
        "undefined_function",
        "invalid_parameter_value",
        "invalid_schema_name",  # RENAME VALUE / RENAME SCHEMA done already
        "42710",
        "42p07",
        "42701",
        "42723",
        "42p06",
        "42p16",
        "23505",
        "42703",
        "42704",
        "42p01",
        "42883",
        "22023",
        "3f000",
    }
)
# Words that make an IF condition a check of whether something exists already.
_EXISTENCE_WORDS = re.compile(r"exists|to_reg\w+|\bpg_\w+|information_schema", re.IGNORECASE)
_VALUES = re.compile(r"\bvalues\b", re.IGNORECASE)
_LEADING_TRIVIA = re.compile(rb"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


@dataclass(frozen=True)
class Occurrence:
    """One SQL statement the migration runs (or defines, for function bodies)."""

    kind: str  # parse node type, e.g. "CreateStmt"
    node: dict
    line: int  # 1-based file line where the statement starts
    span: tuple[int, int]  # lines of the enclosing top-level statement
    text: str  # the statement's SQL (for rewriting it in a fix)
    context: str = TOP  # TOP, DO_BODY or FUNCTION_BODY
    guarded: bool = False  # under an existence check or a duplicate_object handler
    index: int = 0  # position among top-level statements
    # byte location of a node in the parse tree -> file line (the tree's locations are bytes)
    locate: Callable[[int], int] | None = field(default=None, compare=False, repr=False)

    def line_of(self, node: dict | None) -> int:
        """The file line of a node that carries a ``location``; the statement's line otherwise."""
        location = (node or {}).get("location", -1)
        if location is None or location < 0 or self.locate is None:
            return self.line
        return max(self.locate(location), self.line)


@dataclass
class ParsedFile:
    text: str
    error: SqlSyntaxError | None = None
    occurrences: list[Occurrence] = field(default_factory=list)
    # (start_line, end_line) per top-level statement, in order
    spans: list[tuple[int, int]] = field(default_factory=list)
    # PL/pgSQL bodies (functions, DO blocks) that do not parse: (file line, message, statement span)
    body_errors: list[tuple[int, str, tuple[int, int]]] = field(default_factory=list)

    @cached_property
    def data(self) -> bytes:
        return self.text.encode("utf-8")

    @cached_property
    def _newlines(self) -> list[int]:
        return [m.start() for m in re.finditer(b"\n", self.data)]

    @cached_property
    def settles(self) -> Settles:
        """What the file's statements decide about objects (``dragonfly_bot.core.lint.later``): read once, for the
        file's summary and for its own security rules."""
        from dragonfly_bot.core.lint.later import Settles

        return Settles.of(self.occurrences)

    def line_at(self, byte_pos: int) -> int:
        """1-based line of a byte offset (pglast reports byte offsets)."""
        return bisect_right(self._newlines, byte_pos - 1) + 1


def parse_file(text: str) -> ParsedFile:
    parsed = ParsedFile(text)
    try:
        tree_json = _tree_json(text)
    except pg.ParseError:
        parsed.error = syntax_error(text)
        return parsed
    tree = json.loads(tree_json)
    data = parsed.data
    # Statements come in file order: their lines are counted on from the previous one (the bisect index of
    # every newline is built only when a node's line is asked for).
    counted, line = 0, 1
    for index, raw in enumerate(tree.get("stmts", [])):
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len", 0) or len(data) - start
        trivia = _LEADING_TRIVIA.match(data, start)
        assert trivia is not None  # the pattern matches the empty string
        start = trivia.end()
        end = start + len(data[start : raw.get("stmt_location", 0) + length].rstrip())
        line += data.count(b"\n", counted, start)
        span = (line, line + data.count(b"\n", start, max(end - 1, start)))
        counted = start
        parsed.spans.append(span)
        ((kind, node),) = raw["stmt"].items()
        stmt_text = data[start:end].decode("utf-8", "replace")
        parsed.occurrences.append(Occurrence(kind, node, span[0], span, stmt_text, TOP, False, index, parsed.line_at))
        if kind == "DoStmt":
            parsed.occurrences.extend(_do_body(parsed, node, stmt_text, span, index))
        elif kind == "CreateFunctionStmt":
            parsed.occurrences.extend(_function_body(parsed, node, stmt_text, span, index))
    return parsed


def _tree_json(text: str) -> str:
    """The file's parse tree as JSON; raises ``pg.ParseError`` when PostgreSQL's grammar refuses the text."""
    if len(text) < value_rows.MIN_FILE or not _VALUES.search(text):
        return pg.parse_sql_json(text)
    # A seed file: the parser checks the whole text while it splits it (no JSON made of 10,000 rows), and
    # the tree is made from the text without the bulk of its rows (see value_rows).
    blanked = value_rows.blank_value_rows(text, pg.split(text, only_slices=True))
    if blanked is not None:
        try:
            return pg.parse_sql_json(blanked)
        except pg.ParseError:
            pass  # never expected (spaces replace whole rows); the text itself then
    return pg.parse_sql_json(text)


def _option(options: list | None, name: str):
    for item in options or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") == name:
            return elem
    return None


def _do_body(parsed: ParsedFile, node: dict, stmt_text: str, span, index) -> list[Occurrence]:
    language = _option(node.get("args"), "language")
    if language and language["arg"]["String"]["sval"].lower() != "plpgsql":
        return []
    body = _option(node.get("args"), "as")
    body_line = parsed.line_at(body.get("arg_location", body.get("location", 0))) if body else span[0]
    try:
        functions = json.loads(pg.parse_plpgsql_json(stmt_text))
    except (pg.ParseError, ValueError):
        _body_error(parsed, stmt_text, span)  # the DO block runs now: the migration fails
        return []
    # ``SELECT count(*) INTO n FROM pg_policies ...; IF n = 0 THEN ...``: when the
    # block looks something up in the catalog, its IFs are taken as existence checks.
    body_text = body["arg"]["String"]["sval"] if body else ""
    looks_up = bool(_EXISTENCE_WORDS.search(body_text))
    found: list[Occurrence] = []
    for lineno, query, guarded in plpgsql_statements(functions, False, looks_up):
        line = body_line + max(lineno, 1) - 1
        found.extend(_inner(query, line, span, index, DO_BODY, guarded))
    return found


def _body_error(parsed: ParsedFile, stmt_text: str, span) -> None:
    from dragonfly_bot.core.lint.plpgsql_errors import plpgsql_error

    found = plpgsql_error(stmt_text)
    if found is not None:
        line, message = found
        parsed.body_errors.append((span[0] + line - 1, message, span))


def _function_body(parsed: ParsedFile, node: dict, stmt_text: str, span, index) -> list[Occurrence]:
    language = _option(node.get("options"), "language")
    lang = language["arg"]["String"]["sval"].lower() if language else "sql"
    if lang == "plpgsql" and _option(node.get("options"), "as") is not None:
        # PostgreSQL validates a PL/pgSQL body at CREATE FUNCTION (check_function_bodies): a broken one fails now.
        try:
            body_json = pg.parse_plpgsql_json(stmt_text)
        except (pg.ParseError, ValueError):
            _body_error(parsed, stmt_text, span)
            return []
    if "schema_migrations" not in stmt_text:
        return []  # checked that it parses; its tree is only read for the protocol rule (decoding it is costly)
    found: list[Occurrence] = []
    if lang == "plpgsql":
        if _option(node.get("options"), "as") is None:
            return []
        for lineno, query, _guarded in plpgsql_statements(json.loads(body_json), False):
            found.extend(_inner(query, span[0] + max(lineno, 1) - 1, span, index, FUNCTION_BODY, False))
    elif lang == "sql":
        body = _option(node.get("options"), "as")
        if body:
            for item in body["arg"].get("List", {}).get("items", []):
                found.extend(_inner(item["String"]["sval"], span[0], span, index, FUNCTION_BODY, False))
        atomic = node.get("sql_body")
        if atomic:
            found.extend(_nested_statements(atomic, span, index))
    return found


def tree_items(tree) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of every dict anywhere in a parse tree (SQL or PL/pgSQL), lazily and without recursion:
    a caller that has found what it looks for stops reading."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                yield key, value
                if isinstance(value, (dict, list)):
                    stack.append(value)


def nested_writes(tree) -> Iterator[tuple[str, Any]]:
    """``(kind, node)`` of every INSERT/UPDATE/DELETE/MERGE anywhere in a parse tree
    (a ``BEGIN ATOMIC`` body, a CTE), found lazily: stop reading when done."""
    return ((key, value) for key, value in tree_items(tree) if key in WRITE_KINDS)


def _nested_statements(tree, span, index) -> list[Occurrence]:
    """Statements inside a ``BEGIN ATOMIC`` body (already in the parse tree)."""
    return [
        Occurrence(key, value, span[0], span, "", FUNCTION_BODY, False, index) for key, value in nested_writes(tree)
    ]


def _inner(query: str, line: int, span, index, context: str, guarded: bool) -> list[Occurrence]:
    try:
        tree = json.loads(pg.parse_sql_json(query))
    except pg.ParseError:
        return []  # e.g. PL/pgSQL variables in odd places; PostgreSQL would say so when it runs
    found = []
    data = query.encode("utf-8")
    locate = lambda location: line + data.count(b"\n", 0, location)  # noqa: E731
    for raw in tree.get("stmts", []):
        ((kind, node),) = raw["stmt"].items()
        found.append(Occurrence(kind, node, line, span, query.strip(), context, guarded, index, locate))
    return found


def temporary_tables(occurrences: list[Occurrence]) -> frozenset[str]:
    """Names of the temporary tables the file creates: they live as long as the migration's session."""
    names = set()
    for occ in occurrences:
        if occ.kind == "CreateStmt":
            rel = occ.node.get("relation", {})
        elif occ.kind == "CreateTableAsStmt":
            rel = occ.node.get("into", {}).get("rel", {})
        else:
            continue
        if rel.get("relpersistence") == "t" and rel.get("relname"):
            names.add(rel["relname"])
    return frozenset(names)


def is_temporary(parts: list[str], temporary: frozenset[str]) -> bool:
    """Whether a (possibly qualified) relation name is one of the file's temporary tables."""
    if not parts or parts[-1] not in temporary:
        return False
    return len(parts) == 1 or parts[-2] == "pg_temp"


def relation_parts(rangevar: dict | None) -> list[str]:
    rangevar = rangevar or {}
    return [p for p in (rangevar.get("schemaname"), rangevar.get("relname")) if p]


def _catches_duplicates(exceptions: dict | None) -> bool:
    for handler in (exceptions or {}).get("PLpgSQL_exception_block", {}).get("exc_list", []):
        for condition in handler.get("PLpgSQL_exception", {}).get("conditions", []):
            name = condition.get("PLpgSQL_condition", {}).get("condname", "")
            if str(name).lower() in DUPLICATE_CONDITIONS:
                return True
    return False


def _is_existence_check(cond: dict | None) -> bool:
    query = (cond or {}).get("PLpgSQL_expr", {}).get("query", "")
    return bool(_EXISTENCE_WORDS.search(query))


@lru_cache(maxsize=256)  # a body's EXECUTE texts are read twice: _builds_sql, then the walker
def _constant_string(expr: str | None) -> str | None:
    """The text of a PL/pgSQL expression that is one string literal ('...', E'...', $q$...$q$), else None."""
    if not expr or expr.lstrip()[:1] not in ("'", "$", "E", "e"):
        return None
    try:
        tree = json.loads(pg.parse_sql_json("SELECT " + expr))
        (stmt,) = tree["stmts"]
        (target,) = stmt["stmt"]["SelectStmt"]["targetList"]
        return target["ResTarget"]["val"]["A_Const"]["sval"]["sval"]
    except (pg.ParseError, ValueError, KeyError, TypeError):
        return None


def plpgsql_statements(tree, guarded: bool = False, any_if_guards: bool = False):
    """(lineno, query, guarded) for every plain SQL statement in a PL/pgSQL parse tree, in order: the one
    DO-block walker (the lint rules and dragonfly_bot.core.hotfix_sql read bodies through it). ``EXECUTE`` of a
    text known before it runs counts as that SQL: a constant string, or ``format()`` over constants and loops
    over constant arrays (``dynamic_sql``), once per text. Iterative: a body 3,000 IFs deep must not exhaust
    Python's stack."""
    stack: list[tuple[Any, bool, list[Scope]]] = [(tree, guarded, [])]
    names: dict[int, str] = {}  # the function's variables by number (FOREACH and := name them so)
    while stack:
        item, guard, scopes = stack.pop()
        if isinstance(item, list):
            stack.extend((inner, guard, scopes) for inner in reversed(item))
            continue
        if not isinstance(item, dict):
            continue
        later: list[tuple[Any, bool, list[Scope]]] = []  # children, pushed in reverse so they pop in order
        for kind, body in item.items():
            if isinstance(body, list):
                later.append((body, guard, scopes))
                continue
            if not isinstance(body, dict):
                continue
            if kind == "PLpgSQL_function":
                scope, names = Scope.of_function(body)
                scopes = [scope] if _builds_sql(body.get("action")) else []  # nothing to evaluate: no bookkeeping
                later.append(({"action": body.get("action")}, guard, scopes))
                continue
            if scopes:  # something is tracked: what this statement sets is no longer known
                for target in _targets(body):
                    for scope in scopes:
                        scope.forget(target)
            inside = scopes
            if scopes and kind in _BRANCHES_AND_LOOPS:
                # Run maybe, or many times: inside, copies; after it, what it may set is no longer known.
                inside = [scope.child() for scope in scopes]
                for assigned in _assigned(body, names):
                    for scope in scopes:
                        scope.forget(assigned)
            if kind == "PLpgSQL_stmt_execsql":
                query = body.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
                if query:
                    yield body.get("lineno", 1), query, guard
            elif kind == "PLpgSQL_stmt_dynexecute":
                expression = body.get("query", {}).get("PLpgSQL_expr", {}).get("query")
                known = _constant_string(expression)
                texts = [known] if known else [t for scope in scopes for t in dynamic_texts(expression, scope)]
                for text in dict.fromkeys(texts):  # the same text from two loop turns runs the same SQL
                    yield body.get("lineno", 1), text, guard
            elif kind == "PLpgSQL_stmt_assign":
                name = names.get(body.get("varno", -1))
                for scope in scopes:
                    if name:
                        scope.assign(name, body.get("expr", {}).get("PLpgSQL_expr", {}).get("query"))
            elif kind == "PLpgSQL_stmt_foreach_a":
                name = names.get(body.get("varno", -1))
                array = body.get("expr", {}).get("PLpgSQL_expr", {}).get("query")
                turns = [each for scope in inside for each in scope.each(name, array)] if name else []
                if len(turns) > MAX_TEXTS:  # loops in loops: too many turns to read, taken as unknown
                    turns = []
                later.append((body.get("body", []), guard, turns))
            elif kind == "PLpgSQL_stmt_block":
                inner_guard = guard or _catches_duplicates(body.get("exceptions"))
                later.append((body.get("body", []), inner_guard, scopes))
                handlers = [scope.child() for scope in scopes]
                for assigned in _assigned(body.get("exceptions", {}), names):
                    for scope in scopes:
                        scope.forget(assigned)
                later.append((body.get("exceptions", {}), guard, handlers))
            elif kind == "PLpgSQL_stmt_if":
                inner_guard = guard or any_if_guards or _is_existence_check(body.get("cond"))
                later.extend(
                    (body.get(key, []), inner_guard, inside) for key in ("then_body", "elsif_list", "else_body")
                )
            else:
                later.append((body, guard, inside))
        stack.extend(reversed(later))


_BRANCHES_AND_LOOPS = frozenset(
    "PLpgSQL_stmt_" + kind for kind in ("if", "case", "loop", "while", "fori", "fors", "forc", "dynfors", "foreach_a")
)


def _builds_sql(tree: Any) -> bool:
    """Whether a body has an EXECUTE of anything but one string literal (format(), ||, a variable)."""
    return any(
        kind == "PLpgSQL_stmt_dynexecute"
        and isinstance(body, dict)
        and (query := body.get("query", {}).get("PLpgSQL_expr", {}).get("query"))
        and _constant_string(query) is None
        for kind, body in tree_items(tree)
    )


def _assigned(tree: Any, names: dict[int, str]) -> set[str]:
    """Every variable a statement (and the statements in it) may set."""
    found: set[str] = set()
    for kind, body in tree_items(tree):
        if isinstance(body, dict):
            if kind == "PLpgSQL_stmt_assign" and body.get("varno", -1) in names:
                found.add(names[body["varno"]])
            found.update(_targets(body))
    return found


def _targets(body: dict) -> list[str]:
    """The variables a statement sets besides ``:=`` (SELECT INTO, a FOR loop's variable, FETCH, GET DIAGNOSTICS)."""
    found: list[str] = []
    for key in ("target", "var"):
        value = body.get(key)
        if not isinstance(value, dict):
            continue
        for kind, target in value.items():
            if kind == "PLpgSQL_row":
                found.extend(field.get("name", "") for field in target.get("fields", []))
            elif isinstance(target, dict):
                found.append(target.get("refname", ""))
    return found


def do_block_statements(stmt_text: str) -> list[tuple[int, str, bool]] | None:
    """The statements a DO block (or PL/pgSQL function) runs, or None when its body cannot be read."""
    try:
        return list(plpgsql_statements(json.loads(pg.parse_plpgsql_json(stmt_text))))
    except (pg.ParseError, ValueError, RecursionError):
        return None
