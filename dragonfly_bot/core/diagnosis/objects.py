"""What each migration file creates, read with PostgreSQL's own parser.

``ObjectIndex.build(files)`` parses every local migration once and records,
by schema-qualified name, the tables and views, their columns (CREATE TABLE,
ADD COLUMN, RENAME), functions with their argument types, schemas, types and
extensions each file creates. Hints ask it who creates a missing object:
an earlier file (drift), a later one (order), or nobody (a typo: did you
mean...). ``statement_relations`` tells which tables a failing statement
names, with their aliases, so ``column c.org_id`` is looked up on the right
table. Pure; tolerant of files that do not parse (they are skipped
statement by statement).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pglast import parse_sql
from pglast.visitors import Visitor

from dragonfly_bot.core.sql import split_statements

DEFAULT_SCHEMA = "public"
MAX_INDEXED_BYTES = 4 << 20  # a file larger than this is indexed this far

# CREATE TABLE / ADD COLUMN inside DO blocks and function bodies (PL/pgSQL is not parsed as SQL).
_DO_CREATE_TABLE = re.compile(
    r"\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?(?:\"?(\w+)\"?\s*\.\s*)?\"?(\w+)\"?", re.IGNORECASE
)
_DO_ADD_COLUMN = re.compile(
    r"\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(?:\"?(\w+)\"?\s*\.\s*)?\"?(\w+)\"?\s+add\s+(?:column\s+)?"
    r"(?:if\s+not\s+exists\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Created:
    kind: str  # table | column | function | schema | type | extension
    name: str  # schema.table, schema.table.column, schema.function, schema, schema.type, extension
    file: str
    line: int
    detail: str = ""  # function: its argument types; extension: the schema it goes in


def _sval(nodes) -> list[str]:
    return [getattr(n, "sval", "") for n in nodes or ()]


def _qual(schema: str | None, name: str) -> str:
    return f"{schema or DEFAULT_SCHEMA}.{name}"


def _type_name(type_node) -> str:
    names = [n for n in _sval(type_node.names) if n != "pg_catalog"] or _sval(type_node.names)
    return ".".join(names)


class _Collector:
    def __init__(self, file: str):
        self.file = file
        self.found: list[Created] = []

    def add(self, kind: str, name: str, line: int, detail: str = "") -> None:
        self.found.append(Created(kind, name, self.file, line, detail))

    def statement(self, node, line: int, text: str) -> None:
        kind = type(node).__name__
        if kind == "CreateStmt" and node.relation is not None:
            table = _qual(node.relation.schemaname, node.relation.relname)
            self.add("table", table, line)
            for element in node.tableElts or ():
                if type(element).__name__ == "ColumnDef":
                    self.add("column", f"{table}.{element.colname}", line)
        elif kind == "ViewStmt" and node.view is not None:
            self.add("table", _qual(node.view.schemaname, node.view.relname), line)
        elif kind == "CreateTableAsStmt" and node.into is not None and node.into.rel is not None:
            self.add("table", _qual(node.into.rel.schemaname, node.into.rel.relname), line)
        elif kind == "AlterTableStmt" and node.relation is not None:
            table = _qual(node.relation.schemaname, node.relation.relname)
            for cmd in node.cmds or ():
                if getattr(cmd.subtype, "name", "") == "AT_AddColumn" and cmd.def_ is not None:
                    self.add("column", f"{table}.{cmd.def_.colname}", line)
        elif kind == "RenameStmt" and node.relation is not None:
            what = getattr(node.renameType, "name", "")
            table = _qual(node.relation.schemaname, node.relation.relname)
            if what == "OBJECT_COLUMN":
                self.add("column", f"{table}.{node.newname}", line)
            elif what in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW"):
                self.add("table", _qual(node.relation.schemaname, node.newname), line)
        elif kind == "CreateFunctionStmt":
            names = _sval(node.funcname)
            args = [
                _type_name(p.argType)
                for p in node.parameters or ()
                if getattr(p.mode, "name", "") not in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE")
            ]
            self.add("function", _qual(names[0] if len(names) > 1 else None, names[-1]), line, ", ".join(args))
        elif kind == "CreateSchemaStmt" and node.schemaname:
            self.add("schema", node.schemaname, line)
        elif kind == "CreateExtensionStmt":
            schema = ""
            for option in node.options or ():
                if option.defname == "schema":
                    schema = getattr(option.arg, "sval", "") or ""
            self.add("extension", node.extname, line, schema)
        elif kind in ("CreateEnumStmt", "CreateDomainStmt"):
            names = _sval(node.typeName if kind == "CreateEnumStmt" else node.domainname)
            self.add("type", _qual(names[0] if len(names) > 1 else None, names[-1]), line)
        elif kind == "CompositeTypeStmt" and node.typevar is not None:
            self.add("type", _qual(node.typevar.schemaname, node.typevar.relname), line)
        elif kind == "DoStmt":
            self._plpgsql(text, line)

    def _plpgsql(self, text: str, line: int) -> None:
        for match in _DO_CREATE_TABLE.finditer(text):
            self.add("table", _qual(match.group(1) and match.group(1).lower(), match.group(2).lower()), line)
        for match in _DO_ADD_COLUMN.finditer(text):
            table = _qual(match.group(1) and match.group(1).lower(), match.group(2).lower())
            self.add("column", f"{table}.{match.group(3).lower()}", line)


def objects_of(file: str, text: str) -> list[Created]:
    """What ``file`` creates, in order."""
    collector = _Collector(file)
    try:
        statements = split_statements(text[:MAX_INDEXED_BYTES])
    except Exception:
        return []
    for statement in statements:
        try:
            parsed = parse_sql(statement.text)
        except Exception:
            continue
        for raw in parsed:
            try:
                collector.statement(raw.stmt, statement.code_line, statement.text)
            except Exception:
                continue
    return collector.found


@dataclass
class ObjectIndex:
    created: dict[tuple[str, str], list[Created]] = field(default_factory=dict)

    @classmethod
    def build(cls, files: Mapping[str, str]) -> ObjectIndex:
        index = cls()
        for name in sorted(files):
            for item in objects_of(name, files[name] or ""):
                index.created.setdefault((item.kind, item.name), []).append(item)
        return index

    def creators(self, kind: str, name: str) -> list[Created]:
        return list(self.created.get((kind, name), ()))

    def names(self, kind: str) -> list[str]:
        return [name for (k, name) in self.created if k == kind]

    def elsewhere(self, kind: str, name: str) -> list[Created]:
        """Objects of that kind and bare name in another schema (or, for columns, on another table)."""
        bare = name.rsplit(".", 1)[-1]
        return [
            item
            for (k, other), items in self.created.items()
            if k == kind and other != name and other.rsplit(".", 1)[-1] == bare
            for item in items[:1]
        ]

    def similar(self, kind: str, name: str, *, within: str | None = None, limit: int = 3) -> list[str]:
        """Did you mean: names of that kind close to ``name`` (for columns, on table ``within`` when given)."""
        if kind == "column" and within:
            pool = [n.rsplit(".", 1)[-1] for n in self.names("column") if n.rsplit(".", 1)[0] == within]
        else:
            pool = [n.rsplit(".", 1)[-1] for n in self.names(kind)]
        bare = name.rsplit(".", 1)[-1]
        return difflib.get_close_matches(bare, sorted(set(pool) - {bare}), n=limit, cutoff=0.6)


def split_by_file(items: Iterable[Created], failing_file: str) -> tuple[list[Created], list[Created]]:
    """(creators in files sorting before the failing one or in it, creators in later files)."""
    earlier = [c for c in items if c.file <= failing_file]
    later = [c for c in items if c.file > failing_file]
    return earlier, later


@dataclass(frozen=True)
class Relation:
    schema: str | None
    name: str
    alias: str | None

    @property
    def qualified(self) -> str:
        return _qual(self.schema, self.name)


class _Relations(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[Relation] = []

    def visit_RangeVar(self, parent, node):
        alias = node.alias.aliasname if node.alias is not None else None
        self.found.append(Relation(node.schemaname, node.relname, alias))


def statement_relations(sql: str) -> tuple[list[Relation], str | None]:
    """The tables ``sql`` names (with aliases), and the one it creates (a view, CREATE TABLE AS), if any."""
    try:
        stmts = parse_sql(sql)
    except Exception:
        return [], None
    if len(stmts) != 1:
        return [], None
    node: Any = stmts[0].stmt
    visitor = _Relations()
    try:
        visitor(node)
    except Exception:
        return [], None
    target = None
    kind = type(node).__name__
    if kind == "ViewStmt" and node.view is not None:
        target = _qual(node.view.schemaname, node.view.relname)
    elif kind == "CreateTableAsStmt" and node.into is not None and node.into.rel is not None:
        target = _qual(node.into.rel.schemaname, node.into.rel.relname)
    return visitor.found, target


def tables_for_column(sql: str, qualifier: str | None, relation_name: str | None) -> list[str]:
    """Which table(s) a missing column belongs to: by the message's ``of relation "t"``, by the
    ``alias.`` or ``table.`` qualifier, else every table the statement reads (the one it creates aside)."""
    relations, target = statement_relations(sql)
    if relation_name:
        named = [r.qualified for r in relations if r.name == relation_name]
        return list(dict.fromkeys(named or [_qual(None, relation_name)]))
    if qualifier:
        by_alias = [r.qualified for r in relations if r.alias == qualifier]
        by_name = [r.qualified for r in relations if r.alias is None and r.name == qualifier]
        return list(dict.fromkeys(by_alias or by_name))
    return list(dict.fromkeys(r.qualified for r in relations if r.qualified != target))


def relation_schema(sql: str, name: str) -> str | None:
    """The schema the statement writes before ``name``, when it qualifies it."""
    relations, _ = statement_relations(sql)
    for r in relations:
        if r.name == name and r.schema:
            return r.schema
    return None
