"""Hints: the protocol's Cause and Fix, made concrete for one failure.

``hint_for`` names the file and line, and where it can, rewrites the failing
statement (``CREATE TABLE IF NOT EXISTS ...``) or writes the missing GRANT.
pglast tells what kind of statement failed; the rewrite is done on the
author's own text (a keyword inserted at the right token) so it reads like
their migration, not like a deparser's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pglast import parse_sql
from pglast import parser as pg

if TYPE_CHECKING:  # pragma: no cover
    from bot.core.failures import Failure

GRANTEES = "authenticated, service_role"
MAX_SHOWN = 600  # characters of a rewritten statement shown in a hint


def _where(f: Failure) -> str:
    """'20251209_x.sql line 12' / '20251209_x.sql, statement 3' / 'the failing migration'."""
    name = f.file or "the failing migration"
    if f.line is not None:
        return f"{name} line {f.line}"
    if f.statement_index is not None:
        return f"{name}, statement {f.statement_index}"
    return name


def _show(sql: str) -> str:
    sql = sql.strip()
    if len(sql) > MAX_SHOWN:
        sql = sql[:MAX_SHOWN].rstrip() + " ..."
    return sql + ";"


def _parse_one(sql: str):
    """The statement's pglast node, or None (truncated text, newer syntax, garbage)."""
    if not sql.strip():
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


def _insert_after(sql: str, path: tuple[str, ...], words: str) -> str | None:
    """Insert ``words`` after the token sequence ``path`` (token names, in order, gaps allowed)."""
    tokens = _tokens(sql)
    want = list(path)
    for tok in tokens:
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


def _qualified(rangevar) -> str:
    if rangevar is None:
        return "?"
    name = getattr(rangevar, "relname", None) or "?"
    schema = getattr(rangevar, "schemaname", None)
    return f"{schema}.{name}" if schema else name


def _names(items) -> str:
    return ".".join(getattr(x, "sval", "?") for x in (items or ()))


def _guard(sql: str, condition: str) -> str:
    """A DO block running ``sql`` only when ``condition`` (EXISTS ...) is false."""
    body = sql.strip().replace("\n", "\n    ")
    return f"DO $$\nBEGIN\n  IF NOT EXISTS ({condition}) THEN\n    {body};\n  END IF;\nEND $$"


def _swallow(sql: str, condition_name: str = "duplicate_object") -> str:
    body = sql.strip().replace("\n", "\n  ")
    return f"DO $$\nBEGIN\n  {body};\nEXCEPTION WHEN {condition_name} THEN NULL;\nEND $$"


