"""Supabase security rules (the advisor's checks, static): what a migration leaves reachable by app users.

In Supabase, ``anon`` is anyone with the project's public key and ``authenticated`` any signed-in user of
the team's app; the Data API serves the exposed schemas (``public`` unless configured). Each finding says
why and writes out the fix. The same checks run over the bot's own migrations (tests/preflight/test_advisor.py).

Rules: a new table in an exposed schema that app roles can reach without RLS (``rls-disabled``); RLS with
no policy while app roles still hold privileges (``rls-without-policy``); a write policy that is always
true for anon/authenticated (``permissive-write-policy``); SECURITY DEFINER without a pinned search_path
(``definer-search-path``) or executable by anon/authenticated in an exposed schema
(``definer-executable``); a view in an exposed schema running with its owner's rights over RLS tables or
unexposed schemas (``security-definer-view``) or over ``auth.users`` (``auth-users-exposed``); a GRANT to
anon on a table (``anon-table-grant``); an extension created in public (``extension-in-public``).
"""

from __future__ import annotations

from collections.abc import Iterator

from dragonfly_bot.core.lint.grants import APP_ROLES, PUBLIC, Prior
from dragonfly_bot.core.lint.later import REVOKED, Folder, Later, Settles, sets_search_path, truthy
from dragonfly_bot.core.lint.model import ERROR, WARNING, Finding, LintOptions
from dragonfly_bot.core.lint.names import display, function_signature, qualified, range_var, returns_trigger, strings
from dragonfly_bot.core.lint.parse import FUNCTION_BODY, Occurrence

SEVERITY = {
    "rls-disabled": ERROR,
    "rls-without-policy": WARNING,
    "permissive-write-policy": ERROR,
    "definer-search-path": ERROR,
    "function-search-path": WARNING,
    "definer-executable": WARNING,
    "security-definer-view": ERROR,
    "auth-users-exposed": ERROR,
    "anon-table-grant": WARNING,
    "extension-in-public": WARNING,
}
# Extensions whose control file fixes their schema (CREATE EXTENSION without SCHEMA does not put them in public).
_FIXED_SCHEMA_EXTENSIONS = frozenset({"plpgsql", "pg_cron", "pg_net", "pgsodium", "pg_graphql", "supabase_vault"})
_CATALOG_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
_WRITE_COMMANDS = frozenset({"insert", "update", "delete", "all"})


