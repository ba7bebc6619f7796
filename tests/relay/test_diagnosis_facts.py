"""Catalog facts sharpen the diagnosis (issue 12, "Use the database when CI has it").

Each case fails for real (the pinned Supabase CLI against the real PostgreSQL,
wrapped as a GitHub job log, as in tests/relay/test_diagnosis_cases.py). The same log
is explained twice, the way ``explain`` does: without a database, then with
``--db-url`` (read-only catalog facts, as the role CI connected as). Each test
asserts how the fact changes the hint and its confidence, and what the hint
must NOT say.
"""

from __future__ import annotations

import argparse
import io
import json

import pytest

from dragonfly_bot.adapters.supabase.catalog import read_facts
from dragonfly_bot.core.diagnosis import Confidence, Facts, Failure
from dragonfly_bot.core.diagnosis.facts import FACTS_LINE, facts_query
from dragonfly_bot.relay import explain_command as explain
from dragonfly_bot.relay.explain_command import failure_from_log, render_text
from tests.fakes.cli_cases import V1, V2, V3, Case, Ran, case_runner
from tests.fakes.cli_cases import no as _no
from tests.relay.test_diagnosis_cases import CASES

FACT_CASES: dict[str, Case] = {
    "other_schema": Case(
        {f"{V1}_recent.sql": "create view public.recent as\n  select id from orders;\n"},
        setup="create schema sales; create table sales.orders (id int);",
    ),
    "similar_column": Case(
        {f"{V1}_idx.sql": "create index p_source_idx on public.p (source_systm);\n"},
        setup="create table public.p (id int, source_system text);",
    ),
    "ci_role": CASES["ci_role"],
    "auth_trigger": CASES["auth_trigger"],
    "drift": CASES["drift"],
    "applied_later_creator": CASES["applied_later_creator"],
    "alias_order": CASES["alias_order"],
    "pgmq_schema": CASES["pgmq_schema"],
    "extension_missing": CASES["extension_missing"],
    "function_extension_available": Case({f"{V1}_search.sql": "select similarity('abc', 'abd');\n"}),
    "long_rewrite": CASES["long_rewrite"],
    "function_in_other_schema": Case(
        {f"{V1}_search.sql": "select similarity('abc', 'abd');\n"},
        # Not schema extensions: the CLI's search_path has it (a call there would not fail).
        setup="create schema util; create extension pg_trgm with schema util;",
    ),
}


@pytest.fixture(scope="module")
def ran(scratch_databases, tmp_path_factory):
    with case_runner(FACT_CASES, scratch_databases, tmp_path_factory) as get:
        yield get


def both(r: Ran) -> tuple[Failure, Failure]:
    """(explained without a database, explained with --db-url as the CI role)."""
    plain = failure_from_log(io.BytesIO(r.log), r.migrations)
    with_facts = failure_from_log(io.BytesIO(r.log), r.migrations, db_url=r.url)
    assert plain is not None and with_facts is not None
    assert with_facts.facts is not None and with_facts.facts.known, with_facts.facts
    # The facts are read as the role CI connected as.
    assert with_facts.facts.current_user == (r.role or "postgres")
    # Same failure either way: the facts change the hint only.
    assert (plain.file, plain.version, plain.line, plain.sqlstate) == (
        with_facts.file,
        with_facts.version,
        with_facts.line,
        with_facts.sqlstate,
    )
    return plain, with_facts


def test_the_object_in_another_schema(ran):
    plain, f = both(ran("other_schema"))
    assert (f.sqlstate, f.category, f.line) == ("42P01", "undefined_table", 1)
    assert plain.confidence == Confidence.CHECK and "sales" not in plain.hint
    assert f.facts.other_schemas == ("sales",)
    assert "the database has sales.orders" in f.hint and "write sales.orders" in f.hint
    assert f.confidence == Confidence.LIKELY
    _no(f.hint, "whether the migration that should create it is missing", "rename")


def test_similar_column_names_on_that_table(ran):
    plain, f = both(ran("similar_column"))
    assert (f.sqlstate, f.category) == ("42703", "column_missing")
    assert "source_system" not in plain.hint and plain.confidence == Confidence.CHECK
    assert f.facts.similar_columns == ("source_system",) and f.facts.table_exists is True
    assert "did you mean source_system?" in f.hint and f.confidence == Confidence.LIKELY
    _no(f.hint, "whether the migration that should create it is missing", "Order:", "rename")


