"""The guard on code and task files (argument lists, VS Code tasks), its suppression and its config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.core.guard import JAVASCRIPT, PYTHON, TASKS_JSON, YAML, kind_of, scan_text


def rules(text: str, kind: str) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in scan_text("f", text, kind)]


def test_python_argument_lists_and_shell_strings():
    text = (
        "import os, subprocess\n"
        "\n"
        'subprocess.run(["npx", "supabase", "db", "push"], check=True)\n'
        'subprocess.run(("supabase", "--workdir", "x", "link", "--project-ref", ref))\n'
        'os.system("supabase db push --db-url $URL")\n'
        'subprocess.run("npx supabase migration list --linked", shell=True)\n'
        'os.execvp("supabase", ["supabase", "db", "push"])\n'
        'subprocess.run(["sh", "-c", "supabase db push"])\n'
    )
    assert rules(text, PYTHON) == [
        (3, "db-push"),
        (4, "link"),
        (5, "db-push"),
        (6, "migration-list-linked"),
        (7, "db-push"),
        (8, "db-push"),
    ]


def test_python_text_that_only_mentions_a_command_is_not_one():
    text = (
        '"""Never run `supabase db push`: ["npx", "supabase", "db", "push"] bypasses the history."""\n'
        'CASES = [("npx supabase db push", "db-push"), ("supabase link", ["link"])]\n'
        'print("supabase db push is forbidden")\n'
        'subprocess.run(["npx", "supabase", "migration", "up", "--db-url", url])\n'
    )
    assert rules(text, PYTHON) == []


def test_python_that_does_not_parse_is_read_as_text():
    assert rules('print "x"\nrun(["npx", "supabase", "db", "push"])\n', PYTHON) == [(2, "db-push")]


def test_javascript_arrays_programs_and_exec_strings():
    text = (
        "import { execa } from 'execa';\n"
        "await execa('npx', ['supabase', 'db', 'push']);\n"
        "spawnSync(\n  'supabase',\n  ['link', '--project-ref', ref],\n);\n"
        'execSync("supabase migration list --linked");\n'
        "await $`npx supabase db push`;\n"
        "const ok = ['supabase', 'migration', 'up', '--db-url', url];\n"
        "// never: supabase db push\n"
    )
    assert rules(text, JAVASCRIPT) == [(2, "db-push"), (5, "link"), (7, "migration-list-linked"), (8, "db-push")]


def test_vscode_tasks_json_with_comments_args_and_platform_overrides():
    text = """{
  // VS Code tasks: JSON with comments and trailing commas
  "version": "2.0.0",
  "tasks": [
    {"label": "migrate", "type": "shell", "command": "npx supabase migration up --db-url ${env:DB}"},
    {
      "label": "push schema",
      "type": "process",
      "command": "supabase",
      "args": ["db", {"value": "push", "quoting": "escape"}],
    },
    {"label": "link", "command": "true", "windows": {"command": "supabase.exe link --project-ref x"}},
  ],
}
"""
    assert kind_of("tasks.json") == TASKS_JSON
    assert rules(text, TASKS_JSON) == [(7, "db-push"), (12, "link")]


def test_yaml_flow_lists_in_a_taskfile():
    text = 'tasks:\n  push:\n    cmds:\n      - cmd: ["supabase", "db", "push"]\n      - supabase link\n'
    assert rules(text, YAML) == [(4, "db-push"), (5, "link")]


def test_guard_ignore_needs_a_reason():
    text = (
        "supabase link --project-ref abc  # guard-ignore: local-only onboarding script, never in CI\n"
        "# guard-ignore: the docs site demo resets a throwaway project\n"
        "supabase db push\n"
        "supabase db push  # guard-ignore\n"
        "supabase db push  # guard-ignore:   \n"
        "supabase db push\n"
    )
    assert rules(text, "shell") == [
        (4, "db-push"),
        (4, "ignore-without-reason"),
        (5, "db-push"),
        (5, "ignore-without-reason"),
        (6, "db-push"),
    ]


def test_guard_ignore_in_python_and_javascript_comments_only():
    python = (
        'MSG = "supabase db push  # guard-ignore"  # a string, not a comment: no finding\n'
        'subprocess.run(["supabase", "db", "push"])  # guard-ignore: resets the disposable preview branch\n'
    )
    assert rules(python, PYTHON) == []
    javascript = "// guard-ignore: e2e fixture project\nexeca('supabase', ['db', 'push']);\n/* guard-ignore */\n"
    assert rules(javascript, JAVASCRIPT) == [(3, "ignore-without-reason")]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_scope_reads_vscode_python_javascript_and_taskfiles(project, capsys):
    (project / ".vscode").mkdir()
    (project / ".vscode" / "tasks.json").write_text(
        '{"tasks": [{"label": "push", "command": "supabase", "args": ["db", "push"]}]}'
    )
    (project / ".idea").mkdir()
    (project / ".idea" / "run.sh").write_text("supabase db push\n")  # other dot-folders: skipped
    (project / "tools").mkdir()
    (project / "tools" / "deploy.py").write_text('import subprocess\nsubprocess.run(["npx","supabase","db","push"])\n')
    (project / "tools" / "seed.mjs").write_text("await execa('npx', ['supabase', 'link']);\n")
    (project / "Taskfile.yml").write_text("tasks:\n  push:\n    cmds: [supabase db push]\n")
    (project / "config.yml").write_text("run: supabase db push\n")  # not a workflow: not scanned
    assert main(["guard", "--json"]) == 1
    found = {(f["file"], f["line"], f["rule"]) for f in json.loads(capsys.readouterr().out)}
    assert found == {
        (".vscode/tasks.json", 1, "db-push"),
        ("tools/deploy.py", 2, "db-push"),
        ("tools/seed.mjs", 1, "link"),
        ("Taskfile.yml", 3, "db-push"),
    }


def test_config_include_exclude_and_ignore(project, capsys):
    (project / "docs").mkdir()
    (project / "docs" / "demo.sh").write_text("supabase db push\n")
    (project / "ops").mkdir()
    (project / "ops" / "runbook.txt").write_text("supabase link --project-ref abc\nsupabase db push --linked\n")
    (project / "dragonfly.toml").write_text(
        '[guard]\ninclude = ["ops/*.txt"]\nexclude = ["docs/**"]\nignore = ["linked-flag"]\n'
    )
    assert main(["guard", "--json"]) == 1
    found = [(f["file"], f["line"], f["rule"]) for f in json.loads(capsys.readouterr().out)]
    assert found == [("ops/runbook.txt", 1, "link"), ("ops/runbook.txt", 2, "db-push")]
    (project / "dragonfly.toml").write_text('[guard]\nignore = ["push"]\n')
    assert main(["guard"]) == 2
    assert "[guard] ignore: unknown guard rule 'push'" in capsys.readouterr().err


def test_secrets_in_argument_lists_and_short_flags_are_redacted(project, capsys):
    secret = "Sup3rS3cret-9a"
    (project / "push.py").write_text(
        "import subprocess\n"
        f'subprocess.run(["supabase", "link", "--project-ref", "abc", "-p", "{secret}"])\n'
        f'subprocess.run(["supabase", "db", "push", "--db-url", "postgresql://postgres:{secret}@db.abc.supabase.co:5432/postgres"])\n'
    )
    (project / "push.sh").write_text(
        f"supabase link --project-ref abc -p {secret}\n"
        f"supabase db push --db-url postgresql://postgres:{secret}@db.abc.supabase.co:5432/postgres, x"
        " && psql -p 5432\n"
    )
    (project / ".vscode").mkdir()
    (project / ".vscode" / "tasks.json").write_text(
        json.dumps({"tasks": [{"label": "l", "command": "supabase", "args": ["link", "-p", secret]}]})
    )
    for args in (["guard", "--github"], ["guard", "--json"], ["guard"]):
        assert main(args) == 1
        out = capsys.readouterr().out
        assert secret not in out
    assert out.count("[REDACTED]") == 5  # every quoted line: the -p value, the URL's password
    assert "db.abc.supabase.co" in out and "psql -p 5432" in out  # a port is not a password
