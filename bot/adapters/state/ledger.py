"""The durable record of which migration runs were handled, and what their alerts said.

A small SQLite file in DATA_DIR. Keyed by (repository, run id, run attempt):
``claim`` is one ``INSERT OR IGNORE``, so whoever races for a run (the webhook
worker, the reconciliation loop, a redelivery, a second process on the same
file) exactly one wins. A claim is a lease: a holder that died before
``complete`` (crash between claim and post) loses it after ``lease_seconds``
and the next pass takes the run again; a holder that failed cleanly calls
``release`` so the next pass retries at once. ``done`` is what the
reconciliation loop skips; a claimed but unfinished run is not done.

What is stored is domain data: the ``CiAlert`` a failed run produced (as
JSON), never a rendered embed; ``/ci last`` and the "fixed" edit render from
it. Where the alert is lives in the outbox: the ledger keeps the outbox key of
the post (``post_key``), and the environment's open alert is remembered by
that key so the next green run can mark it fixed, exactly once.

Files written by the version before this one have no ``alert``/``post_key``:
their runs stay done; their alerts are simply not edited any more.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from bot.adapters.state.files import STATE_PROBLEMS, StateProblems, open_sqlite
from bot.core.ci_runs import CiAlert, RunInfo
from bot.core.diagnosis.model import Facts
from bot.core.failures import Failure

RunKey = tuple[str, int, int]  # (repository, run id, attempt)
LEDGER_FILE = "ci_ledger.sqlite3"

_SCHEMA = """
create table if not exists handled_runs (
    repository text not null,
    run_id integer not null,
    attempt integer not null,
    environment text not null,
    conclusion text not null,
    state text not null check (state in ('claimed', 'done')),
    claimed_at real not null,
    summary text,
    channel text,
    channel_id integer,
    message_id integer,
    thread_id integer,
    primary key (repository, run_id, attempt)
);
create table if not exists open_alert_posts (
    repository text not null,
    environment text not null,
    run_id integer not null,
    attempt integer not null,
    head_sha text not null,
    post_key text not null,
    primary key (repository, environment)
);
"""
# Columns added after the first version (ALTER TABLE keeps old files readable).
_ADDED = {"alert": "text", "post_key": "text"}


@dataclass(frozen=True)
class OpenAlert:
    """The newest unresolved failure alert of one environment."""

    run_id: int
    attempt: int
    head_sha: str
    post_key: str  # the outbox row that posted (or last edited) it


# --------------------------------------------------------------------------- CiAlert <-> JSON


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _typed(cls: type, data: dict) -> Any:
    """``cls`` rebuilt from ``_plain`` output: tuples and datetimes restored, unknown keys ignored."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, hint = data[f.name], hints.get(f.name)
        args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
        enums = [a for a in args if isinstance(a, type) and issubclass(a, Enum)]
        if value is not None and datetime in args:
            value = datetime.fromisoformat(value)
        elif value is not None and enums:
            value = enums[0](value)
        elif isinstance(value, list) and (typing.get_origin(hint) is tuple):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


def alert_to_json(alert: CiAlert) -> str:
    return json.dumps(_plain(alert), separators=(",", ":"), sort_keys=True)


def alert_from_json(text: str) -> CiAlert | None:
    """The stored alert, or None when it cannot be read (a damaged or foreign row)."""
    try:
        data = json.loads(text)
        run = _typed(RunInfo, data["run"])
        failure = _typed(Failure, data["failure"]) if data.get("failure") else None
        if failure is not None:  # alerts stored before catalog facts existed have none
            failure = dataclasses.replace(failure, facts=Facts.from_dict(data["failure"].get("facts")))
        return _typed(CiAlert, {**data, "run": run, "failure": failure})
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# --------------------------------------------------------------------------- the ledger


