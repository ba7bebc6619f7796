"""One SQL statement as the hotfix content check compares it (pure, on pglast's parse tree).

``analyse`` gives a statement's two keys, guard-neutral (IF NOT EXISTS, IF EXISTS, OR REPLACE, ON CONFLICT
removed; the default schema spelled out for relations and function names): ``shape`` (the fingerprint,
constants ignored) and ``exact`` (constants kept); and what it creates, drops and sets, which tell when a
later statement takes it back or a same-name CREATE silently does nothing. Used by dragonfly_bot.core.hotfix_sql.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast, parse_sql
from pglast import parser as pg
from pglast.stream import RawStream

from dragonfly_bot.core.sql import canonical_form

# Attributes whose only job is to make a statement safe to re-run.
_GUARD_FLAGS = ("if_not_exists", "missing_ok", "replace")


def _neutralise(node) -> None:
    """Strip idempotency guards and fill in the default schema, in place."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _neutralise(item)
        return
    if not isinstance(node, ast.Node):
        return
    # Function names get the default schema too: Studio's `create function f()` is the
    # migration's `create or replace function public.f()`.
    for attr in _FUNCTION_NAME_FIELDS.get(type(node), ()):
        names = getattr(node, attr, None)
        if names and len(names) == 1:
            setattr(node, attr, (ast.String(sval="public"), *names))
    for name in getattr(type(node), "__slots__", ()):
        if name in _GUARD_FLAGS and isinstance(getattr(node, name, None), bool):
            setattr(node, name, False)
        elif name == "onConflictClause":
            setattr(node, name, None)
        elif name == "schemaname" and isinstance(node, ast.RangeVar) and node.schemaname is None:
            node.schemaname = "public"
        else:
            _neutralise(getattr(node, name, None))


_FUNCTION_NAME_FIELDS = {
    ast.CreateFunctionStmt: ("funcname",),
    ast.ObjectWithArgs: ("objname",),
    ast.CreateTrigStmt: ("funcname",),
}


@dataclass(frozen=True)
class StatementKey:
    """How one statement compares: by shape (fingerprint, constants ignored) and exactly (constants kept)."""

    shape: str
    exact: str


@dataclass(frozen=True)
class Analysed:
    """One statement as the comparison sees it: its keys, what it creates and drops, what it sets."""

    text: str
    key: StatementKey
    creates: frozenset[tuple[str, str]] = field(default=frozenset())  # (kind, qualified name)
    drops: frozenset[tuple[str, str]] = field(default=frozenset())
    guarded_create: bool = False  # CREATE ... IF NOT EXISTS as written
    sets: str | None = None  # what a statement that sets values sets (its values aside), else None


def statement_key(statement: str) -> StatementKey:
    """Both keys of one statement, guard-neutral (the plain statement's if it cannot be rewritten)."""
    return analyse(statement).key


def analyse(statement: str) -> Analysed:
    try:
        nodes = parse_sql(statement)
    except pg.ParseError:
        unparsable = "unparsable:" + " ".join(statement.lower().split())
        return Analysed(statement, StatementKey(unparsable, unparsable))
    stmts = [raw.stmt for raw in nodes if raw.stmt is not None]
    guarded = any(getattr(stmt, "if_not_exists", False) is True for stmt in stmts)
    try:
        for stmt in stmts:
            _neutralise(stmt)
        text = ";\n".join(RawStream()(stmt) for stmt in stmts)
    except Exception:
        return Analysed(statement, StatementKey(pg.fingerprint(statement), canonical_form(statement)))
    key = StatementKey(pg.fingerprint(text), canonical_form(text))
    creates: set[tuple[str, str]] = set()
    drops: set[tuple[str, str]] = set()
    sets = None
    for stmt in stmts:
        creates |= _created(stmt)
        drops |= _dropped(stmt)
        sets = _set_target(stmt, key.shape) or sets
    return Analysed(statement, key, frozenset(creates), frozenset(drops), guarded, sets)


