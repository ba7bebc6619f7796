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

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.lint.model import ERROR, Finding
from bot.core.lint.names import (
    display,
    dropped_objects,
    function_signature,
    qualified,
    range_var,
    returns_trigger,
    strings,
)
from bot.core.lint.parse import FUNCTION_BODY, Occurrence

API_ROLES = ("authenticated", "service_role")
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


def _roles(grant: dict) -> set[str]:
    roles: set[str] = set()
    for grantee in grant.get("grantees", []):
        spec = grantee.get("RoleSpec", {})
        if spec.get("roletype") == "ROLESPEC_PUBLIC":
            roles.update(API_ROLES)
        elif spec.get("rolename"):
            roles.add(spec["rolename"])
    return roles


def _family(objtype: str) -> str | None:
    if objtype in _TABLE_OBJTYPES:
        return "relation"
    if objtype in _FUNCTION_OBJTYPES:
        return "function"
    return None


def _marked(grant: dict) -> set[str]:
    """Role names a GRANT gives; a REVOKE's roles are marked with a leading '-'."""
    roles = _roles(grant)
    return roles if grant.get("is_grant") else {"-" + role for role in roles}


def coverage(occurrences: list[Occurrence]) -> list[tuple[_Created, set[str], set[str]]]:
    """(created object, roles granted to, roles explicitly revoked from) within the file."""
    created = created_objects(occurrences)
    if not created:
        return []
    named: dict[tuple, set[str]] = {}  # (family, schema, name) -> roles
    in_schema: list[tuple[int, str, str | None, set[str]]] = []  # (order, family, schema or None, roles)
    defaults: list[tuple[int, str, str | None, set[str]]] = []
    schema_revoked: dict[str, set[str]] = {}
    for order, occ in enumerate(occurrences):
        if occ.context == FUNCTION_BODY:
            continue
        if occ.kind == "GrantStmt":  # a REVOKE naming the role is a decision too (deliberately not exposed)
            grant = occ.node
            if grant.get("objtype") == "OBJECT_SCHEMA" and not grant.get("is_grant"):
                # REVOKE USAGE ON SCHEMA s FROM role: nothing in s is meant for that role
                for schema in strings(grant.get("objects")):
                    schema_revoked.setdefault(schema, set()).update(_roles(grant))
                continue
            family = _family(grant.get("objtype", ""))
            if family is None:
                continue
            roles = _marked(grant)
            if grant.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
                for schema in strings(grant.get("objects")):
                    in_schema.append((order, family, schema, roles))
            else:
                for obj in grant.get("objects", []):
                    if "RangeVar" in obj:
                        key = (family, *range_var(obj["RangeVar"]))
                    elif "ObjectWithArgs" in obj:
                        key = (family, *qualified(strings(obj["ObjectWithArgs"].get("objname"))))
                    else:
                        continue
                    named.setdefault(key, set()).update(roles)
        elif occ.kind == "AlterDefaultPrivilegesStmt":
            action = occ.node.get("action", {})
            family = _family(action.get("objtype", ""))
            if family is None:
                continue
            schemas: list[str] = []
            for option in occ.node.get("options", []):
                elem = option.get("DefElem", {})
                if elem.get("defname") == "schemas":
                    schemas = strings(elem.get("arg", {}).get("List", {}).get("items"))
            scopes: list[str | None] = [*schemas] if schemas else [None]  # None: in every schema
            for scope in scopes:
                defaults.append((order, family, scope, _marked(action)))

    result = []
    for obj in created:
        roles = set(named.get((obj.family, obj.schema, obj.name), ()))
        for order, family, scope, granted in in_schema:
            if family == obj.family and scope == obj.schema and order > obj.order:
                roles |= granted
        for order, family, scope, granted in defaults:
            if family == obj.family and scope in (None, obj.schema) and order < obj.order:
                roles |= granted
        revoked = {role[1:] for role in roles if role.startswith("-")} | schema_revoked.get(obj.schema, set())
        result.append((obj, roles - {"-" + r for r in revoked}, revoked))
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
    occurrences: list[Occurrence], file: str, created_earlier: Callable[[_Created], bool] | None = None
) -> list[Finding]:
    """``created_earlier(obj)``: whether the migrations before this file leave ``obj`` existing."""
    findings = []
    for obj, granted, revoked in coverage(occurrences):
        missing = [role for role in API_ROLES if role not in granted and role not in revoked]
        if not missing or _redefined(obj, occurrences, created_earlier):
            continue
        label = obj.signature if obj.family == "function" else display(obj.schema, obj.name)
        if obj.family == "function":
            fix = f"GRANT EXECUTE ON FUNCTION {obj.signature} TO {', '.join(missing)};"
        else:
            fix = f"GRANT SELECT ON {display(obj.schema, obj.name)} TO {', '.join(missing)};"
        findings.append(
            Finding(
                file,
                obj.occ.line,
                "missing-grant",
                ERROR,
                f"{obj.what} {label} is neither granted to nor revoked from {' and '.join(missing)} in this file",
                fix + " (or, if it is deliberately not exposed: `-- lint-ignore: missing-grant <why>`)",
                obj.occ.span,
            )
        )
    return findings
