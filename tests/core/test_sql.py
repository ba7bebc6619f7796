"""dragonfly_bot.core.sql against the real Supabase CLI and PostgreSQL's grammar."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.core.sql import canonical_form, same_sql, split_statements, statements_digest, syntax_error

TRICKY_FILES = {
    "20250101000001_comments.sql": "-- leading comment\ncreate table if not exists a (id int);\r\n\r\n  -- c2\n"
    "insert into a values (1);   \n/* block ; comment */ select 1; -- trailing\n",
    "20250101000002_quotes.sql": "select 'x;y', E'it''s;', \"weird;name\" from (select 1 as \"weird;name\") s;\n"
    "select $$a;b$$, $tag$c;d$tag$;\n",
    "20250101000003_do_block.sql": "do $$\nbegin\n  perform 1;\n  if true then perform 2; end if;\nend\n$$;\n"
    "create or replace function f() returns int language plpgsql as $body$ begin return 1; end $body$;\n",
    "20250101000004_atomic.sql": "create or replace function g() returns int language sql\nbegin atomic\n"
    "  select 1;\n  select 2;\nend;\nselect g();\n",
    "20250101000005_unicode.sql": "create table if not exists u (t text default 'é;ü');\n"
    "comment on table u is 'café';\n",
    "20250101000006_no_final_semicolon.sql": "select 1;\nselect 2",
    # Editors on Windows save a byte-order mark; the CLI does not store it.
    "20250101000007_bom.sql": "\ufeffcreate table if not exists b (id int);\n",
    "20250101000008_bom_comment.sql": "\ufeff-- header\ncreate table if not exists b2 (id int);\nselect 1;\n",
}


def test_split_matches_what_the_cli_stores(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for name, text in TRICKY_FILES.items():
        (migrations / name).write_bytes(text.encode())
    result = migration_up(scratch_db.url, migrations)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(scratch_db.url) as conn:
        stored = dict(conn.execute("select version, statements from supabase_migrations.schema_migrations").fetchall())
    assert len(stored) == len(TRICKY_FILES)
    for name, text in TRICKY_FILES.items():
        ours = [s.text for s in split_statements(text)]
        assert ours == stored[name.split("_", 1)[0]], name
        # and so the digest the view computes equals ours
        with psycopg.connect(scratch_db.url) as conn:
            (digest,) = conn.execute(
                "select md5(array_to_string(statements, chr(30))) from supabase_migrations.schema_migrations "
                "where version = %s",
                (name.split("_", 1)[0],),
            ).fetchone()
        assert digest == statements_digest(ours)


def test_split_reports_lines():
    text = "-- header\n\ncreate table a (id int);\n\nselect 1;\n"
    stmts = split_statements(text)
    assert [s.line for s in stmts] == [1, 5]
    assert text[stmts[1].start :].startswith("select 1")


def test_canonical_form_ignores_layout_but_not_meaning():
    assert same_sql("CREATE TABLE a (id INT);", "create   table a(\r\n  id integer -- the key\n)")
    assert same_sql(["select 1", "select 2"], "select 1;\nselect 2;")
    assert not same_sql("create table a (id int)", "create table a (id bigint)")
    assert not same_sql("select 'a  b'", "select 'a b'")  # whitespace inside a literal matters
    assert not same_sql("select 1", "select 2")


def test_canonical_form_of_unparseable_text_falls_back_to_tokens():
    assert canonical_form("selec  1 -- x") == canonical_form("SELEC 1")
    assert canonical_form("selec 1") != canonical_form("selec 2")


def test_syntax_error_gives_line_and_none_for_valid_sql():
    assert syntax_error("create table a (id int);\nselect 1;") is None
    err = syntax_error("create table a (id int);\n\ncreate tabel b (id int);")
    assert err is not None and err.line == 3 and "tabel" in err.message
    err = syntax_error("select 'é';\nselect (")
    assert err is not None and err.line == 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_split_and_canonical_never_raise(text):
    stmts = split_statements(text)
    assert all(s.text == s.text.strip() and s.text for s in stmts)
    canonical_form(text)
    syntax_error(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["select 1", "create table t (a int)", "select 'a;b'", "do $$ begin null; end $$"]), max_size=8
    ),
    st.sampled_from(["\n", "\r\n", "  \n\n"]),
)
def test_split_round_trips_statement_lists(stmts, newline):
    text = newline.join(s + ";" for s in stmts)
    assert [s.text for s in split_statements(text)] == stmts


@pytest.mark.parametrize("sep", ["\n", "\r\n"])
def test_digest_is_order_and_content_sensitive(sep):
    a = statements_digest(["select 1", "select 2"])
    assert a != statements_digest(["select 2", "select 1"])
    assert a != statements_digest(["select 1" + sep + "", "select 2"]) or sep == ""


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "select 1",
                "-- note",
                "/* block; */",
                "select 'a;b'",
                "create function f() returns int begin atomic select 1; end",
                "do $$ begin null; end $$",
                "",
                " ",
                "select (1)",
                "\r\n",
                "select $q$;$q$",
            ]
        ),
        max_size=10,
    ),
    st.sampled_from([";\n", "; ", ";\r\n", "\n;"]),
)
def test_fast_split_equals_the_token_walk_whenever_it_answers(parts, sep):
    from dragonfly_bot.core.sql import _split_fast, _split_tokens

    text = sep.join(parts)
    fast = _split_fast(text)
    if fast is not None:
        assert fast == _split_tokens(text)


def test_function_and_do_bodies_compare_by_tokens():
    body = (
        "create or replace function f() returns trigger language plpgsql as $$\nbegin\n  raise exception 'a';\nend;\n$$"
    )
    moved = "-- why\n" + body.replace("\n", "\r\n").replace("  raise", "      raise")
    assert same_sql(body, moved)
    assert not same_sql(body, body.replace("'a'", "'b'"))
    assert same_sql("do $$ begin perform 1; end $$", "DO $$\nBEGIN\n  PERFORM 1; -- x\nEND\n$$")
    assert not same_sql("do $$ begin perform 1; end $$", "do $$ begin perform 2; end $$")


def test_positions_inside_expressions_do_not_count():
    # PG 18 records where an IN list starts and ends; moving it is no change.
    assert same_sql("select 1 where 'a' in ('a', 'b')", "-- moved\nselect 1\nwhere 'a' in ('a','b')")
    assert not same_sql("select 1 where 'a' in ('a', 'b')", "select 1 where 'a' in ('a', 'c')")
