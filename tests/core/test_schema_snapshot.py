"""The schema snapshot text: pg_dump's entries kept as written, psql's meta-commands and secrets left out."""

from __future__ import annotations

import pytest

from dragonfly_bot.core import schema_snapshot
from dragonfly_bot.core.schema_snapshot import (
    Entry,
    Snapshot,
    SnapshotError,
    parse,
    render,
    split_dump,
    without_secrets,
)

DUMP = """--
-- PostgreSQL database dump
--

\\restrict aRandomKeyEveryDump123

-- Dumped from database version 15.8
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.f() RETURNS integer
    LANGUAGE sql
    AS $$select 1$$;


--
-- Name: USER MAPPING postgres SERVER remote; Type: USER MAPPING; Schema: -; Owner: -
--

CREATE USER MAPPING FOR postgres SERVER remote OPTIONS (user 'app', password 'hunter2-mapping');


--
-- Name: seed_key(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.seed_key() RETURNS void LANGUAGE sql
    AS $$ select vault.create_secret('sk_live_abcdefghijklmnop') $$;


--
-- PostgreSQL database dump complete
--

\\unrestrict aRandomKeyEveryDump123
"""


def test_split_keeps_entries_and_drops_psql_meta_commands():
    preamble, entries = split_dump(DUMP)
    assert preamble == "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
    assert [e.title.split(";")[0] for e in entries] == ["f()", "USER MAPPING postgres SERVER remote", "seed_key()"]
    assert entries[0].sql == "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    AS $$select 1$$;\n"
    assert all("restrict" not in e.sql and "dump complete" not in e.sql for e in entries)


def test_secrets_are_left_out_and_the_text_round_trips():
    preamble, entries = split_dump(DUMP)
    snap = Snapshot(
        ["made by a test"], ["anon", 'we"ird'], preamble, without_secrets(entries), [("2", None), ("1", "a")]
    )
    text = render(snap)
    assert "hunter2" not in text and "sk_live" not in text and "restrict" not in text
    assert "-- left out by dragonfly-bot (it holds what looks like a secret): seed_key()" in text
    assert text.index("VALUES ('1', 'a')") < text.index("VALUES ('2', NULL)")  # sorted by version
    again = parse(text)
    assert again.roles == ["anon", 'we"ird'] and again.applied == [("1", "a"), ("2", None)]
    assert [e.sql for e in again.entries] == [e.sql for e in snap.entries]
    assert render(again) == text


def test_a_file_that_is_not_a_snapshot_is_refused():
    with pytest.raises(SnapshotError, match="section: roles"):
        parse("create table t (id int);\n")
    assert schema_snapshot.SECTIONS == ("roles", "schema", "applied")
    assert Entry("t", "").sql == ""
