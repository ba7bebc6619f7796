"""Lock and online-safety rules: statements that block a busy table's readers or writers while they run.

Only tables the file did not create count (a new table is empty and nobody uses it yet), nor tables an
earlier file of the same change creates (it is not applied anywhere yet either). Warnings by
default (the config can make them errors or turn them off): on a small table they are harmless.

How the Supabase CLI runs a file matters: CLI 3.x sends ``CREATE INDEX CONCURRENTLY`` outside a
transaction, so it is allowed at the top level; inside the file's own ``BEGIN ... COMMIT`` or a DO block
(always one transaction) PostgreSQL refuses it (SQLSTATE 25001), which is an error.
"""

from __future__ import annotations

from dragonfly_bot.core.lint.model import ERROR, LOCK_RULES, WARNING, Finding
from dragonfly_bot.core.lint.names import display, range_var, strings
from dragonfly_bot.core.lint.parse import DO_BODY, FUNCTION_BODY, TOP, Occurrence

SEVERITY = dict.fromkeys(LOCK_RULES, WARNING) | {"concurrently-in-transaction": ERROR}

# Functions PostgreSQL marks volatile that show up as column defaults (a stable now() needs no rewrite).
_VOLATILE = frozenset(
    {"random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval"}
)
# Target types a varchar column converts to without a rewrite (binary coercible), the common safe change.
_NO_REWRITE_TYPES = frozenset({"text", "varchar", "citext"})
_TIMEOUT_FIX = "start the file with SET lock_timeout = '5s'; so it fails fast instead of queueing every query behind it"


def check(occurrences: list[Occurrence], file: str, fresh: frozenset[tuple[str, str]] = frozenset()) -> list[Finding]:
    """``fresh``: tables made by earlier files that are new in this change (not applied anywhere yet)."""
    found: list[Finding] = []

    def report(occ: Occurrence, rule: str, message: str, fix: str, at: dict | None = None) -> None:
        found.append(Finding(file, occ.line_of(at), rule, SEVERITY[rule], message, fix, occ.span))

    created = {range_var(o.node.get("relation")) for o in occurrences if o.kind == "CreateStmt"}
    created |= {range_var(o.node.get("into", {}).get("rel")) for o in occurrences if o.kind == "CreateTableAsStmt"}
    created |= fresh
    in_transaction = False
    timeout_set = False
    timeout_reported = False
    validated_not_null: set[tuple[tuple[str, str], str]] = set()  # (table, column) with a validated CHECK
    checks: dict[tuple[tuple[str, str], str], str] = {}  # (table, constraint) -> column it proves NOT NULL
    for occ in occurrences:
        if occ.context == FUNCTION_BODY:
            continue
        kind, node = occ.kind, occ.node
        if kind == "TransactionStmt" and occ.context == TOP:
            if node.get("kind") in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
                in_transaction = True
            elif node.get("kind") in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"):
                in_transaction = False
            continue
        if kind == "VariableSetStmt" and node.get("name") == "lock_timeout":
            timeout_set = node.get("kind") != "VAR_RESET"
            continue
        table = range_var(node.get("relation")) if kind in ("IndexStmt", "AlterTableStmt") else None
        if table is None or table in created or node.get("relation", {}).get("relpersistence") == "t":
            continue
        name = display(*table)
        locking = False
        if kind == "IndexStmt":
            if node.get("concurrent"):
                if in_transaction or occ.context == DO_BODY:
                    where = "a DO block" if occ.context == DO_BODY else "the file's BEGIN ... COMMIT"
                    report(
                        occ,
                        "concurrently-in-transaction",
                        f"CREATE INDEX CONCURRENTLY on {name} inside {where}: PostgreSQL refuses it there "
                        "(SQLSTATE 25001, cannot run inside a transaction block)",
                        "move it to the top level of the file, outside BEGIN/COMMIT and DO blocks "
                        "(the Supabase CLI runs it outside a transaction)",
                    )
            else:
                locking = True
                report(
                    occ,
                    "index-not-concurrent",
                    f"CREATE INDEX on the existing table {name} without CONCURRENTLY blocks every write to it "
                    "until the index is built",
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ... (at the top level of the file, not in BEGIN/COMMIT)",
                )
        else:
            locking = True
            for item in node.get("cmds", []):
                cmd = item.get("AlterTableCmd", {})
                _alter(occ, cmd, table, name, report, checks, validated_not_null)
        if locking and not timeout_set and not timeout_reported:
            timeout_reported = True
            report(
                occ,
                "missing-lock-timeout",
                f"this statement locks the existing table {name} and no lock_timeout is set: behind a long "
                "query it waits, and every query on the table queues behind it",
                _TIMEOUT_FIX,
            )
    return found


