"""The parse-error rule agrees with PostgreSQL: what it passes, a real server accepts; what it flags, it refuses.

pglast checks PL/pgSQL bodies without the database's catalog, so the rule leaves out errors that only come
from a type pglast cannot look up (see dragonfly_bot.core.lint.plpgsql_errors). These tests run the corpus's PL/pgSQL
cases on the scratch server to show that the line drawn there is PostgreSQL's own.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

CORPUS = Path(__file__).parent / "lint_corpus" / "parse-error"
PLPGSQL_CASES = sorted(CORPUS.glob("*plpgsql*.sql"))


def _apply(url: str, sql: str) -> str | None:
    """None when the server runs the whole file, else its error message."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(sql.encode())  # one simple-query message, as a file is run
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]
    return None


def test_the_corpus_has_good_and_bad_plpgsql_cases():
    names = [p.name for p in PLPGSQL_CASES]
    assert any(n.startswith("good_") for n in names) and any(n.startswith("bad_") for n in names)


@pytest.mark.parametrize("path", PLPGSQL_CASES, ids=lambda p: p.name)
def test_postgres_agrees_with_the_rule(scratch_db, path: Path):
    refused = _apply(scratch_db.url, path.read_text())
    if path.name.startswith("good_"):
        assert refused is None, refused
    else:
        assert refused is not None
