"""The diagnosis on the cases it used to get wrong (issue 12, list 1-11).

Every case is produced for real: the pinned Supabase CLI runs ``migration up
--db-url`` against a scratch database on the real PostgreSQL, its output is
wrapped as a GitHub job log, and ``explain``'s own path (``failure_from_log``
with the migrations folder) reads it (tests/fakes/cli_cases.py). Each test
asserts the file, version, line, SQLSTATE, the hint, its confidence, and what
the hint must NOT say. Runs are prefetched three at a time (the CLI takes a
second or two per run).
"""

from __future__ import annotations

import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
from dragonfly_bot.core.diagnosis import Confidence, Failure
from dragonfly_bot.relay.render_discord import render_alert
from tests.fakes.cli_cases import V1, V2, V3, Case, case_runner, execute
from tests.fakes.cli_cases import is_ as _is
from tests.fakes.cli_cases import no as _no

CASES: dict[str, Case] = {
    "dollar": Case(
        {
            f"{V1}_ok.sql": "create table public.ok (id int);\n",
            f"{V2}_fn.sql": "create function public.f() returns int language plpgsql as $$\nbegin\n"
            "  return 1;\nend;\n\ncommit;\n",
        }
    ),
    "raise_newline": Case(
        {f"{V1}_guard.sql": "do $$ begin raise exception E'orders still reference it:\\n12 rows'; end $$;\n"}
    ),
    "alias_order": Case(
        {
            f"{V1}_t.sql": "create table public.t (id int);\n",
            f"{V2}_view.sql": "create view public.v as\n  select c.id, c.org_id\n  from public.t c;\n",
            f"{V3}_org.sql": "alter table public.t add column org_id int;\n",
        }
    ),
    "typo_from_files": Case(
        {
            f"{V1}_accounts.sql": "create table public.accounts (id int, display_name text);\n",
            f"{V2}_view.sql": "create view public.v_accounts as select id, display_nme from public.accounts;\n",
        }
    ),
    "table_elsewhere": Case(
        {
            f"{V1}_audit.sql": "create schema if not exists private;\ncreate table private.audit (id int);\n",
            f"{V2}_use.sql": "insert into public.audit (id) values (1);\n",
        }
    ),
    "alias_other_table": Case(
        {
            f"{V1}_t.sql": "create table public.t (id int);\ncreate table public.plaintiffs (id int);\n",
            f"{V2}_view.sql": "create view public.v as select c.source_systm from public.t c;\n",
            f"{V3}_src.sql": "alter table public.plaintiffs add column source_system text;\n",
        }
    ),
    "drift": Case(
        {f"{V1}_p.sql": "create table public.p (id int, source_system text);\n"},
        after_setup="alter table public.p drop column source_system;",
        second={f"{V2}_use.sql": "create index p_source_idx on public.p (source_system);\n"},
    ),
    "applied_later_creator": Case(
        {
            f"{V1}_t.sql": "create table public.t (id int);\n",
            f"{V3}_org.sql": "alter table public.t add column org_id int;\n",
        },
        after_setup="alter table public.t drop column org_id;",
        second={f"{V2}_view.sql": "create view public.v as\n  select c.org_id from public.t c;\n"},
        include_all=True,
    ),
    "schema_drift": Case(
        {f"{V1}_app.sql": "create schema app;\n"},
        after_setup="drop schema app;",
        second={f"{V2}_app_t.sql": "create table app.t (id int);\n"},
    ),
    "table_order": Case(
        {
            f"{V1}_v.sql": "create view public.totals as\n  select count(*) from public.orders;\n",
            f"{V2}_orders.sql": "create table public.orders (id int);\n",
        }
    ),
    "function_order": Case(
        {
            f"{V1}_use.sql": "select public.score(1);\n",
            f"{V2}_fn.sql": "create function public.score(n int) returns int language sql as $$ select n $$;\n",
        }
    ),
    "date_part": Case({f"{V1}_report.sql": "select date_part('day', current_date - date '2025-01-01');\n"}),
    "pgmq_schema": Case({f"{V1}_queue.sql": "select pgmq.create('jobs');\n"}),
    "ci_role": Case(
        {
            f"{V1}_read.sql": "create table public.mine (id int);\n"
            "insert into public.mine select id from public.ledger;\n"
        },
        setup="create table public.ledger (id int); revoke all on public.ledger from public;",
        role=True,
    ),
    "auth_trigger": Case(
        {
            f"{V1}_hook.sql": "create function public.on_signup() returns trigger language plpgsql as $$\n"
            "begin return new; end $$;\n\ncreate trigger on_signup after insert on auth.users\n"
            "  for each row execute function public.on_signup();\n"
        },
        role=True,
    ),
    "down_section": Case(
        {
            f"{V1}_a.sql": "-- migrate:up\ncreate table public.a (id int);\n"
            "create view public.av as select * from public.a;\n"
            "\n-- migrate:down\ndrop table public.a;\n"
        }
    ),
    "return_type": Case(
        {
            f"{V1}_g.sql": "create function public.g(n int) returns int language sql as $$ select n $$;\n",
            f"{V2}_g.sql": "create or replace function public.g(n int) returns text\n"
            "  language sql as $$ select n::text $$;\n",
        }
    ),
    "overloaded": Case(
        {
            f"{V1}_o.sql": "create function public.o(int) returns int language sql as $$ select 1 $$;\n"
            "create function public.o(text) returns int language sql as $$ select 2 $$;\n",
            f"{V2}_drop.sql": "drop function public.o;\n",
        }
    ),
    "pk_not_null": Case(
        {
            f"{V1}_k.sql": "create table public.k (id int primary key);\n",
            f"{V2}_k.sql": "alter table public.k alter column id drop not null;\n",
        }
    ),
    "bad_value": Case(
        {
            f"{V1}_n.sql": "create table public.n (v text);\ninsert into public.n values ('12'), ('abc');\n"
            "alter table public.n alter column v type int using v::int;\n"
        }
    ),
    "extension_missing": Case({f"{V1}_ext.sql": "create extension if not exists pgmq;\n"}),
    "generated": Case(
        {
            f"{V1}_g.sql": "create table public.ev (at timestamptz,\n"
            "  year text generated always as (to_char(at, 'YYYY')) stored);\n"
        }
    ),
    "set_not_null": Case(
        {
            f"{V1}_nn.sql": "create table public.nn (a int);\ninsert into public.nn values (null);\n"
            "alter table public.nn alter column a set not null;\n"
        }
    ),
    "insert_select_null": Case(
        {
            f"{V1}_nn.sql": "create table public.src (a int);\ninsert into public.src values (null);\n"
            "create table public.dst (a int not null default 0);\n"
            "insert into public.dst (a) select a from public.src;\n"
        }
    ),
    "timeout_later_set": Case(
        {f"{V1}_slow.sql": "select pg_sleep(1);\nset statement_timeout = '10min';\n"},
        setup="do $$ begin execute format('alter database %I set statement_timeout = %L',"
        " current_database(), '200ms'); end $$;",
    ),
    "long_rewrite": Case(
        {
            f"{V1}_wide.sql": "create table public.wide (id int);\n",
            f"{V2}_wide.sql": "create table public.wide (\n"
            + "".join(f"  col_{i:02d} text, -- note {i}; nothing to see;\n" for i in range(30))
            + "  id int\n);\n",
        }
    ),
}


