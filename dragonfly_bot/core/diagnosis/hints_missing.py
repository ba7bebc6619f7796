"""Hints for "does not exist": who creates it, earlier (drift), later (order), or nobody (a typo).

Never advises renaming a file that may be applied: the order fix renames only
the failing file, which this failure proves is not applied here, and only
while it is applied nowhere else.
"""

from __future__ import annotations

import re

from dragonfly_bot.core.diagnosis.context import Context, names_list
from dragonfly_bot.core.diagnosis.extensions import EXTENSION_SCHEMAS, SUPABASE_EXTENSIONS, enable_extension_sql
from dragonfly_bot.core.diagnosis.hints_facts import db_has, facts_hint, function_extension
from dragonfly_bot.core.diagnosis.model import Confidence, Hint
from dragonfly_bot.core.diagnosis.objects import DEFAULT_SCHEMA, Created, relation_schema, tables_for_column
from dragonfly_bot.core.diagnosis.pg_builtins import BUILTIN_FUNCTIONS
from dragonfly_bot.core.versions import version_of

CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK

_COLUMN_OF = re.compile(r'column "(?P<col>[^"]+)" of relation "(?P<rel>[^"]+)" does not exist')
_COLUMN_QUALIFIED = re.compile(r'column (?P<q>"[^"]+"|[^\s".]+)\.(?P<col>"[^"]+"|[^\s"]+) does not exist')
_COLUMN = re.compile(r'column "(?P<col>[^"]+)" does not exist')
_FUNCTION = re.compile(r"function (?P<name>\S+?)\((?P<args>[^)]*)\) does not exist")
_RELATION = re.compile(r'relation "(?P<name>[^"]+)" does not exist')
_SCHEMA = re.compile(r'schema "(?P<name>[^"]+)" does not exist')
_NOT_UNIQUE = re.compile(
    r'function name "(?P<name>[^"]+)" is not unique|function (?P<call>\S+?)\([^)]*\) is not unique'
)
_OBJECT = re.compile(r'(?P<kind>type|role|extension) "(?P<name>[^"]+)" does not exist')


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith('"') and name.endswith('"') else name


def _what(kind: str, name: str) -> str:
    if kind == "column":
        table, column = name.rsplit(".", 1)
        return f"column {column} of {table}"
    return f"{kind} {name}"


def _found(created: Created) -> str:
    return f"{created.file} line {created.line}"


