"""42501: which role lacks what. In a migration run that is the role CI connects as (DB_URL's user),
or the role a ``SET ROLE`` above the statement switched to; never, by default, the API roles."""

from __future__ import annotations

import re

from bot.core.diagnosis.context import Context
from bot.core.diagnosis.model import Confidence, Hint
from bot.core.diagnosis.rewrite import parse_one, qualified

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


def _auth_trigger(ctx: Context) -> Hint | None:
    node = parse_one(ctx.statement)
    if type(node).__name__ != "CreateTrigStmt" or node.relation is None:
        return None
    schema = node.relation.schemaname or "public"
    if schema not in _PLATFORM_SCHEMAS:
        return None
    table = qualified(node.relation)
    role = ctx.ci_role()
    who = role or "the DB_URL user"
    owner = f" (owned by {ctx.facts.object_owner})" if ctx.facts and ctx.facts.object_owner else ""
    return Hint(
        f"A trigger on {table}{owner} needs the table's ownership or its TRIGGER privilege for the role creating it, "
        f"here {who}; a GRANT to authenticated or service_role does not help. On Supabase run this migration as "
        f"the project's `postgres` role (DB_URL with user postgres), which may create triggers on {table}. Check: "
        f"select tableowner from pg_tables where schemaname = '{schema}' and tablename = '{node.relation.relname}'; "
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
    known = ""
    if facts and facts.object_owner:
        known = f" {name} is owned by {facts.object_owner}."
    if facts and facts.privileges:
        held = ", ".join(f"{p} {'yes' if g else 'no'}" for p, g in facts.privileges)
        known += f" {facts.current_user or ci_role} has: {held}."
    return Hint(
        f"{role_words[0].upper() + role_words[1:]} lacks {privilege} on {name}.{known} A GRANT to authenticated "
        f"or service_role would not change that. The owner of {name} can grant it: "
        f"`{_grant(privilege, kind, name, ci_role or '<CI role>')}`, or create the object as the CI role. Check: "
        f"{_has_privilege(kind)}('{ci_role or '<CI role>'}', '{name}', '{privilege.split(',')[0]}').",
        CHECK,
    )
