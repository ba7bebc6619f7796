"""``-- lint-ignore: rule-id reason`` and ``-- approved-destructive: reason`` comments.

A lint-ignore comment on a line of its own applies to the next statement (or,
inside a DO block, to the rest of that block); at the end of a line of code it
applies to the statement on that line. Before the first statement it also
covers the whole-file rules (file-name, duplicate-version, out-of-order). The
approval line applies to the whole file, as does ``-- lint-ignore-file: rule-id reason``
(for a legacy file a rule does not fit). All need a reason; a comment that
suppresses nothing is reported so stale ones do not pile up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dragonfly_bot.core.lint.model import ERROR, RULES, UNSUPPRESSIBLE, WARNING, Finding

_COMMENT = re.compile(r"--[ \t]*(?P<kind>lint-ignore-file|lint-ignore|approved-destructive)\b(?P<rest>[^\n]*)")
_IGNORE = re.compile(r"^\s*:\s*(?P<rules>[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)(?P<reason>.*)$")
_APPROVE = re.compile(r"^\s*:(?P<reason>.*)$")


@dataclass
class Suppression:
    line: int
    own_line: bool
    rules: frozenset[str]
    reason: str
    used: bool = field(default=False)
    whole_file: bool = False


@dataclass
class Comments:
    ignores: list[Suppression]
    approval: Suppression | None
    invalid: list[Finding]


def read_comments(text: str, file: str) -> Comments:
    ignores: list[Suppression] = []
    approval = None
    invalid: list[Finding] = []
    if "lint-ignore" not in text and "approved-destructive" not in text:
        return Comments(ignores, approval, invalid)
    line, counted = 1, 0  # lines counted incrementally: 200k comments must not mean 200k scans from the top
    for match in _COMMENT.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        line_start = text.rfind("\n", 0, match.start()) + 1
        own_line = not text[line_start : match.start()].strip()
        rest = match.group("rest")
        if match.group("kind") == "approved-destructive":
            parsed = _APPROVE.match(rest)
            reason = parsed.group("reason").strip() if parsed else ""
            if not reason:
                invalid.append(
                    _invalid(
                        file, line, "an approval needs a reason: `-- approved-destructive: <why the data loss is fine>`"
                    )
                )
            elif approval is None:
                approval = Suppression(line, own_line, frozenset({"destructive-operation"}), reason)
            continue
        parsed = _IGNORE.match(rest)
        if not parsed:
            invalid.append(_invalid(file, line, f"write `-- {match.group('kind')}: <rule-id> <reason>`"))
            continue
        rules = frozenset(r.strip() for r in parsed.group("rules").split(","))
        reason = parsed.group("reason").strip()
        unknown = sorted(r for r in rules if r not in RULES or r in UNSUPPRESSIBLE)
        if unknown:
            invalid.append(
                _invalid(
                    file,
                    line,
                    f"unknown or unsuppressible rule id {', '.join(unknown)}; known: "
                    + ", ".join(r for r in RULES if r not in UNSUPPRESSIBLE),
                )
            )
        elif not reason:
            invalid.append(
                _invalid(file, line, f"say why: `-- {match.group('kind')}: {', '.join(sorted(rules))} <reason>`")
            )
        else:
            whole = match.group("kind") == "lint-ignore-file"
            ignores.append(Suppression(line, own_line, rules, reason, whole_file=whole))
    return Comments(ignores, approval, invalid)


def _invalid(file: str, line: int, fix: str) -> Finding:
    return Finding(
        file, line, "invalid-suppression", ERROR, "suppression comment without a reason or a known rule id", fix
    )


def covers(sup: Suppression, finding: Finding, spans: list[tuple[int, int]]) -> bool:
    if finding.rule not in sup.rules:
        return False
    if sup.whole_file:
        return True
    if finding.span is None:  # a whole-file finding
        return sup.own_line and (not spans or sup.line < spans[0][0])
    if not sup.own_line:
        start, end = finding.span
        return start <= sup.line <= end or finding.line == sup.line
    for start, end in spans:
        if start <= sup.line <= end:  # inside a statement (a DO block): the rest of it
            return finding.span == (start, end) and finding.line > sup.line
        if start > sup.line:  # the next statement
            return finding.span == (start, end)
    return False


def _target(sup: Suppression, spans: list[tuple[int, int]]) -> str:
    """Where a suppression looks, in words."""
    if sup.whole_file:
        return "the file"
    if not sup.own_line:
        return "the statement on this line"
    for start, end in spans:
        if start <= sup.line <= end:
            return "the rest of this statement"
        if start > sup.line:
            return f"the statement at line {start}"
    return "the end of the file"


def apply(findings: list[Finding], comments: Comments, spans: list[tuple[int, int]], file: str) -> list[Finding]:
    kept: list[Finding] = []
    for finding in findings:
        if finding.rule in UNSUPPRESSIBLE:
            kept.append(finding)
            continue
        if finding.rule == "destructive-operation" and comments.approval is not None:
            comments.approval.used = True
            continue
        covering = [sup for sup in comments.ignores if covers(sup, finding, spans)]
        for sup in covering:
            sup.used = True
        if not covering:
            kept.append(finding)
    kept.extend(comments.invalid)
    for sup in comments.ignores:
        if not sup.used:
            rules = ", ".join(sorted(sup.rules))
            kind = "lint-ignore-file" if sup.whole_file else "lint-ignore"
            kept.append(
                Finding(
                    file,
                    sup.line,
                    "unused-suppression",
                    WARNING,
                    f"`{kind}: {rules}` suppresses nothing: {_target(sup, spans)} has no {rules} finding",
                    "remove the comment (or move it onto the statement it is about)",
                )
            )
    if comments.approval is not None and not comments.approval.used:
        kept.append(
            Finding(
                file,
                comments.approval.line,
                "unused-suppression",
                WARNING,
                "`approved-destructive` but the file has no destructive operation",
                "remove the approval line",
            )
        )
    return kept
