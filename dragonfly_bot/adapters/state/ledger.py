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
the post (``post_key``). Every unresolved alert of an environment (one per
run) is an ``open_alerts`` row, so the next green run marks each of them
fixed, exactly once; ``green_runs`` keeps each environment's newest green run,
so a failure delivered after it is known to be superseded.

Files written by earlier versions still open: without ``alert``/``post_key``
their runs stay done and their alerts are not edited any more; the one open
alert per environment of ``open_alert_posts`` moves to ``open_alerts``.
"""

from __future__ import annotations

import dataclasses
import functools
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

from dragonfly_bot.adapters.state.files import STATE_PROBLEMS, StateProblems, open_sqlite
from dragonfly_bot.core.ci_runs import CiAlert, RunInfo, RunOrder
from dragonfly_bot.core.diagnosis.model import Facts
from dragonfly_bot.core.failures import Failure

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
create table if not exists open_alerts (
    repository text not null,
    environment text not null,
    run_id integer not null,
    attempt integer not null,
    run_number integer not null default 0,
    created_at text,
    head_sha text not null,
    post_key text not null,
    primary key (repository, environment, run_id)
);
create table if not exists green_runs (
    repository text not null,
    environment text not null,
    run text not null,
    primary key (repository, environment)
);
"""
# Columns added after the first version (ALTER TABLE keeps old files readable).
_ADDED = {"alert": "text", "post_key": "text"}


# Before open_alerts, one open alert per (repository, environment): a red run replaced the
# previous one's, so a green run fixed only the newest alert. Its rows move to open_alerts.
_OLD_OPEN_ALERTS = "open_alert_posts"


@dataclass(frozen=True)
class OpenAlert:
    """One unresolved failure alert of an environment (one per run; a re-run edits its run's)."""

    run_id: int
    attempt: int
    head_sha: str
    post_key: str  # the outbox row that posted (or last edited) it
    run_number: int = 0  # 0 for alerts opened before run numbers were kept
    created_at: datetime | None = None

    @property
    def order(self) -> RunOrder:
        return RunOrder(self.run_id, self.attempt, self.run_number, self.created_at)


def _by_run_order(a: OpenAlert, b: OpenAlert) -> int:
    return 1 if a.order.newer_than(b.order) else -1 if b.order.newer_than(a.order) else 0


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


def run_from_json(text: str) -> RunInfo | None:
    try:
        return _typed(RunInfo, json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


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
        later = _typed(RunInfo, data["superseded_by"]) if data.get("superseded_by") else None
        return _typed(CiAlert, {**data, "run": run, "failure": failure, "superseded_by": later})
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
        self._move_old_open_alerts()

    def _move_old_open_alerts(self) -> None:
        """Carry a file's one-per-environment open alerts over to ``open_alerts`` (once; race-safe)."""
        with self._lock:
            self._db.execute("begin immediate")
            try:
                old = self._db.execute(
                    "select 1 from sqlite_master where type = 'table' and name = ?", (_OLD_OPEN_ALERTS,)
                ).fetchone()
                if old is not None:
                    self._db.execute(
                        "insert or ignore into open_alerts"
                        " (repository, environment, run_id, attempt, head_sha, post_key)"
                        f" select repository, environment, run_id, attempt, head_sha, post_key from {_OLD_OPEN_ALERTS}"
                    )
                    self._db.execute(f"drop table {_OLD_OPEN_ALERTS}")
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise

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
        """Open (or, for a re-run of the same run, move on) the alert of ``alert.run_id``."""
        created = alert.created_at.isoformat() if alert.created_at is not None else None
        with self._lock:
            self._db.execute(
                "insert into open_alerts"
                " (repository, environment, run_id, attempt, run_number, created_at, head_sha, post_key)"
                " values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (repository, environment, run_id) do update set"
                " attempt = excluded.attempt, run_number = excluded.run_number, created_at = excluded.created_at,"
                " head_sha = excluded.head_sha, post_key = excluded.post_key",
                (
                    repository,
                    environment,
                    alert.run_id,
                    alert.attempt,
                    alert.run_number,
                    created,
                    alert.head_sha,
                    alert.post_key,
                ),
            )

    def open_alerts(self, repository: str, environment: str) -> list[OpenAlert]:
        """Every unresolved alert of the environment, oldest run first."""
        with self._lock:
            rows = self._db.execute(
                "select run_id, attempt, head_sha, post_key, run_number, created_at from open_alerts"
                " where repository = ? and environment = ? order by run_id",
                (repository, environment),
            ).fetchall()
        found = [OpenAlert(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]) if r[5] else None) for r in rows]
        # Ordered as the runs are (run number, creation), not by id alone.
        return sorted(found, key=functools.cmp_to_key(_by_run_order))

    def open_alert(self, repository: str, environment: str) -> OpenAlert | None:
        """The newest unresolved alert of the environment."""
        found = self.open_alerts(repository, environment)
        return found[-1] if found else None

    def close_open_alert(self, repository: str, environment: str, run_id: int) -> bool:
        """Remove ``run_id``'s open alert; True only for the one who removed it."""
        with self._lock:
            cur = self._db.execute(
                "delete from open_alerts where repository = ? and environment = ? and run_id = ?",
                (repository, environment, run_id),
            )
            return cur.rowcount == 1

    # -- the newest green run per environment -------------------------------

    def note_green(self, repository: str, environment: str, run: RunInfo) -> None:
        """Remember ``run`` as the environment's newest green run, unless a newer one is known."""
        with self._lock:
            self._db.execute("begin immediate")
            try:
                row = self._db.execute(
                    "select run from green_runs where repository = ? and environment = ?", (repository, environment)
                ).fetchone()
                known = run_from_json(row[0]) if row else None
                if known is None or run.order.newer_than(known.order):
                    self._db.execute(
                        "insert into green_runs (repository, environment, run) values (?, ?, ?)"
                        " on conflict (repository, environment) do update set run = excluded.run",
                        (repository, environment, json.dumps(_plain(run), separators=(",", ":"), sort_keys=True)),
                    )
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise

    def newest_green(self, repository: str, environment: str) -> RunInfo | None:
        with self._lock:
            row = self._db.execute(
                "select run from green_runs where repository = ? and environment = ?", (repository, environment)
            ).fetchone()
        return run_from_json(row[0]) if row else None
