"""Opening the bot's local state files so that a damaged one fails loudly, not silently.

A SQLite file that is not a database, or fails ``pragma quick_check``, and a
journal whose lines cannot be read, are *moved aside* (renamed with a
``.corrupt-<UTC time>`` suffix, kept for a post-mortem), a fresh one is
started, and a ``StateProblem`` is recorded in ``STATE_PROBLEMS``. The bot
shows those on ``/readyz`` and posts them once to #alerts, and keeps working.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateProblem:
    """One damaged state file found at start (or while reading), and what was done about it."""

    what: str  # e.g. "CI ledger"
    path: str
    moved_to: str | None
    reason: str

    @property
    def line(self) -> str:
        kept = f"; the damaged copy is kept as {self.moved_to}" if self.moved_to else ""
        return f"the {self.what} at {self.path} was unreadable ({self.reason}): started a fresh one{kept}"


class StateProblems:
    """Every state problem found since the process started (thread-safe; listeners told once each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[StateProblem] = []
        self._listeners: list[Callable[[StateProblem], None]] = []

    def report(self, problem: StateProblem) -> None:
        log.error("%s", problem.line)
        with self._lock:
            self._items.append(problem)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(problem)

    def items(self) -> list[StateProblem]:
        with self._lock:
            return list(self._items)

    def subscribe(self, listener: Callable[[StateProblem], None]) -> None:
        """Call ``listener`` for every problem from now on (and for those already found)."""
        with self._lock:
            self._listeners.append(listener)
            found = list(self._items)
        for problem in found:
            listener(problem)

    def unsubscribe(self, listener: Callable[[StateProblem], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._listeners.clear()


STATE_PROBLEMS = StateProblems()


def move_aside(path: Path) -> Path | None:
    """Rename ``path`` (and its SQLite -wal/-shm companions) out of the way; the new name, or None."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    moved = None
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, target.with_name(target.name + suffix))
            if not suffix:
                moved = target
    return moved


def _check(db: sqlite3.Connection) -> str | None:
    """None when the database reads back as sound, else why not."""
    try:
        rows = db.execute("pragma quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != [("ok",)]:
        return "; ".join(str(row[0]) for row in rows[:3])
    return None


def open_sqlite(path: Path, *, what: str, schema: str, problems: StateProblems = STATE_PROBLEMS) -> sqlite3.Connection:
    """A checked connection to the SQLite file ``path`` with ``schema`` applied.

    Autocommit (multi-statement changes use BEGIN IMMEDIATE), WAL. A file
    that is not a database, fails the integrity check or cannot take the
    schema is moved aside and replaced by a fresh one (see the module doc).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for fresh in (False, True):
        db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            reason = _check(db)
            if reason is None:
                db.execute("pragma journal_mode=wal")
                db.execute("pragma synchronous=normal")
                db.executescript(schema)
                return db
        except sqlite3.DatabaseError as exc:
            reason = str(exc)
        db.close()
        if fresh:
            raise sqlite3.DatabaseError(f"a fresh {what} at {path} could not be created: {reason}")
        moved = move_aside(path)
        problems.report(StateProblem(what, str(path), str(moved) if moved else None, reason))
    raise AssertionError("unreachable")
