"""Shared fixtures: a real PostgreSQL and fresh Supabase-like databases.

The server is the one at 127.0.0.1:5432 when it answers (or DRAGONFLY_PG_URL),
else an embedded one started for this run. Every scratch database made here is
dropped at the end of the session.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bot.adapters.localdb import PROJECT_ROOT, LocalServer, ScratchDatabase, find_server

REPO_MIGRATIONS = PROJECT_ROOT / "supabase" / "migrations"


@pytest.fixture(scope="session")
def pg_server() -> LocalServer:
    data_dir = Path(tempfile.mkdtemp(prefix="dragonfly-test-pg-"))
    server = find_server(data_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scratch_databases(pg_server):
    """Factory: ``make(platform=True)`` returns a created ScratchDatabase."""
    made: list[ScratchDatabase] = []

    def make(*, platform: bool = True) -> ScratchDatabase:
        db = ScratchDatabase(pg_server.url).create(platform=platform)
        made.append(db)
        return db

    yield make
    for db in made:
        db.drop()


@pytest.fixture
def scratch_db(scratch_databases) -> ScratchDatabase:
    """One fresh database with the Supabase roles and schemas."""
    return scratch_databases()


@pytest.fixture(scope="module")
def migrated_db(scratch_databases) -> ScratchDatabase:
    """One database per test module with this repository's migrations applied by the
    real CLI, for tests that only look at their own rows."""
    from tests.hotfix_support import migrate

    db = scratch_databases()
    migrate(db)
    return db


@pytest.fixture(scope="session")
def repo_migrations_dir() -> Path:
    return REPO_MIGRATIONS