def _qualified(range_var) -> str:
    return f"{range_var.schemaname or 'public'}.{range_var.relname}"


def _names(parts) -> str:
    values = [getattr(p, "sval", str(p)) for p in parts or ()]
    return ".".join(["public", *values] if len(values) == 1 else values)


_CREATED_KINDS = {
    ast.CreateStmt: ("table", "relation"),
    ast.ViewStmt: ("view", "view"),
    ast.CreateSeqStmt: ("sequence", "sequence"),
}
_DROP_KINDS = {
    "OBJECT_TABLE": "table",
    "OBJECT_INDEX": "index",
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_SEQUENCE": "sequence",
    "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "function",
    "OBJECT_ROUTINE": "function",
    "OBJECT_TRIGGER": "trigger",
}


def _created(stmt) -> set[tuple[str, str]]:
    kind = _CREATED_KINDS.get(type(stmt))
    if kind:
        return {(kind[0], _qualified(getattr(stmt, kind[1])))}
    if isinstance(stmt, ast.IndexStmt) and stmt.idxname:
        return {("index", f"{getattr(stmt.relation, 'schemaname', None) or 'public'}.{stmt.idxname}")}
    if isinstance(stmt, ast.CreateFunctionStmt):
        return {("function", _names(stmt.funcname))}
    if isinstance(stmt, ast.CreateTableAsStmt) and stmt.into is not None:
        kind_name = "materialized view" if getattr(stmt.objtype, "name", "") == "OBJECT_MATVIEW" else "table"
        return {(kind_name, _qualified(stmt.into.rel))}
    if isinstance(stmt, ast.CreateTrigStmt):
        return {("trigger", f"{_qualified(stmt.relation)}.{stmt.trigname}")}
    if isinstance(stmt, ast.AlterTableStmt):
        return {
            ("column", f"{_qualified(stmt.relation)}.{cmd.def_.colname}")
            for cmd in stmt.cmds or ()
            if getattr(cmd.subtype, "name", "") == "AT_AddColumn" and getattr(cmd, "def_", None) is not None
        }
    return set()


def _dropped(stmt) -> set[tuple[str, str]]:
    if isinstance(stmt, ast.AlterTableStmt):
        return {
            ("column", f"{_qualified(stmt.relation)}.{cmd.name}")
            for cmd in stmt.cmds or ()
            if getattr(cmd.subtype, "name", "") == "AT_DropColumn"
        }
    if not isinstance(stmt, ast.DropStmt):
        return set()
    kind = _DROP_KINDS.get(getattr(stmt.removeType, "name", ""))
    if kind is None:
        return set()
    out = set()
    for obj in stmt.objects or ():
        parts = obj.objname if isinstance(obj, ast.ObjectWithArgs) else obj
        if kind == "trigger":  # DROP TRIGGER name ON table: (table..., name)
            values = [getattr(p, "sval", str(p)) for p in parts or ()]
            out.add((kind, ".".join(["public", *values] if len(values) == 2 else values)))
        else:
            out.add((kind, _names(parts)))
    return out


# Statements that set something; a later one with the same target and other values takes it back.
_SETTERS = (ast.AlterTableStmt, ast.AlterRoleSetStmt, ast.AlterDatabaseSetStmt, ast.AlterSystemStmt, ast.CommentStmt)


def _set_target(stmt, shape: str) -> str | None:
    if isinstance(stmt, ast.UpdateStmt):
        # Same table, columns and WHERE: the same rows. (Another WHERE value is another row, not an undo.)
        where = RawStream()(stmt.whereClause) if stmt.whereClause is not None else ""
        return f"{shape}|{where}"
    if isinstance(stmt, _SETTERS):
        return shape
    return None


def fingerprint(statement: str) -> str:
    """The guard-neutral fingerprint of one statement (constants ignored)."""
    return statement_key(statement).shape
