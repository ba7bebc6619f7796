"""What a later statement settles: the one way a finding is answered by what comes after it.

A state-based finding (a table without RLS, a view without ``security_invoker``, a SECURITY DEFINER
function without a pinned search_path or executable by app users) is about what the history leaves,
not about one statement: a later file of the folder can settle it (``ALTER TABLE ... ENABLE ROW LEVEL
SECURITY`` in the next file, ``ALTER VIEW ... SET (security_invoker = true)``, ``ALTER FUNCTION ... SET
search_path``, a REVOKE from the app roles, a redefinition or a DROP).

A rule asks a *question* (a tuple of strings, so the lint cache can record it with its answer and check
the answer again on a warm run) and gets the *answer* of the statements after it: each file's word is read
by ``Settles.word`` (a ``Settles`` is read from a file's statements once and cached in its summary), and
``answer`` folds the words of the files in order, the newest counting. The rules use the same fold for a
fix further down the same file, and the advisor reads a history through the same per-file lint, so there
is one code path for "a later statement settles it".

Questions and their answers:

* ``("rls", schema, table)``: True / False when ROW LEVEL SECURITY is last enabled / disabled, else None;
* ``("policy", schema, table)``: whether a policy is created on the table;
* ``("invoker", schema, view)``: True / False when ``security_invoker`` is last set on / off, else None;
* ``("search_path", schema, function)``: whether ``ALTER FUNCTION ... SET search_path`` pins it;
* ``("privileges", family, schema, name)``: role -> ``granted`` / ``revoked`` / ``named`` (a GRANT naming
  the object: a decision), the last word per role of GRANT/REVOKE on the object or ALL ... IN SCHEMA;
* ``("replaced", family, schema, name, signature)``: whether it is created again (views, functions) or
  dropped: the finding then belongs to the later definition, which is linted in its own file;
* ``("policy_call", schema, function)``: whether a policy's USING / WITH CHECK calls the function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dragonfly_bot.core.lint.names import dropped_objects, function_signature, qualified, range_var, strings

if TYPE_CHECKING:  # the parser loads on first use: a run answered from the cache reads settles from JSON
    from dragonfly_bot.core.lint.model import LintOptions, Prior
    from dragonfly_bot.core.lint.parse import Occurrence

Later = Callable[[tuple[str, ...]], Any]  # a question -> the answer of the files after the one being linted

GRANTED, REVOKED, NAMED = "granted", "revoked", "named"
_LAST_WORD = ("rls", "invoker")  # None: untouched; otherwise the newest True/False counts
_ANY = ("policy", "search_path", "replaced", "policy_call")  # any file saying so settles it


@dataclass
class Settles:
    """What one file's statements decide about objects (possibly made by earlier files), JSON-able."""

    rls: dict[tuple[str, str], bool] = field(default_factory=dict)  # (schema, table) -> last word in the file
    policies: set[tuple[str, str]] = field(default_factory=set)
    invoker: dict[tuple[str, str], bool] = field(default_factory=dict)  # (schema, view) -> last word
    search_path: set[tuple[str, str]] = field(default_factory=set)  # ALTER FUNCTION ... SET search_path
    # (family, schema, name or "" for ALL ... IN SCHEMA, marked roles: "-role" for a REVOKE), in order
    privileges: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    # (family, schema, name, signature) created ("" for a relation) or dropped ("" signature: any)
    touched: set[tuple[str, str, str, str]] = field(default_factory=set)
    policy_calls: set[tuple[str, str]] = field(default_factory=set)  # (schema, function) a policy calls

    @classmethod
    def of(cls, occurrences: list[Occurrence]) -> Settles:
        from dragonfly_bot.core.lint.grants import created_objects, privilege_events
        from dragonfly_bot.core.lint.parse import FUNCTION_BODY

        settles = cls()
        for occ in occurrences:
            if occ.context == FUNCTION_BODY:
                continue
            kind, node = occ.kind, occ.node
            if kind == "AlterTableStmt":
                settles._alter_table(node)
            elif kind == "CreatePolicyStmt":
                settles.policies.add(range_var(node.get("table")))
                settles.policy_calls.update(called_functions(node))
            elif kind == "AlterFunctionStmt" and sets_search_path(node.get("actions")):
                settles.search_path.add(qualified(strings(node.get("func", {}).get("objname"))))
            elif kind == "DropStmt":
                settles.touched.update((*key, "") for key in dropped_objects(node) if len(key) == 3)
            elif kind == "ViewStmt":
                for made in created_objects([occ]):
                    settles.touched.add((made.family, made.schema, made.name, made.signature))
            elif kind == "CreateFunctionStmt":  # a trigger function or a procedure is redefined too
                schema, name = qualified(strings(node.get("funcname")))
                settles.touched.add(("function", schema, name, function_signature(node)))
        settles.privileges = privilege_events(occurrences)
        return settles

    def _alter_table(self, node: dict) -> None:
        relation = range_var(node.get("relation"))
        for item in node.get("cmds", []):
            cmd = item.get("AlterTableCmd", {})
            subtype = cmd.get("subtype")
            if subtype in ("AT_EnableRowSecurity", "AT_ForceRowSecurity"):
                self.rls[relation] = True
            elif subtype == "AT_DisableRowSecurity":
                self.rls[relation] = False
            elif subtype in ("AT_SetRelOptions", "AT_ResetRelOptions") and node.get("objtype") == "OBJECT_VIEW":
                for elem in cmd.get("def", {}).get("List", {}).get("items", []):
                    option = elem.get("DefElem", {})
                    if option.get("defname") == "security_invoker":
                        self.invoker[relation] = subtype == "AT_SetRelOptions" and truthy(option)

    def word(self, question: tuple[str, ...]) -> Any:
        """This file's answer to ``question`` on its own (see the module's list)."""
        kind, key = question[0], tuple(question[1:])
        if kind == "rls":
            return self.rls.get(key)  # type: ignore[arg-type]
        if kind == "invoker":
            return self.invoker.get(key)  # type: ignore[arg-type]
        if kind == "policy":
            return key in self.policies
        if kind == "search_path":
            return key in self.search_path
        if kind == "policy_call":
            return key in self.policy_calls
        if kind == "replaced":
            family, schema, name, signature = key
            return (family, schema, name, signature) in self.touched or (family, schema, name, "") in self.touched
        if kind == "privileges":
            family, schema, name = key
            state: dict[str, str] = {}
            for event_family, event_schema, event_name, marks in self.privileges:
                if (event_family, event_schema) == (family, schema) and event_name in ("", name):
                    for mark in marks:
                        if mark.startswith("-"):
                            state[mark[1:]] = REVOKED
                        else:
                            state[mark] = NAMED if event_name else GRANTED
            return state
        raise ValueError(f"unknown question {question!r}")

    def topics(self) -> set[tuple[str, ...]]:
        """The ``topic`` of every question this file has a word on (an index: the others need not be asked)."""
        found: set[tuple[str, ...]] = {("rls", *key) for key in self.rls}
        found.update(("policy", *key) for key in self.policies)
        found.update(("invoker", *key) for key in self.invoker)
        found.update(("search_path", *key) for key in self.search_path)
        found.update(("policy_call", *key) for key in self.policy_calls)
        found.update(("replaced", family, schema, name) for family, schema, name, _ in self.touched)
        found.update(("privileges", family, schema, name) for family, schema, name, _ in self.privileges)
        return found

    def to_json(self) -> dict:
        return {
            "rls": sorted([*key, value] for key, value in self.rls.items()),
            "policies": sorted(list(key) for key in self.policies),
            "invoker": sorted([*key, value] for key, value in self.invoker.items()),
            "search_path": sorted(list(key) for key in self.search_path),
            "privileges": [[family, schema, name, list(marks)] for family, schema, name, marks in self.privileges],
            "touched": sorted(list(key) for key in self.touched),
            "policy_calls": sorted(list(key) for key in self.policy_calls),
        }

    @classmethod
    def from_json(cls, data: dict) -> Settles:
        return cls(
            {(s, t): bool(v) for s, t, v in data["rls"]},
            {(s, t) for s, t in data["policies"]},
            {(s, v): bool(on) for s, v, on in data["invoker"]},
            {(s, f) for s, f in data["search_path"]},
            [(family, schema, name, tuple(marks)) for family, schema, name, marks in data["privileges"]],
            {(family, schema, name, signature) for family, schema, name, signature in data["touched"]},
            {(schema, name) for schema, name in data["policy_calls"]},
        )


