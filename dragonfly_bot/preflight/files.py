"""Which migration files ``dragonfly-bot lint`` checks, read from disk and git.

Every folder is linted as one set (the cross-file rules compare versions
inside it). With ``--changed-since REF`` only files git reports as changed
since REF (plus untracked ones) are read and parsed; the other files of the
folder are used by name only.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dragonfly_bot.core.lint import MigrationSource
from dragonfly_bot.errors import UserFacingError

DEFAULT_PATH = Path("supabase/migrations")


@dataclass
class MigrationSet:
    folder: Path
    targets: list[MigrationSource] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # names only
    too_large: list[tuple[str, int]] = field(default_factory=list)  # (display path, bytes): not read
    cwd: Path | None = None  # paths in findings are shown relative to it, as the targets' are

    def read(self, name: str) -> str:
        """The text of another file of this folder (the lint reads one only when a rule needs it)."""
        return (self.folder / name).read_bytes().decode("utf-8", errors="replace")

    def identity(self, name: str) -> list[int]:
        """Size and modification time of a file of this folder: the cache takes an entry recorded with the same
        ones without reading the file again."""
        stat = (self.folder / name).stat()
        return [stat.st_size, stat.st_mtime_ns]

    def display(self, name: str | None = None) -> str:
        """How a file of this folder (or the folder itself) is named in findings."""
        path = self.folder / name if name else self.folder
        return _display(path, self.cwd) if self.cwd is not None else str(path)


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise UserFacingError("--changed-since needs git, and git is not installed") from exc
    if done.returncode != 0:
        raise UserFacingError(
            f"git {' '.join(args[:2])} failed: "
            f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'exit ' + str(done.returncode)}"
        )
    return done.stdout


def changed_files(ref: str, cwd: Path) -> dict[Path, bool]:
    """Absolute paths changed since ``ref`` (working tree included) -> True when new (added/untracked)."""
    try:  # one git call for both: this runs on every pre-commit and CI pre-flight
        top = Path(
            _git(["rev-parse", "--show-toplevel", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd).splitlines()[0]
        )
    except UserFacingError:
        _git(["rev-parse", "--show-toplevel"], cwd)  # says "not a git repository" when that is the problem
        raise UserFacingError(f"--changed-since: {ref!r} is not a commit in this repository") from None
    changed: dict[Path, bool] = {}
    for row in _git(["diff", "--name-status", "--no-renames", ref, "--"], top).splitlines():
        status, _, name = row.partition("\t")
        if status.startswith("D") or not name:
            continue
        changed[(top / name).resolve()] = status.startswith("A")
    # from the top level: run in a subfolder, ls-files would list only that subfolder
    for name in _git(["ls-files", "--others", "--exclude-standard", "--full-name"], top).splitlines():
        changed[(top / name).resolve()] = True
    return changed


def _tracked(files: list[Path], cwd: Path) -> set[Path] | None:
    """Files given by name that are in HEAD already: edits of existing migrations, not new ones.

    (A file only staged, as pre-commit sees a new migration, is still new.) None outside a git
    checkout: nothing tells a new file from an old one there, and calling every file new would
    report false out-of-order versions.
    """
    if not files:
        return set()
    try:
        done = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", "--full-name", "HEAD", "--", *map(str, files)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, timeout=60
        )
    except (FileNotFoundError, subprocess.SubprocessError):
        return None  # no git
    if top.returncode != 0:
        return None  # not a git checkout
    if done.returncode != 0:
        return set()  # a repository without commits yet: every file is new
    root = Path(top.stdout.strip())
    return {(root / name).resolve() for name in done.stdout.splitlines()}


def _read(path: Path, display: str, is_new: bool = True) -> MigrationSource:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return MigrationSource(path.name, display, text, is_new)


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def collect(
    paths: list[str], *, changed_since: str | None = None, cwd: Path | None = None, max_bytes: int | None = None
) -> list[MigrationSet]:
    cwd = (cwd or Path.cwd()).resolve()
    wanted = [Path(p) for p in paths] or [DEFAULT_PATH]
    sets: dict[Path, MigrationSet] = {}
    explicit: dict[Path, set[str]] = {}  # folder -> file names given on the command line
    for raw in wanted:
        path = (cwd / raw).resolve()
        if path.is_dir():
            sets.setdefault(path, MigrationSet(path, cwd=cwd))
            explicit.setdefault(path, set()).add("*")
        elif path.is_file():
            sets.setdefault(path.parent, MigrationSet(path.parent, cwd=cwd))
            explicit.setdefault(path.parent, set()).add(path.name)
        else:
            raise UserFacingError(f"{raw}: no such file or folder (default: {DEFAULT_PATH})")
    changed = changed_files(changed_since, cwd) if changed_since else None
    tracked = (
        None
        if changed is not None
        else _tracked([p for f, ns in explicit.items() for p in (f / n for n in ns if n != "*")], cwd)
    )
    for folder, mset in sets.items():
        with os.scandir(folder) as entries:  # d_type: no stat per file
            names = sorted(e.name for e in entries if e.name.endswith(".sql") and e.is_file())
        chosen = explicit[folder]
        extra = sorted(n for n in chosen if n != "*" and n not in names)  # e.g. a misnamed file given by hand
        for name in names + extra:
            path = folder / name
            selected = "*" in chosen or name in chosen
            if selected and changed is not None:
                selected = path in changed
            if selected and max_bytes is not None and (size := path.stat().st_size) > max_bytes:
                mset.too_large.append((_display(path, cwd), size))  # never read: memory stays bounded
                mset.others.append(name)
            elif selected:
                is_new = changed[path] if changed is not None else (tracked is not None and path not in tracked)
                mset.targets.append(_read(path, _display(path, cwd), is_new))
            else:
                mset.others.append(name)
        # A folder given whole is its own baseline: nothing in it is "older than the newest".
        if changed is None and "*" in chosen:
            mset.targets = [MigrationSource(t.name, t.path, t.text, is_new=False) for t in mset.targets]
    return list(sets.values())