def idempotent_rewrite(sql: str) -> str | None:
    """``sql`` rewritten so running it twice is harmless, or None when we don't know how."""
    node = _parse_one(sql)
    if node is None:
        return None
    kind = type(node).__name__
    if kind == "CreateStmt" and not node.if_not_exists:
        return _insert_after(sql, ("CREATE", "TABLE"), "IF NOT EXISTS")
    if kind == "IndexStmt" and not node.if_not_exists:
        if not node.idxname:
            return None  # IF NOT EXISTS needs a name; handled by the caller's advice
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
    if kind == "ViewStmt" and not node.replace:
        return _insert_after(sql, ("CREATE",), "OR REPLACE")
    if kind == "CreateFunctionStmt" and not node.replace:
        return _insert_after(sql, ("CREATE",), "OR REPLACE")
    if kind == "CreateTrigStmt" and not node.replace:
        if getattr(node, "isconstraint", False):
            return None
        return _insert_after(sql, ("CREATE",), "OR REPLACE")
    if kind == "AlterTableStmt":
        cmds: tuple = node.cmds or ()
        subtype = getattr(getattr(cmds[0], "subtype", None), "name", "") if len(cmds) == 1 else ""
        if subtype == "AT_AddColumn" and not cmds[0].missing_ok:
            rewritten = _insert_after(sql, ("ADD_P", "COLUMN"), "IF NOT EXISTS")
            return rewritten or _insert_after(sql, ("ADD_P",), "COLUMN IF NOT EXISTS")
        if len(cmds) > 1 and all(getattr(getattr(c, "subtype", None), "name", "") == "AT_AddColumn" for c in cmds):
            return _add_columns_if_not_exists(sql)
        if subtype == "AT_AddConstraint":
            constraint = getattr(cmds[0].def_, "conname", None)
            if constraint:
                return _guard(
                    sql,
                    f"SELECT 1 FROM pg_constraint WHERE conname = '{constraint}'"
                    f" AND conrelid = '{_qualified(node.relation)}'::regclass",
                )
            if getattr(getattr(cmds[0].def_, "contype", None), "name", "") == "CONSTR_PRIMARY":
                return _guard(  # a table has one primary key, whatever its name
                    sql,
                    f"SELECT 1 FROM pg_constraint WHERE contype = 'p'"
                    f" AND conrelid = '{_qualified(node.relation)}'::regclass",
                )
        return None
    if kind == "AlterPublicationStmt" and getattr(node.action, "name", "") == "AP_AddObjects":
        if len(node.pubobjects or ()) == 1:  # one table: skipping it when it is a member already loses nothing
            return _swallow(sql)
        return None
    if kind == "AlterEnumStmt" and node.newVal and not node.oldVal and not node.skipIfNewValExists:
        return _insert_after(sql, ("ADD_P", "VALUE_P"), "IF NOT EXISTS")
    if kind == "CreatePolicyStmt":
        drop = f'DROP POLICY IF EXISTS "{node.policy_name}" ON {_qualified(node.table)};\n'
        return drop + sql.strip()
    if kind in ("CreateEnumStmt", "CompositeTypeStmt", "CreateDomainStmt", "CreateRoleStmt"):
        return _swallow(sql)
    if kind == "InsertStmt" and node.onConflictClause is None:
        if getattr(node, "returningClause", None) is not None or getattr(node, "returningList", None):
            return _insert_before(sql, "RETURNING", "ON CONFLICT DO NOTHING")
        words = "on conflict do nothing" if sql.lstrip()[:6].islower() else "ON CONFLICT DO NOTHING"
        return sql.rstrip().rstrip(";").rstrip() + "\n" + words
    if kind == "CreateSchemaStmt":
        return None
    return None


_QUOTED = re.compile(r'"([^"]+)"')


def _relation_exists(f: Failure, statement: str, migrations) -> str:
    rewritten = idempotent_rewrite(statement) if statement else None
    head = f"{f.message}: the migration is not idempotent (the object exists already)."
    if rewritten:
        return f"{head} At {_where(f)}, write:\n{_show(rewritten)}"
    return (
        f"{head} At {_where(f)}, add IF NOT EXISTS (CREATE TABLE/INDEX/SCHEMA/SEQUENCE, ADD COLUMN), "
        "use CREATE OR REPLACE (views, functions, triggers), DROP ... IF EXISTS first (policies), "
        "or wrap it in a DO $$ block that checks the catalog or catches duplicate_object."
    )


def _later_definer(f: Failure, migrations: Mapping[str, str] | None, pattern: re.Pattern) -> str | None:
    """A migration sorting after the failing one whose text matches ``pattern``."""
    if not migrations or not f.file:
        return None
    for name in sorted(migrations):
        if name > f.file and pattern.search(migrations[name] or ""):
            return name
    return None


def _ident(name: str) -> str:
    """Regex for an identifier, quoted or not, optionally schema-qualified."""
    bare = re.escape(name.split(".")[-1])
    return rf'(?:"?\w+"?\s*\.\s*)?"?{bare}"?'


def _rename_rewrite(statement: str) -> str | None:
    """A RENAME of a table or column written so that it does nothing once it has run."""
    node = _parse_one(statement)
    if type(node).__name__ != "RenameStmt" or node.relation is None:
        return None
    what = getattr(node.renameType, "name", "")
    if what == "OBJECT_TABLE" and not node.missing_ok:
        return _insert_after(statement, ("ALTER", "TABLE"), "IF EXISTS")
    if what == "OBJECT_COLUMN":
        schema = getattr(node.relation, "schemaname", None) or "public"
        return _guard_exists(
            statement,
            f"SELECT 1 FROM information_schema.columns WHERE table_schema = '{schema}'"
            f" AND table_name = '{node.relation.relname}' AND column_name = '{node.subname}'",
        )
    return None