class Folder:
    """What the rules know about the file's objects: this file's statements, the earlier files' decisions
    (``prior``) and, through ``later(question)``, the files after it (the questions above). The later files
    are asked only about a finding that this file alone would report, each question once."""

    def __init__(
        self,
        occurrences: list[Occurrence],
        prior: Prior,
        options: LintOptions,
        later: Later | None,
        own: Settles | None = None,
    ):
        from dragonfly_bot.core.lint import grants
        from dragonfly_bot.core.lint.security import rls_decisions

        enabled, with_policy = rls_decisions(occurrences)
        self.rls_tables = enabled | prior.rls_tables
        self.policies = with_policy | prior.policy_tables
        self.exposed = options.exposed_schemas
        self.off = options.off
        covered = grants.coverage(occurrences, prior, options.private_schemas)
        self.coverage = {(c.obj.family, c.obj.schema, c.obj.name): c for c in covered}
        self.own = own if own is not None else Settles.of(occurrences)
        self._later = later
        self._answers: dict[tuple[str, ...], Any] = {}

    def after(self, *question: str) -> Any:
        """The later files' answer (none: the empty answer)."""
        if self._later is None:
            return empty_answer(question)
        if question not in self._answers:
            self._answers[question] = self._later(question)
        return self._answers[question]

    def settled(self, *question: str) -> Any:
        """This file's word, then the later files' (the newest counts)."""
        return combine(question, self.own.word(question), self.after(*question))

    def rls_on(self, table: tuple[str, str]) -> bool:
        word = self.after("rls", *table) if table not in self.rls_tables else None
        return word if word is not None else table in self.rls_tables

    def is_view(self, relation: tuple[str, str]) -> bool:
        """Whether the file creates ``relation`` as a (plain) view."""
        found = self.coverage.get(("relation", *relation))
        return found is not None and found.obj.what == "view"

    def roles(self, family: str, schema: str, name: str) -> list[str]:
        """App roles that can use the object at the end of this file."""
        from dragonfly_bot.core.lint.grants import APP_ROLES

        found = self.coverage.get((family, schema, name))
        return [r for r in APP_ROLES if found is not None and r in found.granted]

    def final_roles(self, family: str, schema: str, name: str) -> tuple[list[str], set[str]]:
        """(app roles that can use it once the later files' GRANT/REVOKE ran, roles a later GRANT names)."""
        found = self.coverage.get((family, schema, name))
        words = self.after("privileges", family, schema, name) if found is not None else {}
        if not words or found is None:
            return self.roles(family, schema, name), set()
        from dragonfly_bot.core.lint.grants import APP_ROLES, reaching

        state = {**found.state, **{r: REVOKED if w == REVOKED else GRANTED for r, w in words.items()}}
        return [r for r in APP_ROLES if r in reaching(state)], {r for r, w in words.items() if w == NAMED}


