"""The rule corpus: each bad file breaks exactly its rule, each good file passes every rule.

Files live in tests/preflight/lint_corpus/<rule-id>/. Header comments steer a case:
``-- corpus-file: NAME`` (the migration file name to lint it under),
``-- corpus-others: A, B`` (the other files in its folder),
``-- corpus-changed: true|edited`` (linted as a new / an edited file against the others),
``-- expect-line: N`` (the line the finding must point at),
``-- corpus-prior: SQL`` (an earlier migration's text, e.g. its default privileges),
``-- corpus-later: SQL`` (a later migration's text, e.g. the policies for this file's tables),
``-- corpus-private: a, b`` (the config's private schemas).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dragonfly_bot.core.lint import RULES, LintOptions, MigrationSource, lint_migrations
from dragonfly_bot.core.lint.model import DEFAULT_OFF, RUN_RULES

CORPUS = Path(__file__).parent / "lint_corpus"
CASES = sorted(CORPUS.glob("*/*.sql"))
DEFAULT_NAME = "20251209143000_corpus_case.sql"
PRIOR_NAME = "20200101000000_prior.sql"
LATER_NAME = "20991231000000_later.sql"


def _directive(text: str, name: str) -> str | None:
    match = re.search(rf"^-- {name}: *(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def lint_case(path: Path):
    text = path.read_text()
    name = _directive(text, "corpus-file") or DEFAULT_NAME
    others = [o.strip() for o in (_directive(text, "corpus-others") or "").split(",") if o.strip()]
    changed = _directive(text, "corpus-changed")
    source = MigrationSource(name, str(path.relative_to(CORPUS)), text, is_new=changed != "edited")
    prior, later = _directive(text, "corpus-prior"), _directive(text, "corpus-later")
    if prior:
        others.append(PRIOR_NAME)
    if later:
        others.append(LATER_NAME)
        source = MigrationSource(name, source.path, text, is_new=False)  # the later file is applied already
    private = frozenset(s.strip() for s in (_directive(text, "corpus-private") or "").split(",") if s.strip())
    options = LintOptions(private_schemas=private, off=DEFAULT_OFF - {path.parent.name})
    return lint_migrations([source], others, {PRIOR_NAME: prior, LATER_NAME: later}.get, options)


def test_corpus_covers_every_rule_with_bad_and_good_files():
    rules = {p.parent.name for p in CASES}
    assert rules == set(RULES) - RUN_RULES
    for rule in rules:
        names = [p.name for p in CASES if p.parent.name == rule]
        assert any(n.startswith("bad_") for n in names), rule
        assert any(n.startswith("good_") for n in names), rule


@pytest.mark.parametrize(
    "path", [p for p in CASES if p.name.startswith("bad_")], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_bad_file_fails_exactly_its_rule(path: Path):
    findings = lint_case(path)
    assert {f.rule for f in findings} == {path.parent.name}, [f.to_dict() for f in findings]
    for finding in findings:
        assert finding.message and finding.fix
        assert finding.severity in ("error", "warning")
    expected_line = _directive(path.read_text(), "expect-line")
    if expected_line:
        assert [f.line for f in findings] == [int(expected_line)] * len(findings)


@pytest.mark.parametrize(
    "path", [p for p in CASES if p.name.startswith("good_")], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_good_file_passes_everything(path: Path):
    findings = lint_case(path)
    assert findings == [], [f.to_dict() for f in findings]


def test_renames_suggested_for_several_files_are_distinct_and_keep_their_order():
    """Two new files behind main's newest migration, and one reusing a version: following every fix literally
    must not create a new duplicate, and must keep the new files in the order they were written."""
    import re as _re

    others = ["20251201000000_a.sql", "20251203000000_c.sql", "20251203000001_d.sql"]
    targets = [
        MigrationSource(name, name, "select 1;\n", is_new=True)
        for name in ("20251202000000_b.sql", "20251202000100_b2.sql", "20251203000000_dup.sql")
    ]
    findings = lint_migrations(targets, others)
    suggested = {}
    for f in findings:
        assert f.rule in ("out-of-order", "duplicate-version")
        suggested.setdefault(f.file, set()).update(_re.findall(r"e\.g\. (\d{14})_", f.fix))
    assert all(len(v) == 1 for v in suggested.values()), suggested
    versions = [suggested[t.name].pop() for t in targets]
    assert len(set(versions)) == 3 and not set(versions) & {o[:14] for o in others}
    assert versions[0] < versions[1]  # b still runs before b2
    assert all(v > "20251203000001" for v in versions)