@pytest.fixture(scope="module")
def ran(scratch_databases, tmp_path_factory):
    """``ran(name)``: the case's failure. Runs start on demand, the next two prefetched (tests follow CASES'
    order), so a worker given part of this module (pytest -n) runs only its part."""
    with case_runner(CASES, scratch_databases, tmp_path_factory) as get:
        yield get


def _alert_title(f: Failure) -> str:
    run = RunInfo.from_api({"id": 7, "display_title": "Supabase Migrations (dev)", "conclusion": "failure"}, "o/r")
    return render_alert(CiAlert(run=run, environment="dev", failure=f)).embed.title or ""


CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK


def test_1_unterminated_dollar_quote_keeps_file_version_and_message(ran):
    f = ran("dollar").failure
    _is(f, f"{V2}_fn.sql", 1, "42601", "syntax_error", LIKELY)
    assert f.message.startswith("unterminated dollar-quoted string at or near")
    assert (f.statement_index, f.statement_count, f.error_line) == (0, 1, 1)
    assert "$$ opened at" in f.hint and "never closed" in f.hint
    assert _alert_title(f) == f"\u274c {V2}_fn.sql failed on dev"
    _no(f.hint, "no known fix", "commit;")
    _no(_alert_title(f), "Supabase Migrations failed")


