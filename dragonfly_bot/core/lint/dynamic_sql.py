"""The SQL a PL/pgSQL ``EXECUTE`` runs, when its text can be known before it runs.

Real histories set privileges in a loop over a constant list::

    DECLARE fns text[] := ARRAY['public.a(bigint)', 'public.b()']; fn text;
    BEGIN FOREACH fn IN ARRAY fns LOOP
      EXECUTE format('REVOKE ALL ON FUNCTION %s FROM anon', to_regprocedure(fn));
    END LOOP; END

Each such ``EXECUTE`` runs one statement per element, and the rules must read them (otherwise a REVOKE
they make is unseen and the lint asks for it again). ``Scope`` holds what is known of a body's variables:
string literals, arrays of them, a FOREACH variable as each element in turn, and plain assignments
(``x := to_regprocedure(y)``). ``texts`` evaluates ``format()``, ``||``, casts and the quoting functions
over them; anything else (a query, a parameter, a function it does not know) makes the text unknown.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from pglast import parser as pg

MAX_TEXTS = 2000  # one EXECUTE inside loops over loops: past this, too many to read, taken as unknown
_PASS_THROUGH = {"to_regprocedure", "to_regproc", "to_regclass", "to_regtype", "to_regnamespace", "text"}
_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-?\d*)([sIL%])")

Value = str | list[str]  # a string, or an array of strings


class Unknown(Exception):
    """The expression's value is not knowable before it runs."""


class Scope:
    """What a body's variables may hold here: name -> the values it takes (several inside a loop)."""

    def __init__(self, defaults: dict[str, str], known: dict[str, list[Value]] | None = None):
        self._defaults = defaults  # name -> the text of its DECLARE default, evaluated when first asked
        self.known: dict[str, list[Value]] = dict(known or {})
        self._unknown: set[str] = set()

    @classmethod
    def of_function(cls, function: dict) -> tuple[Scope, dict[int, str]]:
        """The scope at the start of a PL/pgSQL function (or DO block), and its variables' names by number."""
        names: dict[int, str] = {}
        defaults: dict[str, str] = {}
        for number, datum in enumerate(function.get("datums", [])):
            var = datum.get("PLpgSQL_var")
            if var is None:
                continue
            names[number] = var.get("refname", "")
            query = var.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
            if query:
                defaults[var.get("refname", "")] = query
        return cls(defaults), names

    def child(self) -> Scope:
        """A copy for a loop's body: what it learns stays inside."""
        inner = Scope(self._defaults, self.known)
        inner._unknown = set(self._unknown)
        return inner

    def values(self, name: str) -> list[Value]:
        if name in self._unknown:
            raise Unknown(name)
        if name not in self.known:
            default = self._defaults.get(name)
            if default is None:
                raise Unknown(name)
            self._unknown.add(name)  # a default that refers to itself stays unknown
            self.known[name] = evaluate(default, self)
            self._unknown.discard(name)
        return self.known[name]

    def assign(self, name: str, expression: str | None) -> None:
        """``name := expression``: its values from now on, or unknown."""
        try:
            values = evaluate(expression or "", self)  # before the name changes: x := x || 'y' reads the old one
        except Unknown:
            self.forget(name)
            return
        self.known[name] = values
        self._unknown.discard(name)

    def each(self, name: str, array_expression: str | None) -> list[Scope]:
        """The scopes of a FOREACH body, one per element of a known array (none when it is unknown)."""
        try:
            arrays = evaluate(array_expression or "", self)
        except Unknown:
            return []
        if len(arrays) != 1 or not isinstance(arrays[0], list):
            return []
        scopes = []
        for element in arrays[0][:MAX_TEXTS]:
            inner = self.child()
            inner.known[name] = [element]
            inner._unknown.discard(name)
            scopes.append(inner)
        return scopes

    def forget(self, name: str) -> None:
        self.known.pop(name, None)
        self._unknown.add(name)


def texts(expression: str | None, scope: Scope) -> list[str]:
    """The SQL texts an ``EXECUTE expression`` may run here; empty when they are not knowable."""
    if not expression:
        return []
    try:
        found = evaluate(expression, scope)
    except Unknown:
        return []
    return [value for value in found if isinstance(value, str)]


