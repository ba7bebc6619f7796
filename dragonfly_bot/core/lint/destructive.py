"""Operations that lose data: allowed only with an ``-- approved-destructive: <reason>`` line in the file."""

from __future__ import annotations

from dragonfly_bot.core.lint.model import ERROR, Finding
from dragonfly_bot.core.lint.names import display, range_var, strings
from dragonfly_bot.core.lint.parse import FUNCTION_BODY, Occurrence, is_temporary, relation_parts, temporary_tables
from dragonfly_bot.core.lint.protocol import touches_history

APPROVAL_HINT = "if the data loss is intended, add `-- approved-destructive: <reason>` to the file"


# DROP ... CASCADE of these removes the table columns declared with them (and so their data).
_COLUMN_HOLDERS = {"OBJECT_TYPE": "TYPE", "OBJECT_DOMAIN": "DOMAIN", "OBJECT_EXTENSION": "EXTENSION"}

_MAYBE_DESTRUCTIVE = frozenset({"DropStmt", "TruncateStmt", "DeleteStmt", "UpdateStmt", "AlterTableStmt"})


def check(occurrences: list[Occurrence], file: str) -> list[Finding]:
    findings: list[Finding] = []

    def report(occ: Occurrence, message: str, fix: str) -> None:
        findings.append(Finding(file, occ.line, "destructive-operation", ERROR, message, fix, occ.span))

    temporary = temporary_tables(occurrences)  # the session's own scratch tables lose nothing
    for occ in occurrences:
        if occ.context == FUNCTION_BODY:
            continue
        kind, node = occ.kind, occ.node
        if kind not in _MAYBE_DESTRUCTIVE or touches_history(kind, node):
            continue  # the protocol rule reports it, with the protocol's words
        if kind == "DropStmt" and node.get("removeType") in ("OBJECT_TABLE", "OBJECT_SCHEMA"):
            what = "TABLE" if node["removeType"] == "OBJECT_TABLE" else "SCHEMA"
            names = []
            for obj in node.get("objects", []):
                parts = strings(obj["List"]["items"]) if "List" in obj else strings([obj])
                if what == "SCHEMA" or not is_temporary(parts, temporary):
                    names.append(".".join(parts))
            if names:
                report(occ, f"DROP {what} {', '.join(names)} deletes its data", APPROVAL_HINT)
        elif (
            kind == "DropStmt" and node.get("behavior") == "DROP_CASCADE" and node.get("removeType") in _COLUMN_HOLDERS
        ):
            what = _COLUMN_HOLDERS[node["removeType"]]
            names = []
            for obj in node.get("objects", []):
                if "TypeName" in obj:
                    names.append(".".join(strings(obj["TypeName"].get("names"))))
                else:
                    names.append(".".join(strings(obj["List"]["items"]) if "List" in obj else strings([obj])))
            report(
                occ,
                f"DROP {what} {', '.join(names)} CASCADE also drops every column that uses it, with its data",
                f"drop or convert those columns explicitly first and drop without CASCADE; or {APPROVAL_HINT}",
            )
        elif kind == "TruncateStmt":
            relations = [r.get("RangeVar") for r in node.get("relations", [])]
            relations = [r for r in relations if not is_temporary(relation_parts(r), temporary)]
            if relations:
                shown = ", ".join(display(*range_var(r)) for r in relations)
                report(occ, f"TRUNCATE {shown} deletes every row", APPROVAL_HINT)
        elif is_temporary(relation_parts(node.get("relation")), temporary):
            continue
        elif kind == "UpdateStmt" and not node.get("whereClause") and _fills_nulls_only(node):
            continue  # SET c = coalesce(c, x): only NULLs change, nothing is lost
        elif kind in ("DeleteStmt", "UpdateStmt") and not node.get("whereClause"):
            verb = "DELETE" if kind == "DeleteStmt" else "UPDATE"
            target = display(*range_var(node.get("relation")))
            report(
                occ,
                f"{verb} on {target} without WHERE touches every row",
                f"add a WHERE clause that selects the rows meant (e.g. `WHERE <column> IS NULL` for a backfill); "
                f"or {APPROVAL_HINT}",
            )
        elif kind == "AlterTableStmt":
            target = display(*range_var(node.get("relation")))
            for item in node.get("cmds", []):
                cmd = item.get("AlterTableCmd", {})
                if cmd.get("subtype") == "AT_DropColumn":
                    report(
                        occ, f"ALTER TABLE {target} DROP COLUMN {cmd.get('name', '')} deletes its data", APPROVAL_HINT
                    )
                elif cmd.get("subtype") == "AT_AlterColumnType":
                    report(
                        occ,
                        f"ALTER TABLE {target} ALTER COLUMN {cmd.get('name', '')} TYPE rewrites the table "
                        "and can lose or reject data",
                        "add a new column, backfill it and switch over; or " + APPROVAL_HINT,
                    )
    return findings


def _fills_nulls_only(node: dict) -> bool:
    """Every SET target is ``c = coalesce(c, ...)``: a backfill that keeps every value already there."""
    targets = node.get("targetList") or []
    for item in targets:
        target = item.get("ResTarget", {})
        args = target.get("val", {}).get("CoalesceExpr", {}).get("args") or []
        first = strings(args[0].get("ColumnRef", {}).get("fields")) if args else []
        if not first or first[-1] != target.get("name"):
            return False
    return bool(targets)
