"""The lint's content-hash cache on disk (like ruff's ``.ruff_cache``): a JSON entry per migration file.

Layout: ``<cache_dir>/lint-<code fingerprint>/<folder hash>.json``, one object of entries by file name
per migrations folder: one read and (when something changed) one write per run, which for 300 files is
cheaper than 300 small files. Entries of files no longer in the folder are dropped. The fingerprint covers the
lint's own code and pglast (name, size and mtime of their files), so a new version or an edited rule never
reads an old entry; older fingerprints are deleted when a new one is made. An entry's content (text hash,
summary, findings and what they depended on) is checked by ``dragonfly_bot.core.lint.history``; a corrupt or
unreadable entry is a miss, never an error. The folder holds a ``.gitignore`` of ``*`` so it is never
committed. ``[lint] cache_dir = ""`` or ``--no-cache`` turns it off; ``DRAGONFLY_CACHE_DIR`` moves it
(e.g. to ``$XDG_CACHE_HOME``) for read-only checkouts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib.util import find_spec
from pathlib import Path

# 2: summaries carry what a file settles for earlier ones (dragonfly_bot.core.lint.later); 3: policy calls
CACHE_FORMAT = "3"
ENV_DIR = "DRAGONFLY_CACHE_DIR"


def code_fingerprint() -> str:
    """A short hash of the lint's code and of pglast's files: a changed rule or parser is a new cache."""
    parts = [CACHE_FORMAT]
    folders = [Path(__file__).resolve().parent.parent / "core" / "lint"]
    spec = find_spec("pglast")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))))
    for folder in folders:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_file() and entry.name.endswith((".py", ".so", ".pyd")):
                stat = entry.stat()
                parts.append(f"{folder.name}/{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cache_root(configured: str, root: Path) -> Path | None:
    """Where the cache lives: ``$DRAGONFLY_CACHE_DIR``, else ``[lint] cache_dir`` under the config root; None: off."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() else root / path


class DiskCache:
    """``FileCache`` for one migrations folder. Writes are collected and made by ``flush()`` (atomically)."""

    def __init__(self, root: Path, folder: Path, fingerprint: str | None = None):
        self.root = root
        self.folder = folder
        self.version_dir = root / f"lint-{fingerprint or code_fingerprint()}"
        self.file = self.version_dir / (hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16] + ".json")
        self._entries: dict[str, dict] | None = None
        self._changed: set[str] = set()

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            try:
                entries = json.loads(self.file.read_bytes())
            except (OSError, ValueError):
                entries = None
            self._entries = entries if isinstance(entries, dict) else {}
        return self._entries

    def get(self, name: str) -> dict | None:
        entry = self._load().get(name)
        return entry if isinstance(entry, dict) else None

    def put(self, name: str, entry: dict) -> None:
        self._load()[name] = entry
        self._changed.add(name)

    @property
    def changed(self) -> set[str]:
        """Names whose entry this run wrote (tests: an edited file rewrites its own entry only)."""
        return set(self._changed)

    def flush(self) -> None:
        """Write the entries when any changed; a cache that cannot be written (read-only checkout) is skipped."""
        if not self._changed or self._entries is None:
            return
        try:
            present = set(os.listdir(self.folder))
            entries = {name: entry for name, entry in self._entries.items() if name in present}
            self._prepare()
            temporary = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entries, separators=(",", ":")), "utf-8")
            os.replace(temporary, self.file)
        except OSError:
            pass
        self._changed.clear()

    def _prepare(self) -> None:
        if self.version_dir.is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by dragonfly-bot lint: a cache, never committed.\n*\n", "utf-8")
        for old in self.root.glob("lint-*"):  # entries of another version of the code are never read again
            if old != self.version_dir and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        self.version_dir.mkdir(parents=True, exist_ok=True)