def _guard_exists(sql: str, condition: str) -> str:
    """A DO block running ``sql`` only when ``condition`` (EXISTS ...) is true."""
    body = sql.strip().replace("\n", "\n    ")
    return f"DO $$\nBEGIN\n  IF EXISTS ({condition}) THEN\n    {body};\n  END IF;\nEND $$"


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


def _drop_rewrite(statement: str) -> str | None:
    """A DROP (or ALTER TABLE ... DROP COLUMN/CONSTRAINT) written with IF EXISTS, or None."""
    node = _parse_one(statement)
    kind = type(node).__name__
    if kind == "DropStmt" and not node.missing_ok:
        count = _DROP_KEYWORD_COUNT.get(getattr(node.removeType, "name", ""), 1) + (1 if node.concurrent else 0)
        tokens = _tokens(statement)
        for index, tok in enumerate(tokens):
            if tok.name == "DROP" and index + count < len(tokens):
                last = tokens[index + count]
                words = "if exists" if statement[last.start : last.end + 1].islower() else "IF EXISTS"
                return statement[: last.end + 1] + " " + words + statement[last.end + 1 :]
        return None
    if kind == "AlterTableStmt" and len(node.cmds or ()) == 1:
        cmd = node.cmds[0]
        subtype = getattr(cmd.subtype, "name", "")
        if subtype == "AT_DropColumn" and not cmd.missing_ok:
            return _insert_after(statement, ("DROP", "COLUMN"), "IF EXISTS") or _insert_after(
                statement, ("DROP",), "IF EXISTS"
            )
        if subtype == "AT_DropConstraint" and not cmd.missing_ok:
            return _insert_after(statement, ("DROP", "CONSTRAINT"), "IF EXISTS")
    return None


def _gone_already(f: Failure, statement: str) -> str | None:
    """The hint for a DROP or RENAME whose object (or old name) is gone: most likely it ran already.

    The "does not exist" categories otherwise read as a dependency-order problem; for these two
    statements they are the protocol's idempotency case instead."""
    if not statement:
        return None
    rewritten = _drop_rewrite(statement)
    if rewritten is not None:
        return (
            f"{f.message}: it is gone already (an earlier run, or a change made by hand, dropped it), and a DROP "
            f"without IF EXISTS is not idempotent. At {_where(f)}, write:\n{_show(rewritten)}"
        )
    rewritten = _rename_rewrite(statement)
    if rewritten is not None:
        return (
            f"{f.message}: the old name is gone, most likely because it was renamed already (a re-run, or the "
            "change was made by hand), and a RENAME is not idempotent; if the name never existed, check it for a "
            f"typo. At {_where(f)}, write:\n{_show(rewritten)}"
        )
    return None


def _column_missing(f: Failure, statement: str, migrations) -> str:
    names = _QUOTED.findall(f.message)
    column = names[0] if names else "?"
    later = _later_definer(
        f, migrations, re.compile(rf"\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?{_ident(column)}\b", re.IGNORECASE)
    )
    head = f'{f.message}: dependency order is wrong; at {_where(f)} column "{column}" does not exist yet.'
    if later:
        return (
            f"{head} {later} adds it but sorts after {f.file}: rename {later} with a timestamp earlier than "
            f"{f.file} (or this migration with a later one), so the column exists first."
        )
    return (
        f"{head} Rename the migration that adds the column with an earlier timestamp than {f.file or 'this one'} "
        "(or this migration with a later one); check the column name for a typo."
    )


def _undefined(what: str, create: str) -> Callable:
    def hint(f: Failure, statement: str, migrations) -> str:
        names = _QUOTED.findall(f.message)
        name = names[0] if names else ""
        if what == "function":
            match = re.search(r"function (\S+?)\(", f.message)
            name = match.group(1) if match else name
        later = None
        if name:
            later = _later_definer(
                f,
                migrations,
                re.compile(
                    rf"\bcreate\s+(?:or\s+replace\s+)?{create}\s+(?:if\s+not\s+exists\s+)?{_ident(name)}", re.IGNORECASE
                ),
            )
        head = f"{f.message}: at {_where(f)} the {what} {name or ''} does not exist yet.".replace("  ", " ")
        if later:
            return (
                f"{head} {later} creates it but sorts after {f.file}: rename it with an earlier timestamp than "
                f"{f.file}."
            )
        extra = {
            "function": " Check the argument types (a cast may be needed); if it comes from an extension, "
            "CREATE EXTENSION IF NOT EXISTS it (WITH SCHEMA extensions) and schema-qualify the call.",
            "schema": " Add CREATE SCHEMA IF NOT EXISTS before it.",
        }.get(what, " Check the name and schema for a typo.")
        return f"{head} Create it in an earlier migration (or earlier in this file).{extra}"

    return hint


