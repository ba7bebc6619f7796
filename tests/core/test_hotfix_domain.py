"""Hotfix rules, reminders, auto-link detection and the migration comparison (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.hotfix import (
    SQL_MAX_BYTES,
    SUMMARY_MAX,
    Actor,
    Hotfix,
    HotfixRefused,
    HotfixState,
    check_approve,
    check_link,
    check_resolve,
    codes_in_migration,
    declare,
    due_reminder,
    normalize_code,
)
from dragonfly_bot.core.hotfix_sql import link_findings, missing_statements, not_idempotent

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DEV = Actor("1", "dana", can_declare=True)
LEAD = Actor("2", "lee", is_lead=True)
OTHER = Actor("3", "olaf")


def stored(new, code="HF-0001", **changes) -> Hotfix:
    data = {**new.to_json(), "code": code, "declared_at": new.declared_at, "next_reminder_at": new.next_reminder_at}
    return replace(Hotfix.from_mapping(data), **changes)


def test_dev_declaration_is_declared_and_prod_awaits_approval():
    dev = declare(DEV, "dev", "  fix   the  index ", "create index i on t(x);", now=T0, reminder_hours=4)
    prod = declare(DEV, "PROD", "fix", None, now=T0, reminder_hours=4)
    assert dev.state is HotfixState.DECLARED and dev.summary == "fix the index"
    assert dev.sql_digest and dev.next_reminder_at == T0 + timedelta(hours=4)
    assert prod.state is HotfixState.AWAITING_APPROVAL and prod.sql_text is None


@pytest.mark.parametrize(
    "actor, env, summary, sql, expected",
    [
        (OTHER, "dev", "x", None, "hotfix role"),
        (DEV, "staging", "x", None, "dev or prod"),
        (DEV, "dev", "   ", None, "summary is empty"),
        (DEV, "dev", "x" * (SUMMARY_MAX + 1), None, f"keep it to {SUMMARY_MAX}"),
        (DEV, "dev", "x", "s" * (SQL_MAX_BYTES + 1), "the limit is"),
    ],
)
def test_declaration_refusals_are_one_line(actor, env, summary, sql, expected):
    with pytest.raises(HotfixRefused) as err:
        declare(actor, env, summary, sql, now=T0, reminder_hours=4)
    assert expected in err.value.message and "\n" not in err.value.message


def test_approval_rules():
    prod = stored(declare(LEAD, "prod", "p", None, now=T0, reminder_hours=4))
    with pytest.raises(HotfixRefused, match="another DevOps lead"):
        check_approve(prod, LEAD)
    with pytest.raises(HotfixRefused, match="only a DevOps lead"):
        check_approve(prod, DEV)
    check_approve(prod, Actor("9", "lou", is_lead=True))
    dev = stored(declare(DEV, "dev", "d", None, now=T0, reminder_hours=4))
    with pytest.raises(HotfixRefused, match="need no approval"):
        check_approve(dev, LEAD)
    with pytest.raises(HotfixRefused, match="awaiting a DevOps lead"):
        check_link(prod, DEV)


def test_resolve_rules():
    hf = stored(declare(DEV, "dev", "d", None, now=T0, reminder_hours=4), state=HotfixState.MIGRATION_LINKED)
    with pytest.raises(HotfixRefused, match="once its migration is applied"):
        check_resolve(hf, DEV, "because the index was missing")
    synced = replace(hf, state=HotfixState.SYNCED)
    with pytest.raises(HotfixRefused, match="only the declarer"):
        check_resolve(synced, OTHER, "because the index was missing")
    with pytest.raises(HotfixRefused, match="review is required"):
        check_resolve(synced, DEV, "   ")
    assert check_resolve(synced, LEAD, " because the index was missing ") == "because the index was missing"
    with pytest.raises(HotfixRefused, match="already resolved"):
        check_resolve(replace(synced, state=HotfixState.RESOLVED, resolved_by_name="dana"), DEV, "x" * 20)


def test_codes():
    assert normalize_code("hf-7") == normalize_code("HF-0007") == normalize_code("7") == "HF-0007"
    for bad in ("HF-0", "abc", "", "HF-12a"):
        with pytest.raises(HotfixRefused):
            normalize_code(bad)
    assert codes_in_migration("20251210_fix.sql", "-- hotfix: HF-0007\ncreate table x();") == {"HF-0007"}
    assert codes_in_migration("20251210_hf_0012_fix.sql", "") == {"HF-0012"}
    assert codes_in_migration("20251210_shelf_12.sql", "-- no code here") == set()


def test_reminders_go_to_declarer_then_lead_and_skip_stale_ones():
    hf = stored(declare(DEV, "dev", "d", None, now=T0, reminder_hours=4))
    assert due_reminder(hf, T0 + timedelta(hours=3, minutes=59), 4) is None
    first = due_reminder(hf, T0 + timedelta(hours=4), 4)
    assert (first.number, first.recipient, first.next_at) == (1, "declarer", T0 + timedelta(hours=8))
    assert due_reminder(replace(hf, reminders_sent=1), T0 + timedelta(hours=5), 4) is None
    late = due_reminder(replace(hf, reminders_sent=1), T0 + timedelta(hours=25), 4)
    assert (late.number, late.recipient) == (6, "lead")  # 6 * 4h = 24h: the lead; 2..5 are not sent late
    assert due_reminder(replace(hf, state=HotfixState.SYNCED), T0 + timedelta(hours=30), 4) is None


def test_missing_statements_ignore_guards_schema_and_do_blocks():
    declared = "create table foo (id int);\nALTER TABLE bar ADD COLUMN x int;\ncreate index i on foo (id);"
    migration = """-- hotfix: HF-0001