def combine(question: tuple[str, ...], earlier: Any, later: Any) -> Any:
    """The answer of two runs of statements, ``later`` after ``earlier``: the newest word counts."""
    kind = question[0]
    if kind in _LAST_WORD:
        return later if later is not None else earlier
    if kind in _ANY:
        return bool(earlier) or bool(later)
    return {**(earlier or {}), **(later or {})}  # privileges: the last word per role


def empty_answer(question: tuple[str, ...]) -> Any:
    kind = question[0]
    return None if kind in _LAST_WORD else False if kind in _ANY else {}


def topics(question: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """What a file must speak about to have a word on ``question`` (see ``Settles.topics``): a replaced
    object under any signature; a GRANT/REVOKE on the object itself or on ALL ... IN its schema ("")."""
    kind = question[0]
    if kind == "replaced":
        return (question[:4],)
    if kind == "privileges":
        return (question, (*question[:3], ""))
    return (question,)


def answer(question: tuple[str, ...], settles: Iterable[Settles]) -> Any:
    """The answer of files (their ``Settles``, in order) to ``question``."""
    result = empty_answer(question)
    for one in settles:
        result = combine(question, result, one.word(question))
    return result


def called_functions(policy: dict) -> set[tuple[str, str]]:
    """(schema, name) of every function a CREATE POLICY's USING and WITH CHECK expressions call."""
    found: set[tuple[str, str]] = set()
    stack: list[Any] = [policy.get("qual"), policy.get("with_check")]
    push, extend = stack.append, stack.extend
    while stack:  # a policy's trees are most of the folder's nodes: the loop is kept lean
        node = stack.pop()
        if type(node) is dict:
            for key, value in node.items():
                if type(value) is dict:
                    if key == "FuncCall":
                        found.add(qualified(strings(value.get("funcname"))))
                    push(value)
                elif type(value) is list:
                    extend(value)
        elif type(node) is list:
            extend(node)
    return found


def sets_search_path(options: list | None) -> bool:
    for item in options or ():
        elem = item.get("DefElem", {})
        if elem.get("defname") == "set" and elem.get("arg", {}).get("VariableSetStmt", {}).get("name") == "search_path":
            return True
    return False


def truthy(elem: dict) -> bool:
    """A reloption's value as PostgreSQL reads a boolean (``WITH (security_invoker)`` alone is true)."""
    arg = elem.get("arg")
    if arg is None:
        return True
    if "Boolean" in arg:
        return arg["Boolean"].get("boolval") is True
    value = arg.get("String", {}).get("sval") or arg.get("Integer", {}).get("ival")
    return str(value).lower() in ("true", "on", "1", "yes")
