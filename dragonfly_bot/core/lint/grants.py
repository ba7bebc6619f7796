"""Every table, view, materialized view and function a file creates is granted to both API roles in that file.

A grant counts when it names the object (``GRANT ... ON TABLE x``), when a
``GRANT ... ON ALL TABLES|FUNCTIONS IN SCHEMA s`` comes after the CREATE (it
only reaches objects that exist then), or when ``ALTER DEFAULT PRIVILEGES ...
GRANT`` comes before it (it only reaches objects created later). ``PUBLIC``
covers both roles. An explicit REVOKE naming a role on the object counts as
a decision for that role (the object is deliberately not exposed to it), as
does ``REVOKE USAGE ON SCHEMA s FROM role`` for everything in ``s``, and
so does a ``-- lint-ignore: missing-grant <why>`` comment. Temporary tables, partitions and trigger functions need
no grant: nobody reaches them through the API. Nor does a ``CREATE OR REPLACE`` of a view or function
that an earlier migration created (and nothing dropped since): PostgreSQL keeps its privileges, so the
file redefines it rather than creates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from dragonfly_bot.core.lint.later import GRANTED, REVOKED, Later, Settles
from dragonfly_bot.core.lint.model import ERROR, Finding, Prior
from dragonfly_bot.core.lint.names import (
    display,
    dropped_objects,
    function_signature,
    qualified,
    range_var,
    returns_trigger,
    strings,
)
from dragonfly_bot.core.lint.parse import FUNCTION_BODY, Occurrence

USER_SCOPED = re.compile(r"\bauth\s*\.\s*(?:uid|jwt)\s*\(", re.IGNORECASE)
API_ROLES = ("authenticated", "service_role")  # the protocol's "GRANT ... TO authenticated, service_role"
APP_ROLES = ("anon", "authenticated")  # the team's app users (the service role is the bot/backends)
_TABLE_OBJTYPES = ("OBJECT_TABLE",)
_FUNCTION_OBJTYPES = ("OBJECT_FUNCTION", "OBJECT_ROUTINE")


@dataclass
class _Created:
    family: str  # "relation" | "function"
    schema: str
    name: str
    what: str  # "table", "view", "materialized view", "function"
    occ: Occurrence
    order: int
    signature: str = ""


def created_objects(occurrences: list[Occurrence]) -> list[_Created]:
    """What the migration creates that the API roles would use (also used by the replay)."""
    found = []
    for order, occ in enumerate(occurrences):
        if occ.context == FUNCTION_BODY:
            continue
        kind, node = occ.kind, occ.node
        if kind == "CreateStmt":
            rel = node.get("relation", {})
            if rel.get("relpersistence") != "t" and not node.get("partbound"):
                found.append(_Created("relation", *range_var(rel), "table", occ, order))
        elif kind == "CreateTableAsStmt":
            rel = node.get("into", {}).get("rel", {})
            if rel.get("relpersistence") != "t":
                what = "materialized view" if node.get("objtype") == "OBJECT_MATVIEW" else "table"
                found.append(_Created("relation", *range_var(rel), what, occ, order))
        elif kind == "ViewStmt":
            rel = node.get("view", {})
            if rel.get("relpersistence") != "t":
                found.append(_Created("relation", *range_var(rel), "view", occ, order))
        elif kind == "CreateFunctionStmt" and not node.get("is_procedure") and not returns_trigger(node):
            schema, name = qualified(strings(node.get("funcname")))
            found.append(_Created("function", schema, name, "function", occ, order, function_signature(node)))
    return found


PUBLIC = "PUBLIC"
# Supabase's own default privileges (``ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL
# ON TABLES / FUNCTIONS / SEQUENCES TO anon, authenticated, service_role``): what the CLI's postgres role creates
# in public is reachable by the API roles before any GRANT. PostgreSQL itself lets PUBLIC execute functions.
SUPABASE_DEFAULTS: tuple[tuple[str, str | None, frozenset[str]], ...] = (
    ("function", None, frozenset({PUBLIC})),
    ("relation", "public", frozenset({"anon", "authenticated", "service_role"})),
    ("function", "public", frozenset({"anon", "authenticated", "service_role"})),
)


def _roles(grant: dict) -> set[str]:
    roles: set[str] = set()
    for grantee in grant.get("grantees", []):
        spec = grantee.get("RoleSpec", {})
        if spec.get("roletype") == "ROLESPEC_PUBLIC":
            roles.add(PUBLIC)
        elif spec.get("rolename"):
            roles.add(spec["rolename"])
    return roles


def _family(objtype: str) -> str | None:
    if objtype in _TABLE_OBJTYPES:
        return "relation"
    if objtype in _FUNCTION_OBJTYPES:
        return "function"
    return None


def _marked(grant: dict) -> frozenset[str]:
    """Role names a GRANT gives; a REVOKE's roles are marked with a leading '-'."""
    roles = _roles(grant)
    return frozenset(roles if grant.get("is_grant") else {"-" + role for role in roles})


