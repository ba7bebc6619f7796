"""Lint findings for a terminal, for machines (JSON) and for GitHub Actions annotations."""

from __future__ import annotations

import json
from itertools import groupby

from dragonfly_bot.core.lint.model import ERROR, Finding


def render_text(findings: list[Finding], files_checked: int, baselined: int = 0) -> str:
    hidden = f" ({baselined} baselined finding{'s' if baselined != 1 else ''} not shown)" if baselined else ""
    if not findings:
        return f"No problems in {files_checked} migration file{'s' if files_checked != 1 else ''}.{hidden}"
    out: list[str] = []
    ordered = sorted(findings, key=lambda f: (f.file, f.line, f.rule))
    for file, group in groupby(ordered, key=lambda f: f.file):
        out.append(file)
        for f in group:
            out.append(f"  line {f.line}: {f.severity} [{f.rule}] {f.message}")
            if f.fix:
                # a replay hint writes its SQL on lines of its own: keep them under the "fix:"
                out.append("      fix: " + f.fix.replace("\n", "\n           "))
        out.append("")
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = len(findings) - errors
    files = len({f.file for f in findings})
    out.append(
        f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
        f"in {files} of {files_checked} file{'s' if files_checked != 1 else ''}.{hidden}"
    )
    return "\n".join(out)


def render_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2)


def escape_data(text: str) -> str:
    # GitHub's workflow-command encoding (toolkit/core command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, file: str, line: int, title: str, body: str) -> str:
    """One GitHub Actions ``::error``/``::warning`` workflow command (lint and guard)."""
    return f"::{level} file={escape_property(file)},line={line},title={escape_property(title)}::{escape_data(body)}"


def render_github(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        level = "error" if f.severity == ERROR else "warning"
        body = f.message + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(annotation(level, f.file, f.line, f.rule, body))
    return "\n".join(lines)
