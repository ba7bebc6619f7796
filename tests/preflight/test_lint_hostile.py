"""Hostile input (issue 14 part 5): no traceback, no quadratic blow-up, bounded work; a fuzz over depth and size."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.lint import lint_migrations
from dragonfly_bot.core.lint.model import MigrationSource


def lint(text: str):
    return lint_migrations([MigrationSource("20250101000000_x.sql", "x.sql", text)])


def nested(kind: str, depth: int) -> str:
    if kind == "subselect":
        return "select " + "(select " * depth + "1" + ")" * depth + ";\n"
    if kind == "plpgsql-if":
        return "do $$ begin " + "if true then " * depth + "perform 1; " + "end if; " * depth + "end $$;\n"
    if kind == "comment":
        return "/*" * depth + " x " + "*/" * depth + " select 1;\n"
    if kind == "parens":
        return "select " + "(" * depth + "1" + ")" * depth + ";\n"
    return "select 1;\n" * depth


def test_three_thousand_nested_subselects_and_ifs_are_one_finding_not_a_traceback():
    for kind in ("subselect", "plpgsql-if"):
        (finding,) = lint(nested(kind, 3000))
        assert finding.rule == "too-deeply-nested" and finding.severity == "error"


def test_fifty_thousand_nested_comments_are_reported_without_parsing():
    (finding,) = lint(nested("comment", 50_000))
    assert finding.rule == "too-deeply-nested" and "50000 deep" in finding.message


def test_many_lint_ignore_lines_are_each_reported_unused():
    findings = lint("-- lint-ignore: missing-grant why\n" * 20_000 + "select 1;\n")
    assert len(findings) == 20_000 and {f.rule for f in findings} == {"unused-suppression"}


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["subselect", "plpgsql-if", "comment", "parens", "flat"]),
    st.integers(min_value=0, max_value=4000),
    st.integers(min_value=1, max_value=3),
)
def test_fuzz_nesting_depth_and_size_never_raise(kind, depth, copies):
    text = nested(kind, depth) * copies
    findings = lint(text)
    lines = text.count("\n") + 1
    for finding in findings:
        assert 1 <= finding.line <= lines and finding.message and finding.fix