def test_1_raise_with_a_newline_is_a_guard_with_its_message(ran):
    f = ran("raise_newline").failure
    _is(f, f"{V1}_guard.sql", 1, "P0001", "raised_exception", CHECK)
    assert f.message == "orders still reference it:\n12 rows"
    assert "orders still reference it:" in f.hint and _alert_title(f) == f"\u274c {V1}_guard.sql failed on dev"
    _no(f.hint, "no known fix", "12 rows (SQLSTATE")


def test_2_3_alias_qualified_column_with_a_later_pending_creator_is_order(ran):
    f = ran("alias_order").failure
    _is(f, f"{V2}_view.sql", 1, "42703", "column_missing", LIKELY)
    assert f.message == "column c.org_id does not exist"
    assert f"Order: {V3}_org.sql line 1 creates column org_id of public.t" in f.hint
    _no(f.hint, 'column "?"', f"rename {V3}", f"{V3}_org.sql with a timestamp earlier")


def test_3_a_later_file_adding_the_name_to_another_table_is_not_the_creator(ran):
    f = ran("alias_other_table").failure
    _is(f, f"{V2}_view.sql", 1, "42703", "column_missing", CHECK)
    assert "No migration file creates column source_systm of public.t" in f.hint
    _no(f.hint, f"{V3}_src.sql creates", "Order:", "rename")


def test_3_a_misspelt_column_gets_the_files_own_name_as_did_you_mean(ran):
    f = ran("typo_from_files").failure
    _is(f, f"{V2}_view.sql", 1, "42703", "column_missing", CHECK)
    assert "Did you mean display_name?" in f.hint, f.hint
    _no(f.hint, "Order:", "rename")


def test_3_a_table_in_another_schema_is_named_where_it_is(ran):
    f = ran("table_elsewhere").failure
    assert f.sqlstate == "42P01" and f.file == f"{V2}_use.sql", f
    assert f"A table of that name exists elsewhere: private.audit ({V1}_audit.sql)" in f.hint, f.hint
    _no(f.hint, "Order:")


def test_3_an_earlier_creator_is_drift_and_nothing_is_renamed(ran):
    f = ran("drift").failure
    _is(f, f"{V2}_use.sql", 1, "42703", "column_missing", CHECK)
    assert f"{V1}_p.sql line 1 sorts earlier and creates column source_system of public.p" in f.hint
    assert "schema_migrations" in f.hint
    _no(f.hint, "timestamp earlier", "timestamp later", f"rename {V1}", "Order:")


def test_3_a_later_creator_applied_by_include_all_is_not_called_unapplied(ran):
    """The later file is applied (an earlier run); the failing one came in with --include-all. Without the
    catalog the engine cannot know that, so it must not claim the later file is unapplied."""
    f = ran("applied_later_creator").failure
    _is(f, f"{V2}_view.sql", 1, "42703", "column_missing", LIKELY)
    assert f"{V3}_org.sql line 1 creates column org_id of public.t" in f.hint
    assert f"if {V3} is already applied here" in f.hint and "rename nothing" in f.hint
    _no(f.hint, "Neither is applied", f"rename {V3}", f"{V3}_org.sql with a timestamp")