def evaluate(expression: str, scope: Scope) -> list[Value]:
    """The values a PL/pgSQL expression may have (raises ``Unknown``)."""
    text = expression.split(":=", 1)[1] if _is_assignment(expression) else expression
    try:
        tree = json.loads(pg.parse_sql_json("SELECT " + text))
        (stmt,) = tree["stmts"]
        select = stmt["stmt"]["SelectStmt"]
        if len(select.get("targetList", [])) != 1 or set(select) - {"targetList", "limitOption", "op"}:
            raise Unknown(expression)
        node = select["targetList"][0]["ResTarget"]["val"]
    except (pg.ParseError, ValueError, KeyError, TypeError):
        raise Unknown(expression) from None
    return _node(node, scope)


def _is_assignment(expression: str) -> bool:
    head, found, _ = expression.partition(":=")
    return bool(found) and bool(re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_$.]*\s*", head))


def _node(node: dict, scope: Scope) -> list[Value]:
    ((kind, body),) = node.items()
    if kind == "A_Const":
        if "sval" in body:
            return [body["sval"]["sval"]]
        if "ival" in body:
            return [str(body["ival"].get("ival", 0))]
        raise Unknown(kind)
    if kind == "ColumnRef":
        fields = body.get("fields", [])
        if len(fields) == 1 and "String" in fields[0]:
            return scope.values(fields[0]["String"]["sval"])
        raise Unknown(kind)
    if kind == "TypeCast":
        return _node(body["arg"], scope)  # ::text, ::regprocedure, ::regclass: the same text for a statement
    if kind == "A_ArrayExpr":
        elements = [_node(e, scope) for e in body.get("elements", [])]
        if any(len(e) != 1 or not isinstance(e[0], str) for e in elements):
            raise Unknown(kind)
        return [[e[0] for e in elements]]  # type: ignore[misc]
    if kind == "A_Expr" and body.get("kind") == "AEXPR_OP" and _operator(body) == "||":
        return _combine([_node(body["lexpr"], scope), _node(body["rexpr"], scope)], lambda a, b: a + b)
    if kind == "FuncCall":
        return _call(body, scope)
    raise Unknown(kind)


def _operator(body: dict) -> str:
    names = body.get("name", [])
    return names[-1]["String"]["sval"] if names and "String" in names[-1] else ""


def _call(body: dict, scope: Scope) -> list[Value]:
    names = [part["String"]["sval"] for part in body.get("funcname", []) if "String" in part]
    name = names[-1].lower() if names else ""
    args = [_node(arg, scope) for arg in body.get("args", [])]
    if name in _PASS_THROUGH and len(args) == 1:
        return args[0]
    if name == "quote_ident" and len(args) == 1:
        return _combine(args, _quote_ident)
    if name in ("quote_literal", "quote_nullable") and len(args) == 1:
        return _combine(args, _quote_literal)
    if name == "concat":
        return _combine(args, lambda *parts: "".join(parts))
    if name == "format" and args:
        return _combine(args, _format)
    raise Unknown(name)


def _combine(args: list[list[Value]], join: Any) -> list[Value]:
    if any(not isinstance(v, str) for values in args for v in values):
        raise Unknown("an array where a string is needed")
    count = 1
    for values in args:
        count *= len(values)
    if count > MAX_TEXTS:
        raise Unknown("too many texts")
    return [join(*combo) for combo in itertools.product(*args)]


def _quote_ident(name: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(template: str, *args: str) -> str:
    position = 0

    def replace(match: re.Match) -> str:
        nonlocal position
        number, width, spec = match.groups()
        if spec == "%":
            return "%"
        if width:
            raise Unknown("format width")
        if number:
            position = int(number) - 1
        if position >= len(args):
            raise Unknown("format: too few arguments")
        value = args[position]
        position += 1
        return _quote_ident(value) if spec == "I" else _quote_literal(value) if spec == "L" else value

    return _FORMAT_SPEC.sub(replace, template)