def _for_other_role(node: dict) -> bool:
    """``ALTER DEFAULT PRIVILEGES FOR ROLE x``, x not the CLI's postgres: it does not reach what migrations create."""
    for option in node.get("options", []):
        elem = option.get("DefElem", {})
        if elem.get("defname") == "roles":
            names = {
                item.get("RoleSpec", {}).get("rolename")
                for item in elem.get("arg", {}).get("List", {}).get("items", [])
            }
            return "postgres" not in names
    return False


def _default_event(node: dict) -> list[tuple[str, str | None, frozenset[str]]]:
    action = node.get("action", {})
    family = _family(action.get("objtype", ""))
    if family is None or _for_other_role(node):
        return []
    schemas = None
    for option in node.get("options", []):
        elem = option.get("DefElem", {})
        if elem.get("defname") == "schemas":
            schemas = strings(elem.get("arg", {}).get("List", {}).get("items"))
    scopes: list[str | None] = list(schemas) if schemas else [None]
    return [(family, scope, _marked(action)) for scope in scopes]


def _schema_revoke(node: dict) -> tuple[list[str], set[str]] | None:
    if node.get("objtype") == "OBJECT_SCHEMA" and not node.get("is_grant"):
        return strings(node.get("objects")), _roles(node)
    return None


def prior_of(occurrences: list[Occurrence]) -> Prior:
    """What one (earlier) file leaves decided for the files after it."""
    from dragonfly_bot.core.lint.security import rls_decisions

    prior = Prior()
    prior.rls_tables, prior.policy_tables = rls_decisions(occurrences)
    for occ in occurrences:
        if occ.context == FUNCTION_BODY:
            continue
        if occ.kind == "AlterDefaultPrivilegesStmt":
            prior.defaults.extend(_default_event(occ.node))
        elif occ.kind == "GrantStmt" and (revoke := _schema_revoke(occ.node)) is not None:
            for schema in revoke[0]:
                prior.schema_revoked.setdefault(schema, set()).update(revoke[1])
    return prior


def _apply(state: dict[str, str], marks: frozenset[str]) -> None:
    for mark in marks:
        if mark.startswith("-"):
            state[mark[1:]] = REVOKED
        else:
            state[mark] = GRANTED


# The last coverage computed: grants.check and security.check both ask it for the same file, one after the other.
_last_coverage: tuple | None = None


def coverage(
    occurrences: list[Occurrence], prior: Prior | None = None, private_schemas: frozenset[str] = frozenset()
) -> list[Coverage]:
    """(created object, roles that can use it, roles decided against, final state) for each object the file
    creates (see ``_coverage``); asked again for the same statements and prior, the same answer is given."""
    global _last_coverage
    last = _last_coverage
    if last is not None and last[0] is occurrences and last[1] is prior and last[2] == private_schemas:
        return last[3]
    result = _coverage(occurrences, prior, private_schemas)
    _last_coverage = (occurrences, prior, private_schemas, result)  # holds them: their ids stay theirs
    return result


class Coverage(NamedTuple):
    obj: _Created
    granted: set[str]  # roles that can use it at the end of the file
    decided: set[str]  # roles decided against
    state: dict[str, str]  # role (PUBLIC included) -> GRANTED / REVOKED: the last word on the object


def reaching(state: dict[str, str]) -> set[str]:
    """The API roles a final privilege state lets use the object: privileges add up, so a role revoked by
    name still has what PUBLIC has."""
    return {role for role in (*APP_ROLES, "service_role") if GRANTED in (state.get(role), state.get(PUBLIC))}


