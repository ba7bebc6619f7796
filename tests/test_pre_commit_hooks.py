"""The pre-commit hook definitions point at the real commands and the right files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dragonfly_bot.cli import build_parser

HOOKS = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())


def test_hooks_are_defined_and_their_entries_are_real_subcommands():
    by_id = {hook["id"]: hook for hook in HOOKS}
    assert set(by_id) == {"dragonfly-lint", "dragonfly-guard"}
    parser = build_parser()
    for hook in HOOKS:
        assert hook["language"] == "python"
        program, command = hook["entry"].split()
        assert program == "dragonfly-bot"
        parser.parse_args([command])  # exits (SystemExit) if the subcommand does not exist


def test_file_patterns():
    lint = re.compile(next(h for h in HOOKS if h["id"] == "dragonfly-lint")["files"])
    guard = re.compile(next(h for h in HOOKS if h["id"] == "dragonfly-guard")["files"])
    assert lint.search("supabase/migrations/20251209143000_add_customer_tier_column.sql")
    assert not lint.search("docs/example.sql") and not lint.search("supabase/seed.sql")
    for path in (
        ".github/workflows/supabase-migrate.yml",
        "scripts/deploy",
        "Makefile",
        "tools/db.mk",
        "setup.ps1",
        "run.sh",
        "package.json",
        "web/package.json",
        ".vscode/tasks.json",
        "Taskfile.yml",
        "tools/deploy.py",
        "web/scripts/seed.mjs",
        "src/db.ts",
    ):
        assert guard.search(path), path
    for path in ("README.md", "docker-compose.yml", "config/tasks.json", "dragonfly_bot/cli.pyc"):
        assert not guard.search(path), path


def test_this_repositorys_own_config_runs_the_offered_hooks_as_offered():
    """.pre-commit-config.yaml runs dragonfly-lint and -guard on this repository with the same
    entries and file patterns it offers others, so the two files cannot drift apart."""
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-config.yaml").read_text())
    own = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    for offered in HOOKS:
        assert own[offered["id"]]["entry"] == offered["entry"]
        assert own[offered["id"]]["files"] == offered["files"]
    assert {"ruff", "ruff-format", "mypy", "actionlint", "zizmor", "hadolint"} <= set(own)