def test_permission_denied_names_the_ci_role_and_its_privileges(ran):
    r = ran("ci_role")
    plain, f = both(r)
    assert (f.sqlstate, f.category, f.line) == ("42501", "permission_denied", 2)
    assert plain.confidence == Confidence.CHECK and "<CI role>" in plain.hint
    assert f.facts.object_owner == "postgres" and f.facts.is_owner is False
    assert ("SELECT", False) in f.facts.privileges
    assert f"{r.role}, the role CI connects as, lacks SELECT on public.ledger" in f.hint
    assert f"GRANT SELECT ON public.ledger TO {r.role};" in f.hint and f.confidence == Confidence.LIKELY
    _no(f.hint, "TO authenticated, service_role", "<CI role>", "the DB_URL user")


def test_a_trigger_on_auth_users_needs_ownership_the_ci_role_lacks(ran):
    r = ran("auth_trigger")
    plain, f = both(r)
    assert (f.sqlstate, f.category, f.line) == ("42501", "permission_denied", 4)
    assert plain.confidence == Confidence.CHECK and "is owned by" not in plain.hint
    assert f.facts.object_name == "auth.users" and f.facts.is_owner is False
    assert f"auth.users is owned by postgres; {r.role}, the role CI connects as, is not its owner" in f.hint
    assert "needs ownership" in f.hint and f.confidence == Confidence.LIKELY
    _no(f.hint, "GRANT SELECT", "GRANT TRIGGER", "TO authenticated, service_role")


def test_an_earlier_creator_recorded_in_schema_migrations_is_drift(ran):
    plain, f = both(ran("drift"))
    assert (f.file, f.version, f.sqlstate) == (f"{V2}_use.sql", V2, "42703")
    assert "that file failed" in plain.hint  # without facts, failing is one of the possibilities
    assert f.facts.applied_versions == ((V1, True),)
    assert f"version {V1} is in supabase_migrations.schema_migrations here" in f.hint
    assert f.confidence == Confidence.CHECK
    _no(f.hint, "that file failed", "timestamp earlier", f"rename {V1}", "Order:")


def test_a_later_creator_recorded_in_schema_migrations_is_drift_not_order(ran):
    plain, f = both(ran("applied_later_creator"))
    assert (f.file, f.version, f.line, f.sqlstate) == (f"{V2}_view.sql", V2, 1, "42703")
    assert plain.hint.startswith("Order:") and plain.confidence == Confidence.LIKELY
    assert f.facts.applied_versions == ((V3, True),)
    assert f"version {V3} is in supabase_migrations.schema_migrations here although it sorts after" in f.hint
    assert "the schema drifted" in f.hint and f.confidence == Confidence.CHECK
    _no(f.hint, "Order:", "timestamp later", "Neither is applied", "Move the statement")


def test_a_later_creator_not_in_schema_migrations_is_order(ran):
    plain, f = both(ran("alias_order"))
    assert f.facts.applied_versions == ((V3, False),)
    assert f"Neither is applied here ({V2}_view.sql just failed; schema_migrations has no {V3})" in f.hint
    assert f.confidence == Confidence.LIKELY and "if " + V3 + " is already applied" in plain.hint
    _no(f.hint, "--include-all", "drifted")


def test_an_extension_schema_whose_extension_this_server_lacks(ran):
    plain, f = both(ran("pgmq_schema"))
    assert (f.sqlstate, f.category) == ("3F000", "undefined_schema")
    assert "create extension if not exists pgmq" in plain.hint and plain.confidence == Confidence.LIKELY
    assert (f.facts.extension, f.facts.extension_available) == ("pgmq", False)
    assert "pg_available_extensions has no pgmq" in f.hint and f.confidence == Confidence.CHECK
    _no(f.hint, "create extension if not exists pgmq", "CREATE SCHEMA IF NOT EXISTS")


def test_0a000_extension_not_available_says_no_migration_can_enable_it(ran):
    plain, f = both(ran("extension_missing"))
    assert (f.sqlstate, f.category) == ("0A000", "not_supported")
    assert "Database -> Extensions" in plain.hint
    assert f.facts.extension_available is False
    assert "no migration can enable it here" in f.hint and f.confidence == Confidence.CHECK
    _no(f.hint, "Database -> Extensions", "create extension if not exists")


