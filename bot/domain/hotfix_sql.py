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
  Like PostgreSQL's query fingerprints, constants are ignored: the check is
  about which objects and operations, not which literal values.
* ``not_idempotent``: statements that fail against a database where the
  hotfix already ran (the migration runs there after the hotfix).
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, enums, parse_plpgsql, parse_sql
from pglast import parser as pg
from pglast.stream import RawStream

from bot.domain.sql import split_statements

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
    for name in type(node).__slots__:
        if name in _GUARD_FLAGS and isinstance(getattr(node, name, None), bool):
            setattr(node, name, False)
        elif name == "onConflictClause":
            setattr(node, name, None)
        elif name == "schemaname" and isinstance(node, ast.RangeVar) and node.schemaname is None:
            node.schemaname = "public"
        else:
            _neutralise(getattr(node, name, None))


def fingerprint(statement: str) -> str:
    """The guard-neutral fingerprint of one statement (raw fingerprint if it cannot be rewritten)."""
    try:
        nodes = parse_sql(statement)
    except pg.ParseError:
        return "unparsable:" + " ".join(statement.lower().split())
    try:
        for raw in nodes:
            _neutralise(raw.stmt)
        text = ";\n".join(RawStream()(raw.stmt) for raw in nodes)
        return pg.fingerprint(text)
    except Exception:  # noqa: BLE001 - a node RawStream cannot print: fall back to the plain fingerprint
        return pg.fingerprint(statement)


def _do_body_statements(text: str) -> list[str] | None:
    """The SQL statements a DO block executes (None when the body cannot be read)."""
    try:
        functions = parse_plpgsql(text)
    except Exception:  # noqa: BLE001 - pglast raises several types for PL/pgSQL it cannot read
        return None
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "PLpgSQL_stmt_execsql":
                    query = inner.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
                    if query:
                        found.append(query)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(functions)
    return found


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


def missing_statements(declared_sql: str, migration_sql: str) -> list[str]:
    """Declared statements whose fingerprint the migration does not contain, in declared order."""
    have = {fingerprint(s.text) for s in leaf_statements(migration_sql) if not _strip_comments_only(s.text)}
    missing = []
    for stmt in leaf_statements(declared_sql):
        if _strip_comments_only(stmt.text):
            continue
        if fingerprint(stmt.text) not in have:
            missing.append(stmt.text)
    return missing


# --- Non-idempotency -------------------------------------------------------
# MINIMAL CHECK, TO BE REPLACED by the lint rules of bot/domain/lint/ (the
# pre-flight issue) once they land: those also look inside DO blocks, know
# about guards such as a preceding DROP ... IF EXISTS for policies and types,
# and honour lint-ignore comments. This covers the common top-level cases.

_NEEDS_IF_NOT_EXISTS = (
    ast.CreateStmt,
    ast.IndexStmt,
    ast.CreateSchemaStmt,
    ast.CreateSeqStmt,
    ast.CreateExtensionStmt,
    ast.CreateTableAsStmt,
)
_NEEDS_OR_REPLACE = (ast.ViewStmt, ast.CreateFunctionStmt, ast.CreateTrigStmt)
_NEEDS_PRIOR_DROP = (ast.CreatePolicyStmt, ast.CompositeTypeStmt, ast.CreateEnumStmt, ast.CreateDomainStmt)
_LABELS = {
    ast.CreateStmt: "CREATE TABLE",
    ast.IndexStmt: "CREATE INDEX",
    ast.CreateSchemaStmt: "CREATE SCHEMA",
    ast.CreateSeqStmt: "CREATE SEQUENCE",
    ast.CreateExtensionStmt: "CREATE EXTENSION",
    ast.CreateTableAsStmt: "CREATE TABLE AS / MATERIALIZED VIEW",
    ast.ViewStmt: "CREATE VIEW",
    ast.CreateFunctionStmt: "CREATE FUNCTION",
    ast.CreateTrigStmt: "CREATE TRIGGER",
    ast.CreatePolicyStmt: "CREATE POLICY",
    ast.CompositeTypeStmt: "CREATE TYPE",
    ast.CreateEnumStmt: "CREATE TYPE ... AS ENUM",
    ast.CreateDomainStmt: "CREATE DOMAIN",
}


def _statement_issue(node, dropped_before: bool) -> str | None:
    kind = _LABELS.get(type(node), type(node).__name__)
    if isinstance(node, _NEEDS_IF_NOT_EXISTS) and not node.if_not_exists:
        return f"{kind} without IF NOT EXISTS fails where the hotfix already created it"
    if isinstance(node, _NEEDS_OR_REPLACE) and not node.replace and not dropped_before:
        return f"{kind} without OR REPLACE fails where the hotfix already created it"
    if isinstance(node, _NEEDS_PRIOR_DROP) and not dropped_before:
        return f"{kind} has no guard (a DROP ... IF EXISTS before it, or a DO block catching duplicate_object)"
    if isinstance(node, ast.DropStmt) and not node.missing_ok:
        return "DROP without IF EXISTS fails where the hotfix already dropped it"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype in (
                enums.AlterTableType.AT_AddColumn,
                enums.AlterTableType.AT_DropColumn,
            ) and not cmd.missing_ok:
                return "ALTER TABLE ADD/DROP COLUMN without IF [NOT] EXISTS fails where the hotfix already ran it"
    if isinstance(node, ast.InsertStmt) and node.onConflictClause is None:
        return "INSERT without ON CONFLICT duplicates or fails on rows the hotfix already inserted"
    return None


def not_idempotent(migration_sql: str) -> list[IdempotencyIssue]:
    """Top-level statements of a migration that would fail (or duplicate) after the hotfix."""
    issues: list[IdempotencyIssue] = []
    dropped_before = False
    for stmt in split_statements(migration_sql):
        try:
            nodes = parse_sql(stmt.text)
        except pg.ParseError as exc:
            issues.append(IdempotencyIssue(stmt.line, f"PostgreSQL cannot parse this statement: {exc}"))
            continue
        for raw in nodes:
            node = raw.stmt
            message = _statement_issue(node, dropped_before)
            if message:
                issues.append(IdempotencyIssue(stmt.line, message))
            # A DROP ... IF EXISTS makes the next CREATE of that kind safe (the common pattern for policies).
            dropped_before = isinstance(node, ast.DropStmt) and bool(node.missing_ok)
    return issues


def link_findings(declared_sql: str | None, migration_sql: str) -> dict:
    """What the hotfix record keeps about its linked migration (JSON-ready)."""
    return {
        "missing": missing_statements(declared_sql, migration_sql) if declared_sql else [],
        "compared": bool(declared_sql),
        "not_idempotent": [{"line": i.line, "message": i.message} for i in not_idempotent(migration_sql)],
    }