def rls_decisions(occurrences: list[Occurrence]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(tables with RLS enabled, tables with a policy) by this file's statements (also inside DO blocks)."""
    enabled, with_policy = set(), set()
    for occ in occurrences:
        if occ.context == FUNCTION_BODY:
            continue
        if occ.kind == "AlterTableStmt":
            table = range_var(occ.node.get("relation"))
            for item in occ.node.get("cmds", []):
                subtype = item.get("AlterTableCmd", {}).get("subtype")
                if subtype in ("AT_EnableRowSecurity", "AT_ForceRowSecurity"):
                    enabled.add(table)
                elif subtype == "AT_DisableRowSecurity":
                    enabled.discard(table)
        elif occ.kind == "CreatePolicyStmt":
            with_policy.add(range_var(occ.node.get("table")))
    return enabled, with_policy


def check(
    occurrences: list[Occurrence],
    file: str,
    prior: Prior | None,
    options: LintOptions,
    later: Later | None = None,
    own: Settles | None = None,
) -> list[Finding]:
    """``later(question)``: the answer of the folder's files after this one (``dragonfly_bot.core.lint.later``);
    ``own``: the file's ``Settles`` when already read."""
    found: list[Finding] = []

    def report(occ: Occurrence, rule: str, message: str, fix: str, at: dict | None = None) -> None:
        found.append(Finding(file, occ.line_of(at), rule, SEVERITY[rule], message, fix, occ.span))

    folder = Folder(occurrences, prior or Prior(), options, later, own)
    explicit = explicit_function_grants(occurrences)
    last = _last_definitions(occurrences)
    for order, occ in enumerate(occurrences):
        if occ.context == FUNCTION_BODY:
            continue
        kind = occ.kind
        if kind in ("ViewStmt", "CreateFunctionStmt") and last.get(_definition_key(occ)) != order:
            continue  # redefined further on: the last definition is what stays
        if kind == "CreateStmt":
            _table(occ, report, folder)
        elif kind == "CreatePolicyStmt":
            _policy(occ, report)
        elif kind == "CreateFunctionStmt":
            _function(occ, report, folder, explicit)
        elif kind == "ViewStmt":
            _view(occ, report, folder)
        elif kind == "GrantStmt":
            _anon_grant(occ, report, folder)
        elif kind == "CreateExtensionStmt":
            _extension(occ, report)
    return found


def _table(occ: Occurrence, report, folder: Folder) -> None:
    rel = occ.node.get("relation", {})
    table = range_var(rel)
    if rel.get("relpersistence") == "t" or occ.node.get("partbound") or table[0] not in folder.exposed:
        return
    name = display(*table)
    if not folder.rls_on(table):
        rule = "rls-disabled"
    elif table not in folder.policies and not folder.after("policy", *table):
        rule = "rls-without-policy"
    else:
        return
    if folder.after("replaced", "relation", *table, ""):
        return  # dropped later: a table made again is judged where it is made
    roles = folder.final_roles("relation", *table)[0]
    if not roles:
        return  # no app role reaches it, after the later files' GRANT/REVOKE too
    if rule == "rls-disabled":
        report(
            occ,
            rule,
            f"table {name} is in the exposed schema {table[0]} and {' and '.join(roles)} can reach it "
            "(Supabase's default privileges), but ROW LEVEL SECURITY is off: every row is readable and "
            "writable through the API with the public key",
            f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY; then CREATE POLICY ... for who may see what "
            f"(or, if only the service role uses it: REVOKE ALL ON {name} FROM anon, authenticated;)",
        )
    else:
        report(
            occ,
            rule,
            f"table {name} has RLS enabled but no policy, while {' and '.join(roles)} still hold "
            "privileges on it: the API shows them nothing (deny-all), which is rarely what a grant means",
            f"CREATE POLICY ... ON {name} FOR SELECT TO authenticated USING (...); or, if only the service "
            f"role uses it, make that explicit: REVOKE ALL ON {name} FROM anon, authenticated;",
        )


def _is_true(expr: dict | None) -> bool:
    return expr is not None and expr.get("A_Const", {}).get("boolval", {}).get("boolval") is True


def _policy(occ: Occurrence, report) -> None:
    node = occ.node
    command = node.get("cmd_name", "all")
    if command not in _WRITE_COMMANDS or node.get("permissive") is False:
        return
    roles = set()
    for item in node.get("roles") or [{"RoleSpec": {"roletype": "ROLESPEC_PUBLIC"}}]:
        spec = item.get("RoleSpec", {})
        roles.add(PUBLIC if spec.get("roletype") == "ROLESPEC_PUBLIC" else spec.get("rolename"))
    app = sorted(roles & {PUBLIC, *APP_ROLES})
    check = node.get("with_check") if node.get("with_check") is not None else node.get("qual")
    always = _is_true(check) if command in ("insert", "all", "update") else False
    always = always or (command in ("update", "delete", "all") and _is_true(node.get("qual")))
    if not app or not always:
        return
    table = display(*range_var(node.get("table")))
    who = ", ".join("everyone (PUBLIC)" if r == PUBLIC else r for r in app)
    report(
        occ,
        "permissive-write-policy",
        f"policy {node.get('policy_name')} lets {who} {command.upper()} any row of {table}: its condition is true",
        "tie the condition to the caller, e.g. USING ((select auth.uid()) = user_id) WITH CHECK ((select auth.uid()) "
        "= user_id), and name the role: TO authenticated (never anon for writes)",
    )


def _option(options, name: str):
    for item in options or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") == name:
            return elem
    return None


def explicit_function_grants(occurrences: list[Occurrence]) -> dict[tuple[str, str], set[str]]:
    """(schema, function) -> roles a GRANT EXECUTE of the file names."""
    granted: dict[tuple[str, str], set[str]] = {}
    for occ in occurrences:
        node = occ.node
        if occ.kind != "GrantStmt" or not node.get("is_grant") or node.get("targtype") != "ACL_TARGET_OBJECT":
            continue
        if node.get("objtype") not in ("OBJECT_FUNCTION", "OBJECT_ROUTINE"):
            continue
        roles = {g.get("RoleSpec", {}).get("rolename") for g in node.get("grantees", [])}
        for obj in node.get("objects", []):
            key = qualified(strings(obj.get("ObjectWithArgs", {}).get("objname")))
            granted.setdefault(key, set()).update(r for r in roles if r)
    return granted


def _function(occ: Occurrence, report, folder: Folder, explicit) -> None:
    node = occ.node
    security = _option(node.get("options"), "security")
    schema, name = qualified(strings(node.get("funcname")))
    signature = function_signature(node)
    definer = bool(security) and security.get("arg", {}).get("Boolean", {}).get("boolval") is True
    if not definer and ("function-search-path" in folder.off or schema not in folder.exposed):
        return
    replaced = ("replaced", "function", schema, name, signature)
    pinned = sets_search_path(node.get("options")) or folder.settled("search_path", schema, name)
    if not pinned and not folder.after(*replaced):
        if not definer:
            report(
                occ,
                "function-search-path",
                f"function {signature} has no pinned search_path: it resolves names with the caller's, so a "
                "caller (or a later migration) can make it use a different object",
                f"add SET search_path = '' and qualify the names in the body, or ALTER FUNCTION {signature} "
                "SET search_path = '';",
            )
            return
        report(
            occ,
            "definer-search-path",
            f"SECURITY DEFINER function {signature} runs with its owner's rights but without a pinned search_path: "
            "a caller can create an object that shadows one it uses",
            f"add SET search_path = '' to the definition and qualify every name in the body (public.t, "
            f"auth.uid()), or ALTER FUNCTION {signature} SET search_path = '';",
        )
    if not definer or node.get("is_procedure") or returns_trigger(node) or schema not in folder.exposed:
        return
    # A GRANT naming the function and the role is a decision; access left over from the defaults is the gap.
    if folder.after(*replaced):
        return
    reached, named = folder.final_roles("function", schema, name)
    roles = [r for r in reached if r not in explicit.get((schema, name), ()) and r not in named]
    if not roles:
        return
    said = f"SECURITY DEFINER function {signature} is in the exposed schema {schema} and {' and '.join(roles)} can "
    if (schema, name) in folder.own.policy_calls or folder.after("policy_call", schema, name):
        # A REVOKE would break the policies (their callers need EXECUTE); out of the exposed schema, /rpc cannot
        # reach it, and the policies keep calling it (they hold the function itself, not its name).
        report(
            occ,
            "definer-executable",
            said + "execute it through /rpc with its owner's rights; a policy calls it, so its roles must keep EXECUTE",
            f"move it out of the API's reach, e.g. CREATE SCHEMA IF NOT EXISTS private; ALTER FUNCTION {signature} "
            "SET SCHEMA private; (the policies follow it and keep working, no USAGE on the schema needed; "
            "a REVOKE from the roles they apply to would break them)",
        )
        return
    report(
        occ,
        "definer-executable",
        said + "execute it (PostgreSQL grants EXECUTE to PUBLIC, Supabase to anon and authenticated): anyone calls "
        "it through /rpc with its owner's rights",
        f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC, anon, authenticated;\n"
        f"GRANT EXECUTE ON FUNCTION {signature} TO service_role;  -- and TO authenticated only if signed-in "
        "users must call it",
    )


def relations_read(tree) -> Iterator[tuple[str, str]]:
    """(schema, name) of every relation a query reads (CTE names included, harmlessly)."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "RangeVar" and isinstance(value, dict):
                    yield (value.get("schemaname") or "public", value.get("relname", ""))
                elif isinstance(value, (dict, list)):
                    stack.append(value)


def _definition_key(occ: Occurrence) -> tuple:
    if occ.kind == "ViewStmt":
        return ("view", *range_var(occ.node.get("view")))
    return ("function", function_signature(occ.node))


def _last_definitions(occurrences: list[Occurrence]) -> dict[tuple, int]:
    """Definition key -> position of its last CREATE [OR REPLACE] (the advisor reads a whole history as one)."""
    last = {}
    for order, occ in enumerate(occurrences):
        if occ.kind in ("ViewStmt", "CreateFunctionStmt") and occ.context != FUNCTION_BODY:
            last[_definition_key(occ)] = order
    return last


def _view(occ: Occurrence, report, folder: Folder) -> None:
    node = occ.node
    view = range_var(node.get("view"))
    if view[0] not in folder.exposed or node.get("view", {}).get("relpersistence") == "t":
        return
    invoker = _option(node.get("options"), "security_invoker")
    if folder.own.invoker.get(view) or (invoker is not None and truthy(invoker)):
        return
    if folder.after("replaced", "relation", *view, "") or folder.after("invoker", *view):
        return  # created again or dropped later (judged there), or set to run as its caller
    name = display(*view)
    read = set(relations_read(node.get("query")))
    exposed = folder.exposed
    if ("auth", "users") in read:
        rule = "auth-users-exposed"
    else:
        hidden = sorted(
            f"{s}.{t}"
            for s, t in read
            if (s not in exposed and s not in _CATALOG_SCHEMAS) or (s in exposed and folder.rls_on((s, t)))
        )
        if not hidden:
            return
        rule = "security-definer-view"
    roles = folder.final_roles("relation", *view)[0]
    if not roles:
        return  # no app role reads it, after the later files' GRANT/REVOKE too
    if rule == "auth-users-exposed":
        report(
            occ,
            rule,
            f"view {name} in the exposed schema {view[0]} shows auth.users to {' and '.join(roles)}: it runs with its "
            "owner's rights, so e-mails and metadata of every user are readable through the API",
            f"select only what is needed from a table you own (e.g. public.profiles), or: ALTER VIEW {name} SET "
            f"(security_invoker = true); REVOKE ALL ON {name} FROM anon, authenticated;",
        )
        return
    report(
        occ,
        rule,
        f"view {name} runs with its owner's rights (no security_invoker) and reads {', '.join(hidden)}: "
        f"{' and '.join(roles)} see through it what RLS or schema privileges keep from them",
        f"CREATE OR REPLACE VIEW {name} WITH (security_invoker = true) AS ...; "
        f"(or, if only the service role reads it: REVOKE ALL ON {name} FROM anon, authenticated;)",
    )


def _anon_grant(occ: Occurrence, report, folder: Folder) -> None:
    node = occ.node
    if not node.get("is_grant") or node.get("objtype") != "OBJECT_TABLE":
        return
    to_anon = []
    for grantee in node.get("grantees", []):
        spec = grantee.get("RoleSpec", {})
        if spec.get("roletype") == "ROLESPEC_PUBLIC":
            to_anon.append("PUBLIC")
        elif spec.get("rolename") == "anon":
            to_anon.append("anon")
    if not to_anon:
        return
    names = [p.get("AccessPriv", {}).get("priv_name", "") for p in node.get("privileges") or []]
    privileges = ", ".join(name.upper() for name in names)
    if node.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
        what = "every table in schema " + ", ".join(strings(node.get("objects")))
    else:
        tables = [range_var(o.get("RangeVar")) for o in node.get("objects", []) if "RangeVar" in o]
        if tables and all(folder.rls_on(t) or folder.is_view(t) for t in tables):
            # Behind RLS the policies decide (permissive-write-policy reads them); in public the grant restates
            # Supabase's default privileges, as `supabase db dump` writes them for every table. A view's own
            # rule (security-definer-view) says whether it reads past RLS.
            return
        if tables and all(
            folder.after("privileges", "relation", *t).get(who) == REVOKED for t in tables for who in to_anon
        ):
            return  # a later file takes it back
        what = ", ".join(display(*t) for t in tables)
    report(
        occ,
        "anon-table-grant",
        f"GRANT {privileges or 'ALL'} on {what} to {' and '.join(to_anon)}: anyone holding the project's public "
        "(anon) key gets it, and no row level security is on to stand between them and the rows",
        "grant to authenticated (signed-in users) instead; if anonymous access is intended, keep RLS on with a "
        "policy for anon and say so: `-- lint-ignore: anon-table-grant <why>`",
    )


def _extension(occ: Occurrence, report) -> None:
    node = occ.node
    name = node.get("extname", "")
    schema = _option(node.get("options"), "schema")
    target = schema.get("arg", {}).get("String", {}).get("sval") if schema else None
    if name in _FIXED_SCHEMA_EXTENSIONS or (target is not None and target != "public"):
        return
    report(
        occ,
        "extension-in-public",
        f"extension {name} is created in public{'' if target else ' (no WITH SCHEMA)'}: its functions and tables "
        "are exposed through the API with the rest of public",
        f"CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA extensions;",
    )
