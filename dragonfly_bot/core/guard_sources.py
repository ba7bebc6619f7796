"""Commands the guard finds in code and task files rather than in shell lines (pure: text in, commands out).

* Python: argument lists (``subprocess.run(["npx", "supabase", "db", "push"])``,
  ``Popen(("supabase", "link"))``), a program and its list (``execvp("supabase", [...])``)
  and command strings run by a shell (``os.system("...")``, ``run("...", shell=True)``),
  read with ``ast`` so a docstring or a test's string that merely mentions one is not a command;
* JavaScript/TypeScript: array literals of strings (``execa("npx", ["supabase", "db", "push"])``,
  ``spawn("supabase", [...])``) and ``exec``/``execSync`` command strings;
* VS Code ``tasks.json`` (JSON with comments): each task's ``command`` with its ``args``,
  also the ``windows``/``linux``/``osx`` overrides.

Each command comes back as (line, command text); ``dragonfly_bot.core.guard`` matches the forbidden ones.
A non-literal element (a variable) stands as ``…``, which matches nothing.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

PLACEHOLDER = "…"
# Calls whose first string argument is run by a shell.
_SHELL_CALLS = frozenset({"system", "popen", "getoutput", "getstatusoutput", "exec", "execSync", "shell"})
# Calls that run a program given as a string with its argument list next to it.
_PROGRAM_CALLS = frozenset({"execa", "execaSync", "spawn", "spawnSync", "execFile", "execFileSync", "execvp", "execv"})
_SHELL_FLAGS = frozenset({"-c", "/c", "-Command", "-command", "/C"})


def argv_command(elements: list[str]) -> str | None:
    """The command an argument list runs, as one line; None when it does not run the Supabase CLI.

    ``["sh", "-c", "supabase db push"]`` runs the string after ``-c``: that string is the command.
    Otherwise one element must be the CLI itself (``supabase``, ``node_modules/.bin/supabase``), so a
    table of labels such as ``("npx supabase db push", "db-push")`` in a test is not an argument list;
    an element holding spaces is one argument and stands as ``…``."""
    from dragonfly_bot.core.guard import is_cli_token

    if len(elements) < 2:
        return None
    for index, element in enumerate(elements[:-1]):
        if element in _SHELL_FLAGS:
            return elements[index + 1]
    if not any(is_cli_token(element) for element in elements):
        return None
    return " ".join(PLACEHOLDER if re.search(r"\s", e) or not e else e for e in elements)


# ---------------------------------------------------------------- Python


def _literal(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return PLACEHOLDER


def _strings(node: ast.AST) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        values = [_literal(e) for e in node.elts]
        if sum(v != PLACEHOLDER for v in values) >= 2:
            return values
    return None


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def python_commands(text: str) -> Iterator[tuple[int, str]] | None:
    """Commands in Python source, or None when it does not parse (the caller falls back to a text scan)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    return _python_walk(tree)


def _python_walk(tree: ast.AST) -> Iterator[tuple[int, str]]:
    used: set[int] = set()  # lists already read as a call's arguments
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = _call_name(node)
            first = node.args[0]
            shell = any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords)
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if name in _SHELL_CALLS or shell:
                    yield node.lineno, first.value
                elif name in _PROGRAM_CALLS and len(node.args) > 1 and (rest := _strings(node.args[1])) is not None:
                    used.add(id(node.args[1]))
                    # execvp("supabase", ["supabase", "db", "push"]): argv[0] repeats the program
                    argv = rest if rest and rest[0] == first.value else [first.value, *rest]
                    if (command := argv_command(argv)) is not None:
                        yield node.lineno, command
        elif isinstance(node, (ast.List, ast.Tuple)) and id(node) not in used:
            values = _strings(node)
            if values is not None and (command := argv_command(values)) is not None:
                yield node.lineno, command


# ---------------------------------------------------------------- JavaScript / TypeScript

_JS_STRING = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.)*`)"
_JS_ARRAY = re.compile(r"\[\s*(" + _JS_STRING + r"(?:\s*,\s*(?:" + _JS_STRING + r"|[\w.$]+))*)\s*,?\s*\]")
_JS_PROGRAM = re.compile(r"\b(?:" + "|".join(sorted(_PROGRAM_CALLS)) + r")\s*\(\s*(" + _JS_STRING + r")\s*,\s*$")
# exec("...") / execSync("...") and zx's $`...`
_JS_SHELL = re.compile(r"(?:\b(?:exec|execSync)\s*\(\s*|\$\s*(?=`))(" + _JS_STRING + r")")
_JS_ELEMENT = re.compile(_JS_STRING + r"|[\w.$]+")


def _unquote(token: str) -> str:
    if token[:1] in "\"'`":
        body = token[1:-1]
        return re.sub(r"\\(.)", r"\1", body)
    return PLACEHOLDER


def js_commands(text: str) -> Iterator[tuple[int, str]]:
    for found in _JS_ARRAY.finditer(text):
        values = [_unquote(t) for t in _JS_ELEMENT.findall(found.group(1))]
        before = text[max(0, found.start() - 200) : found.start()]
        program = _JS_PROGRAM.search(before)
        if program is not None:
            values = [_unquote(program.group(1)), *values]
        if sum(v != PLACEHOLDER for v in values) >= 2 and (command := argv_command(values)) is not None:
            yield text.count("\n", 0, found.start()) + 1, command
    for found in _JS_SHELL.finditer(text):
        yield text.count("\n", 0, found.start()) + 1, _unquote(found.group(1))


# ---------------------------------------------------------------- VS Code tasks.json

_JSONC_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (VS Code's format) as plain JSON, lines kept in place."""

    def keep(match: re.Match) -> str:
        token = match.group()
        if token.startswith('"'):
            return token
        return "\n" * token.count("\n")  # a comment or a trailing comma goes; its newlines stay

    return _JSONC_TOKEN.sub(keep, text)


def _value(item: object) -> str:
    if isinstance(item, dict):  # {"value": "db", "quoting": "escape"}
        item = item.get("value")
    if isinstance(item, list):  # a command given as a list of lines
        return " ".join(_value(i) for i in item)
    return item if isinstance(item, str) else PLACEHOLDER


def _task_commands(task: dict) -> Iterator[str]:
    for scope in (task, *(task.get(k) for k in ("windows", "linux", "osx"))):
        if not isinstance(scope, dict) or "command" not in scope:
            continue
        args = scope.get("args", task.get("args")) or []
        parts = [_value(scope["command"]), *(_value(a) for a in args if isinstance(args, list))]
        yield " ".join(p if i == 0 or not re.search(r"\s", p) else json.dumps(p) for i, p in enumerate(parts))


def tasks_json_commands(text: str) -> Iterator[tuple[int, str]] | None:
    """Commands of a VS Code tasks.json, each at its task's ``label`` (else ``command``) line; None if unreadable."""
    try:
        document = json.loads(strip_jsonc(text))
    except ValueError:
        return None
    tasks = document.get("tasks") if isinstance(document, dict) else None
    if not isinstance(tasks, list):
        return iter(())
    lines = text.splitlines()
    return _tasks(tasks, lines)


def _tasks(tasks: list, lines: list[str]) -> Iterator[tuple[int, str]]:
    cursor = 0
    for task in tasks:
        if not isinstance(task, dict):
            continue
        label = task.get("label")
        needle = json.dumps(label) if isinstance(label, str) else '"command"'
        for index in range(cursor, len(lines)):
            if needle in lines[index]:
                cursor = index
                break
        for command in _task_commands(task):
            yield cursor + 1, command
        cursor += 1