_PERMISSION_OBJECT = re.compile(
    r"permission denied for (?P<kind>table|view|materialized view"
    r"|sequence|schema|function|procedure|relation|database|type|large object)\s+(?P<name>\S+)"
)


def _permission_denied(f: Failure, statement: str, migrations) -> str:
    match = _PERMISSION_OBJECT.search(f.message)
    if "must be owner of" in f.message:
        return (
            f"{f.message}: at {_where(f)} the role running the migration does not own the object. "
            "Run it as the owner (the migration's role) or transfer ownership with ALTER ... OWNER TO; "
            "on Supabase, objects in auth/storage belong to supabase_admin and cannot be altered."
        )
    head = f"{f.message}: missing GRANT at {_where(f)}."
    if not match:
        return (
            f"{head} Add `GRANT SELECT ON ... TO {GRANTEES};` for the object the statement uses (protocol: every "
            "migration grants what it creates)."
        )
    kind, name = match.group("kind"), match.group("name").strip('"')
    qualified = _qualify_from_statement(name, statement)
    if kind in ("table", "view", "materialized view", "relation"):
        privilege = _table_privilege(statement)
        grant = f"GRANT {privilege} ON {qualified} TO {GRANTEES};"
    elif kind == "sequence":
        grant = f"GRANT USAGE, SELECT ON SEQUENCE {qualified} TO {GRANTEES};"
    elif kind == "schema":
        privilege = "USAGE, CREATE" if re.match(r"\s*(create|alter)\b", statement, re.IGNORECASE) else "USAGE"
        grant = f"GRANT {privilege} ON SCHEMA {name} TO {GRANTEES};"
    elif kind in ("function", "procedure"):
        grant = f"GRANT EXECUTE ON {kind.upper()} {qualified} TO {GRANTEES};"
    else:
        grant = f"GRANT ... ON {kind.upper()} {qualified} TO {GRANTEES};"
    role_note = ""
    if re.search(r"\bset\s+(?:local\s+)?role\b", statement, re.IGNORECASE):
        role_note = " (the statement runs after SET ROLE, so the grant must cover that role)"
    where = "before it" if kind == "schema" else f"in the migration that creates {qualified}"
    return f"{head} Add, {where}{role_note}:\n{grant}"


def _qualify_from_statement(name: str, statement: str) -> str:
    """``q`` -> ``public.q`` when the statement names it with a schema."""
    if "." in name:
        return name
    match = re.search(rf'("?\w+"?)\s*\.\s*"?{re.escape(name)}"?\b', statement or "")
    return f"{match.group(1)}.{name}" if match else name


def _table_privilege(statement: str) -> str:
    first = (statement or "").lstrip().split(None, 1)[0].upper() if (statement or "").strip() else ""
    return {"INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE", "TRUNCATE": "TRUNCATE"}.get(first, "SELECT")


def _syntax_error(f: Failure, statement: str, migrations) -> str:
    where = _where(f)
    if f.error_line is not None and f.file:
        where = f"{f.file} line {f.error_line}"
    near = _QUOTED.search(f.message)
    column = f", column {f.caret_column}" if f.caret_column else ""
    return (
        f"{f.message}: SQL typo at {where}{column}"
        f"{' near ' + repr(near.group(1)) if near else ''}. Fix the syntax (PostgreSQL 15 grammar); "
        "check the line above too: a missing comma or parenthesis is reported at the next token."
    )


