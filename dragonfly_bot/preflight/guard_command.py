"""``dragonfly-bot guard``: fail when scripts, workflows or Makefiles use the protocol's forbidden commands.

Default scope (from the git top level, else the current folder):
.github/workflows and .github/actions YAML, everything shell-like under
scripts/, Taskfile.yml, VS Code's .vscode/tasks.json, and anywhere in the
repository Makefiles (*.mk), *.sh, *.bash, *.ps1, *.psm1, *.bat, *.cmd,
package.json scripts and Python/JavaScript/TypeScript argument lists;
node_modules, virtual environments and dot-folders other than .github and
.vscode are skipped. The config's ``[guard]`` section (dragonfly.toml or
``[tool.dragonfly]``) adds ``include`` globs, drops ``exclude`` globs and
``ignore``s rules. Exit 1 when anything is found, 0 when clean, 2 for a bad
path or config.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from dragonfly_bot.cli_base import standalone_main
from dragonfly_bot.project_config import GuardConfig

NAME = "guard"
HELP = "Find the protocol's forbidden Supabase commands (db push, link, --linked) in scripts and workflows."

_DOT_DIRS = frozenset({".github", ".vscode"})
_TASKFILES = frozenset({"taskfile.yml", "taskfile.yaml", "taskfile.dist.yml", "taskfile.dist.yaml"})
_SKIP_DIRS = frozenset({"node_modules", "venv", ".venv", "env", "__pycache__", "dist", "build", "site-packages"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the repository)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON list of findings")
    output.add_argument("--github", action="store_true", help="print GitHub Actions ::error annotations")


def _root(cwd: Path) -> Path:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, timeout=30
        )
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    except (FileNotFoundError, subprocess.SubprocessError):
        pass
    return cwd


def _walk(folder: Path):
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            if path.name in _SKIP_DIRS or (path.name.startswith(".") and path.name not in _DOT_DIRS):
                continue
            yield from _walk(path)
        elif path.is_file():
            yield path


def files_to_scan(paths: list[str], cwd: Path, config: GuardConfig | None = None) -> list[tuple[Path, str]]:
    from dragonfly_bot.core.guard import SHELL, TASKS_JSON, kind_of
    from dragonfly_bot.errors import UserFacingError

    config = config or GuardConfig()
    chosen: dict[Path, str] = {}
    root = _root(cwd)
    roots = [Path(p) for p in paths] if paths else [root]
    for raw in roots:
        path = raw if raw.is_absolute() else cwd / raw
        if path.is_file():
            # A file named explicitly is scanned even without a known extension (as shell).
            chosen[path] = kind_of(path.name) or SHELL
        elif path.is_dir():
            for found in _walk(path):
                relative = _relative(found, root)
                if config.excluded(relative):
                    continue
                kind = kind_of(found.name)
                under_scripts = "scripts" in found.relative_to(path).parts[:-1]
                if kind is None and under_scripts and found.suffix == "":
                    kind = SHELL  # extension-less scripts (scripts/deploy)
                if kind == TASKS_JSON and found.parent.name != ".vscode":
                    kind = None  # only VS Code's tasks.json holds commands
                if kind == "yaml" and not (
                    ".github" in found.parts or under_scripts or found.name.lower() in _TASKFILES
                ):
                    kind = None  # only workflow/action YAML and Taskfiles run commands
                if kind is None and config.included(relative):
                    kind = SHELL
                if kind is not None:
                    chosen[found] = kind
        else:
            raise UserFacingError(f"{raw}: no such file or folder")
    return list(chosen.items())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _display(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    from dragonfly_bot.core.guard import FORBIDDEN, GuardFinding, scan_text
    from dragonfly_bot.project_config import load

    cwd = Path.cwd()
    config = load(cwd).guard
    findings: list[GuardFinding] = []
    scanned = files_to_scan(args.paths, cwd, config)
    for path, kind in scanned:
        text = path.read_bytes().decode("utf-8", errors="replace")
        findings.extend(f for f in scan_text(_display(path, cwd), text, kind) if f.rule not in config.ignore)
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    elif args.github:
        from dragonfly_bot.preflight.render_text import annotation

        for f in findings:
            body = f"forbidden by the migration protocol: {FORBIDDEN[f.rule].command} ({f.why}). Instead: {f.instead}"
            print(annotation("error", f.file, f.line, "guard " + f.rule, body))
    elif findings:
        for f in findings:
            print(f"{f.file}:{f.line}: {f.text}")
            print(f"    forbidden: `{FORBIDDEN[f.rule].command}`: {f.why}")
            print(f"    instead:   {f.instead}")
        print(
            f"{len(findings)} forbidden command{'s' if len(findings) != 1 else ''} "
            f'in {len({f.file for f in findings})} file(s); see the Database Migration Protocol, "Never Do This".'
        )
    else:
        print(f"No forbidden Supabase commands in {len(scanned)} file{'s' if len(scanned) != 1 else ''}.")
    return 1 if findings else 0


def main(argv: list[str] | None = None) -> int:
    return standalone_main(NAME, HELP, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