def _by_creators(ctx: Context, kind: str, name: str, *, typo: str = "") -> Hint | None:
    """The drift / order / typo hint for ``name``, from the files; None without the other files."""
    split = ctx.creators(kind, name)
    if split is None:
        return facts_hint(ctx, kind, name)  # without the other files, the database may still know
    earlier, later = split
    what = _what(kind, name)
    f = ctx.f
    if earlier:
        first = earlier[0]
        version = version_of(first.file) or first.file
        recorded = ctx.applied(version) if first.file != f.file else None
        if first.file == f.file:
            state = (
                f"{first.file} itself creates {what} at line {first.line}, above the failing statement: a statement "
                "between them drops or renames it, or it was created in another schema than the one used here."
            )
            return Hint(state + f" Check the statements between line {first.line} and {ctx.where()}.", CHECK)
        if recorded is True:
            state = (
                f"{_found(first)} creates {what}, and version {version} is in supabase_migrations.schema_migrations "
                f"here, yet it is missing: the schema drifted (dropped or renamed by hand, {first.file} edited after "
                "it ran, or the version recorded with migration repair without running it)." + db_has(ctx, kind, name)
            )
            return Hint(
                f"{state} Check what the database has now ({_catalog_query(kind, name)}) and restore it in a new "
                "migration (or a hotfix synced to one). Do not rename either file.",
                CHECK,
            )
        if recorded is False:
            state = (
                f"{_found(first)} creates {what} but is not in supabase_migrations.schema_migrations here: it never "
                "ran on this database (it sorts before the newest applied version: out of order, see --include-all)."
            )
        else:
            state = (
                f"{_found(first)} sorts earlier and creates {what}, so it should exist: that file failed or was "
                "recorded without running (migration repair), or the object was dropped, renamed, or the file "
                "edited after it ran (drift)."
            )
        return Hint(
            f"{state} Check: whether version {version} is in supabase_migrations.schema_migrations (/migrations "
            f"shows it), and what the database has now ({_catalog_query(kind, name)}). Do not rename either file.",
            CHECK,
        )
    if later:
        first = later[0]
        version = version_of(first.file) or first.file
        recorded = ctx.applied(version)
        if recorded:
            return Hint(
                f"{_found(first)} creates {what}, and version {version} is in supabase_migrations.schema_migrations "
                f"here although it sorts after {f.file} (a run with --include-all applied {f.file} late), yet it is "
                f"missing: the schema drifted. Check {_catalog_query(kind, name)}, and restore it in a new migration. "
                "Do not rename either file.",
                CHECK,
            )
        if recorded is False:
            state = f"Neither is applied here ({f.file} just failed; schema_migrations has no {version})."
        else:
            # Without the catalog: a later file can be applied already only after a run with --include-all.
            state = (
                f"{f.file} just failed; if {version} is already applied here (only a run with --include-all gets "
                "there; /migrations shows it), the schema drifted instead: then rename nothing."
            )
        return Hint(
            f"Order: {_found(first)} creates {what}, but it sorts after {f.file}, which needs it. {state} Move the "
            f"statement that creates it into {f.file}, above {ctx.where()}, or give {f.file} a timestamp later than "
            f"{version}: renaming is safe only while {f.file} is applied in no environment (check /migrations "
            "compare); never rename a file that is applied anywhere.",
            LIKELY,
        )
    return _typo_hint(ctx, kind, name, typo)


def _catalog_query(kind: str, name: str) -> str:
    parts = name.split(".")
    if kind == "column" and len(parts) >= 3:
        return (
            f"select column_name from information_schema.columns where table_schema = '{parts[0]}' "
            f"and table_name = '{parts[1]}'"
        )
    if kind == "table" and len(parts) == 2:
        return f"select to_regclass('{name}')"
    if kind == "function":
        return f"\\df *.{parts[-1]}"
    if kind == "schema":
        return f"select 1 from pg_namespace where nspname = '{parts[-1]}'"
    return f"the catalog for {name}"


def _typo_hint(ctx: Context, kind: str, name: str, extra: str = "") -> Hint:
    known = facts_hint(ctx, kind, name)
    if known is not None:  # the database shows what the name should be
        return Hint(f"No migration file creates {_what(kind, name)}. {known.text}", known.confidence)
    index = ctx.index()
    what = _what(kind, name)
    parts = [f"No migration file creates {what}."]
    if index is not None:
        within = name.rsplit(".", 1)[0] if kind == "column" else None
        similar = index.similar(kind, name, within=within)
        if similar:
            parts.append(f"Did you mean {names_list(similar, 3)}?")
        elsewhere = index.elsewhere(kind, name)
        if elsewhere:
            places = names_list([f"{c.name} ({c.file})" for c in elsewhere], 3)
            parts.append(f"A {kind} of that name exists elsewhere: {places}.")
    if extra:
        parts.append(extra)
    parts.append(f"Check the name at {ctx.where()}, or whether the migration that should create it is missing.")
    return Hint(" ".join(parts), CHECK)


def column_target(ctx: Context) -> tuple[str, list[str]] | None:
    """(the missing column, the table(s) it was looked up on), from the message and the statement."""
    f = ctx.f
    qualifier = relation = None
    match = _COLUMN_OF.search(f.message)
    if match:
        column, relation = match.group("col"), match.group("rel")
    elif (match := _COLUMN_QUALIFIED.search(f.message)) is not None:
        qualifier, column = _unquote(match.group("q")), _unquote(match.group("col"))
    elif (match := _COLUMN.search(f.message)) is not None:
        column = match.group("col")
    else:
        return None
    return column, tables_for_column(ctx.statement, qualifier, relation) if ctx.statement else []


