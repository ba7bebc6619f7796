"""Shared fixtures: a real PostgreSQL and fresh Supabase-like databases.

The server is the one at 127.0.0.1:5432 when it answers (or DRAGONFLY_PG_URL),
else an embedded one started for this run (DRAGONFLY_FORCE_EMBEDDED=1: always).
Every scratch database made here is dropped at the end of the session. Under
pytest-xdist each worker has its own server handle and names its databases
``dragonfly_scratch_<worker>_...``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dragonfly_bot.adapters.localdb import (
    PROJECT_ROOT,
    SCRATCH_PREFIX,
    SCRATCH_PREFIX_ENV,
    LocalServer,
    ScratchDatabase,
    find_server,
)

REPO_MIGRATIONS = PROJECT_ROOT / "supabase" / "migrations"


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under xdist
    if worker:
        # In the environment, so CLIs the tests start (replay, console) name theirs the same way.
        os.environ[SCRATCH_PREFIX_ENV] = f"{SCRATCH_PREFIX}_{worker}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="dragonfly-test-pg-"))
    server = find_server(data_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def require_extensions(pg_server):
    """``require_extensions("pgcrypto", ...)``: skip the test on the embedded server when it lacks one.

    The embedded build ships no contrib modules. Any other server (5432, CI's) must have them:
    there a missing one fails the test instead of hiding it behind a skip.
    """

    def check(*names: str) -> None:
        with psycopg.connect(pg_server.url) as conn:
            available = {row[0] for row in conn.execute("select name from pg_available_extensions")}
        missing = [name for name in names if name not in available]
        if not missing:
            return
        reason = f"needs the {', '.join(missing)} extension(s), which the embedded PostgreSQL lacks"
        if pg_server.embedded is None:
            pytest.fail(f"{reason.replace('the embedded PostgreSQL', pg_server.url)}: install them")
        pytest.skip(reason)

    return check


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
    from tests.fakes.hotfix_support import migrate

    db = scratch_databases()
    migrate(db)
    return db


@pytest.fixture(scope="session")
def repo_migrations_dir() -> Path:
    return REPO_MIGRATIONS


@pytest.fixture(autouse=True)
def _fresh_state_problems():
    """Damaged state files one test makes (bad journal lines) must not show on another test's /readyz."""
    from dragonfly_bot.adapters.state.files import STATE_PROBLEMS

    yield
    STATE_PROBLEMS.clear()
