"""Statements that fail (or add duplicates) when a migration runs a second time.

A CREATE is fine when it says IF NOT EXISTS / OR REPLACE, when an earlier
statement of the file dropped the same object (``DROP ... IF EXISTS`` then
``CREATE``), or when it sits in a DO block under an existence check or a
handler that catches ``duplicate_object``.
"""

from __future__ import annotations

from dragonfly_bot.core.lint.fixtext import engine_fix, engine_rewrite, head, show
from dragonfly_bot.core.lint.model import ERROR, Finding
from dragonfly_bot.core.lint.names import display, dropped_objects, qualified, range_var, strings
from dragonfly_bot.core.lint.parse import FUNCTION_BODY, Occurrence, is_temporary, relation_parts, temporary_tables

_IF_NOT_EXISTS_KINDS = frozenset(
    {"CreateStmt", "IndexStmt", "CreateSchemaStmt", "CreateSeqStmt", "CreateExtensionStmt", "CreateTableAsStmt"}
)
_TYPE_STATEMENTS = {"CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt", "CreateDomainStmt"}


def check(occurrences: list[Occurrence], file: str) -> list[Finding]:
    findings: list[Finding] = []
    dropped: set[tuple] = set()

    def report(occ: Occurrence, rule: str, message: str, fix: str, at: dict | None = None) -> None:
        findings.append(Finding(file, occ.line_of(at), rule, ERROR, message, fix, occ.span))

    temporary = temporary_tables(occurrences)
    for occ in occurrences:
        if occ.context == FUNCTION_BODY:
            continue  # runs when called, not when the migration runs
        if temporary and _on_temporary(occ, temporary):
            continue  # a second run starts with a fresh temporary table
        kind, node = occ.kind, occ.node
        free = not occ.guarded  # nothing around it makes a second run safe
        if kind == "DropStmt":
            keys = dropped_objects(node)
            if free and not node.get("missing_ok"):
                what = node.get("removeType", "OBJECT_").removeprefix("OBJECT_").replace("_", " ")
                report(
                    occ,
                    "drop-without-if-exists",
                    f"DROP {what} without IF EXISTS fails when the object is already gone",
                    engine_fix(occ, f"DROP {what} IF EXISTS ..."),
                )
            dropped.update(keys)
        elif kind == "AlterTableStmt":
            _alter_table(occ, dropped, report)
        elif kind in _IF_NOT_EXISTS_KINDS:
            if not free or node.get("if_not_exists"):
                continue
            key, label = _created(kind, node)
            if key is not None and key not in dropped:
                if kind == "IndexStmt" and not node.get("idxname"):
                    table = display(*range_var(node.get("relation")))
                    report(
                        occ,
                        "create-without-if-not-exists",
                        f"unnamed index on {table}: every run creates another copy",
                        "name it and add IF NOT EXISTS: CREATE INDEX IF NOT EXISTS <table>_<column>_idx ON ...",
                    )
                else:
                    report(
                        occ,
                        "create-without-if-not-exists",
                        f"{label} without IF NOT EXISTS fails on a second run (already exists)",
                        engine_fix(occ, f"add IF NOT EXISTS to {label}"),
                    )
        elif kind == "RenameStmt" or (kind == "AlterEnumStmt" and node.get("oldVal")):
            if free:
                _rename(occ, report)
        elif kind == "AlterEnumStmt":
            if free and node.get("newVal") and not node.get("oldVal") and not node.get("skipIfNewValExists"):
                report(
                    occ,
                    "create-without-if-not-exists",
                    f"ALTER TYPE ... ADD VALUE '{node['newVal']}' without IF NOT EXISTS fails on a second run",
                    engine_fix(occ, "ADD VALUE IF NOT EXISTS ..."),
                )
        elif kind in ("ViewStmt", "CreateFunctionStmt", "RuleStmt") or (
            kind == "CreateTrigStmt" and not node.get("isconstraint")
        ):
            if not free or node.get("replace"):
                continue
            key, label = _replaceable(kind, node)
            if key not in dropped:
                report(
                    occ,
                    "create-without-or-replace",
                    f"CREATE {label} without OR REPLACE fails on a second run (already exists)",
                    engine_fix(occ, f"CREATE OR REPLACE {label} ..."),
                )
        elif kind == "InsertStmt":
            if free and _unguarded_insert(node):
                target = display(*range_var(node.get("relation")))
                report(
                    occ,
                    "insert-without-on-conflict",
                    f"INSERT into {target} without ON CONFLICT adds the rows again "
                    "(or fails on a unique key) on a second run",
                    engine_fix(occ, "add ON CONFLICT DO NOTHING (or WHERE NOT EXISTS (...))"),
                )
        else:
            guard = _needs_guard(kind, node)
            if guard and free and guard[0] not in dropped:
                key, label, fix = guard
                report(
                    occ,
                    "unguarded-create",
                    f"{label} has no IF NOT EXISTS and nothing guards it: a second run fails",
                    fix(occ),
                )
    return findings


