"""The protocol's "never touch this table": supabase_migrations.schema_migrations belongs to the Supabase CLI."""

from __future__ import annotations

from dragonfly_bot.core.lint.model import ERROR, Finding
from dragonfly_bot.core.lint.names import range_var, strings
from dragonfly_bot.core.lint.parse import WRITE_KINDS, Occurrence, nested_writes

HISTORY = ("supabase_migrations", "schema_migrations")
FIX = (
    "remove it: only `supabase migration up` (run by CI) writes the migration history; "
    'see the protocol\'s "Editing schema_migrations table" row'
)


def touches_history(kind: str, node: dict) -> bool:
    if (kind in WRITE_KINDS or kind in ("AlterTableStmt", "RenameStmt")) and range_var(node.get("relation")) == HISTORY:
        return True
    if kind == "TruncateStmt":
        return any(range_var(r.get("RangeVar")) == HISTORY for r in node.get("relations", []))
    if kind == "DropStmt":
        for obj in node.get("objects", []):
            parts = strings(obj["List"]["items"]) if "List" in obj else strings([obj])
            if tuple(parts[-2:]) == HISTORY or (node.get("removeType") == "OBJECT_SCHEMA" and parts == [HISTORY[0]]):
                return True
    return False


def _nested_writes(tree) -> bool:
    """Writes hidden in a CTE (``WITH d AS (DELETE FROM ...) SELECT ...``)."""
    return any(isinstance(node, dict) and range_var(node.get("relation")) == HISTORY for _, node in nested_writes(tree))


def check(occurrences: list[Occurrence], file: str) -> list[Finding]:
    findings = []
    for occ in occurrences:
        if occ.text and "schema_migrations" not in occ.text and "supabase_migrations" not in occ.text:
            continue  # cheap: most statements never mention it
        if touches_history(occ.kind, occ.node) or _nested_writes(occ.node):
            where = {"do": " (inside a DO block)", "function": " (inside a function body)"}.get(occ.context, "")
            findings.append(
                Finding(
                    file,
                    occ.line,
                    "schema-migrations-write",
                    ERROR,
                    f"{occ.kind.removesuffix('Stmt').upper()} touches supabase_migrations.schema_migrations{where}",
                    FIX,
                    occ.span,
                )
            )
    return findings