def column_missing(ctx: Context) -> Hint:
    target = column_target(ctx)
    if target is None:
        return Hint(f"A column the statement at {ctx.where()} uses does not exist. Check its name and table.", CHECK)
    column, tables = target
    if len(tables) == 1:
        hint = _by_creators(ctx, "column", f"{tables[0]}.{column}")
        if hint is not None:
            return hint
    elif len(tables) > 1:
        index = ctx.index()
        owners = [t for t in tables if index and index.creators("column", f"{t}.{column}")]
        if len(owners) == 1:
            hint = _by_creators(ctx, "column", f"{owners[0]}.{column}")
            if hint is not None:
                return hint
    on = f" on {names_list(tables, 3)}" if tables else ""
    return Hint(
        f'Column "{column}" does not exist{on} when {ctx.where()} runs. Check the name (and the table alias), and '
        "which migration adds the column: if it sorts later, the order is wrong; if it sorts earlier, the "
        "database drifted.",
        CHECK,
    )


def undefined_table(ctx: Context) -> Hint:
    names = _RELATION.search(ctx.f.message)
    if not names:
        return Hint(f"A table or view the statement at {ctx.where()} uses does not exist. Check its name.", CHECK)
    raw = names.group("name")
    name = raw if "." in raw else f"{relation_schema(ctx.statement, raw) or DEFAULT_SCHEMA}.{raw}"
    return _by_creators(ctx, "table", name) or Hint(
        f"{name} does not exist when {ctx.where()} runs. Check the name and schema, and which migration creates it.",
        CHECK,
    )


def undefined_function(ctx: Context) -> Hint:
    match = _FUNCTION.search(ctx.f.message)
    if not match:
        return Hint(f"A function the statement at {ctx.where()} calls does not exist. Check its name.", CHECK)
    written, args = match.group("name"), match.group("args").strip()
    schema, _, bare = written.rpartition(".")
    name = f"{schema or DEFAULT_SCHEMA}.{bare}"
    call = f"{written}({args})"
    index = ctx.index()
    defined = index.creators("function", name) if index else []
    earlier = [c for c in defined if ctx.f.file and c.file < ctx.f.file]
    if earlier:
        signatures = names_list([f"{bare}({c.detail})" for c in earlier], 3)
        return Hint(
            f"{_found(earlier[0])} creates {signatures}, but the call is {call}: most likely the argument types "
            "differ. Cast the arguments to the declared types (a quoted literal is `unknown`, `date - date` is an "
            f"integer). If they match, the function is missing here (drift): check `\\df *.{bare}`.",
            LIKELY,
        )
    if defined:
        hint = _by_creators(ctx, "function", name)
        if hint is not None:
            return hint
    known = facts_hint(ctx, "function", name) or function_extension(ctx, bare)
    if known is not None:
        return known
    if bare in BUILTIN_FUNCTIONS and schema in ("", "pg_catalog"):
        return Hint(
            f"{bare} is a built-in PostgreSQL function, but it has no form taking ({args}): an argument has another "
            f"type than intended at {ctx.where()} (for example `date - date` is an integer, not an interval). Cast "
            f"the arguments to the types {bare} takes (\\df {bare} in psql lists them).",
            LIKELY,
        )
    return _by_creators(
        ctx,
        "function",
        name,
        typo="If it comes from an extension, the extension must be enabled first and the call schema-qualified "
        "(extensions.name).",
    ) or Hint(
        f"No function matches {call} when {ctx.where()} runs: check its name and argument types, and which "
        "migration creates it.",
        CHECK,
    )


def _arity(args: str) -> int:
    return len([a for a in args.split(",") if a.strip()])


def undefined_schema(ctx: Context) -> Hint:
    match = _SCHEMA.search(ctx.f.message)
    name = match.group("name") if match else ""
    extension = EXTENSION_SCHEMAS.get(name)
    if extension:
        return _extension_hint(ctx, extension, f"Schema {name} belongs to the {extension} extension")
    if not name:
        return Hint(f"A schema the statement at {ctx.where()} uses does not exist. Check its name.", CHECK)
    return _by_creators(ctx, "schema", name) or Hint(
        f"Schema {name} does not exist when {ctx.where()} runs. Check the name, and which migration creates it.",
        CHECK,
    )


