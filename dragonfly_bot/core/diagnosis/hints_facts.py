"""Hints from catalog facts alone (``Facts``, read where CI has the database): a close column name, the same
name in another schema, the extension that provides a function and whether this server offers it."""

from __future__ import annotations

from dragonfly_bot.core.diagnosis.context import Context, names_list
from dragonfly_bot.core.diagnosis.extensions import FUNCTION_EXTENSIONS, enable_extension_sql
from dragonfly_bot.core.diagnosis.model import Confidence, Hint

LIKELY, CHECK = Confidence.LIKELY, Confidence.CHECK


def db_has(ctx: Context, kind: str, name: str) -> str:
    """' The database's public.p has: source_sys.' when the catalog shows names close to the missing one."""
    facts = ctx.facts
    if kind == "column" and facts and facts.similar_columns:
        return f" The database's {name.rsplit('.', 1)[0]} has {names_list(list(facts.similar_columns), 3)} (renamed?)."
    return ""


def facts_hint(ctx: Context, kind: str, name: str) -> Hint | None:
    """What the catalog alone says about a missing ``name``: a close name on the table, or the same name in
    another schema. None when the facts say neither."""
    facts = ctx.facts
    if facts is None:
        return None
    where = ctx.where()
    bare = name.rsplit(".", 1)[-1]
    if kind == "column" and facts.similar_columns:
        table = name.rsplit(".", 1)[0]
        return Hint(
            f"The database's {table} has no column {bare} but has {names_list(list(facts.similar_columns), 3)}: "
            f"did you mean {facts.similar_columns[0]}? Fix the name at {where}.",
            LIKELY,
        )
    if facts.other_schemas:
        others = list(facts.other_schemas)
        if kind == "column":
            table = name.rsplit(".", 2)[-2]
            return Hint(
                f"Column {bare} is not on {name.rsplit('.', 1)[0]}, but the database's {others[0]}.{table} has it: "
                f"did the statement at {where} mean {others[0]}.{table}? Qualify the table there.",
                LIKELY,
            )
        written = f"{others[0]}.{bare}"
        return Hint(
            f"{name if '.' in name else bare} is not there, but the database has {written} (schema "
            f"{names_list(others, 3)}, not on the search path the migration runs with): write {written} at "
            f"{where}, or create it where the migration expects it.",
            LIKELY,
        )
    return None


def function_extension(ctx: Context, bare: str) -> Hint | None:
    """The extension providing ``bare``, as the catalog shows it (available or not, installed or not)."""
    facts = ctx.facts
    extension = FUNCTION_EXTENSIONS.get(bare)
    if facts is None or not extension or facts.extension != extension or facts.extension_installed_schema:
        return None
    if facts.extension_available is True:
        return Hint(
            f"{bare} comes from the {extension} extension, which this database offers (pg_available_extensions) "
            f"but has not installed. Enable it in a migration before {ctx.where()}: "
            f"`{enable_extension_sql(extension)}`, and call it as extensions.{bare}(...) if it goes in schema "
            "extensions.",
            LIKELY,
        )
    if facts.extension_available is False:
        return Hint(
            f"{bare} comes from the {extension} extension, which this server does not offer (pg_available_extensions "
            f"has no {extension}): no migration can enable it here. Use a server (a Supabase image) that ships it, "
            f"or avoid {bare}.",
            CHECK,
        )
    return None
