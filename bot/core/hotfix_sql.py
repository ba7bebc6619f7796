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
* ``undone``: declared statements the migration carries but then takes
  back: a later statement setting the same thing to other values (the same
  UPDATE target, column default, setting), or dropping what it created.
* ``same_name``: a declared CREATE (index, table) that the migration creates
  under the same name with another definition. With IF NOT EXISTS that
  silently does nothing on the hotfixed database (the name is taken by
  Studio's object); without it, it fails there.
* ``not_idempotent``: statements that fail against a database where the
  hotfix already ran (the migration runs there after the hotfix), by the
  pre-flight lint's idempotency rules.

The first four are differences (``differences``): a hotfix whose migration
has any is ``applied_with_differences``, not ``synced``. Every statement
text kept in the findings is redacted (they are stored and shown).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pglast import ast, parse_sql
from pglast import parser as pg
from pglast.stream import RawStream

from bot.core.lint import MigrationSource, lint_text
from bot.core.lint.parse import do_block_statements
from bot.core.redact import redact
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
    undone: list[dict] = field(default_factory=list)  # {"declared", "migration", "why"}: carried, then taken back
    same_name: list[dict] = field(default_factory=list)  # {"declared", "migration", "object", "if_not_exists"}


def _analysed(sql: str) -> list[Analysed]:
    return [analyse(s.text) for s in leaf_statements(sql) if not _strip_comments_only(s.text)]


def compare_statements(declared_sql: str, migration_sql: str) -> Comparison:
    """Each declared statement, in declared order: contained, missing, only with other values, or undone."""
    migration = _analysed(migration_sql)
    by_shape: dict[str, list[int]] = {}
    by_target: dict[str, list[int]] = {}  # what a statement sets -> where (for "set back")
    by_drop: dict[tuple[str, str], list[int]] = {}  # what a statement drops -> where
    for position, statement in enumerate(migration):
        by_shape.setdefault(statement.key.shape, []).append(position)
        if statement.sets is not None:
            by_target.setdefault(statement.sets, []).append(position)
        for obj in statement.drops:
            by_drop.setdefault(obj, []).append(position)
    out = Comparison([], [], [], [])
    for declared in _analysed(declared_sql):
        positions = by_shape.get(declared.key.shape)
        if not positions:
            other = _same_name(declared, migration)
            if other is None:
                out.missing.append(declared.text)
            else:
                out.same_name.append(other)
            continue
        exact = [p for p in positions if migration[p].key.exact == declared.key.exact]
        if not exact:
            out.different_values.append(
                {"declared": declared.text, "migration": [migration[p].text for p in positions][:3]}
            )
            continue
        undo = _undoing(declared, exact[-1], migration, by_target, by_drop)
        if undo is not None:
            out.undone.append({"declared": declared.text, "migration": undo[0].text, "why": undo[1]})
    return out


def _undoing(
    declared: Analysed,
    matched_at: int,
    migration: list[Analysed],
    by_target: dict[str, list[int]],
    by_drop: dict[tuple[str, str], list[int]],
) -> tuple[Analysed, str] | None:
    """The first statement after the match that takes the declared one back, and how."""
    found: list[tuple[int, str]] = []
    if declared.sets is not None:
        later = (p for p in by_target.get(declared.sets, ()) if p > matched_at)
        first = next((p for p in later if migration[p].key.exact != declared.key.exact), None)
        if first is not None:
            found.append((first, "sets it back to other values"))
    for kind, name in sorted(declared.creates):
        first = next((p for p in by_drop.get((kind, name), ()) if p > matched_at), None)
        if first is not None:
            found.append((first, f"drops the {kind} {name} it creates"))
    if not found:
        return None
    position, why = min(found)
    return migration[position], why


_SAME_NAME_KINDS = ("index", "table")


def _same_name(declared: Analysed, migration: list[Analysed]) -> dict | None:
    """A migration CREATE of the declared object's name with another definition (not dropped before)."""
    wanted = {obj for obj in declared.creates if obj[0] in _SAME_NAME_KINDS}
    for position, statement in enumerate(migration):
        taken = wanted & statement.creates
        if not taken:
            continue
        if any(taken & earlier.drops for earlier in migration[:position]):
            return None  # dropped first: the migration replaces Studio's object on purpose (a different one)
        kind, name = sorted(taken)[0]
        return {
            "declared": declared.text,
            "migration": statement.text,
            "object": f"{kind} {name}",
            "if_not_exists": statement.guarded_create,
        }
    return None


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
        "rename-without-guard",
        "parse-error",
    }
)


def not_idempotent(migration_sql: str, file_name: str = "migration.sql") -> list[IdempotencyIssue]:
    """Statements of a migration that would fail (or duplicate rows) where the hotfix already ran."""
    source = MigrationSource(name=file_name, path=file_name, text=migration_sql, is_new=False)
    return [
        IdempotencyIssue(f.line, f"{f.message}; fix: {f.fix}") for f in lint_text(source) if f.rule in IDEMPOTENCY_RULES
    ]


# Findings that mean the migration does not carry the hotfix (not_idempotent is a warning only:
# an applied migration did run).
DIFFERENCES = ("missing", "different_values", "undone", "same_name")
# Bumped when the comparison changes, so stored findings are computed again (content_hash).
CHECK_VERSION = "2"


def differences(findings: dict | None) -> int:
    """How many differences between the migration and the declared SQL the findings list."""
    return sum(len((findings or {}).get(key) or ()) for key in DIFFERENCES)


def same_findings(a: dict | None, b: dict | None) -> bool:
    """The same findings, a key absent or empty alike (findings stored before a kind existed lack its key)."""
    keys = (*DIFFERENCES, "not_idempotent", "compared")
    return all(((a or {}).get(k) or None) == ((b or {}).get(k) or None) for k in keys)


def content_hash(files: list[tuple[str, str]]) -> str:
    """What the findings were computed from: the (name, text) of the migrations, and the check's version."""
    digest = hashlib.sha256(f"hotfix-check:{CHECK_VERSION}\n".encode())
    for name, text in files:
        for part in (name, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def link_findings(declared_sql: str | None, migration_sql: str, file_name: str = "migration.sql") -> dict:
    """What the hotfix record keeps about its linked migration (JSON-ready, statement texts redacted)."""
    compared = compare_statements(declared_sql, migration_sql) if declared_sql else Comparison([], [])
    return _redacted(
        {
            "missing": compared.missing,
            "different_values": compared.different_values,
            "undone": compared.undone,
            "same_name": compared.same_name,
            "compared": bool(declared_sql),
            "not_idempotent": [
                {"line": i.line, "message": i.message} for i in not_idempotent(migration_sql, file_name)
            ],
        }
    )
