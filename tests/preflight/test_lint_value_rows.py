"""Seed files: the parse tree is decoded without the bulk of their VALUES rows, and nothing a rule sees changes."""

from __future__ import annotations

import json

from pglast import parser as pg

from dragonfly_bot.core.lint import MigrationSource, lint_migrations
from dragonfly_bot.core.lint.parse import parse_file
from dragonfly_bot.core.lint.value_rows import blank_value_rows


def seed(rows: int, tail: str = " on conflict do nothing;") -> str:
    values = ",\n".join(f"    ({i}, 'naïve café #{i}', now(), coalesce(null, ({i} + 1)))" for i in range(rows))
    return (
        "create table if not exists public.items (id int primary key, label text, at timestamptz, n int);\n"
        f"insert into public.items (id, label, at, n) values\n{values}\n{tail}\n"
        "create table public.after_seed (id int);\n"
    )


def test_rows_after_the_first_are_blanked_with_bytes_and_lines_kept():
    text = seed(400)
    blanked = blank_value_rows(text, pg.split(text, only_slices=True))
    assert blanked is not None
    assert len(blanked.encode()) == len(text.encode()) and blanked.count("\n") == text.count("\n")
    (insert,) = [s for s in json.loads(pg.parse_sql_json(blanked))["stmts"] if "InsertStmt" in s["stmt"]]
    node = insert["stmt"]["InsertStmt"]
    assert len(node["selectStmt"]["SelectStmt"]["valuesLists"]) == 1 and "onConflictClause" in node
    assert "naïve café #399" not in blanked and "naïve café #0" in blanked


def test_findings_are_the_same_as_from_the_whole_tree():
    for tail in (" on conflict do nothing;", ";"):
        text = seed(400, tail)
        found = lint_migrations([MigrationSource("20250101000000_seed.sql", "seed.sql", text)])
        rules = sorted((f.rule, f.line) for f in found)
        after = text.count("\n", 0, text.index("create table public.after_seed")) + 1
        assert ("create-without-if-not-exists", after) in rules  # lines after the seed are still right
        assert (("insert-without-on-conflict", 2) in rules) is (tail == ";")
        statement = parse_file(text).occurrences[1].text  # the statement as written: every row (fixes quote it)
        assert "naïve café #399" in statement and statement.endswith(tail.strip(" ;") or "(399 + 1)))")


def test_a_syntax_error_in_a_late_row_is_still_reported():
    text = seed(400).replace("(350, 'naïve", "(350 'naïve")
    found = lint_migrations([MigrationSource("20250101000000_seed.sql", "seed.sql", text)])
    assert [f.rule for f in found] == ["parse-error"]


def test_unusual_statements_are_left_whole():
    text = seed(400).replace("'naïve café #7'", "$$dollar #7$$")
    assert blank_value_rows(text, pg.split(text, only_slices=True)) is None
    nested = "insert into public.items select * from (values " + ", ".join(f"({i})" for i in range(2000)) + ") v;\n"
    assert blank_value_rows(nested, pg.split(nested, only_slices=True)) is None