def test_3_an_earlier_file_creating_the_schema_is_drift_for_3f000(ran):
    f = ran("schema_drift").failure
    _is(f, f"{V2}_app_t.sql", 1, "3F000", "undefined_schema", CHECK)
    assert f"{V1}_app.sql line 1 sorts earlier and creates schema app" in f.hint
    assert f"whether version {V1} is in supabase_migrations.schema_migrations" in f.hint
    _no(f.hint, "CREATE SCHEMA IF NOT EXISTS", "Order:", "timestamp later", f"rename {V1}")


def test_3_a_later_pending_file_creating_the_table_is_order_for_42p01(ran):
    f = ran("table_order").failure
    _is(f, f"{V1}_v.sql", 1, "42P01", "undefined_table", LIKELY)
    assert f"Order: {V2}_orders.sql line 1 creates table public.orders, but it sorts after {V1}_v.sql" in f.hint
    _no(f.hint, f"rename {V2}", "No migration file creates", "Neither is applied")


def test_3_a_later_pending_file_creating_the_function_is_order_for_42883(ran):
    f = ran("function_order").failure
    _is(f, f"{V1}_use.sql", 1, "42883", "undefined_function", LIKELY)
    assert f"Order: {V2}_fn.sql line 1 creates function public.score, but it sorts after {V1}_use.sql" in f.hint
    _no(f.hint, f"rename {V2}", "built-in", "argument types differ", "Neither is applied")


def test_4_a_builtin_with_wrong_argument_types(ran):
    f = ran("date_part").failure
    _is(f, f"{V1}_report.sql", 1, "42883", "undefined_function", LIKELY)
    assert "date_part is a built-in PostgreSQL function" in f.hint and "(unknown, integer)" in f.hint
    _no(f.hint, "does not exist yet", "earlier migration", "create it", "No migration file creates")


def test_5_missing_extension_schema_means_the_extension(ran):
    f = ran("pgmq_schema").failure
    _is(f, f"{V1}_queue.sql", 1, "3F000", "undefined_schema", LIKELY)
    assert "pgmq extension" in f.hint and "create extension if not exists pgmq" in f.hint
    _no(f.hint, "CREATE SCHEMA IF NOT EXISTS", "add create schema", "create schema pgmq")


def test_6_permission_denied_names_the_ci_role_not_the_api_roles(ran):
    f = ran("ci_role").failure
    _is(f, f"{V1}_read.sql", 2, "42501", "permission_denied", CHECK)
    assert "role CI connects as" in f.hint and "SELECT on public.ledger" in f.hint
    _no(f.hint, "TO authenticated, service_role")


def test_6_a_trigger_on_auth_users_needs_ownership(ran):
    f = ran("auth_trigger").failure
    _is(f, f"{V1}_hook.sql", 4, "42501", "permission_denied", CHECK)
    assert "auth.users" in f.hint and "ownership" in f.hint and "postgres" in f.hint
    _no(f.hint, "TO authenticated, service_role", "GRANT SELECT", "GRANT TRIGGER", "GRANT USAGE")


def test_7_dependent_objects_from_a_down_section_says_the_down_section_runs(ran):
    r = ran("down_section")
    f = r.failure
    _is(f, f"{V1}_a.sql", 6, "2BP01", "dependent_objects", CERTAIN)
    assert (f.statement_index, f.statement_count) == (2, 3)
    assert "migrate:down" in f.hint and "runs right after the up section" in f.hint
    _no(f.hint, "drop or recreate the dependent objects", "CASCADE")
    # The fix the hint gives works: without the down section the file applies.
    path = r.migrations / f.file
    path.write_text(path.read_text().split("-- migrate:down")[0])
    assert migration_up(r.url, r.migrations).returncode == 0


