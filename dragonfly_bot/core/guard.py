"""Find the protocol's forbidden Supabase CLI commands in scripts, workflows and Makefiles.

Pure: the caller passes the file's text and its kind. What counts:

* ``supabase db push`` (any prefix that runs the CLI: ``npx``, ``bunx``,
  ``pnpm exec``, a path to the binary, ``supabase@1.2.3``; flags may sit
  between the words) -> ``db-push``;
* ``supabase migration list --linked`` -> ``migration-list-linked``;
* ``supabase link`` -> ``link``;
* ``--linked`` anywhere else -> ``linked-flag``.

Labels are not commands either: YAML ``name:``, ``run-name:`` and
``description:`` values are only shown in the Actions UI.
Comments are not commands: a line that is a comment in its language (``#`` in
shell, YAML, Makefiles and PowerShell, ``<# ... #>`` blocks, ``REM``/``::`` in
batch files) and a trailing ``# ...`` after the command are ignored, so notes
that explain the protocol do not fail the build. Text in quotes is still
scanned: ``run: "supabase db push"`` runs it; an ``echo`` that mentions one is
flagged too (rare, and cheap to reword). Backslash/backtick continuations are
joined and reported at their first line.

Code and task files (Python, JavaScript/TypeScript argument lists, VS Code
``tasks.json``) are read by ``dragonfly_bot.core.guard_sources``; YAML flow lists
(``cmds: ["supabase", "db", "push"]`` in a Taskfile) are read as argument lists too.

Suppression: a comment ``guard-ignore: why`` on the offending line or on the
line above it hides that line's findings. The reason is required: a
``guard-ignore`` without one is itself a finding (``ignore-without-reason``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from dragonfly_bot.core.redact import redact

SHELL, YAML, MAKE, POWERSHELL, BATCH, PACKAGE_JSON = "shell", "yaml", "make", "powershell", "batch", "package.json"
PYTHON, JAVASCRIPT, TASKS_JSON = "python", "javascript", "tasks.json"
IGNORE_WITHOUT_REASON = "ignore-without-reason"


@dataclass(frozen=True)
class Forbidden:
    rule: str
    command: str  # as the protocol names it
    why: str
    instead: str


# The protocol's "Never Do This" table and "FORBIDDEN COMMANDS" card.
FORBIDDEN = {
    "db-push": Forbidden(
        "db-push",
        "supabase db push",
        "Bypasses migration history, causes drift",
        "Use migration files + CI (push the .sql file; CI runs `supabase migration up --db-url`)",
    ),
    "migration-list-linked": Forbidden(
        "migration-list-linked",
        "supabase migration list --linked",
        "Hangs/fails on Windows due to pooler DNS",
        "Use `tools.migration_status`",
    ),
    "link": Forbidden(
        "link",
        "supabase link",
        "Leads to --linked commands, with the same pooler DNS problems",
        "Always use `--db-url`",
    ),
    "linked-flag": Forbidden("linked-flag", "--linked", "Same DNS issues, unreliable", "Always use `--db-url`"),
    IGNORE_WITHOUT_REASON: Forbidden(
        IGNORE_WITHOUT_REASON,
        "guard-ignore without a reason",
        "A suppression nobody can review: the next reader cannot tell a deliberate exception from a mistake",
        "Write why after a colon: `guard-ignore: <why this command is safe here>`",
    ),
}


@dataclass(frozen=True)
class GuardFinding:
    file: str
    line: int
    rule: str
    text: str  # the offending line, trimmed, secrets redacted (it is printed to CI logs)
    why: str
    instead: str

    def to_dict(self) -> dict:
        return asdict(self)


_LINKED = re.compile(r"(?<![\w-])--linked(?![\w-])")
_TOKEN = re.compile(r"[^\s;&|()`'\"\[\],]+")  # brackets and commas: YAML flow lists
_CLI_TOKEN = re.compile(r"^[@+-]*(?:.*[/\\])?supabase(?:\.exe)?(?:@[\w.^~-]+)?$", re.IGNORECASE)
# Global flags that take a separate value, so the value is not read as a subcommand.
_VALUE_FLAGS = frozenset(
    {
        "--workdir",
        "--profile",
        "--output",
        "-o",
        "--dns-resolver",
        "--network-id",
        "--project-ref",
        "--db-url",
        "--password",
        "-p",
        "--schema",
        "-s",
    }
)
# YAML keys whose values are labels shown in the Actions UI, never run.
_YAML_LABEL = re.compile(r"^\s*(?:-\s+)?(?:name|run-name|description)\s*:")
_COMMENT_PREFIX = {SHELL: ("#",), YAML: ("#",), MAKE: ("#",), POWERSHELL: ("#",), BATCH: ("rem ", "::", "@rem ")}


def kind_of(file_name: str) -> str | None:
    """The language of a file by its name, or None when the guard does not scan it."""
    name = file_name.lower()
    if name == "package.json":
        return PACKAGE_JSON
    if name == "tasks.json":
        return TASKS_JSON
    if name.endswith((".py", ".pyw")):
        return PYTHON
    if name.endswith((".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx")):
        return JAVASCRIPT
    if name in ("makefile", "gnumakefile") or name.endswith(".mk"):
        return MAKE
    if name.endswith((".yml", ".yaml")):
        return YAML
    if name.endswith((".ps1", ".psm1")):
        return POWERSHELL
    if name.endswith((".bat", ".cmd")):
        return BATCH
    if name.endswith((".sh", ".bash", ".zsh")):
        return SHELL
    return None


def _strip_trailing_comment(line: str) -> str:
    """Drop `` # comment`` outside quotes (shell, YAML, Make, PowerShell)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _subcommands(tokens: list[str]) -> list[str]:
    words = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token.startswith("-"):
            skip = token in _VALUE_FLAGS
            continue
        words.append(token.lower())
    return words