def _grant_events(occurrences: list[Occurrence]) -> Iterator[tuple[int, str, str, tuple, frozenset[str]]]:
    """(order, how, family, target, marks) of the file's GRANT/REVOKE statements: ``named`` (target (schema,
    name)), ``all`` (ALL ... IN SCHEMA: (schema,)), ``schema`` (REVOKE ... ON SCHEMA: target the schemas, marks
    the roles), ``default`` (ALTER DEFAULT PRIVILEGES: (schema or None,))."""
    for order, occ in enumerate(occurrences):
        if occ.context == FUNCTION_BODY:
            continue
        if occ.kind == "GrantStmt":
            grant = occ.node
            revoke = _schema_revoke(grant)
            if revoke is not None:
                yield order, "schema", "", tuple(revoke[0]), frozenset(revoke[1])
                continue
            family = _family(grant.get("objtype", ""))
            if family is None:
                continue
            marks = _marked(grant)
            if grant.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
                for schema in strings(grant.get("objects")):
                    yield order, "all", family, (schema,), marks
                continue
            for obj in grant.get("objects", []):
                if "RangeVar" in obj:
                    target = range_var(obj["RangeVar"])
                elif "ObjectWithArgs" in obj:
                    target = qualified(strings(obj["ObjectWithArgs"].get("objname")))
                else:
                    continue
                yield order, "named", family, target, marks
        elif occ.kind == "AlterDefaultPrivilegesStmt":
            for default_family, scope, marks in _default_event(occ.node):
                yield order, "default", default_family, (scope,), marks