def _alter(occ, cmd, table, name, report, checks, validated_not_null) -> None:
    subtype = cmd.get("subtype")
    definition = cmd.get("def") or {}
    if subtype == "AT_AddConstraint":
        constraint = definition.get("Constraint", {})
        contype = constraint.get("contype")
        if contype == "CONSTR_CHECK":
            test = constraint.get("raw_expr", {}).get("NullTest", {})
            column = strings(test.get("arg", {}).get("ColumnRef", {}).get("fields"))
            if test.get("nulltesttype") == "IS_NOT_NULL" and column:
                checks[(table, constraint.get("conname", ""))] = column[-1]
        if contype in ("CONSTR_FOREIGN", "CONSTR_CHECK") and not constraint.get("skip_validation"):
            what = "FOREIGN KEY" if contype == "CONSTR_FOREIGN" else "CHECK"
            report(
                occ,
                "constraint-not-valid",
                f"ADD {what} on the existing table {name} checks every row while holding a lock that blocks writes",
                f"add it NOT VALID, then validate it in a separate statement (a weaker lock): ALTER TABLE {name} "
                f"ADD CONSTRAINT ... NOT VALID; ALTER TABLE {name} VALIDATE CONSTRAINT ...;",
                constraint,
            )
    elif subtype == "AT_ValidateConstraint":
        column = checks.get((table, cmd.get("name", "")))
        if column:
            validated_not_null.add((table, column))
    elif subtype == "AT_SetNotNull" and (table, cmd.get("name", "")) not in validated_not_null:
        column = cmd.get("name", "")
        report(
            occ,
            "set-not-null",
            f"SET NOT NULL on {name}.{column} scans the whole table under an ACCESS EXCLUSIVE lock "
            "(nothing reads or writes it meanwhile)",
            f"first ALTER TABLE {name} ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) NOT VALID; "
            f"ALTER TABLE {name} VALIDATE CONSTRAINT {column}_not_null; then SET NOT NULL uses it and skips the scan",
        )
    elif subtype == "AT_AddColumn":
        column = definition.get("ColumnDef", {})
        for item in column.get("constraints", []):
            constraint = item.get("Constraint", {})
            call = (
                constraint.get("raw_expr", {}).get("FuncCall")
                if constraint.get("contype") == "CONSTR_DEFAULT"
                else None
            )
            function = strings((call or {}).get("funcname"))
            if function and function[-1] in _VOLATILE:
                report(
                    occ,
                    "volatile-default",
                    f"ADD COLUMN {column.get('colname')} DEFAULT {function[-1]}() on the existing table {name}: a "
                    "volatile default is computed per row, so the whole table is rewritten under an exclusive lock",
                    f"add the column without a default, ALTER COLUMN {column.get('colname')} SET DEFAULT "
                    f"{function[-1]}() for new rows, and backfill old rows in batches",
                    constraint,
                )
    elif subtype == "AT_AlterColumnType":
        type_names = strings(definition.get("ColumnDef", {}).get("typeName", {}).get("names"))
        new_type = type_names[-1] if type_names else ""
        typmods = definition.get("ColumnDef", {}).get("typeName", {}).get("typmods")
        if new_type in _NO_REWRITE_TYPES and not (new_type == "varchar" and typmods):
            return
        report(
            occ,
            "rewriting-type-change",
            f"ALTER COLUMN {cmd.get('name')} TYPE {new_type} rewrites {name} and rebuilds its indexes under an "
            "ACCESS EXCLUSIVE lock",
            "for a big table: add a new column, backfill it in batches, switch readers over, then drop the old one",
        )
