"""42501: which role lacks what. In a migration run that is the role CI connects as (DB_URL's user),
or the role a ``SET ROLE`` above the statement switched to; never, by default, the API roles."""

from __future__ import annotations

import re
from typing import Any

from dragonfly_bot.core.diagnosis.context import Context
from dragonfly_bot.core.diagnosis.model import Confidence, Hint
from dragonfly_bot.core.diagnosis.rewrite import parse_one, qualified

CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK

_DENIED = re.compile(
    r"permission denied for (?P<kind>table|view|materialized view|sequence|schema|function|procedure|relation|"
    r"database|type|large object)\s+(?P<name>\S+)"
)
_OWNER = re.compile(
    r"must be owner of (?P<kind>table|relation|function|procedure|schema|type|view|extension|"
    r"sequence|materialized view|database|event trigger)\s+(?P<name>\S+)"
)
_SET_ROLE = re.compile(r"^\s*set\s+(?:local\s+|session\s+)?role\s+(?:to\s+|=\s*)?\"?(?P<role>[\w-]+)\"?", re.I | re.M)
_RESET_ROLE = re.compile(
    r"^\s*(?:reset\s+role|set\s+(?:local\s+|session\s+)?role\s+(?:to\s+|=\s*)?none)\b", re.I | re.M
)
_PLATFORM_SCHEMAS = ("auth", "storage", "realtime", "supabase_functions", "vault", "graphql", "extensions")


def _active_set_role(before: str) -> str | None:
    """The role a SET ROLE above the statement left in force, if any."""
    role, at = None, -1
    for match in _SET_ROLE.finditer(before):
        role, at = match.group("role"), match.start()
    if role is None or role.lower() == "none":
        return None
    if any(m.start() > at for m in _RESET_ROLE.finditer(before)):
        return None
    return role


def _qualify(name: str, statement: str) -> str:
    """``q`` -> ``public.q`` when the statement names it with a schema."""
    name = name.strip('"')
    if "." in name:
        return name
    match = re.search(rf'("?\w+"?)\s*\.\s*"?{re.escape(name)}"?\b', statement or "")
    return f"{match.group(1).strip(chr(34))}.{name}" if match else name


def _privilege(statement: str, kind: str, name: str = "") -> str:
    if kind == "schema":
        return "USAGE, CREATE" if re.match(r"\s*(create|alter)\b", statement, re.I) else "USAGE"
    if kind == "sequence":
        return "USAGE, SELECT"
    if kind == "database":
        return "CREATE"  # the CLI creates schema supabase_migrations on its first run
    if kind in ("function", "procedure"):
        return "EXECUTE"
    first = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    if first == "CREATE" and re.search(r"\btrigger\b", statement, re.I):
        return "TRIGGER"
    if first == "CREATE" and re.search(r"\breferences\b", statement, re.I):
        return "REFERENCES"
    written = {"INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE", "TRUNCATE": "TRUNCATE"}.get(first)
    node = parse_one(statement)
    target = getattr(node, "relation", None)
    if written and target is not None and name and name.rsplit(".", 1)[-1] != getattr(target, "relname", None):
        return "SELECT"  # the table denied is one the statement reads (INSERT ... SELECT FROM it)
    return written or "SELECT"


def _has_privilege(kind: str) -> str:
    """The catalog function that answers "may this role do it" for ``kind``."""
    if kind in ("function", "procedure"):
        return "select has_function_privilege"
    if kind in ("schema", "sequence", "database", "type"):
        return f"select has_{kind}_privilege"
    return "select has_table_privilege"


def _grant(privilege: str, kind: str, name: str, role: str) -> str:
    target = {
        "schema": "SCHEMA ",
        "sequence": "SEQUENCE ",
        "function": "FUNCTION ",
        "procedure": "PROCEDURE ",
        "database": "DATABASE ",
    }
    on = target.get(kind, "")
    if kind in ("function", "procedure") and "(" not in name:
        name += "(...)"
    return f"GRANT {privilege} ON {on}{name} TO {role};"


def platform_trigger_table(statement: str) -> str | None:
    """``auth.users`` when ``statement`` creates a trigger on a table of a Supabase platform schema."""
    node: Any = parse_one(statement) if statement else None
    if type(node).__name__ != "CreateTrigStmt" or node.relation is None:
        return None
    if (node.relation.schemaname or "public") not in _PLATFORM_SCHEMAS:
        return None
    return qualified(node.relation)


