"""Precision: realistic migrations get no findings, and text PostgreSQL accepts never gets parse-error."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.lint import MigrationSource, lint_migrations
from dragonfly_bot.core.sql import split_statements, syntax_error

PRECISION = Path(__file__).parent / "lint_precision"
FILES = sorted(PRECISION.glob("*.sql"))
STATEMENTS = [s.text for path in FILES for s in split_statements(path.read_text())]


def test_precision_corpus_has_no_findings():
    assert len(FILES) >= 20
    sources = [MigrationSource(p.name, p.name, p.read_text()) for p in FILES]
    assert lint_migrations(sources) == []


def test_precision_corpus_as_new_files_after_the_old_ones():
    *old, new = FILES
    findings = lint_migrations([MigrationSource(new.name, new.name, new.read_text())], [p.name for p in old])
    assert findings == []


_COMMENT = st.sampled_from(["", "-- note\n", "/* block\n comment */ ", "\n\n", "   "])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_COMMENT, st.sampled_from(STATEMENTS), st.booleans()), min_size=1, max_size=8))
def test_accepted_sql_never_gets_parse_error_and_lines_stay_in_the_file(parts):
    text = "".join(
        f"{comment}{stmt.upper() if upper and '$' not in stmt and chr(39) not in stmt else stmt};\n"
        for comment, stmt, upper in parts
    )
    assert syntax_error(text) is None  # PostgreSQL's grammar accepts it
    findings = lint_migrations([MigrationSource("20250101000000_x.sql", "x.sql", text)])
    assert "parse-error" not in {f.rule for f in findings}
    line_count = text.count("\n") + 1
    assert all(1 <= f.line <= line_count for f in findings)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_findings_never_an_exception(text):
    findings = lint_migrations([MigrationSource("20250101000000_x.sql", "x.sql", text)])
    parse_errors = [f for f in findings if f.rule == "parse-error"]
    # one finding per broken statement, none for text PostgreSQL accepts (the lint drops a byte-order mark first)
    assert bool(parse_errors) == bool(syntax_error(text.removeprefix("\ufeff")))
    line_count = text.count("\n") + 1
    for finding in findings:
        assert 1 <= finding.line <= line_count and finding.message


def _first_token_line(statement) -> int:
    import re

    trivia = re.match(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", statement.text, re.DOTALL).end()
    return statement.line + statement.text.count("\n", 0, trivia)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_COMMENT, st.sampled_from(STATEMENTS)), min_size=1, max_size=8))
def test_statement_lines_agree_with_the_cli_splitter(parts):
    """Lint lines are split_statements' lines (the CLI's statements), moved past leading comments."""
    from dragonfly_bot.core.lint import parse_file

    text = "".join(f"{comment}{stmt};\n" for comment, stmt in parts)
    parsed = parse_file(text)
    statements = split_statements(text)
    assert [start for start, _end in parsed.spans] == [_first_token_line(s) for s in statements]