def _on_temporary(occ: Occurrence, temporary: frozenset[str]) -> bool:
    """A statement about the file's own temporary tables only (inserting into one, indexing, dropping it...)."""
    if occ.kind == "DropStmt":
        if occ.node.get("removeType") != "OBJECT_TABLE":
            return False
        objects = [strings(o["List"]["items"]) if "List" in o else strings([o]) for o in occ.node.get("objects", [])]
        return bool(objects) and all(is_temporary(parts, temporary) for parts in objects)
    if occ.kind in ("InsertStmt", "AlterTableStmt", "IndexStmt", "RenameStmt"):
        return is_temporary(relation_parts(occ.node.get("relation")), temporary)
    return False


def _created(kind: str, node: dict) -> tuple[tuple | None, str]:
    if kind == "CreateStmt":
        if node.get("relation", {}).get("relpersistence") == "t":
            return None, ""  # temporary: gone with the session
        return ("relation", *range_var(node["relation"])), f"CREATE TABLE {display(*range_var(node['relation']))}"
    if kind == "IndexStmt":
        schema, _table = range_var(node.get("relation"))
        return ("relation", schema, node.get("idxname", "")), f"CREATE INDEX {node.get('idxname', '')}"
    if kind == "CreateSchemaStmt":
        return ("schema", node.get("schemaname", "")), f"CREATE SCHEMA {node.get('schemaname', '')}"
    if kind == "CreateSeqStmt":
        return (
            "relation",
            *range_var(node.get("sequence")),
        ), f"CREATE SEQUENCE {display(*range_var(node.get('sequence')))}"
    if kind == "CreateExtensionStmt":
        return ("extension", node.get("extname", "")), f"CREATE EXTENSION {node.get('extname', '')}"
    rel = node.get("into", {}).get("rel", {})
    if rel.get("relpersistence") == "t":
        return None, ""  # temporary: gone with the session
    what = "MATERIALIZED VIEW" if node.get("objtype") == "OBJECT_MATVIEW" else "TABLE"
    return ("relation", *range_var(rel)), f"CREATE {what} {display(*range_var(rel))} AS"


def _replaceable(kind: str, node: dict) -> tuple[tuple, str]:
    if kind == "ViewStmt":
        return ("relation", *range_var(node.get("view"))), f"VIEW {display(*range_var(node.get('view')))}"
    if kind == "CreateFunctionStmt":
        name = display(*qualified(strings(node.get("funcname"))))
        what = "PROCEDURE" if node.get("is_procedure") else "FUNCTION"
        return ("function", *qualified(strings(node.get("funcname")))), f"{what} {name}"
    if kind == "RuleStmt":
        return ("rule", *range_var(node.get("relation")), node.get("rulename", "")), f"RULE {node.get('rulename', '')}"
    schema, table = range_var(node.get("relation"))
    return ("trigger", schema, table, node.get("trigname", "")), f"TRIGGER {node.get('trigname', '')}"