def privilege_events(occurrences: list[Occurrence]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(family, schema, name or "" for ALL ... IN SCHEMA, marks) of the file's GRANT/REVOKE on objects, in order:
    what the file decides about objects that may come from earlier files (``later.Settles``)."""
    return [
        (family, target[0], target[1] if how == "named" else "", tuple(sorted(marks)))
        for _order, how, family, target, marks in _grant_events(occurrences)
        if how in ("named", "all")
    ]


def _coverage(occurrences: list[Occurrence], prior: Prior | None, private_schemas: frozenset[str]) -> list[Coverage]:
    """(created object, roles that can use it, roles decided against, final state) for each object the file creates.

    Starts from PostgreSQL's and Supabase's defaults, then the default privileges of earlier files and of
    this file before the CREATE, then grants and revokes naming the object (or ALL ... IN SCHEMA) after it.
    A role is *decided against* when a REVOKE reached it (on the object, on PUBLIC, on the schema, or in
    default privileges), or when the schema is private (config) and the role is an app role.
    """
    created = created_objects(occurrences)
    if not created:
        return []
    prior = prior or Prior()
    events: list[tuple[int, str, str, tuple, frozenset[str]]] = []  # (order, how, family, target, marks)
    schema_revoked = {schema: set(roles) for schema, roles in prior.schema_revoked.items()}
    for event in _grant_events(occurrences):
        if event[1] == "schema":  # REVOKE USAGE ON SCHEMA s FROM role: nothing in s is meant for that role
            for schema in event[3]:
                schema_revoked.setdefault(schema, set()).update(event[4])
        else:
            events.append(event)

    result = []
    for obj in created:
        # Default privileges, PostgreSQL's way: the global ones (PUBLIC's EXECUTE, ALTER DEFAULT PRIVILEGES without
        # IN SCHEMA) and the per-schema ones are kept apart, and a per-schema REVOKE only takes back a per-schema
        # GRANT. (``... IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`` leaves PUBLIC its EXECUTE.)
        defaults = [*SUPABASE_DEFAULTS, *prior.defaults]
        defaults += [
            (family, target[0], marks)
            for order, how, family, target, marks in events
            if how == "default" and order < obj.order
        ]
        every_schema: dict[str, str] = {}
        this_schema: dict[str, str] = {}
        for default_family, scope, marks in defaults:
            if default_family == obj.family and scope in (None, obj.schema):
                _apply(every_schema if scope is None else this_schema, marks)
        state = {
            role: GRANTED if GRANTED in (every_schema.get(role), this_schema.get(role)) else REVOKED
            for role in every_schema.keys() | this_schema.keys()
        }
        for order, how, family, target, marks in events:
            if family != obj.family or order < obj.order:
                continue
            if (how == "named" and target == (obj.schema, obj.name)) or (how == "all" and target[0] == obj.schema):
                _apply(state, marks)  # on the object itself: exact
        granted, decided = reaching(state), set()
        for role in (*APP_ROLES, "service_role"):
            own, everyone = state.get(role), state.get(PUBLIC)
            if role in granted:
                continue
            if (
                own == REVOKED
                # revoked from PUBLIC: app users are meant not to have it; the service role still is expected to
                or (own is None and everyone == REVOKED and role in APP_ROLES)
                or {role, PUBLIC} & schema_revoked.get(obj.schema, set())
                or (role in APP_ROLES and obj.schema in private_schemas)
            ):
                decided.add(role)
        result.append(Coverage(obj, granted, decided, state))
    return result


def history_of(obj: _Created, occurrences: list[Occurrence], before: int | None = None) -> bool | None:
    """Within one file's statements (those before order ``before``): True when the last word on ``obj`` is its
    creation, False when it is a DROP, None when the file does not touch it."""
    key = (obj.family, obj.schema, obj.name)
    for order in range(len(occurrences) - 1 if before is None else before - 1, -1, -1):
        occ = occurrences[order]
        if occ.context == FUNCTION_BODY:
            continue
        if occ.kind == "DropStmt" and key in dropped_objects(occ.node):
            return False
        if occ.kind in ("ViewStmt", "CreateFunctionStmt", "CreateStmt", "CreateTableAsStmt"):
            for made in created_objects([occ]):
                if (made.family, made.schema, made.name) == key and (
                    obj.family != "function" or made.signature == obj.signature
                ):
                    return True
    return None


def _redefined(
    obj: _Created, occurrences: list[Occurrence], created_earlier: Callable[[_Created], bool] | None
) -> bool:
    """A CREATE OR REPLACE of a view/function that already exists: it keeps the privileges it had."""
    if created_earlier is None or not obj.occ.node.get("replace"):
        return False
    in_file = history_of(obj, occurrences, obj.order)
    return in_file if in_file is not None else created_earlier(obj)


def check(
    occurrences: list[Occurrence],
    file: str,
    created_earlier: Callable[[_Created], bool] | None = None,
    prior: Prior | None = None,
    private_schemas: frozenset[str] = frozenset(),
    later: Later | None = None,
    policy_calls: Collection[tuple[str, str]] | None = None,
) -> list[Finding]:
    """``created_earlier(obj)``: whether the migrations before this file leave ``obj`` existing;
    ``prior``: the privilege decisions of the files before this one; ``later(question)``: the files after it;
    ``policy_calls``: the functions this file's policies call (its ``Settles``), read from it when not given."""
    findings = []
    for obj, granted, decided, _state in coverage(occurrences, prior, private_schemas):
        missing = [role for role in API_ROLES if role not in granted and role not in decided]
        if not missing or _redefined(obj, occurrences, created_earlier):
            continue
        if obj.family == "function" and "service_role" in missing:
            # service_role bypasses row level security, so a function the policies call is never run for it.
            if policy_calls is None:
                policy_calls = Settles.of(occurrences).policy_calls
            key = (obj.schema, obj.name)
            # A function that reads the caller's user (auth.uid(), auth.jwt()) is for signed-in users: under
            # the service role there is no user for it to answer about.
            if (
                USER_SCOPED.search(obj.occ.text)
                or key in policy_calls
                or (later is not None and later(("policy_call", *key)))
            ):
                missing.remove("service_role")
                if not missing:
                    continue
        label = obj.signature if obj.family == "function" else display(obj.schema, obj.name)
        # Only what the protocol asks for (read access for the roles missing), never more.
        if obj.family == "function":
            fix = f"GRANT EXECUTE ON FUNCTION {obj.signature} TO {', '.join(missing)};"
        else:
            fix = f"GRANT SELECT ON {display(obj.schema, obj.name)} TO {', '.join(missing)};"
        where = "" if obj.schema == "public" else f" (schema {obj.schema} has no default privileges for them)"
        findings.append(
            Finding(
                file,
                obj.occ.line,
                "missing-grant",
                ERROR,
                f"{obj.what} {label} is neither granted to nor revoked from {' and '.join(missing)}{where}",
                fix + " (or, if it is deliberately not exposed: REVOKE it from them, list the schema in [lint] "
                "private_schemas, or `-- lint-ignore: missing-grant <why>`)",
                obj.occ.span,
            )
        )
    return findings
