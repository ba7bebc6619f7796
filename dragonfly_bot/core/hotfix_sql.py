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
text kept in the findings is redacted (they are stored and shown). One
statement's keys and objects come from dragonfly_bot.core.hotfix_statements.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pglast import ast, parse_sql
from pglast import parser as pg

from dragonfly_bot.core.hotfix_statements import Analysed, analyse
from dragonfly_bot.core.lint import MigrationSource, lint_text
from dragonfly_bot.core.lint.parse import do_block_statements
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.sql import split_statements


@dataclass(frozen=True)
class LeafStatement:
    text: str
    line: int


@dataclass(frozen=True)
class IdempotencyIssue:
    line: int
    message: str


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
