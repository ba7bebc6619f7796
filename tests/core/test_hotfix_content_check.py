"""The hotfix content check's fixes (issue 13 items 1, 5) and bad input (item 6), pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dragonfly_bot.core.hotfix import (
    SQL_MAX_BYTES,
    Actor,
    Hotfix,
    HotfixRefused,
    HotfixState,
    check_accept,
    check_sql_file,
    declare,
    decode_sql_file,
    redacted_copy,
)
from dragonfly_bot.core.hotfix_sql import (
    compare_statements,
    content_hash,
    differences,
    link_findings,
    not_idempotent,
    same_findings,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DEV = Actor("1", "dana", can_declare=True)
LEAD = Actor("2", "lee", is_lead=True)
LEAD2 = Actor("3", "lou", is_lead=True)


def test_a_function_created_in_studio_matches_the_schema_qualified_or_replace_in_the_migration():
    studio = "create function f() returns int language sql as $$ select 1 $$;"
    migration = "create or replace function public.f() returns int language sql as $$ select 1 $$;"
    assert compare_statements(studio, migration).missing == []
    other_schema = "create or replace function private.f() returns int language sql as $$ select 1 $$;"
    assert compare_statements(studio, other_schema).missing  # another schema is another function
    assert (
        compare_statements("drop function f();", "drop function if exists public.f();").missing == []
    )  # names in ObjectWithArgs too


def test_rename_column_is_not_idempotent():
    [issue] = not_idempotent("alter table public.t rename column a to b;\n")
    assert issue.line == 1 and "second run" in issue.message
    assert not_idempotent("alter table if exists public.t rename to u;\n") == []


def test_a_same_name_index_on_another_column_is_the_silent_no_op_not_a_missing_statement():
    studio = "create index if not exists orders_idx on orders (created_at);"
    compared = compare_statements(studio, "create index if not exists orders_idx on public.orders (status);")
    assert compared.missing == []
    [same] = compared.same_name
    assert same["object"] == "index public.orders_idx" and same["if_not_exists"] is True
    unguarded = compare_statements(studio, "create index orders_idx on public.orders (status);")
    assert unguarded.same_name[0]["if_not_exists"] is False
    # Dropped first: the migration replaces Studio's index on purpose; that index is simply not carried.
    replaced = compare_statements(
        studio, "drop index if exists orders_idx;\ncreate index orders_idx on public.orders (status);"
    )
    assert replaced.same_name == [] and replaced.missing == [studio.rstrip(";")]


@pytest.mark.parametrize(
    "studio, migration, why",
    [
        (
            "update settings set auto_dunning = 'false' where id = 1;",
            "update settings set auto_dunning = 'false' where id = 1;\n"
            "update settings set auto_dunning = 'true' where id = 1;",
            "sets it back",
        ),
        (
            "alter table t alter column c set default 'a';",
            "alter table public.t alter column c set default 'a';\n"
            "alter table public.t alter column c set default 'b';",
            "sets it back",
        ),
        ("create index i on t (a);", "create index if not exists i on public.t (a);\ndrop index if exists i;", "drops"),
        (
            "alter table t add column c int;",
            "alter table t add column if not exists c int;\nalter table t drop column c;",
            "drops",
        ),
        (
            "create function f() returns int language sql as $$ select 1 $$;",
            "create or replace function public.f() returns int language sql as $$ select 1 $$;\n"
            "drop function if exists public.f();",
            "drops",
        ),
    ],
)
def test_a_migration_that_carries_the_statement_then_takes_it_back_is_undone(studio, migration, why):
    findings = link_findings(studio, migration)
    [undone] = findings["undone"]
    assert why in undone["why"] and differences(findings) == 1


@pytest.mark.parametrize(
    "studio, migration",
    [
        # another row is not an undo
        (
            "update settings set v = 'false' where id = 1;",
            "update settings set v = 'false' where id = 1;\nupdate settings set v = 'true' where id = 2;",
        ),
        # more seed rows are not an undo
        ("insert into t values (1);", "insert into t values (1) on conflict do nothing;\ninsert into t values (2);"),
        # dropped before it is created: a guard
        ("create index i on t (a);", "drop index if exists i;\ncreate index i on t (a);"),
    ],
)
def test_what_is_not_an_undo(studio, migration):
    assert differences(link_findings(studio, migration)) == 0


def test_hf_0003_other_values_are_a_difference_and_findings_are_redacted():
    findings = link_findings(
        "update settings set auto_dunning = 'false';\nalter role app password 'hunter2';",
        "update settings set auto_dunning = 'true';",
    )
    assert differences(findings) == 2 and len(findings["different_values"]) == 1
    assert findings["missing"] == ["alter role app password [REDACTED]"]


def test_the_content_hash_follows_names_and_texts():
    one = content_hash([("a.sql", "select 1;")])
    assert one == content_hash([("a.sql", "select 1;")])
    assert one != content_hash([("a.sql", "select 2;")])
    assert one != content_hash([("b.sql", "select 1;")])
    assert content_hash([("a.sql", "x"), ("b.sql", "y")]) != content_hash([("a.sqlx", ""), ("b.sql", "y")])


@pytest.mark.parametrize(
    "sql",
    ["select 1;\x00", "select '\x07';", "\x1bselect 1;"],
)
def test_nul_bytes_and_control_characters_are_one_line_refusals(sql):
    with pytest.raises(HotfixRefused) as err:
        declare(DEV, "dev", "x", sql, now=T0, reminder_hours=4)
    assert "not text" in err.value.message and "\n" not in err.value.message
    with pytest.raises(HotfixRefused, match="not text"):
        decode_sql_file("fix.sql", sql.encode())
    with pytest.raises(HotfixRefused, match="not text"):
        declare(DEV, "dev", "summary\x00", None, now=T0, reminder_hours=4)


def test_one_size_limit_for_typed_and_attached_sql():
    at_limit = "-" * SQL_MAX_BYTES
    assert declare(DEV, "dev", "x", at_limit, now=T0, reminder_hours=4).sql_text == at_limit
    check_sql_file("fix.sql", SQL_MAX_BYTES)
    over = "é" * (SQL_MAX_BYTES // 2 + 1)  # fewer characters than the limit, more bytes
    messages = []
    for attempt in (
        lambda: declare(DEV, "dev", "x", over, now=T0, reminder_hours=4),
        lambda: check_sql_file("fix.sql", SQL_MAX_BYTES + 1),
        lambda: decode_sql_file("fix.sql", over.encode()),
    ):
        with pytest.raises(HotfixRefused) as err:
            attempt()
        messages.append(err.value.message)
    assert all(f"the limit is {SQL_MAX_BYTES:,} bytes" in m for m in messages)
    with pytest.raises(HotfixRefused, match="not UTF-8"):
        decode_sql_file("fix.sql", b"\xff\xfe")


def test_the_redacted_copy_stays_within_the_limit():
    many = "password 'x';" * (SQL_MAX_BYTES // 13)  # each secret grows when redacted
    copy = redacted_copy(many)
    assert copy is not None and len(copy.encode()) <= SQL_MAX_BYTES and "'x'" not in copy
    assert redacted_copy(None) is None


def _awd(declarer: Actor) -> Hotfix:
    new = declare(declarer, "dev", "x", "select 1;", now=T0, reminder_hours=4)
    data = {**new.to_json(), "code": "HF-0001", "declared_at": new.declared_at, "next_reminder_at": None}
    return replace(Hotfix.from_mapping(data), state=HotfixState.APPLIED_WITH_DIFFERENCES)


def test_accept_rules():
    hotfix = _awd(LEAD)
    with pytest.raises(HotfixRefused, match="only a DevOps lead"):
        check_accept(hotfix, DEV, "the app sets it anyway")
    with pytest.raises(HotfixRefused, match="another DevOps lead"):
        check_accept(hotfix, LEAD, "the app sets it anyway")
    with pytest.raises(HotfixRefused, match="reason is required"):
        check_accept(hotfix, LEAD2, "ok")
    assert check_accept(hotfix, LEAD2, "token sk_live_abcdefghijklmnop is fine") == "token [REDACTED] is fine"
    for state in (HotfixState.MIGRATION_LINKED, HotfixState.SYNCED):
        with pytest.raises(HotfixRefused, match="can have them accepted"):
            check_accept(replace(hotfix, state=state), LEAD2, "the app sets it anyway")


def test_findings_stored_before_a_kind_existed_are_the_same_findings():
    new = link_findings("select 1;", "select 1;")
    old = {k: v for k, v in new.items() if k not in ("undone", "same_name")}
    assert same_findings(old, new)
    assert not same_findings(old, link_findings("select 1;", "select 2;"))
