"""``dragonfly-bot guard``: the protocol's forbidden commands in scripts, workflows, Makefiles and package.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.core.guard import MAKE, POWERSHELL, SHELL, YAML, match_command, scan_text


@pytest.mark.parametrize(
    "command, rules",
    [
        ("supabase db push", ["db-push"]),
        ("npx supabase db push --dry-run", ["db-push"]),
        ("npx supabase@2.20.0 db push", ["db-push"]),
        ("./node_modules/.bin/supabase --workdir . db push", ["db-push"]),
        ("supabase --debug db push --linked", ["db-push"]),
        ("pnpm exec supabase link --project-ref abcd", ["link"]),
        ("supabase migration list --linked", ["migration-list-linked"]),
        ("supabase migration up --linked", ["linked-flag"]),
        ("supabase inspect db locks --linked=true", ["linked-flag"]),
        ("cd db && supabase db push; supabase link", ["db-push", "link"]),
        ('supabase migration up --db-url "$DB_URL"', []),
        ('supabase migration list --db-url "$DB_URL"', []),
        ("supabase db pull", []),
        ("supabase unlink", []),
        ("supabase db reset --local", []),
        ("grep -r pushd .", []),
        ("my-tool --linked-list", []),
    ],
)
def test_match_command(command, rules):
    assert match_command(command) == rules


def test_shell_comments_are_not_flagged_but_commands_are():
    text = (
        "#!/usr/bin/env bash\n"
        "# never run supabase db push here (protocol)\n"
        "set -e\n"
        'supabase migration up --db-url "$DB_URL"  # not supabase db push\n'
        "npx supabase \\\n"
        "  db push\n"
    )
    findings = scan_text("deploy.sh", text, SHELL)
    assert [(f.line, f.rule) for f in findings] == [(5, "db-push")]
    assert findings[0].instead.startswith("Use migration files + CI")
    assert findings[0].why == "Bypasses migration history, causes drift"


def test_yaml_workflow():
    text = (
        "jobs:\n"
        "  migrate:\n"
        "    steps:\n"
        "      # - run: supabase link --project-ref x\n"
        "      - run: supabase migration list --linked\n"
        "      - run: |\n"
        '          supabase migration up --db-url "$DB_URL"\n'
        "          supabase db push\n"
    )
    assert [(f.line, f.rule) for f in scan_text("w.yml", text, YAML)] == [(5, "migration-list-linked"), (8, "db-push")]


def test_yaml_names_and_descriptions_are_labels_not_commands():
    """A workflow, job or step name (or an action's description) is never run: naming the forbidden command there
    is fine."""
    text = (
        "name: Migrations (never supabase db push)\n"
        'run-name: "Migrations, not supabase link"\n'
        "jobs:\n"
        "  migrate:\n"
        "    name: migrate instead of supabase link\n"
        "    steps:\n"
        "      - name: Apply (replaces supabase db push --linked)\n"
        "        run: supabase db push\n"
        "      - name: ok\n"
        "        run: |\n"
        "          supabase link --project-ref x\n"
        "inputs:\n"
        "  target:\n"
        "    description: 'what supabase db push would have done'\n"
    )
    assert [(f.line, f.rule) for f in scan_text("w.yml", text, YAML)] == [(8, "db-push"), (11, "link")]


def test_powershell_block_comments_and_backtick_continuation():
    text = "<#\n supabase db push\n#>\n# supabase link\nnpx supabase migration up `\n  --linked\n"
    assert [(f.line, f.rule) for f in scan_text("x.ps1", text, POWERSHELL)] == [(5, "linked-flag")]


def test_makefile_recipe():
    text = "push:\n\t@supabase db push\n\n# link: supabase link\n"
    assert [(f.line, f.rule) for f in scan_text("Makefile", text, MAKE)] == [(2, "db-push")]


def test_package_json_scripts_with_their_lines():
    text = json.dumps(
        {
            "name": "x",
            "description": "never supabase db push",
            "scripts": {"test": "pytest", "db:push": "supabase db push", "status": "supabase link"},
        },
        indent=2,
    )
    findings = scan_text("package.json", text, "package.json")
    lines = text.splitlines()
    assert [(f.rule, lines[f.line - 1].strip()) for f in findings] == [
        ("db-push", '"db:push": "supabase db push",'),
        ("link", '"status": "supabase link"'),
    ]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("steps:\n  - run: supabase migration up --db-url x\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "deploy").write_text("#!/bin/sh\necho deploying\n")
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "x.sh").write_text("supabase db push\n")  # not ours: skipped
    (tmp_path / "docs.md").write_text("Never run `supabase db push`.\n")  # prose: not scanned
    (tmp_path / "package.json").write_text('{"scripts": {"test": "pytest"}}\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_clean_repository_exits_0(project, capsys):
    assert main(["guard"]) == 0
    assert capsys.readouterr().out.strip() == "No forbidden Supabase commands in 3 files."


def test_default_scope_finds_scripts_workflows_makefiles(project, capsys):
    (project / "scripts" / "deploy").write_text("#!/bin/sh\nnpx supabase db push\n")
    (project / "tools").mkdir()
    (project / "tools" / "Makefile").write_text("status:\n\tsupabase migration list --linked\n")
    (project / "setup.ps1").write_text("supabase link --project-ref abc\n")
    assert main(["guard"]) == 1
    out = capsys.readouterr().out
    assert "scripts/deploy:2: npx supabase db push" in out
    assert "tools/Makefile:2: supabase migration list --linked" in out
    assert "    instead:   Use `tools.migration_status`" in out
    assert "setup.ps1:1: supabase link --project-ref abc" in out
    assert "    instead:   Always use `--db-url`" in out
    assert "node_modules" not in out
    assert out.rstrip().endswith(
        '3 forbidden commands in 3 file(s); see the Database Migration Protocol, "Never Do This".'
    )


def test_explicit_path_json_and_github(project, capsys):
    (project / "x.sh").write_text("supabase db push\n")
    assert main(["guard", "--json", "x.sh"]) == 1
    assert [(f["file"], f["line"], f["rule"]) for f in json.loads(capsys.readouterr().out)] == [("x.sh", 1, "db-push")]
    assert main(["guard", "--github", "x.sh"]) == 1
    assert capsys.readouterr().out.startswith(
        "::error file=x.sh,line=1,title=guard db-push::forbidden by the migration protocol"
    )


def test_bad_path_exits_2(project, capsys):
    assert main(["guard", "missing.sh"]) == 2
    assert "missing.sh: no such file or folder" in capsys.readouterr().err


def test_this_repository_is_clean(capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert main(["guard"]) == 0, capsys.readouterr().out


def test_passwords_and_keys_on_a_flagged_line_are_not_echoed(project, capsys):
    """The guard quotes the offending line; a password or key on it must not reach the CI log or the console."""
    secret = "Sup3rS3cret-9a"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXZhbHVl"
    (project / "push.sh").write_text(
        f'supabase db push --db-url "postgresql://postgres.abcdefgh:{secret}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"\n'
        f"supabase link --project-ref abcdefgh --password '{secret}'\n"
        f'supabase link --project-ref abcdefgh --password "{secret}"\n'
        f"SUPABASE_DB_PASSWORD={secret} supabase link --project-ref abcdefgh\n"
        f'curl -H "apikey: {jwt}" https://x.supabase.co && supabase db push\n'
    )
    (project / "package.json").write_text(json.dumps({"scripts": {"push": f"supabase link --password {secret}"}}))
    for args in (["guard", "push.sh", "package.json"], ["guard", "--json", "push.sh", "package.json"]):
        assert main(args) == 1
        out = capsys.readouterr().out
        assert secret not in out and jwt not in out
        assert out.count("[REDACTED]") == 6
    assert "pooler.supabase.com" in out  # the rest of the line still says what it is
