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
append starts on a new line so it is not lost with it. ``compact``
rewrites the file with only pending declarations, atomically (temp file,
fsync, rename, fsync the folder), once everything is done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from pathlib import Path

from bot.core.hotfix import NewHotfix

log = logging.getLogger(__name__)

JOURNAL_NAME = "hotfix-journal.jsonl"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HotfixJournal:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / JOURNAL_NAME
        self._lock = threading.Lock()

    # --- blocking primitives (run in a thread by the async wrappers) ---

    def _append_line(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            with open(self.path, "a+b") as fh:
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
        if not self.path.exists():
            return []
        records = []
        with open(self.path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    log.warning("skipping unreadable line %d of %s (torn write?)", number, self.path)
        return records

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
            temp = self.path.with_suffix(".tmp")
            with open(temp, "w", encoding="utf-8") as fh:
                for record in keep:
                    fh.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, self.path)
            _fsync_dir(self.path.parent)

    # --- async API ---

    async def record(self, declaration: NewHotfix) -> None:
        """Durably note a declaration the store did not take."""
        await asyncio.to_thread(
            self._append_line, {"op": "declare", "id": declaration.id, "declaration": declaration.to_json()}
        )

    async def mark_done(self, declaration_id: str) -> None:
        await asyncio.to_thread(self._append_line, {"op": "done", "id": declaration_id})

    async def pending(self) -> list[NewHotfix]:
        return await asyncio.to_thread(self.pending_sync)

    async def compact(self) -> None:
        await asyncio.to_thread(self._compact)