def _extension_hint(ctx: Context, extension: str, head: str) -> Hint:
    index = ctx.index()
    creators = index.creators("extension", extension) if index else []
    facts = ctx.facts
    if facts and facts.extension == extension and facts.extension_available is False:
        return Hint(
            f"{head}, which this database does not offer (pg_available_extensions has no {extension}): no migration "
            "can enable it here. Use a Supabase project (or image) that ships it.",
            CHECK,
        )
    if facts and facts.extension == extension and facts.extension_available and not facts.extension_installed_schema:
        return Hint(
            f"{head}, which this database offers (pg_available_extensions) but has not installed. Enable it in a "
            f"migration before {ctx.where()}: `{enable_extension_sql(extension)}`. CREATE SCHEMA would only hide "
            "the problem.",
            LIKELY,
        )
    if creators and ctx.f.file and creators[0].file > ctx.f.file:
        return Hint(
            f"{head}; {_found(creators[0])} enables it, but sorts after {ctx.f.file}: move the CREATE EXTENSION into "
            f"{ctx.f.file}, above {ctx.where()}, or into a new file sorting before it.",
            LIKELY,
        )
    if creators:
        return Hint(
            f"{head}; {_found(creators[0])} enables it earlier, yet the schema is missing here: check that the "
            f"extension is installed on this database (select * from pg_extension where extname = '{extension}').",
            CHECK,
        )
    shipped = (
        " (Supabase ships it: Database -> Extensions in the dashboard)" if extension in SUPABASE_EXTENSIONS else ""
    )
    return Hint(
        f"{head}, which is not enabled{shipped}. Enable it in a migration before {ctx.where()}: "
        f"`{enable_extension_sql(extension)}`. CREATE SCHEMA would only hide the problem.",
        LIKELY,
    )


def undefined_object(ctx: Context) -> Hint:
    match = _OBJECT.search(ctx.f.message)
    if match and match.group("kind") == "extension":
        return _extension_hint(ctx, match.group("name"), f"Extension {match.group('name')} does not exist")
    if match and match.group("kind") == "type":
        raw = match.group("name")
        name = raw if "." in raw else f"{DEFAULT_SCHEMA}.{raw}"
        hint = _by_creators(ctx, "type", name) if "." in raw or ctx.index() else None
        if hint is not None and hint.confidence != CHECK:
            return hint
        return Hint(
            f"Type {raw} does not exist when {ctx.where()} runs. If it is an extension's type (citext, vector, "
            "geometry...), the extension must be enabled first, and its types live in schema extensions "
            f"(extensions.{raw.rsplit('.', 1)[-1]}); otherwise check which migration creates it."
            + (" " + hint.text if hint else ""),
            CHECK,
        )
    return Hint(
        f"At {ctx.where()} a type, role, extension or similar object does not exist. Check its name, and which "
        "migration (or the platform) creates it.",
        CHECK,
    )


def ambiguous_function(ctx: Context) -> Hint:
    """42725: an overloaded name used without its argument list."""
    match = _NOT_UNIQUE.search(ctx.f.message)
    written = (match.group("name") or match.group("call")) if match else ""
    schema, _, bare = written.rpartition(".")
    index = ctx.index()
    overloads = index.creators("function", f"{schema or DEFAULT_SCHEMA}.{bare}") if index and bare else []
    listed = ""
    if overloads:
        listed = " The files create: " + names_list([f"{written}({c.detail})" for c in overloads], 5) + "."
    return Hint(
        f"{written or 'The function'} is overloaded (several argument lists), so at {ctx.where()} it needs its "
        f"argument types, e.g. DROP FUNCTION {written or 'name'}(argument types).{listed}",
        LIKELY if overloads else CHECK,
    )
