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
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from bot.core.redact import redact

SHELL, YAML, MAKE, POWERSHELL, BATCH, PACKAGE_JSON = "shell", "yaml", "make", "powershell", "batch", "package.json"


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
_TOKEN = re.compile(r"[^\s;&|()`'\"]+")
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
    if kind == PACKAGE_JSON:
        return _scan_package_json(file, text)
    if "supabase" not in text.lower() and "--linked" not in text:
        return []
    findings = []
    for line_no, line in _logical_lines(text, kind):
        for rule in match_command(line):
            rule_info = FORBIDDEN[rule]
            findings.append(GuardFinding(file, line_no, rule, redact(line.strip()), rule_info.why, rule_info.instead))
    return findings


def _scan_package_json(file: str, text: str) -> list[GuardFinding]:
    """Only the ``scripts`` values are commands."""
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return []
    if not isinstance(scripts, dict):
        return []
    lines = text.splitlines()
    anchor = next((i for i, line in enumerate(lines) if '"scripts"' in line), 0)
    findings = []
    for name, command in scripts.items():
        if not isinstance(command, str):
            continue
        rules = match_command(command)
        if not rules:
            continue
        key = json.dumps(name)
        line_no = next((i + 1 for i in range(anchor, len(lines)) if key in lines[i]), anchor + 1)
        for rule in rules:
            info = FORBIDDEN[rule]
            findings.append(
                GuardFinding(file, line_no, rule, redact(f"{key}: {json.dumps(command)}"), info.why, info.instead)
            )
    return findings
