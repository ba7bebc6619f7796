"""Does a migration carry what was run in Studio, and can it run after it?

Two questions about a hotfix's linked migration, both answered on
PostgreSQL's own parse tree (pglast):

* ``missing_statements``: which statements of the declared SQL the migration
  does not contain. Statements are compared by ``pglast.parser.fingerprint``
  after removing what only makes a statement idempotent (IF NOT EXISTS,
  IF EXISTS, OR REPLACE, ON CONFLICT) and spelling out the default schema,
  so ``create table foo`` run in Studio matches the migration's ``create
  table if not exists public.foo``. Statements inside ``DO $$ ... $$``
  blocks count, since that is how the protocol guards complex changes.
* ``different_values``: declared statements the migration has only with
  other literal values (same fingerprint, since fingerprints ignore
  constants, but a different ``canonical_form`` of the guard-neutral
  statement): ``update settings set flag = true`` run in Studio and ``...
  set flag = false`` in the migration are "same shape, different values",
  not a match.
* ``not_idempotent``: statements that fail against a database where the
  hotfix already ran (the migration runs there after the hotfix), by the
  pre-flight lint's idempotency rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast import parser as pg
from pglast.stream import RawStream

from bot.core.lint import MigrationSource, lint_text
from bot.core.lint.parse import do_block_statements
from bot.core.sql import canonical_form, split_statements

# Attributes whose only job is to make a statement safe to re-run.
_GUARD_FLAGS = ("if_not_exists", "missing_ok", "replace")


@dataclass(frozen=True)
class LeafStatement:
    text: str
    line: int


@dataclass(frozen=True)
class IdempotencyIssue:
    line: int
    message: str


def _neutralise(node) -> None:
    """Strip idempotency guards and fill in the default schema, in place."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _neutralise(item)
        return
    if not isinstance(node, ast.Node):
        return
    for name in getattr(type(node), "__slots__", ()):
        if name in _GUARD_FLAGS and isinstance(getattr(node, name, None), bool):
            setattr(node, name, False)
        elif name == "onConflictClause":
            setattr(node, name, None)
        elif name == "schemaname" and isinstance(node, ast.RangeVar) and node.schemaname is None:
            node.schemaname = "public"
        else:
            _neutralise(getattr(node, name, None))


@dataclass(frozen=True)
class StatementKey:
    """How one statement compares: by shape (fingerprint, constants ignored) and exactly (constants kept)."""

    shape: str
    exact: str


def statement_key(statement: str) -> StatementKey:
    """Both keys of one statement, guard-neutral (the plain statement's if it cannot be rewritten)."""
    try:
        nodes = parse_sql(statement)
    except pg.ParseError:
        unparsable = "unparsable:" + " ".join(statement.lower().split())
        return StatementKey(unparsable, unparsable)
    try:
        stmts = [raw.stmt for raw in nodes if raw.stmt is not None]
        for stmt in stmts:
            _neutralise(stmt)
        text = ";\n".join(RawStream()(stmt) for stmt in stmts)
    except Exception:
        text = statement
    return StatementKey(pg.fingerprint(text), canonical_form(text))


def fingerprint(statement: str) -> str:
    """The guard-neutral fingerprint of one statement (constants ignored)."""
    return statement_key(statement).shape


def _do_body_statements(text: str) -> list[str] | None:
    """The SQL statements a DO block executes (None when the body cannot be read): the lint's DO-block walker."""
    statements = do_block_statements(text)
    return None if statements is None else [query for _line, query, _guarded in statements]


def leaf_statements(sql: str) -> list[LeafStatement]:
    """Top-level statements, with DO blocks replaced by the statements they run."""
    out: list[LeafStatement] = []
    for stmt in split_statements(sql):
        if _is_do_block(stmt.text):
            inner = _do_body_statements(stmt.text)
            if inner:
                out.extend(LeafStatement(text, stmt.line) for text in inner)
                continue
        out.append(LeafStatement(stmt.text, stmt.line))
    return out


def _is_do_block(text: str) -> bool:
    try:
        nodes = parse_sql(text)
    except pg.ParseError:
        return False
    return len(nodes) == 1 and isinstance(nodes[0].stmt, ast.DoStmt)


def _strip_comments_only(text: str) -> bool:
    """True when a 'statement' is nothing but comments (the CLI keeps leading comments)."""
    try:
        return not parse_sql(text)
    except pg.ParseError:
        return False


@dataclass(frozen=True)
class Comparison:
    missing: list[str]  # declared statements with no statement of the same shape in the migration
    different_values: list[dict]  # {"declared": ..., "migration": [...]}: same shape, other literal values


def _keyed(sql: str) -> list[tuple[str, StatementKey]]:
    return [(s.text, statement_key(s.text)) for s in leaf_statements(sql) if not _strip_comments_only(s.text)]


def compare_statements(declared_sql: str, migration_sql: str) -> Comparison:
    """Each declared statement, in declared order: contained, missing, or only with other values."""
    by_shape: dict[str, list[tuple[str, StatementKey]]] = {}
    for text, key in _keyed(migration_sql):
        by_shape.setdefault(key.shape, []).append((text, key))
    missing: list[str] = []
    different: list[dict] = []
    for text, key in _keyed(declared_sql):
        same_shape = by_shape.get(key.shape)
        if not same_shape:
            missing.append(text)
        elif all(other.exact != key.exact for _, other in same_shape):
            different.append({"declared": text, "migration": [t for t, _ in same_shape][:3]})
    return Comparison(missing, different)


def missing_statements(declared_sql: str, migration_sql: str) -> list[str]:
    """Declared statements with no statement of the same shape in the migration, in declared order."""
    return compare_statements(declared_sql, migration_sql).missing


# --- Non-idempotency -------------------------------------------------------
# The pre-flight lint's idempotency rules decide (one set of rules for the
# whole project): they look inside DO blocks, know the guards (a preceding
# DROP ... IF EXISTS, a DO block catching duplicate_object) and honour
# ``-- lint-ignore:`` comments.

IDEMPOTENCY_RULES = frozenset(
    {
        "create-without-if-not-exists",
        "create-without-or-replace",
        "drop-without-if-exists",
        "add-column-without-if-not-exists",
        "unguarded-create",
        "insert-without-on-conflict",
        "parse-error",
    }
)


def not_idempotent(migration_sql: str, file_name: str = "migration.sql") -> list[IdempotencyIssue]:
    """Statements of a migration that would fail (or duplicate rows) where the hotfix already ran."""
    source = MigrationSource(name=file_name, path=file_name, text=migration_sql, is_new=False)
    return [
        IdempotencyIssue(f.line, f"{f.message}; fix: {f.fix}") for f in lint_text(source) if f.rule in IDEMPOTENCY_RULES
    ]


def link_findings(declared_sql: str | None, migration_sql: str, file_name: str = "migration.sql") -> dict:
    """What the hotfix record keeps about its linked migration (JSON-ready)."""
    compared = compare_statements(declared_sql, migration_sql) if declared_sql else Comparison([], [])
    return {
        "missing": compared.missing,
        "different_values": compared.different_values,
        "compared": bool(declared_sql),
        "not_idempotent": [{"line": i.line, "message": i.message} for i in not_idempotent(migration_sql, file_name)],
    }
