"""The lint baseline: today's findings of a legacy history, recorded so that only new ones are reported.

A finding's fingerprint is its rule, its file (as the config's root sees it) and its statement
normalised (comments dropped, whitespace collapsed, case folded), plus how many identical
fingerprints came before it in the file. Lines are not part of it: adding a statement above an
old one, or re-indenting it, keeps the old finding baselined. A baselined finding that no longer
appears is *stale*: reported as a warning, so the baseline shrinks as legacy problems are fixed.

Pure: the caller reads and writes the JSON file (``to_json`` / ``from_json``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass

from dragonfly_bot.core.lint.model import WARNING, Finding

FORMAT = 1
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_SPACE = re.compile(r"\s+")
_AROUND_PUNCTUATION = re.compile(r" ?([^\w ]) ?")


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    rule: str
    file: str  # relative to the config's root, "/"-separated
    line: int  # where it was when written (shown for a stale entry; not matched on)
    message: str


def normalised(statement: str) -> str:
    spaced = _SPACE.sub(" ", _COMMENTS.sub(" ", statement)).strip().lower()
    return _AROUND_PUNCTUATION.sub(r"\1", spaced)


def statement_of(finding: Finding, lines: list[str]) -> str:
    """The text of the finding's statement (its span), or "" for a whole-file finding."""
    if finding.span is None:
        return ""
    start, end = finding.span
    return "\n".join(lines[start - 1 : end])


def entries(findings: list[Finding], texts: dict[str, str], file_key) -> list[Entry]:
    """An entry per finding; ``texts[finding.file]`` is the file's text, ``file_key(finding.file)`` its
    path relative to the root."""
    seen: Counter[tuple[str, str, str]] = Counter()
    split: dict[str, list[str]] = {}
    out = []
    for finding in sorted(findings, key=_order):
        lines = split.setdefault(finding.file, (texts.get(finding.file) or "").splitlines())
        key = (finding.rule, file_key(finding.file), normalised(statement_of(finding, lines)))
        nth = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\0".join((*key, str(nth))).encode()).hexdigest()[:20]
        out.append(Entry(digest, finding.rule, key[1], finding.line, finding.message))
    return out


def split(
    findings: list[Finding], baseline: list[Entry], texts: dict[str, str], file_key, checked_files: set[str]
) -> tuple[list[Finding], list[Finding]]:
    """(findings not in the baseline, stale-baseline warnings). An entry is stale when its file was
    checked in this run (``checked_files``, root-relative) or no longer exists in the set; entries of
    files this run did not look at (``--changed-since``) are left alone."""
    recorded = Counter(e.fingerprint for e in baseline)
    ordered = sorted(findings, key=_order)
    kept = []
    for finding, entry in zip(ordered, entries(ordered, texts, file_key), strict=True):
        if recorded[entry.fingerprint] > 0:
            recorded[entry.fingerprint] -= 1
        else:
            kept.append(finding)
    stale = []
    for entry in baseline:
        if recorded[entry.fingerprint] > 0 and entry.file in checked_files:
            recorded[entry.fingerprint] -= 1
            stale.append(
                Finding(
                    entry.file,
                    entry.line,
                    "stale-baseline",
                    WARNING,
                    f"baselined {entry.rule} finding is gone (was: {entry.message})",
                    "run `dragonfly-bot lint --write-baseline` to drop it from the baseline",
                )
            )
    return kept, stale


def _order(f: Finding):
    return (f.file, f.line, f.rule, f.message)


def to_json(baseline: list[Entry]) -> str:
    rows = [e.__dict__ for e in sorted(baseline, key=lambda e: (e.file, e.line, e.rule, e.fingerprint))]
    return json.dumps({"format": FORMAT, "findings": rows}, indent=1) + "\n"


def from_json(text: str) -> list[Entry]:
    """Raises ValueError with what is wrong."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("findings"), list):
        raise ValueError(f'expected {{"format": {FORMAT}, "findings": [...]}}')
    try:
        return [
            Entry(str(r["fingerprint"]), str(r["rule"]), str(r["file"]), int(r["line"]), str(r["message"]))
            for r in data["findings"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a finding lacks {exc}") from None
