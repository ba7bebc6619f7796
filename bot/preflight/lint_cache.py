"""The lint's content-hash cache on disk (like ruff's ``.ruff_cache``): one small JSON entry per migration file.

Layout: ``<cache_dir>/lint-<code fingerprint>/<folder hash>/<file name>.json``. The fingerprint covers the
lint's own code and pglast (name, size and mtime of their files), so a new version or an edited rule never
reads an old entry; older fingerprints are deleted when a new one is made. An entry's content (text hash,
summary, findings and what they depended on) is checked by ``bot.core.lint.history``; a corrupt or
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

CACHE_FORMAT = "1"
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
        self.version_dir = root / f"lint-{fingerprint or code_fingerprint()}"
        self.dir = self.version_dir / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
        self._pending: dict[str, dict] = {}
        self.hits = self.writes = 0

    def _path(self, name: str) -> Path:
        return self.dir / (name + ".json")

    def get(self, name: str) -> dict | None:
        try:
            entry = json.loads(self._path(name).read_bytes())
        except (OSError, ValueError):
            return None
        self.hits += 1
        return entry if isinstance(entry, dict) else None

    def put(self, name: str, entry: dict) -> None:
        self._pending[name] = entry

    def flush(self) -> None:
        """Write the changed entries; a cache that cannot be written (read-only checkout) is skipped silently."""
        if not self._pending:
            return
        try:
            self._prepare()
            for name, entry in self._pending.items():
                path = self._path(name)
                temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                temporary.write_text(json.dumps(entry, separators=(",", ":")), "utf-8")
                os.replace(temporary, path)
                self.writes += 1
        except OSError:
            pass
        self._pending.clear()

    def _prepare(self) -> None:
        if self.dir.is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by dragonfly-bot lint: a cache, never committed.\n*\n", "utf-8")
        for old in self.root.glob("lint-*"):  # entries of another version of the code are never read again
            if old != self.version_dir and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