def _swallowed(occ: Occurrence, condition: str = "duplicate_object") -> str:
    """The engine's rewrite, else the statement in a DO block that ignores ``condition`` (a rename done already)."""
    fix = engine_rewrite(occ) if condition == "duplicate_object" else None
    if fix:
        return fix
    from dragonfly_bot.core.fixes import swallowing  # loaded with the first finding that needs it

    return show(swallowing(occ.text.strip().rstrip(";"), condition), occ.text)


def _needs_guard(kind: str, node: dict):
    """(identity key, label, fix builder) for CREATEs that have no IF NOT EXISTS form."""
    if kind == "CreatePolicyStmt":
        schema, table = range_var(node.get("table"))
        name = node.get("policy_name", "")
        drop = f'DROP POLICY IF EXISTS "{name}" ON {display(schema, table)};'
        return (
            ("policy", schema, table, name),
            f'CREATE POLICY "{name}" on {display(schema, table)}',
            (lambda occ: engine_fix(occ, f"{drop} then {head(occ.text)}")),
        )
    if kind in _TYPE_STATEMENTS:
        if kind == "CompositeTypeStmt":
            schema, name = range_var(node.get("typevar"))
        else:
            schema, name = qualified(strings(node.get("typeName") or node.get("domainname")))
        what = "DOMAIN" if kind == "CreateDomainStmt" else "TYPE"
        return ("type", schema, name), f"CREATE {what} {display(schema, name)}", _swallowed
    if kind == "CreateTrigStmt":  # constraint triggers have no OR REPLACE
        schema, table = range_var(node.get("relation"))
        name = node.get("trigname", "")
        drop = f"DROP TRIGGER IF EXISTS {name} ON {display(schema, table)};"
        return (
            ("trigger", schema, table, name),
            f"CREATE CONSTRAINT TRIGGER {name}",
            (lambda occ: f"{drop} then {head(occ.text)}"),
        )
    if kind == "CreateRoleStmt":
        return ("role", node.get("role", "")), f"CREATE ROLE {node.get('role', '')}", _swallowed
    if kind == "CreateEventTrigStmt":
        name = node.get("trigname", "")
        return (
            ("event_trigger", name),
            f"CREATE EVENT TRIGGER {name}",
            (lambda occ: f"DROP EVENT TRIGGER IF EXISTS {name}; then {head(occ.text)}"),
        )
    if kind == "CreatePublicationStmt":
        name = node.get("pubname", "")
        return (
            ("publication", name),
            f"CREATE PUBLICATION {name}",
            (lambda occ: f"DROP PUBLICATION IF EXISTS {name}; then {head(occ.text)}"),
        )
    if kind == "AlterPublicationStmt" and node.get("action") == "AP_AddObjects":
        name = node.get("pubname", "")
        return ("publication-member", name), f"ALTER PUBLICATION {name} ADD TABLE", _swallowed
    return None


_RELATION_RENAMES = {
    "OBJECT_TABLE": "TABLE",
    "OBJECT_VIEW": "VIEW",
    "OBJECT_MATVIEW": "MATERIALIZED VIEW",
    "OBJECT_INDEX": "INDEX",
    "OBJECT_SEQUENCE": "SEQUENCE",
    "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE",
}


# What PostgreSQL raises when the old name is gone, per thing renamed.
_RENAME_ERRORS = {
    "column": "undefined_column",
    "enum value": "invalid_parameter_value",
    "function": "undefined_function",
    "procedure": "undefined_function",
    "routine": "undefined_function",
    "schema": "invalid_schema_name",
}