create table if not exists public.foo (id integer);
alter table public.bar add column if not exists x int;
do $$ begin if not exists (select 1 from pg_indexes where indexname = 'i') then
  create index i on foo (id);
end if; end $$;
"""
    assert missing_statements(declared, migration) == []
    assert missing_statements(declared, "create table if not exists foo (id int);") == [
        "ALTER TABLE bar ADD COLUMN x int",
        "create index i on foo (id)",
    ]


def test_not_idempotent_flags_what_fails_after_the_hotfix():
    sql = (
        "create table foo (id int);\n"
        "create table if not exists ok (id int);\n"
        "drop policy if exists p on foo;\ncreate policy p on foo for select using (true);\n"
        "create policy q on foo for select using (true);\n"
        "insert into foo values (1);\n"
    )
    issues = not_idempotent(sql)
    assert [(i.line, i.message.split(" ")[0]) for i in issues] == [(1, "CREATE"), (5, "CREATE"), (6, "INSERT")]
    findings = link_findings("create table foo (id int)", sql)
    assert findings["missing"] == [] and len(findings["not_idempotent"]) == 3


IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).map(lambda s: "t_" + s)  # never a keyword


@settings(max_examples=60, deadline=None)
@given(table=IDENT, column=IDENT, index=IDENT, drop=st.integers(min_value=0, max_value=3))
def test_guarded_migration_contains_the_declared_sql_unless_a_statement_is_left_out(table, column, index, drop):
    declared = [
        f"create table {table} (id int)",
        f"alter table {table} add column {column}_x text",
        f"create index {index}_idx on {table} (id)",
        f"insert into {table} (id) values (1)",
    ]
    guarded = [
        f"create table if not exists public.{table} (id integer)",
        f"ALTER TABLE public.{table} ADD COLUMN IF NOT EXISTS {column}_x text",
        f"do $$ begin create index {index}_idx on {table} (id); exception when duplicate_table then null; end $$",
        f"insert into public.{table} (id) values (2) on conflict do nothing",
    ]
    assert missing_statements(";\n".join(declared), ";\n".join(guarded) + ";") == []
    partial = [g for i, g in enumerate(guarded) if i != drop]
    assert missing_statements(";\n".join(declared), ";\n".join(partial) + ";") == [declared[drop]]