def test_8_return_type_change_gets_drop_function_first_that_runs_twice(ran):
    r = ran("return_type")
    f = r.failure
    _is(f, f"{V2}_g.sql", 1, "42P13", "function_definition", LIKELY)
    assert f.fix_sql.startswith("drop function if exists public.g(int4);")
    assert "cannot change an existing function's return type" in f.hint
    _no(f.advice, "no known fix", "create or replace function public.g")
    execute(r.db.url, f.fix_sql)
    execute(r.db.url, f.fix_sql)


def test_8_overloaded_name_lists_the_argument_lists(ran):
    f = ran("overloaded").failure
    _is(f, f"{V2}_drop.sql", 1, "42725", "ambiguous_function", LIKELY)
    assert "public.o(int4)" in f.hint and "public.o(text)" in f.hint
    _no(f.hint, "no known fix", "does not exist")


def test_8_table_definition_primary_key_column(ran):
    f = ran("pk_not_null").failure
    _is(f, f"{V2}_k.sql", 1, "42P16", "table_definition", LIKELY)
    assert "primary key" in f.hint
    _no(f.hint, "no known fix", "backfill")


def test_8_bad_value_in_a_cast_shows_the_value(ran):
    f = ran("bad_value").failure
    _is(f, f"{V1}_n.sql", 3, "22P02", "invalid_value", CHECK)
    assert '"abc" is not a valid integer' in f.hint
    _no(f.hint, "no known fix", "syntax error")


def test_8_extension_supabase_ships(ran):
    f = ran("extension_missing").failure
    _is(f, f"{V1}_ext.sql", 1, "0A000", "not_supported", LIKELY)
    assert "ships with Supabase" in f.hint and "create extension if not exists pgmq" in f.hint
    _no(f.hint, "no known fix", "not an extension", "Check the statement against")


def test_8_generated_column_over_a_mutable_function(ran):
    f = ran("generated").failure
    _is(f, f"{V1}_g.sql", 1, "42P17", "object_definition", LIKELY)
    assert "IMMUTABLE" in f.hint
    _no(f.hint, "no known fix", "Check the statement.")


def test_9_set_not_null_says_backfill_not_default(ran):
    f = ran("set_not_null").failure
    _is(f, f"{V1}_nn.sql", 3, "23502", "not_null_violation", LIKELY)
    assert "Backfill" in f.hint and "a DEFAULT would not help" in f.hint
    _no(f.hint, "or add a DEFAULT")


def test_9_insert_select_null_says_an_explicit_null_ignores_the_default(ran):
    f = ran("insert_select_null").failure
    _is(f, f"{V1}_nn.sql", 4, "23502", "not_null_violation", LIKELY)
    assert "explicit NULL does not take the column's DEFAULT" in f.hint
    _no(f.hint, "existing rows", "add a DEFAULT")


def test_10_statement_timeout_with_a_later_set_says_move_it(ran):
    f = ran("timeout_later_set").failure
    _is(f, f"{V1}_slow.sql", 1, "57014", "statement_timeout", LIKELY)
    assert "at line 2, after the statement" in f.hint
    _no(f.hint, "at the top")


def test_11_a_long_rewrite_is_complete_and_runs_twice(ran):
    r = ran("long_rewrite")
    f = r.failure
    _is(f, f"{V2}_wide.sql", 1, "42P07", "relation_exists", CERTAIN)
    assert len(f.fix_sql) > 600 and f.fix_sql.rstrip().endswith(";")
    assert f.fix_sql.count("col_") == 30 and f.hint.endswith(f.fix_sql)
    _no(f.fix_sql, "...")
    execute(r.db.url, f.fix_sql)
    execute(r.db.url, f.fix_sql)
