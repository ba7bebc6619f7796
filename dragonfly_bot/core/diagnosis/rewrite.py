"""Statements rewritten so that running them twice is harmless: the one rewrite engine.

``make_rerunnable(sql)`` is the public entry point (the relay's hints and
lint's fixes both use it): a CREATE gets IF NOT EXISTS / OR REPLACE or a
guard, a DROP gets IF EXISTS, a RENAME a guard on the old name, an INSERT
ON CONFLICT DO NOTHING. pglast says what kind of statement it is; the
rewrite is done on the author's own text (a keyword inserted at the right
token) so it reads like their migration. Every result is a complete
statement (or two), ready to run; None when no rewrite is known.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import parse_sql
from pglast import parser as pg

_BARE_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


def parse_one(sql: str):
    """The statement's pglast node, or None (truncated text, newer syntax, garbage, several statements)."""
    if not sql or not sql.strip():
        return None
    try:
        stmts = parse_sql(sql)
    except Exception:
        return None
    return stmts[0].stmt if len(stmts) == 1 else None


def _tokens(sql: str):
    try:
        return [t for t in pg.scan(sql) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:
        return []


def quote_ident(name: str) -> str:
    return name if _BARE_IDENT.match(name) else '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def qualified(rangevar, default_schema: str | None = None) -> str:
    """``schema.name`` of a RangeVar, quoted where needed."""
    name = getattr(rangevar, "relname", None) or "?"
    schema = getattr(rangevar, "schemaname", None) or default_schema
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def terminated(sql: str) -> str:
    """``sql`` with its final ``;``, on a line of its own when the text ends in a ``--`` comment."""
    sql = sql.strip()
    try:
        scanned = pg.scan(sql)
    except Exception:
        scanned = []
    if scanned and scanned[-1].name == "SQL_COMMENT":
        return sql + "\n;"
    return sql + ";"


def _insert_after(sql: str, path: tuple[str, ...], words: str) -> str | None:
    """Insert ``words`` after the token sequence ``path`` (token names, in order, gaps allowed)."""
    want = list(path)
    for tok in _tokens(sql):
        if want and tok.name == want[0]:
            want.pop(0)
            if not want:
                if sql[tok.start : tok.end + 1].islower():
                    words = words.lower()  # write in the author's keyword case
                return sql[: tok.end + 1] + " " + words + sql[tok.end + 1 :]
    return None


def _add_columns_if_not_exists(sql: str) -> str | None:
    """``ALTER TABLE t ADD [COLUMN] a ..., ADD [COLUMN] b ...``: IF NOT EXISTS after each ADD lacking it."""
    tokens = _tokens(sql)
    inserts = []
    for index, tok in enumerate(tokens):
        if tok.name != "ADD_P":
            continue
        after = index + 1 if index + 1 < len(tokens) and tokens[index + 1].name == "COLUMN" else index
        if after + 1 < len(tokens) and tokens[after + 1].name == "IF_P":
            continue
        words = "COLUMN IF NOT EXISTS" if after == index else "IF NOT EXISTS"
        inserts.append((tokens[after].end + 1, words.lower() if sql[tok.start : tok.end + 1].islower() else words))
    for position, words in reversed(inserts):
        sql = sql[:position] + " " + words + sql[position:]
    return sql if inserts else None


def _insert_before(sql: str, token_name: str, words: str) -> str | None:
    for tok in _tokens(sql):
        if tok.name == token_name:
            if sql[tok.start : tok.end + 1].islower():
                words = words.lower()
            return sql[: tok.start] + words + " " + sql[tok.start :]
    return None


def _dollar(body: str) -> str:
    """A dollar-quote tag that does not occur in ``body``."""
    tag, n = "$$", 0
    while tag in body:
        n += 1
        tag = f"$fix{n}$"
    return tag


def do_block(body: str, *, condition: str | None = None, present: bool = False, swallow: str = "") -> str:
    """``body`` in a DO block: run only when ``condition`` is (not) true, or catching ``swallow``."""
    inner = terminated(body)
    if condition is not None:
        inner = inner.replace("\n", "\n    ")
        test = "IF EXISTS" if present else "IF NOT EXISTS"
        code = f"BEGIN\n  {test} ({condition}) THEN\n    {inner}\n  END IF;\nEND"
    else:
        inner = inner.replace("\n", "\n  ")
        code = f"BEGIN\n  {inner}\nEXCEPTION WHEN {swallow} THEN NULL;\nEND"
    tag = _dollar(code)
    return f"DO {tag}\n{code} {tag}"


def rerunnable_create(sql: str) -> str | None:
    """A CREATE / ADD that fails when its object exists, written so that it does not. None when unknown."""
    node = parse_one(sql)
    if node is None:
        return None
    kind = type(node).__name__
    if kind == "CreateStmt" and not node.if_not_exists:
        return _insert_after(sql, ("CREATE", "TABLE"), "IF NOT EXISTS")
    if kind == "IndexStmt" and not node.if_not_exists:
        if not node.idxname:
            return None  # IF NOT EXISTS needs a name
        path = ("CREATE", "INDEX", "CONCURRENTLY") if node.concurrent else ("CREATE", "INDEX")
        return _insert_after(sql, path, "IF NOT EXISTS")
    if kind == "CreateSchemaStmt" and not node.if_not_exists:
        return _insert_after(sql, ("CREATE", "SCHEMA"), "IF NOT EXISTS")
    if kind == "CreateSeqStmt" and not node.if_not_exists:
        return _insert_after(sql, ("CREATE", "SEQUENCE"), "IF NOT EXISTS")
    if kind == "CreateExtensionStmt" and not node.if_not_exists:
        return _insert_after(sql, ("CREATE", "EXTENSION"), "IF NOT EXISTS")
    if kind == "CreateTableAsStmt" and not node.if_not_exists:
        matview = getattr(node.objtype, "name", "") == "OBJECT_MATVIEW"
        return _insert_after(sql, ("CREATE", "VIEW") if matview else ("CREATE", "TABLE"), "IF NOT EXISTS")
    if kind in ("ViewStmt", "CreateFunctionStmt") and not node.replace:
        return _insert_after(sql, ("CREATE",), "OR REPLACE")
    if kind == "CreateTrigStmt" and not node.replace:
        if getattr(node, "isconstraint", False):
            return None
        return _insert_after(sql, ("CREATE",), "OR REPLACE")
    if kind == "AlterTableStmt":
        return _rerunnable_alter_add(sql, node)
    if kind == "AlterPublicationStmt" and getattr(node.action, "name", "") == "AP_AddObjects":
        if len(node.pubobjects or ()) == 1:  # one table: skipping it when it is a member already loses nothing
            return do_block(sql, swallow="duplicate_object")
        return None
    if kind == "AlterEnumStmt" and node.newVal and not node.oldVal and not node.skipIfNewValExists:
        return _insert_after(sql, ("ADD_P", "VALUE_P"), "IF NOT EXISTS")
    if kind == "CreatePolicyStmt":
        drop = f"DROP POLICY IF EXISTS {quote_ident(node.policy_name)} ON {qualified(node.table)};\n"
        return drop + sql.strip()
    if kind in ("CreateEnumStmt", "CompositeTypeStmt", "CreateDomainStmt", "CreateRoleStmt"):
        return do_block(sql, swallow="duplicate_object")
    return None


def _rerunnable_alter_add(sql: str, node) -> str | None:
    cmds: tuple[Any, ...] = tuple(node.cmds or ())
    if len(cmds) > 1 and all(getattr(getattr(c, "subtype", None), "name", "") == "AT_AddColumn" for c in cmds):
        return _add_columns_if_not_exists(sql)
    if len(cmds) != 1:
        return None
    cmd = cmds[0]
    subtype = getattr(getattr(cmd, "subtype", None), "name", "")
    if subtype == "AT_AddColumn" and not cmd.missing_ok:
        return _insert_after(sql, ("ADD_P", "COLUMN"), "IF NOT EXISTS") or _insert_after(
            sql, ("ADD_P",), "COLUMN IF NOT EXISTS"
        )
    if subtype != "AT_AddConstraint" or node.relation is None:
        return None
    constraint = getattr(cmd.def_, "conname", None)
    table = quote_literal(qualified(node.relation))
    if constraint:
        return do_block(
            sql,
            condition=f"SELECT 1 FROM pg_constraint WHERE conname = {quote_literal(constraint)}"
            f" AND conrelid = {table}::regclass",
        )
    if getattr(getattr(cmd.def_, "contype", None), "name", "") == "CONSTR_PRIMARY":
        return do_block(  # a table has one primary key, whatever its name
            sql, condition=f"SELECT 1 FROM pg_constraint WHERE contype = 'p' AND conrelid = {table}::regclass"
        )
    return None


# Keyword tokens between DROP and the object's name, by DropStmt.removeType (1 when not listed).
_DROP_KEYWORD_COUNT = {
    "OBJECT_MATVIEW": 2,
    "OBJECT_FOREIGN_TABLE": 2,
    "OBJECT_EVENT_TRIGGER": 2,
    "OBJECT_ACCESS_METHOD": 2,
    "OBJECT_FDW": 3,
    "OBJECT_FOREIGN_SERVER": 1,
    "OBJECT_TSCONFIGURATION": 3,
    "OBJECT_TSDICTIONARY": 3,
    "OBJECT_TSPARSER": 3,
    "OBJECT_TSTEMPLATE": 3,
}


def drop_if_exists(sql: str) -> str | None:
    """A DROP (or ALTER TABLE ... DROP COLUMN/CONSTRAINT) written with IF EXISTS, or None."""
    node = parse_one(sql)
    kind = type(node).__name__
    if kind == "DropStmt" and not node.missing_ok:
        count = _DROP_KEYWORD_COUNT.get(getattr(node.removeType, "name", ""), 1) + (1 if node.concurrent else 0)
        tokens = _tokens(sql)
        for index, tok in enumerate(tokens):
            if tok.name == "DROP" and index + count < len(tokens):
                last = tokens[index + count]
                words = "if exists" if sql[last.start : last.end + 1].islower() else "IF EXISTS"
                return sql[: last.end + 1] + " " + words + sql[last.end + 1 :]
        return None
    if kind == "AlterTableStmt" and len(node.cmds or ()) == 1:
        cmd = node.cmds[0]
        subtype = getattr(cmd.subtype, "name", "")
        if subtype == "AT_DropColumn" and not cmd.missing_ok:
            return _insert_after(sql, ("DROP", "COLUMN"), "IF EXISTS") or _insert_after(sql, ("DROP",), "IF EXISTS")
        if subtype == "AT_DropConstraint" and not cmd.missing_ok:
            return _insert_after(sql, ("DROP", "CONSTRAINT"), "IF EXISTS")
    return None


def guarded_rename(sql: str) -> str | None:
    """A RENAME of a table or column written so that it does nothing once it has run."""
    node = parse_one(sql)
    if type(node).__name__ != "RenameStmt" or node.relation is None:
        return None
    what = getattr(node.renameType, "name", "")
    if what == "OBJECT_TABLE" and not node.missing_ok:
        return _insert_after(sql, ("ALTER", "TABLE"), "IF EXISTS")
    if what == "OBJECT_COLUMN":
        schema = getattr(node.relation, "schemaname", None) or "public"
        return do_block(
            sql,
            condition=f"SELECT 1 FROM information_schema.columns WHERE table_schema = {quote_literal(schema)}"
            f" AND table_name = {quote_literal(node.relation.relname)} AND column_name = {quote_literal(node.subname)}",
            present=True,
        )
    return None


def insert_on_conflict_do_nothing(sql: str) -> str | None:
    """An INSERT without ON CONFLICT, given ``ON CONFLICT DO NOTHING`` (before RETURNING), or None."""
    node = parse_one(sql)
    if type(node).__name__ != "InsertStmt" or node.onConflictClause is not None:
        return None
    if getattr(node, "returningList", None) or getattr(node, "returningClause", None):
        return _insert_before(sql, "RETURNING", "ON CONFLICT DO NOTHING")
    words = "on conflict do nothing" if sql.lstrip()[:6].islower() else "ON CONFLICT DO NOTHING"
    return sql.rstrip().rstrip(";").rstrip() + "\n" + words


def drop_function_first(sql: str) -> str | None:
    """42P13 (CREATE OR REPLACE cannot change the return type or parameters): ``DROP FUNCTION IF EXISTS
    name(argument types);`` followed by the statement. None unless it is a CREATE FUNCTION."""
    node = parse_one(sql)
    if type(node).__name__ != "CreateFunctionStmt":
        return None
    name = ".".join(quote_ident(n.sval) for n in node.funcname)
    types = []
    for param in node.parameters or ():
        if getattr(param.mode, "name", "") in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            continue  # the signature is made of the input arguments
        names = [n.sval for n in param.argType.names if n.sval != "pg_catalog" or len(param.argType.names) == 1]
        type_name = ".".join(quote_ident(n) for n in names)
        if param.argType.arrayBounds:
            type_name += "[]" * len(param.argType.arrayBounds)
        types.append(type_name)
    kind = "PROCEDURE" if getattr(node, "is_procedure", False) else "FUNCTION"
    words = f"DROP {kind} IF EXISTS {name}({', '.join(types)});"
    if sql.lstrip()[:6].islower():
        words = f"drop {kind.lower()} if exists {name}({', '.join(types)});"
    replaced = sql if node.replace else _insert_after(sql, ("CREATE",), "OR REPLACE") or sql
    return words + "\n" + replaced.strip()


def make_rerunnable(sql: str) -> str | None:
    """``sql`` (one statement) rewritten so that running it twice is harmless, or None when no rewrite is known.

    The result is complete and runnable (without its final ``;``: add it with ``terminated``)."""
    for rewrite in (rerunnable_create, drop_if_exists, guarded_rename, insert_on_conflict_do_nothing):
        try:
            rewritten = rewrite(sql)
        except Exception:
            rewritten = None
        if rewritten is not None and rewritten != sql:
            return rewritten
    return None