def _duplicate_key(f: Failure, statement: str, migrations) -> str:
    head = (
        f"{f.message}{' (' + f.detail.splitlines()[0] + ')' if f.detail else ''}: the migration was already "
        "partially applied or inserts rows that exist."
    )
    if "schema_migrations" in f.message:
        return (
            f"{f.message}: version {f.version} is already recorded in supabase_migrations.schema_migrations: "
            "another run applied it concurrently, or two files share this version. Give the file a unique timestamp; "
            "never edit the history table."
        )
    node = _parse_one(statement)
    if type(node).__name__ == "InsertStmt":
        rewritten = idempotent_rewrite(statement)
        if rewritten:
            return f"{head} At {_where(f)}, write:\n{_show(rewritten)}"
    return (
        f"{head} At {_where(f)}, use INSERT ... ON CONFLICT DO NOTHING, or wrap the statement in a DO $$ block "
        "that checks first."
    )


def _dependent_objects(f: Failure, statement: str, migrations) -> str:
    dependents = "; ".join(line.strip() for line in f.detail.splitlines()[:5] if line.strip())
    listed = f" ({dependents})" if dependents else ""
    return (
        f"{f.message}{listed}: at {_where(f)}, drop or recreate the dependent objects first in this migration "
        "and recreate them after the change. DROP ... CASCADE would drop them silently: destructive, needs explicit "
        "approval."
    )


def _static(text: str) -> Callable:
    def hint(f: Failure, statement: str, migrations) -> str:
        return f"{f.message}: {text.format(where=_where(f), file=f.file or 'the migration')}"

    return hint


_CONNECT_TARGET = re.compile(r"host=(?P<host>\S+) user=(?P<user>\S+) database=(?P<db>[^`\s]+)")


def _connection(text: str) -> Callable:
    """Connection errors: name the target (host, user, database) the CLI tried."""

    def hint(f: Failure, statement: str, migrations) -> str:
        target = _CONNECT_TARGET.search(f.message)
        who = f"{target.group('user')}@{target.group('host')}/{target.group('db')}" if target else "the database"
        return text.format(target=who)

    return hint


def _first_ten(items, none: str) -> str:
    """``a, b, ...`` for the first ten items, ``and N more`` for the rest; ``none`` when empty."""
    text = ", ".join(items[:10]) if items else none
    if len(items) > 10:
        text += f" and {len(items) - 10} more"
    return text


def _remote_version_missing(f: Failure, statement: str, migrations) -> str:
    versions = _first_ten(f.versions, "some versions")
    return (
        f"The database has migration(s) {versions} applied but supabase/migrations has no file for them: "
        "the file was applied from another branch, renamed, or deleted. Fetch and merge the branch that has "
        f"the file(s) (git log --all -- 'supabase/migrations/{f.versions[0] if f.versions else ''}*'), or restore it. "
        "Do not run `supabase migration repair` blindly: it only edits the history table (the protocol forbids "
        "touching it) and leaves the schema as it is."
    )


def _out_of_order(f: Failure, statement: str, migrations) -> str:
    files = _first_ten(f.files, "some files")
    return (
        f"{files} sort(s) before the last migration already applied to the database, so CI will not apply them. "
        "Rename each with a timestamp later than the newest applied migration (YYYYMMDDHHMMSS of now), "
        "or, when the order truly does not matter, apply them once with `--include-all`: "
        "Actions -> Supabase Migrations -> Run workflow, with include_all ticked."
    )


def _unknown(f: Failure, statement: str, migrations) -> str:
    return (
        f"no known fix for {f.message or 'this error'}{' (SQLSTATE ' + f.sqlstate + ')' if f.sqlstate else ''}"
        f"{' at ' + _where(f) if f.file else ''}: read what PostgreSQL reported and the failing statement."
    )


