"""Object names out of parse-tree nodes, normalised so a DROP and a CREATE of the same thing compare equal.

Unqualified names are taken to be in ``public``: migrations run with the
default search_path.
"""

from __future__ import annotations

DEFAULT_SCHEMA = "public"


def strings(items: list | None) -> list[str]:
    return [item["String"]["sval"] for item in items or () if "String" in item]


def qualified(parts: list[str]) -> tuple[str, str]:
    """(schema, name) from a possibly qualified name list."""
    if not parts:
        return (DEFAULT_SCHEMA, "")
    if len(parts) == 1:
        return (DEFAULT_SCHEMA, parts[0])
    return (parts[-2], parts[-1])


def range_var(node: dict | None) -> tuple[str, str]:
    node = node or {}
    return (node.get("schemaname") or DEFAULT_SCHEMA, node.get("relname", ""))


def display(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def quote(identifier: str) -> str:
    if identifier and identifier.replace("_", "a").isalnum() and identifier.islower() and not identifier[0].isdigit():
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def type_name(node: dict | None) -> str:
    """A TypeName node as SQL (``pg_catalog.`` dropped), for GRANT ... ON FUNCTION f(args)."""
    node = node or {}
    parts = strings(node.get("names"))
    if parts and parts[0] == "pg_catalog":
        parts = parts[1:]
    text = ".".join(quote(p) for p in parts)
    if node.get("arrayBounds"):
        text += "[]"
    return text


def function_signature(node: dict) -> str:
    """``schema.name(argtypes)`` of a CreateFunctionStmt (OUT parameters are not part of it)."""
    schema, name = qualified(strings(node.get("funcname")))
    args = []
    for param in node.get("parameters", []):
        param = param.get("FunctionParameter", {})
        if param.get("mode") in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            continue
        args.append(type_name(param.get("argType")))
    return f"{display(schema, name)}({', '.join(args)})"


def returns_trigger(node: dict) -> bool:
    ret = strings((node.get("returnType") or {}).get("names"))
    return bool(ret) and ret[-1] in ("trigger", "event_trigger")


def dropped_objects(node: dict) -> list[tuple]:
    """Identity keys of what a DropStmt drops (see ``object_key``)."""
    kind = node.get("removeType", "")
    keys = []
    for obj in node.get("objects", []):
        if "List" in obj:
            parts = strings(obj["List"].get("items"))
        elif "String" in obj:
            parts = [obj["String"]["sval"]]
        elif "TypeName" in obj:
            parts = strings(obj["TypeName"].get("names"))
        elif "ObjectWithArgs" in obj:
            parts = strings(obj["ObjectWithArgs"].get("objname"))
        else:
            continue
        keys.append(object_key(kind, parts))
    return keys


_RELATION_KINDS = {
    "OBJECT_TABLE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_INDEX",
    "OBJECT_SEQUENCE",
    "OBJECT_FOREIGN_TABLE",
}
_FUNCTION_KINDS = {"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE"}
_TYPE_KINDS = {"OBJECT_TYPE", "OBJECT_DOMAIN"}
_ON_TABLE_KINDS = {"OBJECT_POLICY": "policy", "OBJECT_TRIGGER": "trigger", "OBJECT_RULE": "rule"}


def object_key(kind: str, parts: list[str]) -> tuple:
    """A comparable identity: relations, functions and types share a key space per family."""
    if kind in _RELATION_KINDS:
        return ("relation", *qualified(parts))
    if kind in _FUNCTION_KINDS:
        return ("function", *qualified(parts))
    if kind in _TYPE_KINDS:
        return ("type", *qualified(parts))
    if kind in _ON_TABLE_KINDS:
        # [schema?, table, name]
        return (_ON_TABLE_KINDS[kind], *qualified(parts[:-1]), parts[-1] if parts else "")
    return (kind.removeprefix("OBJECT_").lower(), *parts)
