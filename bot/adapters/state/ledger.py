"""The durable record of which migration runs were handled, and where their alerts are.

A small SQLite file in DATA_DIR, so a restart remembers everything. Keyed by
(repository, run id, run attempt): ``claim`` is one ``INSERT OR IGNORE``, so
whoever races for a run (the webhook worker, the reconciliation loop, a
redelivery, a second process on the same file) exactly one wins. The winner
stores where its alert landed; a later attempt of the same run finds that
post and edits it, and the environment's open alert is remembered so the next
green run can mark it fixed, exactly once (``close_open_alert`` deletes the row
and only the deleter posts).

A claim whose holder died before finishing (crash between claim and post) is
taken over after ``stale_after`` seconds; a holder that failed cleanly calls
``release`` so the next pass retries at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.chat.channels import PostRef

RunKey = tuple[str, int, int]  # (repository, run id, attempt)

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
    head_sha text not null,
    channel text not null,
    channel_id integer not null,
    message_id integer not null,
    thread_id integer,
    primary key (repository, environment)
);
"""


@dataclass(frozen=True)
class OpenAlert:
    """The newest unresolved failure alert of one environment."""

    run_id: int
    attempt: int
    head_sha: str
    ref: PostRef


def _ref(row) -> PostRef | None:
    channel, channel_id, message_id, thread_id = row
    if channel is None or message_id is None:
        return None
    return PostRef(channel=channel, channel_id=channel_id, message_id=message_id, thread_id=thread_id)


class Ledger:
    def __init__(self, path: Path, *, stale_after: float = 600.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stale_after = stale_after
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; multi-statement changes use BEGIN IMMEDIATE.
        self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- runs --------------------------------------------------------------

    def claim(self, key: RunKey, *, environment: str, conclusion: str) -> bool:
        """True for exactly one caller per key (or the taker-over of a stale claim)."""
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
                (now, *key, now - self.stale_after),
            )
            return cur.rowcount == 1

    def release(self, key: RunKey) -> None:
        """Forget an unfinished claim so the next webhook or loop pass retries the run."""
        with self._lock:
            self._db.execute(
                "delete from handled_runs where repository = ? and run_id = ? and attempt = ? and state = 'claimed'",
                key,
            )

    def complete(self, key: RunKey, *, ref: PostRef | None = None, summary: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "update handled_runs set state = 'done', summary = ?, channel = ?, channel_id = ?,"
                " message_id = ?, thread_id = ? where repository = ? and run_id = ? and attempt = ?",
                (
                    summary,
                    ref.channel if ref else None,
                    ref.channel_id if ref else None,
                    ref.message_id if ref else None,
                    ref.thread_id if ref else None,
                    *key,
                ),
            )

    def seen(self, key: RunKey) -> bool:
        with self._lock:
            row = self._db.execute(
                "select 1 from handled_runs where repository = ? and run_id = ? and attempt = ?", key
            ).fetchone()
        return row is not None

    def alert_for_run(self, repository: str, run_id: int) -> tuple[int, PostRef] | None:
        """The alert an earlier attempt of this run posted (newest attempt first)."""
        with self._lock:
            row = self._db.execute(
                "select attempt, channel, channel_id, message_id, thread_id from handled_runs"
                " where repository = ? and run_id = ? and message_id is not null"
                " order by attempt desc limit 1",
                (repository, run_id),
            ).fetchone()
        if row is None:
            return None
        ref = _ref(row[1:])
        return (row[0], ref) if ref else None

    def summary_of(self, key: RunKey) -> str | None:
        with self._lock:
            row = self._db.execute(
                "select summary from handled_runs where repository = ? and run_id = ? and attempt = ?", key
            ).fetchone()
        return row[0] if row else None

    def last_summary(self, repository: str | None = None) -> str | None:
        """The summary stored with the newest handled failure (for ``/ci last``)."""
        query = "select summary from handled_runs where summary is not null and conclusion != 'success'"
        args: tuple = ()
        if repository:
            query += " and repository = ?"
            args = (repository,)
        with self._lock:
            row = self._db.execute(query + " order by claimed_at desc limit 1", args).fetchone()
        return row[0] if row else None

    # -- open alerts per environment ---------------------------------------

    def set_open_alert(self, repository: str, environment: str, alert: OpenAlert) -> None:
        with self._lock:
            self._db.execute(
                "insert into open_alerts (repository, environment, run_id, attempt, head_sha,"
                " channel, channel_id, message_id, thread_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " on conflict (repository, environment) do update set run_id = excluded.run_id,"
                " attempt = excluded.attempt, head_sha = excluded.head_sha, channel = excluded.channel,"
                " channel_id = excluded.channel_id, message_id = excluded.message_id,"
                " thread_id = excluded.thread_id",
                (
                    repository,
                    environment,
                    alert.run_id,
                    alert.attempt,
                    alert.head_sha,
                    alert.ref.channel,
                    alert.ref.channel_id,
                    alert.ref.message_id,
                    alert.ref.thread_id,
                ),
            )

    def open_alert(self, repository: str, environment: str) -> OpenAlert | None:
        with self._lock:
            row = self._db.execute(
                "select run_id, attempt, head_sha, channel, channel_id, message_id, thread_id"
                " from open_alerts where repository = ? and environment = ?",
                (repository, environment),
            ).fetchone()
        if row is None:
            return None
        channel, channel_id, message_id, thread_id = row[3:]  # NOT NULL but thread_id
        ref = PostRef(channel=channel, channel_id=channel_id, message_id=message_id, thread_id=thread_id)
        return OpenAlert(run_id=row[0], attempt=row[1], head_sha=row[2], ref=ref)

    def close_open_alert(self, repository: str, environment: str, run_id: int) -> bool:
        """Remove the open alert if it is still ``run_id``'s; True only for the one who removed it."""
        with self._lock:
            cur = self._db.execute(
                "delete from open_alerts where repository = ? and environment = ? and run_id = ?",
                (repository, environment, run_id),
            )
            return cur.rowcount == 1