def test_42883_on_a_function_of_an_available_extension(ran):
    plain, f = both(ran("function_extension_available"))
    assert (f.sqlstate, f.category, f.line) == ("42883", "undefined_function", 1)
    assert "No migration file creates function public.similarity" in plain.hint
    assert (f.facts.extension, f.facts.extension_available, f.facts.extension_installed_schema) == (
        "pg_trgm",
        True,
        "",
    )
    assert "similarity comes from the pg_trgm extension, which this database offers" in f.hint
    assert "create extension if not exists pg_trgm with schema extensions" in f.hint
    assert f.confidence == Confidence.LIKELY
    _no(f.hint, "No migration file creates", "built-in")


def test_42883_on_a_function_installed_in_another_schema(ran):
    plain, f = both(ran("function_in_other_schema"))
    assert f.sqlstate == "42883" and f.facts.other_schemas == ("util",)
    assert f.facts.extension_installed_schema == "util"
    assert "util.similarity" not in plain.hint
    assert "the database has util.similarity" in f.hint and "write util.similarity" in f.hint
    assert f.confidence == Confidence.LIKELY
    _no(f.hint, "create extension", "No migration file creates function public.similarity. Check")


def test_an_unreachable_database_gives_the_plain_diagnosis_and_one_line(ran):
    r = ran("ci_role")
    plain = failure_from_log(io.BytesIO(r.log), r.migrations)
    closed = "postgresql://ci:s3cret-pw@127.0.0.1:1/postgres"
    f = failure_from_log(io.BytesIO(r.log), r.migrations, db_url=closed)
    assert plain is not None and f is not None
    assert (f.hint, f.confidence) == (plain.hint, plain.confidence)
    assert f.facts is not None and f.facts.unavailable and not f.facts.known
    text, plain_text = render_text(f), render_text(plain)
    extra = [line for line in text.splitlines() if line not in plain_text.splitlines()]
    assert len(extra) == 1 and extra[0].startswith("Database: not read (")
    assert "diagnosed without catalog facts" in extra[0] and "s3cret-pw" not in text


def test_the_query_asks_only_what_the_hint_uses(ran):
    f = ran("drift").failure
    q = facts_query(f, {p.name: p.read_text() for p in ran("drift").migrations.glob("*.sql")})
    assert (q.kind, q.schema, q.name, q.column, q.versions) == ("column", "public", "p", "source_system", (V1,))
    facts = read_facts(ran("drift").url, q)
    assert isinstance(facts, Facts) and facts.object_name == "public.p.source_system"


def test_the_facts_line_is_json_a_relay_can_read(ran):
    r = ran("ci_role")
    f = failure_from_log(io.BytesIO(r.log), r.migrations, db_url=r.url)
    from dragonfly_bot.core.diagnosis.facts import facts_line

    line = facts_line(f)
    record = json.loads(line.removeprefix(FACTS_LINE))
    assert record["schema"] == 1 and record["file"] == f.file and record["facts"]["current_user"] == r.role


def test_explain_db_url_on_the_command_line(ran, capsys):
    r = ran("ci_role")
    log = r.migrations.parent / "migrate.log"
    log.write_bytes(r.log)
    parser = argparse.ArgumentParser()
    explain.add_arguments(parser)
    args = ["--migrations-dir", str(r.migrations), "--db-url", r.url]
    assert explain.run(parser.parse_args([str(log), *args])) == 0
    text = capsys.readouterr().out
    assert f"Database: CI connects as {r.role}" in text and "Fix (likely):" in text
    assert explain.run(parser.parse_args([str(log), "--json", *args])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["facts"]["current_user"] == r.role and data["confidence"] == "likely"


def test_a_failure_no_fact_would_change_does_not_contact_the_database(ran):
    r = ran("long_rewrite")  # 42P07: the rewrite is certain whatever the catalog says
    closed = "postgresql://ci@127.0.0.1:1/postgres"
    f = failure_from_log(io.BytesIO(r.log), r.migrations, db_url=closed)
    assert f is not None and f.sqlstate == "42P07" and f.facts is None and f.confidence == Confidence.CERTAIN
    assert "Database:" not in render_text(f)
