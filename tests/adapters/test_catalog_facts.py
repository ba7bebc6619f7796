"""The catalog adapter on the real PostgreSQL: read-only, bounded waits, one refused question costs one fact."""

from __future__ import annotations

import psycopg

from dragonfly_bot.adapters.supabase.catalog import read_facts
from dragonfly_bot.core.diagnosis.facts import FactsQuery

QUERY = FactsQuery("column", "public", "p", "source_systm", versions=("20251209000001",), extension="pg_trgm")


def _setup(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "create table public.p (id int, source_system text);"
            "create schema supabase_migrations;"
            "create table supabase_migrations.schema_migrations (version text primary key, statements text[],"
            " name text);"
            "insert into supabase_migrations.schema_migrations values ('20251209000001', '{}', 'p')"
        )


def test_every_fact_of_a_query(scratch_db):
    _setup(scratch_db.url)
    facts = read_facts(scratch_db.url, QUERY)
    assert facts.current_user == "postgres" and facts.object_name == "public.p.source_systm"
    assert facts.similar_columns == ("source_system",) and facts.table_exists is True
    assert facts.applied_versions == (("20251209000001", True),)
    assert (facts.extension, facts.extension_available) == ("pg_trgm", True)


def test_a_locked_history_table_costs_only_that_fact(scratch_db):
    _setup(scratch_db.url)
    with psycopg.connect(scratch_db.url) as holder:
        holder.execute("lock table supabase_migrations.schema_migrations in access exclusive mode")
        facts = read_facts(scratch_db.url, QUERY)  # lock_timeout: it does not wait for the holder
        holder.rollback()
    assert facts.applied_versions == () and not facts.unavailable
    assert facts.similar_columns == ("source_system",) and facts.extension_available is True


def test_the_transaction_is_read_only_and_the_timeout_short(scratch_db, monkeypatch):
    """What the session says right after the adapter's first question."""
    seen: list[tuple] = []
    real = psycopg.Connection.execute

    def spy(self, query, params=None, **kwargs):
        cur = real(self, query, params, **kwargs)
        if query == "select current_user":
            settings = "select current_setting('transaction_read_only'), current_setting('statement_timeout')"
            seen.append(real(self, settings).fetchone())
        return cur

    monkeypatch.setattr(psycopg.Connection, "execute", spy)
    assert read_facts(scratch_db.url, FactsQuery()).current_user == "postgres"
    assert seen == [("on", "3s")]


def test_unreachable_and_malformed_urls_are_one_line_without_the_password():
    for url in ("postgresql://ci:pw-77aa@127.0.0.1:1/postgres", "postgresql://ci:pw-77aa@%zz/postgres", "nonsense"):
        facts = read_facts(url, QUERY)
        assert facts.unavailable and "\n" not in facts.unavailable and "pw-77aa" not in facts.unavailable
        assert not facts.known and facts.current_user == ""