class Ledger:
    def __init__(self, path: Path, *, lease_seconds: float = 600.0, problems: StateProblems = STATE_PROBLEMS):
        self.path = Path(path)
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._db = open_sqlite(self.path, what="CI ledger", schema=_SCHEMA, problems=problems)
        have = {row[1] for row in self._db.execute("pragma table_info(handled_runs)")}
        for column, kind in _ADDED.items():
            if column not in have:
                self._db.execute(f"alter table handled_runs add column {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- runs --------------------------------------------------------------

    def claim(self, key: RunKey, *, environment: str, conclusion: str) -> bool:
        """True for exactly one caller per key (or the taker-over of a claim whose lease ran out)."""
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "insert or ignore into handled_runs"
                " (repository, run_id, attempt, environment, conclusion, state, claimed_at)"
                " values (?, ?, ?, ?, ?, 'claimed', ?)",
                (*key, environment, conclusion, now),
            )
            if cur.rowcount == 1:
                return True
            cur = self._db.execute(
                "update handled_runs set claimed_at = ?"
                " where repository = ? and run_id = ? and attempt = ? and state = 'claimed' and claimed_at < ?",
                (now, *key, now - self.lease_seconds),
            )
            return cur.rowcount == 1

    def release(self, key: RunKey) -> None:
        """Forget an unfinished claim so the next webhook or loop pass retries the run."""
        with self._lock:
            self._db.execute(
                "delete from handled_runs where repository = ? and run_id = ? and attempt = ? and state = 'claimed'",
                key,
            )

    def complete(self, key: RunKey, *, alert: CiAlert | None = None, post_key: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "update handled_runs set state = 'done', alert = ?, post_key = ?"
                " where repository = ? and run_id = ? and attempt = ?",
                (alert_to_json(alert) if alert is not None else None, post_key, *key),
            )

    def note_alert(self, key: RunKey, alert: CiAlert, post_key: str) -> None:
        """Store a claimed run's alert and its outbox key before the post is enqueued."""
        with self._lock:
            self._db.execute(
                "update handled_runs set alert = ?, post_key = ? where repository = ? and run_id = ? and attempt = ?",
                (alert_to_json(alert), post_key, *key),
            )

    def done(self, key: RunKey) -> bool:
        """Handled for good (a claim still running, or abandoned, is not done)."""
        with self._lock:
            row = self._db.execute(
                "select 1 from handled_runs where repository = ? and run_id = ? and attempt = ? and state = 'done'",
                key,
            ).fetchone()
        return row is not None

    def post_for_run(self, repository: str, run_id: int, before_attempt: int) -> tuple[int, str] | None:
        """(attempt, outbox key) of the alert an earlier attempt of this run posted (newest first)."""
        with self._lock:
            row = self._db.execute(
                "select attempt, post_key from handled_runs"
                " where repository = ? and run_id = ? and attempt < ? and post_key is not null"
                " order by attempt desc limit 1",
                (repository, run_id, before_attempt),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def alert_of(self, key: RunKey) -> CiAlert | None:
        with self._lock:
            row = self._db.execute(
                "select alert from handled_runs where repository = ? and run_id = ? and attempt = ?", key
            ).fetchone()
        return alert_from_json(row[0]) if row and row[0] else None

    def alert_of_post(self, post_key: str) -> CiAlert | None:
        """The alert the outbox row ``post_key`` carries."""
        with self._lock:
            row = self._db.execute(
                "select alert from handled_runs where post_key = ? and alert is not null order by attempt desc limit 1",
                (post_key,),
            ).fetchone()
        return alert_from_json(row[0]) if row else None

    def last_alert(self, repository: str | None = None) -> CiAlert | None:
        """The newest handled failure, as domain data (for ``/ci last``)."""
        query = "select alert from handled_runs where alert is not null and conclusion != 'success'"
        args: tuple = ()
        if repository:
            query += " and repository = ?"
            args = (repository,)
        with self._lock:
            row = self._db.execute(query + " order by claimed_at desc limit 1", args).fetchone()
        return alert_from_json(row[0]) if row else None

    # -- open alerts per environment ---------------------------------------

    def set_open_alert(self, repository: str, environment: str, alert: OpenAlert) -> None:
        with self._lock:
            self._db.execute(
                "insert into open_alert_posts (repository, environment, run_id, attempt, head_sha, post_key)"
                " values (?, ?, ?, ?, ?, ?) on conflict (repository, environment) do update set"
                " run_id = excluded.run_id, attempt = excluded.attempt, head_sha = excluded.head_sha,"
                " post_key = excluded.post_key",
                (repository, environment, alert.run_id, alert.attempt, alert.head_sha, alert.post_key),
            )

    def open_alert(self, repository: str, environment: str) -> OpenAlert | None:
        with self._lock:
            row = self._db.execute(
                "select run_id, attempt, head_sha, post_key from open_alert_posts"
                " where repository = ? and environment = ?",
                (repository, environment),
            ).fetchone()
        return OpenAlert(*row) if row else None

    def close_open_alert(self, repository: str, environment: str, run_id: int) -> bool:
        """Remove the open alert if it is still ``run_id``'s; True only for the one who removed it."""
        with self._lock:
            cur = self._db.execute(
                "delete from open_alert_posts where repository = ? and environment = ? and run_id = ?",
                (repository, environment, run_id),
            )
            return cur.rowcount == 1