def _rename(occ: Occurrence, report) -> None:
    """A rename fails the second time: the old name no longer exists."""
    node = occ.node
    kind = node.get("renameType", "")
    if occ.kind == "RenameStmt" and kind in _RELATION_RENAMES:
        if node.get("missing_ok"):
            return  # ALTER TABLE IF EXISTS old RENAME TO new: a no-op the second time
        what = _RELATION_RENAMES[kind]
        report(
            occ,
            "rename-without-guard",
            f"ALTER {what} {display(*range_var(node.get('relation')))} RENAME fails on a second run "
            "(the old name is gone)",
            engine_fix(occ, f"ALTER {what} IF EXISTS ... RENAME TO ..."),
        )
        return
    what = (
        "enum value"
        if occ.kind == "AlterEnumStmt"
        else kind.removeprefix("OBJECT_").lower().replace("tabconstraint", "constraint")
    )
    report(
        occ,
        "rename-without-guard",
        f"renaming a {what} fails on a second run (the old name is gone) and has no IF EXISTS form",
        engine_rewrite(occ) or _swallowed(occ, _RENAME_ERRORS.get(what, "undefined_object")),
    )


def _alter_table(occ: Occurrence, dropped: set, report) -> None:
    node = occ.node
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    schema, table = range_var(node.get("relation"))
    target = display(schema, table)
    free = not occ.guarded
    for item in node.get("cmds", []):
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype")
        if subtype == "AT_AddColumn":
            column = cmd.get("def", {}).get("ColumnDef", {}).get("colname", "")
            if free and not cmd.get("missing_ok") and ("column", schema, table, column) not in dropped:
                report(
                    occ,
                    "add-column-without-if-not-exists",
                    f"ALTER TABLE {target} ADD COLUMN {column} fails on a second run (column already exists)",
                    engine_fix(occ, f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {column} ..."),
                    cmd.get("def", {}).get("ColumnDef"),
                )
        elif subtype == "AT_AddConstraint":
            constraint = cmd.get("def", {}).get("Constraint", {})
            name = constraint.get("conname")
            if not free:
                continue
            if not name:
                report(
                    occ,
                    "unguarded-create",
                    f"unnamed constraint added to {target}: a second run adds another copy (or fails)",
                    f"name it, and drop it first: ALTER TABLE {target} DROP CONSTRAINT IF EXISTS <name>; "
                    f"ALTER TABLE {target} ADD CONSTRAINT <name> ...",
                )
            elif ("constraint", schema, table, name) not in dropped:
                report(
                    occ,
                    "unguarded-create",
                    f"ADD CONSTRAINT {name} on {target} fails on a second run (constraint already exists)",
                    engine_fix(occ, f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {name}; then {head(occ.text)}"),
                    constraint,
                )
        elif subtype in ("AT_DropConstraint", "AT_DropColumn"):
            what = "CONSTRAINT" if subtype == "AT_DropConstraint" else "COLUMN"
            name = cmd.get("name", "")
            if free and not cmd.get("missing_ok"):
                report(
                    occ,
                    "drop-without-if-exists",
                    f"ALTER TABLE {target} DROP {what} {name} fails when it is already gone",
                    engine_fix(occ, f"ALTER TABLE {target} DROP {what} IF EXISTS {name} ...;"),
                )
            dropped.add(("constraint" if what == "CONSTRAINT" else "column", schema, table, name))


def _unguarded_insert(node: dict) -> bool:
    if node.get("onConflictClause"):
        return False
    schema, table = range_var(node.get("relation"))
    if (schema, table) == ("supabase_migrations", "schema_migrations"):
        return False  # the protocol rule reports it
    select = node.get("selectStmt", {}).get("SelectStmt", {})
    return not _has_not_exists(select.get("whereClause"))


def _has_not_exists(expr) -> bool:
    """A WHERE NOT EXISTS (...) / NOT IN (SELECT ...) in the condition (ANDed with other terms too)."""
    if not isinstance(expr, dict):
        return False
    boolexpr = expr.get("BoolExpr")
    if boolexpr:
        if boolexpr.get("boolop") == "NOT_EXPR":
            arg = (boolexpr.get("args") or [{}])[0]
            # NOT EXISTS (...) and NOT IN (SELECT ...) both skip rows already there
            if arg.get("SubLink", {}).get("subLinkType") in ("EXISTS_SUBLINK", "ANY_SUBLINK"):
                return True
        return any(_has_not_exists(arg) for arg in boolexpr.get("args", []))
    return False
