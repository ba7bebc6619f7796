"""Failures made for real, for the diagnosis tests: the pinned Supabase CLI runs ``migration up --db-url``
against a scratch database on the real PostgreSQL, its output is wrapped as a GitHub job log, and
``explain``'s own path (``failure_from_log`` with the migrations folder) reads it."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dragonfly_bot.adapters.localdb import ScratchDatabase, migration_up
from dragonfly_bot.core.diagnosis import Confidence, Failure
from dragonfly_bot.relay.explain_command import failure_from_log
from tests.fakes.github_fake import github_log

V1, V2, V3 = "20251209000001", "20251209000002", "20251209000003"


@dataclass
class Case:
    files: dict[str, str]
    setup: str = ""  # SQL run on the scratch database (as postgres) before the CLI
    role: bool = False  # the CLI connects as a fresh non-superuser login role, like a CI migrator
    after_setup: str = ""  # SQL run after the CLI applied ``files`` once (e.g. drift made by hand)
    second: dict[str, str] | None = None  # files added for a second CLI run (the one that fails)
    include_all: bool = False  # the second run passes --include-all (a file sorting before applied ones)


@dataclass
class Ran:
    failure: Failure
    db: ScratchDatabase
    url: str
    migrations: Path
    role: str | None = None
    log: bytes = b""  # the job log the failure was read from


def _run(name: str, make_db, tmp: Path, cases: dict[str, Case]) -> Ran:
    case = cases[name]
    db = make_db()
    url, role = db.url, None
    if case.setup:
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(case.setup)
    if case.role:
        role = f"ci_migrator_{secrets.token_hex(4)}"
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(
                f"create role {role} login; grant create, usage on schema public to {role};"
                f"grant create on database {db.name} to {role}"  # the CLI creates supabase_migrations
            )
        url = db.url.replace("postgres@", f"{role}@", 1)
    migrations = tmp / "migrations"
    migrations.mkdir(parents=True)
    for file, text in case.files.items():
        (migrations / file).write_text(text)
    result = migration_up(url, migrations)
    if case.second is not None:
        assert result.returncode == 0, result.stderr
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(case.after_setup)
        for file, text in case.second.items():
            (migrations / file).write_text(text)
        result = migration_up(url, migrations, include_all=case.include_all)
    assert result.returncode != 0, result.stdout + result.stderr
    log = github_log(result.stdout + result.stderr)
    failure = failure_from_log(io.BytesIO(log), migrations)
    assert failure is not None
    return Ran(failure, db, url, migrations, role, log)


@contextmanager
def case_runner(cases: dict[str, Case], scratch_databases, tmp_path_factory) -> Iterator:
    names = list(cases)
    futures: dict = {}

    with ThreadPoolExecutor(max_workers=3) as pool:

        def start(name: str) -> None:
            if name not in futures:
                futures[name] = pool.submit(_run, name, scratch_databases, tmp_path_factory.mktemp(name), cases)

        def get(name: str) -> Ran:
            start(name)
            for following in names[names.index(name) + 1 : names.index(name) + 3]:
                start(following)
            return futures[name].result()

        yield get
        pool.shutdown(wait=True)
        for future in futures.values():
            done = future.result() if future.done() and future.exception() is None else None
            if done is not None and done.role:  # roles are cluster-wide: drop what the case made
                execute(done.db.url, f"drop owned by {done.role} cascade")
                done.db.drop()
                execute(done.db.server_url, f"drop role if exists {done.role}")


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def is_(f: Failure, file: str, line: int, sqlstate: str, category: str, confidence: Confidence) -> None:
    """The failure names the right file, its version, the statement's line, SQLSTATE, category, confidence."""
    got = (f.file, f.version, f.line, f.sqlstate, f.category, f.confidence)
    assert got == (file, file.split("_", 1)[0], line, sqlstate, category, confidence), got


def no(hint: str, *phrases: str) -> None:
    for phrase in phrases:
        assert phrase.lower() not in hint.lower(), f"hint must not say {phrase!r}: {hint}"