def is_cli_token(word: str) -> bool:
    """Whether one word runs the Supabase CLI (``supabase``, ``./node_modules/.bin/supabase``, ``supabase@2``)."""
    return bool(_CLI_TOKEN.match(word)) and bool(_TOKEN.fullmatch(word))


def match_command(command: str) -> list[str]:
    """Rule ids a single (comment-free) command line breaks."""
    rules: list[str] = []
    for found in _TOKEN.finditer(command):
        if not _CLI_TOKEN.match(found.group()):
            continue
        # The words up to the next shell separator belong to this invocation.
        segment = re.split(r"[;&|]", command[found.start() :], maxsplit=1)[0]
        rest = _TOKEN.findall(segment)[1:]
        words = _subcommands(rest)
        if words[:2] == ["db", "push"]:
            rules.append("db-push")
        elif words[:2] == ["migration", "list"] and _LINKED.search(segment):
            rules.append("migration-list-linked")
        elif words[:1] == ["link"]:
            rules.append("link")
    if _LINKED.search(command) and not {"db-push", "migration-list-linked"} & set(rules):
        rules.append("linked-flag")
    return list(dict.fromkeys(rules))


def _logical_lines(text: str, kind: str):
    """(first line number, joined text) with continuations joined and comments dropped."""
    lines = text.splitlines()
    in_block = False
    index = 0
    while index < len(lines):
        start = index
        line = lines[index]
        index += 1
        if kind == POWERSHELL and (in_block or line.lstrip().startswith("<#")):
            in_block = "#>" not in line
            continue
        stripped = line.lstrip()
        if stripped.lower().startswith(_COMMENT_PREFIX.get(kind, ("#",))):
            continue
        if kind == YAML and _YAML_LABEL.match(line):
            continue  # a workflow/job/step name or a description: a label, not a command
        cont = "`" if kind == POWERSHELL else ("^" if kind == BATCH else "\\")
        while line.rstrip().endswith(cont) and index < len(lines):
            line = line.rstrip()[:-1] + " " + lines[index]
            index += 1
        if kind != BATCH:
            line = _strip_trailing_comment(line)
        yield start + 1, line


