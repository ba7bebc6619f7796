"""A local, append-only journal of declarations the store could not take yet.

When the hotfix store is unreachable, the declaration is appended here as
one JSON line (written, flushed and fsync'd; the folder is fsync'd when the
file is created, so the file itself survives a crash) and the user is told it
will sync. ``pending()`` gives every declaration without a later ``done``
line; the replay stores each one (idempotent by its client id) and only then
appends ``done``. So:

* crash before the declaration line is on disk: the user saw no
  confirmation, nothing was promised;
* crash after it, before the store write: the replay stores it once;
* crash after the store write, before ``done``: the replay stores it again,
  which the store turns into a no-op (same id), then marks it done.

A torn last line (crash in the middle of a write) is skipped, and the next
append starts on a new line so it is not lost with it. Any other line that
is not a JSON object with an ``op`` and an ``id`` (bad UTF-8, a bare number,
an array) is *quarantined*: moved to ``hotfix-journal.quarantine`` (kept for
a person to look at), reported as a state problem (#alerts, ``/readyz``),
and the rest of the journal replays as usual. A journal that cannot be
written raises ``JournalUnwritable``, whose message is the one line the
user gets: nothing was saved anywhere, and what to do. ``compact``
rewrites the file with only pending declarations, atomically (temp file,
fsync, rename, fsync the folder), after each replay that stored something.
The file is owner-only (0600, also when it was made looser before): a
declaration holds the SQL run in Studio, which is secret, until it is stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from pathlib import Path

from dragonfly_bot.adapters.state.files import STATE_PROBLEMS, StateProblem, StateProblems
from dragonfly_bot.core.hotfix import NewHotfix
from dragonfly_bot.errors import UserFacingError

log = logging.getLogger(__name__)

JOURNAL_NAME = "hotfix-journal.jsonl"
QUARANTINE_NAME = "hotfix-journal.quarantine"


class JournalUnwritable(UserFacingError):
    """The store was down and the journal could not take the declaration either: it is saved nowhere."""

    def __init__(self, path: Path, reason: str):
        super().__init__(
            f"The declaration could not be saved anywhere: the hotfix store is unreachable and the bot's "
            f"local journal ({path}) cannot be written ({reason}). Nothing was recorded: keep your SQL, "
            "tell the DevOps lead, and declare it again once the store is back."
        )
        self.path = path
        self.reason = reason


def _record_of(raw: bytes) -> dict | None:
    """The journal record on one line, or None when the line is not one."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("op"), str) or not isinstance(record.get("id"), str):
        return None
    return record


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HotfixJournal:
    def __init__(self, data_dir: Path, *, problems: StateProblems = STATE_PROBLEMS):
        self.path = Path(data_dir) / JOURNAL_NAME
        self.quarantine_path = Path(data_dir) / QUARANTINE_NAME
        self._problems = problems
        self._lock = threading.Lock()
        # Detected at start: bad lines are quarantined (and reported) before the first replay.
        try:
            with self._lock:
                self._read()
        except OSError as exc:
            log.error("the hotfix journal %s cannot be read: %s", self.path, exc)

    # --- blocking primitives (run in a thread by the async wrappers) ---

    def _append_line(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            # Owner-only: a declaration holds the SQL run in Studio (secret) until the store has it.
            with os.fdopen(os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600), "a+b") as fh:
                if os.fstat(fh.fileno()).st_mode & 0o077:
                    os.fchmod(fh.fileno(), 0o600)  # a journal made before this was world-readable
                # A crash mid-write leaves a torn last line without its newline; start
                # a fresh line so this record is not glued onto it (and lost with it).
                if fh.tell() > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        line = "\n" + line
                fh.write(line.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            if created:
                _fsync_dir(self.path.parent)

    def _read(self) -> list[dict]:
        """Every record, in order; bad lines are quarantined on the way (call with the lock held)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        torn = lines.pop() if lines else b""  # after the last newline: empty, or a torn write
        records, bad = [], []
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            record = _record_of(raw)
            if record is None:
                bad.append((number, raw))
            else:
                records.append(record)
        if torn.strip():
            record = _record_of(torn)
            if record is not None:
                records.append(record)
            else:
                log.warning("skipping the unfinished last line of %s (torn write)", self.path)
        if bad:
            self._quarantine(bad, records, torn)
        return records

    def _quarantine(self, bad: list[tuple[int, bytes]], records: list[dict], torn: bytes) -> None:
        """Move the bad lines out of the journal (kept in the quarantine file), keep the rest."""
        # The lines may hold declared SQL: owner-only, like the journal.
        with os.fdopen(os.open(self.quarantine_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as fh:
            for _, raw in bad:
                fh.write(raw + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._rewrite(records, tail=torn)
        numbers = ", ".join(str(n) for n, _ in bad[:5]) + (" …" if len(bad) > 5 else "")
        self._problems.report(
            StateProblem(
                what="hotfix journal",
                path=str(self.path),
                moved_to=str(self.quarantine_path),
                reason=f"{len(bad)} unreadable line(s) ({numbers}) moved to quarantine; the other entries replay",
            )
        )

    def _rewrite(self, records: list[dict], *, tail: bytes = b"") -> None:
        temp = self.path.with_suffix(".tmp")
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            for record in records:
                fh.write((json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode())
            fh.write(tail)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, self.path)
        _fsync_dir(self.path.parent)

    def pending_sync(self) -> list[NewHotfix]:
        with self._lock:
            records = self._read()
        done = {r.get("id") for r in records if r.get("op") == "done"}
        out: dict[str, NewHotfix] = {}
        for record in records:
            if record.get("op") == "declare" and record.get("id") not in done and record["id"] not in out:
                try:
                    out[record["id"]] = NewHotfix.from_json(record["declaration"])
                except (KeyError, TypeError, ValueError) as exc:
                    log.error("journal record %s is not a declaration (%s); left in place", record.get("id"), exc)
        return list(out.values())

    def _compact(self) -> None:
        with self._lock:
            records = self._read()
            done = {r.get("id") for r in records if r.get("op") == "done"}
            keep = [r for r in records if r.get("op") == "declare" and r.get("id") not in done]
            if len(keep) == len(records):
                return
            self._rewrite(keep)  # owner-only, atomic: the stored declarations' SQL leaves the disk

    # --- async API ---

    async def record(self, declaration: NewHotfix) -> None:
        """Durably note a declaration the store did not take; ``JournalUnwritable`` when it cannot."""
        try:
            await asyncio.to_thread(
                self._append_line, {"op": "declare", "id": declaration.id, "declaration": declaration.to_json()}
            )
        except OSError as exc:
            log.error("hotfix journal %s not writable: %s", self.path, exc)
            raise JournalUnwritable(self.path, exc.strerror or type(exc).__name__) from None

    async def mark_done(self, declaration_id: str) -> None:
        await asyncio.to_thread(self._append_line, {"op": "done", "id": declaration_id})

    async def pending(self) -> list[NewHotfix]:
        return await asyncio.to_thread(self.pending_sync)

    async def compact(self) -> None:
        await asyncio.to_thread(self._compact)