def _auth_trigger(ctx: Context) -> Hint | None:
    table = platform_trigger_table(ctx.statement)
    if table is None:
        return None
    schema, _, relname = table.rpartition(".")
    role = ctx.ci_role()
    who = role or "the DB_URL user"
    facts = ctx.facts
    if facts and facts.object_owner and facts.is_owner is False:
        trigger = facts.has("TRIGGER")
        lacks = " and lacks its TRIGGER privilege" if trigger is False else ""
        as_whom = "postgres" if facts.object_owner == "postgres" else f"{facts.object_owner} or the `postgres` role"
        return Hint(
            f"{table} is owned by {facts.object_owner}; {who}, the role CI connects as, is not its owner{lacks}. "
            f"A trigger on {table} needs ownership, which no GRANT to authenticated or service_role gives. Run this "
            f"migration as {as_whom} (DB_URL with that user), or put the logic in a trigger on a table of your "
            "own schema.",
            LIKELY,
        )
    owner = f" (owned by {facts.object_owner})" if facts and facts.object_owner else ""
    return Hint(
        f"A trigger on {table}{owner} needs the table's ownership or its TRIGGER privilege for the role creating it, "
        f"here {who}; a GRANT to authenticated or service_role does not help. On Supabase run this migration as "
        f"the project's `postgres` role (DB_URL with user postgres), which may create triggers on {table}. Check: "
        f"select tableowner from pg_tables where schemaname = '{schema}' and tablename = '{relname}'; "
        f"select has_table_privilege('{role or '<CI role>'}', '{table}', 'TRIGGER').",
        CHECK,
    )


def permission_denied(ctx: Context) -> Hint:
    f = ctx.f
    statement = ctx.statement
    set_role = _active_set_role(ctx.before)
    auth = _auth_trigger(ctx) if statement and not set_role else None
    if auth is not None:
        return auth
    ci_role = ctx.ci_role()
    role_words = f"the role CI connects as ({ci_role})" if ci_role else "the role CI connects as (the DB_URL user)"
    owner = _OWNER.search(f.message)
    if owner:
        name = _qualify(owner.group("name"), statement)
        return Hint(
            f"Only the owner of {owner.group('kind')} {name} may do this, and {role_words} is not its owner. Run the "
            f"change as the owner, or have the owner transfer it (ALTER ... OWNER TO {ci_role or '<CI role>'}); "
            "objects in auth/storage belong to Supabase's own roles and cannot be changed by migrations. Check: "
            f"the owner of {name} (\\dt+ / \\df+ in psql).",
            CHECK,
        )
    match = _DENIED.search(f.message)
    if not match:
        return Hint(
            f"{role_words[0].upper() + role_words[1:]} lacks a privilege the statement at {ctx.where()} needs. "
            f"Check with has_*_privilege('{ci_role or '<role>'}', ...) what it may do.",
            CHECK,
        )
    kind = match.group("kind")
    name = _qualify(match.group("name"), statement)
    privilege = _privilege(statement, kind, name)
    if set_role:
        grant = _grant(privilege, kind, name, set_role)
        return Hint(
            f"The statement runs after SET ROLE {set_role} (above it in {f.file or 'the file'}), and {set_role} "
            f"lacks {privilege} on {name}. Add, in the migration that creates {name} (or before this statement):",
            LIKELY,
            grant,
        )
    facts = ctx.facts
    first = privilege.split(",")[0]
    if facts and facts.current_user and facts.object_owner and facts.has(first) is False:
        # The catalog confirms it: this role lacks it, and who can grant it.
        owned_by = facts.object_owner
        owns = " (it does not own it)" if facts.is_owner is False else ""
        return Hint(
            f"{facts.current_user}, the role CI connects as, lacks {privilege} on {name}{owns}; {name} is owned by "
            f"{owned_by}. A GRANT to authenticated or service_role would not change that. As {owned_by}, run "
            f"`{_grant(privilege, kind, name, facts.current_user)}` (in the migration that creates {name}, or once), "
            f"or run the migrations as {owned_by}.",
            LIKELY,
        )
    known = ""
    if facts and facts.object_owner:
        known = f" {name} is owned by {facts.object_owner}."
    if facts and facts.privileges:
        held = ", ".join(f"{p} {'yes' if g else 'no'}" for p, g in facts.privileges)
        known += f" {facts.current_user or ci_role} has: {held}."
    if facts and facts.has(first) is True:
        known += (
            f" It holds {first} now: the denial came from elsewhere (a SET ROLE, USAGE on the schema, a column "
            "privilege) or was granted since."
        )
    return Hint(
        f"{role_words[0].upper() + role_words[1:]} lacks {privilege} on {name}.{known} A GRANT to authenticated "
        f"or service_role would not change that. The owner of {name} can grant it: "
        f"`{_grant(privilege, kind, name, ci_role or '<CI role>')}`, or create the object as the CI role. Check: "
        f"{_has_privilege(kind)}('{ci_role or '<CI role>'}', '{name}', '{privilege.split(',')[0]}').",
        CHECK,
    )