def scan_text(file: str, text: str, kind: str) -> list[GuardFinding]:
    if "supabase" not in text.lower() and "--linked" not in text and "guard-ignore" not in text:
        return []
    findings = []
    for line_no, command, *shown in _commands(text, kind):
        for rule in match_command(command):
            info = FORBIDDEN[rule]
            findings.append(
                GuardFinding(file, line_no, rule, redact((shown or [command])[0].strip()), info.why, info.instead)
            )
    # A YAML flow list is read as a list and as a line: one finding per line and rule.
    findings = sorted({(f.line, f.rule): f for f in reversed(findings)}.values(), key=lambda f: (f.line, f.rule))
    if "guard-ignore" not in text:
        return findings
    covered, bare = _suppressions(text, kind)
    kept = [f for f in findings if f.line not in covered]
    for line_no, line in bare:
        info = FORBIDDEN[IGNORE_WITHOUT_REASON]
        kept.append(GuardFinding(file, line_no, IGNORE_WITHOUT_REASON, redact(line.strip()), info.why, info.instead))
    return sorted(kept, key=lambda f: (f.line, f.rule))


def _commands(text: str, kind: str):
    """(line, command text[, how to show it]) of everything in the file that may run a command."""
    from dragonfly_bot.core import guard_sources

    if kind == PACKAGE_JSON:
        yield from _package_json_commands(text)
        return
    found = None
    if kind == PYTHON:
        found = guard_sources.python_commands(text)
    elif kind == TASKS_JSON:
        found = guard_sources.tasks_json_commands(text)
    elif kind == JAVASCRIPT:
        found = guard_sources.js_commands(text)
    if found is not None:
        yield from found
        return
    if kind in (PYTHON, TASKS_JSON):  # did not parse: read it as text lists and lines
        yield from guard_sources.js_commands(text)
    if kind == YAML:
        yield from guard_sources.js_commands(text)
    yield from _logical_lines(text, kind)


# `# guard-ignore: why`, `// guard-ignore: why`, `-- ...`, `/* ... */`, `<!-- ... -->`, REM / :: in batch files.
_SUPPRESSION = re.compile(
    r"(?:#|//|--|/\*|<!--|<#|\brem\b|::)\s*guard-ignore\b(?P<colon>\s*:)?(?P<reason>[^\n]*)", re.IGNORECASE
)


def _suppressions(text: str, kind: str) -> tuple[set[int], list[tuple[int, str]]]:
    """Lines hidden by a ``guard-ignore: why`` (its own and the next), and the ``guard-ignore``s without a why."""
    lines = text.splitlines()
    comment_lines = _python_comments(text) if kind == PYTHON else None
    covered: set[int] = set()
    bare: list[tuple[int, str]] = []
    for index, line in enumerate(lines, start=1):
        if "guard-ignore" not in line.lower():
            continue
        source = comment_lines.get(index, "") if comment_lines is not None else line
        found = _SUPPRESSION.search(source)
        if found is None:
            continue
        reason = re.sub(r"(?:\*/|-->|#>)\s*$", "", found.group("reason")).strip()
        if found.group("colon") and reason:
            covered.update((index, index + 1))
        else:
            bare.append((index, line))
    return covered, bare


def _python_comments(text: str) -> dict[int, str]:
    """Line -> its ``#`` comment, from the tokenizer (text in strings and docstrings is not a comment)."""
    import io
    import tokenize

    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError):
        pass
    return comments


def _package_json_commands(text: str):
    """Only the ``scripts`` values are commands; each is reported as ``"name": "command"`` at its line."""
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return
    if not isinstance(scripts, dict):
        return
    lines = text.splitlines()
    anchor = next((i for i, line in enumerate(lines) if '"scripts"' in line), 0)
    for name, command in scripts.items():
        if not isinstance(command, str) or not match_command(command):
            continue
        key = json.dumps(name)
        line_no = next((i + 1 for i in range(anchor, len(lines)) if key in lines[i]), anchor + 1)
        yield line_no, command, f"{key}: {json.dumps(command)}"