_HINTS: dict[str, Callable] = {
    "relation_exists": _relation_exists,
    "column_missing": _column_missing,
    "permission_denied": _permission_denied,
    "syntax_error": _syntax_error,
    "duplicate_key": _duplicate_key,
    "undefined_table": _undefined("relation", r"(?:table|view|materialized\s+view)"),
    "undefined_function": _undefined("function", r"(?:function|procedure)"),
    "undefined_schema": _undefined("schema", "schema"),
    "undefined_object": _static(
        "at {where} a type, role, extension or similar object does not exist yet: create it in an earlier migration, "
        "or schema-qualify it (extension types live in schema extensions, e.g. extensions.citext)."
    ),
    "dependent_objects": _dependent_objects,
    "lock_timeout": _static(
        "at {where} another session held a lock on the table longer than lock_timeout. Re-run the workflow when "
        "traffic is low; keep ALTER TABLE on busy tables short, and set lock_timeout at the top of the file so it "
        "fails fast instead of blocking."
    ),
    "statement_timeout": _static(
        "at {where} the statement ran longer than statement_timeout. Add `SET statement_timeout = '10min';` at the "
        "top of {file}, or split a large backfill into batches in separate migrations."
    ),
    "query_canceled": _static(
        "at {where} the statement was cancelled (by an operator or the server). Re-run the workflow."
    ),
    "deadlock": _static(
        "at {where} the migration deadlocked with another session writing the same tables. Re-run the workflow; "
        "if it repeats, take locks in a fixed order (LOCK TABLE first) or apply when traffic is low."
    ),
    "serialization_failure": _static("at {where} a concurrent transaction conflicted. Re-run the workflow."),
    "transaction_block": _static(
        "at {where} the statement cannot run inside a transaction block (CONCURRENTLY, VACUUM, ALTER SYSTEM...): "
        "move it to its own migration file, outside any BEGIN ... COMMIT."
    ),
    "needs_transaction_block": _static(
        "at {where} the statement only works inside a transaction and the Supabase CLI opens none: "
        "wrap it with what it belongs to in BEGIN; ... COMMIT; in {file}."
    ),
    "not_null_violation": _static(
        "at {where} existing rows would break NOT NULL: backfill them (UPDATE ... SET ...) or add a DEFAULT before "
        "the constraint."
    ),
    "foreign_key_violation": _static(
        "at {where} rows reference missing keys: insert the referenced rows first, or clean the orphans before "
        "adding the constraint."
    ),
    "check_violation": _static(
        "at {where} existing rows break the CHECK: fix the data first or add the constraint NOT VALID and VALIDATE "
        "later."
    ),
    "datatype_mismatch": _static(
        "at {where} the types do not match: add an explicit cast (USING col::type for ALTER COLUMN TYPE)."
    ),
    "connection_failed": _connection(
        "CI could not reach {target}. Check the DB_URL secret (host, port 5432 direct or 6543 pooler), that the "
        "project is not paused, and Network Restrictions/Bans in the Supabase dashboard. "
        "Always --db-url, never --linked."
    ),
    "dns_failed": _connection(
        "the host name of {target} did not resolve. Check the host in the DB_URL secret: the pooler host is "
        "aws-0-<region>.pooler.supabase.com (user postgres.<project-ref>); db.<project-ref>.supabase.co is IPv6-only. "
        "This is the protocol's pooler DNS problem: use --db-url with the right host, never --linked."
    ),
    "authentication_failed": _connection(
        "{target} rejected the credentials (wrong password or user). Update the DB_URL secret with the current "
        "database password (URL-encode special characters); through the pooler the user must be postgres.<project-ref>."
    ),
    "database_missing": _connection(
        "{target}: the database named in DB_URL does not exist: on Supabase it is postgres."
    ),
    "remote_version_missing": _remote_version_missing,
    "out_of_order": _out_of_order,
    "unknown": _unknown,
}


# "Does not exist" categories: for a DROP or a RENAME they mean the statement already ran.
_GONE_CATEGORIES = frozenset(
    {"column_missing", "undefined_table", "undefined_function", "undefined_schema", "undefined_object"}
)


def hint_for(f: Failure, *, migrations: Mapping[str, str] | None = None) -> str:
    """The concrete fix for ``f``; "no known fix ..." for an unknown error."""
    if f.category in _GONE_CATEGORIES:
        gone = _gone_already(f, f.statement or "")
        if gone:
            return gone
    rule = _HINTS.get(f.category, _unknown)
    return rule(f, f.statement or "", migrations)


def rerun_safe(sql: str) -> str | None:
    """``sql`` rewritten so a second run is harmless (IF NOT EXISTS / OR REPLACE / a guard for a CREATE,
    IF EXISTS for a DROP, a guarded RENAME), or None: the one rewrite engine, shared by these hints and
    ``dragonfly-bot lint``'s fixes."""
    return idempotent_rewrite(sql) or _drop_rewrite(sql) or _rename_rewrite(sql)


def swallowing(sql: str, condition: str) -> str:
    """``sql`` in a DO block that ignores ``condition`` (e.g. undefined_column for a rename done already)."""
    return _swallow(sql, condition)
