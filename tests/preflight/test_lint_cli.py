"""``dragonfly-bot lint``: output modes, exit codes, file selection and --changed-since in a real git repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dragonfly_bot.cli import main

GOOD = (
    "create table if not exists public.a (id int primary key);\n"
    "revoke all on public.a from anon, authenticated; "
    "grant select on public.a to service_role;\n"
)
BAD = (
    "-- customers\ncreate table public.b (id int);\nrevoke all on public.b from anon, authenticated; "
    "grant select on public.b to service_role;\n"
)
WARN_ONLY = "select 1;\n"


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_good.sql").write_text(GOOD)
    (migrations / "20250102000000_bad.sql").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return migrations


def test_default_path_human_output_grouped_by_file_and_exit_1(folder, capsys):
    assert main(["lint"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "supabase/migrations/20250102000000_bad.sql"
    assert "line 2: error [create-without-if-not-exists]" in out
    assert "fix: create table if not exists public.b (id int);" in out
    assert "20250101000000_good.sql" not in out
    assert out.rstrip().endswith("1 error, 0 warnings in 1 of 2 files.")


def test_clean_folder_exits_0(folder, capsys):
    (folder / "20250102000000_bad.sql").unlink()
    assert main(["lint", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == "No problems in 1 migration file."


def test_warnings_alone_exit_0(folder, capsys):
    (folder / "20250102000000_bad.sql").unlink()
    (folder / "20250103_eight_digits.sql").write_text(WARN_ONLY)
    assert main(["lint", "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["severity"]) for f in findings] == [("file-name", "warning")]


def test_json_lists_findings_with_all_fields(folder, capsys):
    assert main(["lint", "--json", "supabase/migrations"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert findings == [
        {
            "file": "supabase/migrations/20250102000000_bad.sql",
            "line": 2,
            "rule": "create-without-if-not-exists",
            "severity": "error",
            "message": "CREATE TABLE public.b without IF NOT EXISTS fails on a second run (already exists)",
            "fix": "create table if not exists public.b (id int);",
        }
    ]


def test_github_annotations(folder, capsys):
    (folder / "20250103_eight_digits.sql").write_text(WARN_ONLY)
    assert main(["lint", "--github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "::error file=supabase/migrations/20250102000000_bad.sql,line=2,title=create-without-if-not-exists::"
        "CREATE TABLE public.b without IF NOT EXISTS fails on a second run (already exists)"
        "%0Afix: create table if not exists public.b (id int);"
    )
    assert lines[1].startswith("::warning file=supabase/migrations/20250103_eight_digits.sql,line=1,title=file-name::")
    assert len(lines) == 2


def test_single_file_uses_its_folder_for_cross_file_rules(folder, capsys):
    (folder / "20250101000000_twin.sql").write_text(GOOD.replace("public.a", "public.c"))
    assert main(["lint", "--json", str(folder / "20250101000000_twin.sql")]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)}
    # outside git nothing says the file is new: a twin version, but not "out of order"
    assert rules == {"duplicate-version"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lint", "no/such/folder"], "no/such/folder: no such file or folder"),
        (["lint", "--db-url", "postgresql://x"], "--db-url is only used with --replay"),
    ],
)
def test_usage_errors_exit_2(folder, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    _git(tmp_path, "init", "-q", "-b", "main")
    (migrations / "20250101000000_a.sql").write_text(GOOD)
    (migrations / "20250105000000_b.sql").write_text(GOOD.replace("public.a", "public.b"))
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_changed_since_lints_only_changed_and_untracked_files(repo, capsys):
    migrations = repo / "supabase" / "migrations"
    # committed after the base, untracked, and an edit of an old file
    (migrations / "20250106000000_c.sql").write_text(BAD)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "c")
    (migrations / "20250103000000_late.sql").write_text(GOOD.replace("public.a", "public.d"))
    (migrations / "20250101000000_a.sql").write_text(GOOD + "drop view v;\n")
    assert main(["lint", "--json", "--changed-since", "HEAD~1"]) == 1
    found = {(Path(f["file"]).name, f["rule"]) for f in json.loads(capsys.readouterr().out)}
    assert found == {
        ("20250106000000_c.sql", "create-without-if-not-exists"),
        ("20250103000000_late.sql", "out-of-order"),  # new, and older than 20250106000000
        ("20250101000000_a.sql", "drop-without-if-exists"),  # edited: not "out of order"
    }


def test_changed_since_with_nothing_changed(repo, capsys):
    assert main(["lint", "--changed-since", "HEAD"]) == 0
    assert capsys.readouterr().out.strip() == "No problems in 0 migration files."


def test_changed_since_bad_ref_exits_2(repo, capsys):
    assert main(["lint", "--changed-since", "no-such-ref"]) == 2
    assert "'no-such-ref' is not a commit" in capsys.readouterr().err


def test_console_script_and_module_entry_points(folder):
    for command in (
        [sys.executable, "-m", "dragonfly_bot.cli", "lint", "--json"],
        [sys.executable, "-m", "dragonfly_bot.preflight.lint_command", "--json"],
    ):
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=folder.parent.parent,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert done.returncode == 1, done.stderr
        assert [f["rule"] for f in json.loads(done.stdout)] == ["create-without-if-not-exists"]
    done = subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.preflight.lint_command", "nope"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 2 and "nope: no such file or folder" in done.stderr


def test_explicit_files_staged_new_vs_committed(repo, capsys):
    """What pre-commit passes: a staged new file is new (can be out of order); a committed one being edited is not."""
    migrations = repo / "supabase" / "migrations"
    (migrations / "20250103000000_staged.sql").write_text(GOOD.replace("public.a", "public.s"))
    _git(repo, "add", ".")
    (migrations / "20250101000000_a.sql").write_text(GOOD + "-- edited\n")
    assert (
        main(
            [
                "lint",
                "--json",
                "supabase/migrations/20250103000000_staged.sql",
                "supabase/migrations/20250101000000_a.sql",
            ]
        )
        == 1
    )
    found = [(Path(f["file"]).name, f["rule"]) for f in json.loads(capsys.readouterr().out)]
    assert found == [("20250103000000_staged.sql", "out-of-order")]


def test_changed_since_outside_a_git_repository_exits_2(folder, capsys):
    assert main(["lint", "--changed-since", "HEAD"]) == 2
    assert "not a git repository" in capsys.readouterr().err


def test_changed_since_from_a_subfolder_sees_untracked_files_elsewhere(repo, capsys, monkeypatch):
    (repo / "supabase" / "migrations" / "20250107000000_new.sql").write_text(BAD)
    (repo / "web").mkdir()
    monkeypatch.chdir(repo / "web")
    assert main(["lint", "--json", "--changed-since", "HEAD", "../supabase/migrations"]) == 1
    found = [(Path(f["file"]).name, f["rule"]) for f in json.loads(capsys.readouterr().out)]
    assert found == [("20250107000000_new.sql", "create-without-if-not-exists")]


def test_standalone_entry_points_piped_into_head_end_quietly(tmp_path):
    """`python -m dragonfly_bot.preflight.lint_command | head -1` (the pre-commit hook's entry) and guard's: no
    traceback, exit 141."""
    import os
    import subprocess
    import sys

    from dragonfly_bot.adapters.localdb import PROJECT_ROOT

    for i in range(50):
        (tmp_path / f"202501010000{i:02d}_t{i}.sql").write_text(f"create table public.t{i} (id int);\n")
    (tmp_path / "push.sh").write_text("supabase db push\n" * 200)
    for args in (
        ["dragonfly_bot.preflight.lint_command", "--json", str(tmp_path)],
        ["dragonfly_bot.preflight.guard_command", str(tmp_path / "push.sh")],
    ):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone, as `| head -1` does after its line
        try:
            result = subprocess.run(
                [sys.executable, "-m", *args],
                cwd=PROJECT_ROOT,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        finally:
            os.close(write_end)
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
        assert result.returncode == 141


def test_fix_of_a_multi_line_statement_shows_the_line_it_changes(tmp_path, capsys, monkeypatch):
    """The fix shows the rewritten line (ADD COLUMN c on the statement's third line), not just its unchanged
    first line."""
    (tmp_path / "20250101000000_cols.sql").write_text(
        "create table if not exists public.a (id int);\n"
        "revoke all on public.a from anon, authenticated; "
        "grant select on public.a to service_role;\n"
        "\n"
        "alter table public.a\n"
        "  add column if not exists b int,\n"
        "  add column c int not null default 0;\n"
        "\n"
        "drop\n"
        "  index public.a_old_idx;\n"
        "\n"
        "create index a_b_idx\n"
        "  on public.a (b);\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--json", "."]) == 1
    fixes = {f["rule"]: f["fix"] for f in json.loads(capsys.readouterr().out)}
    # written in the author's keyword case by the one rewrite engine (dragonfly_bot.core.fixes), as the relay's hints
    # are
    assert fixes["add-column-without-if-not-exists"] == "... add column if not exists c int not null default 0;"
    assert fixes["drop-without-if-exists"] == "... index if exists public.a_old_idx;"
    assert fixes["create-without-if-not-exists"] == "create index if not exists a_b_idx ..."


def test_multi_line_fix_stays_indented_under_its_finding():
    """A replay finding's fix is the relay's hint, SQL on lines of its own: they stay inside the file's group."""
    from dragonfly_bot.core.lint import ERROR, Finding
    from dragonfly_bot.preflight.render_text import render_text

    hint = (
        'policy "p" for table "t" already exists: ... At x.sql line 3, write:\n'
        'DROP POLICY IF EXISTS "p" ON public.t;\ncreate policy "p" on public.t using (true);'
    )
    out = render_text([Finding("m/x.sql", 3, "replay-not-idempotent", ERROR, "running it again fails", hint)], 1)
    assert out.splitlines()[1:5] == [
        "  line 3: error [replay-not-idempotent] running it again fails",
        '      fix: policy "p" for table "t" already exists: ... At x.sql line 3, write:',
        '           DROP POLICY IF EXISTS "p" ON public.t;',
        '           create policy "p" on public.t using (true);',
    ]


REDEFINED = {
    "20250101000000_orders.sql": (
        "create table if not exists app.orders (id int primary key, total numeric, status text); "
        # global, not IN SCHEMA app: a per-schema REVOKE cannot take back PUBLIC's EXECUTE (PostgreSQL 15 checked)
        "alter default privileges revoke execute on functions from public;\n"
        "revoke all on app.orders from anon, authenticated; grant select on app.orders to service_role;\n"
        "create or replace view app.v_orders as select id, total from app.orders;\n"
        "revoke all on app.v_orders from anon, authenticated; grant select on app.v_orders to service_role;\n"
        "create or replace function app.order_total(p_id int) returns numeric language sql stable\n"
        "  as $$ select total from app.orders where id = p_id $$;\n"
        "grant execute on function app.order_total(integer) to authenticated, service_role;\n"
    ),
    "20250102000000_dropped.sql": (
        "create or replace function app.gone() returns int language sql as $$ select 1 $$;\n"
        "grant execute on function app.gone() to authenticated, service_role;\n"
    ),
    "20250103000000_drop_gone.sql": "drop function if exists app.gone();\n",
    "20250104000000_redefine.sql": (
        "-- add status to the view; round the total: both keep the grants they were given\n"
        "create or replace view app.v_orders as select id, total, status from app.orders;\n"
        "create or replace function app.order_total(p_id int) returns numeric language sql stable\n"
        "  as $$ select round(total, 2) from app.orders where id = p_id $$;\n"
        "-- a new overload is a new function: it needs its grants\n"
        "create or replace function app.order_total(p_id int, p_digits int) returns numeric language sql stable\n"
        "  as $$ select round(total, p_digits) from app.orders where id = p_id $$;\n"
        "-- dropped by an earlier migration, so created anew here\n"
        "create or replace function app.gone() returns int language sql as $$ select 2 $$;\n"
        "-- dropped just above: its grants went with it\n"
        "drop view if exists app.v_orders;\n"
        "create or replace view app.v_orders as select id from app.orders;\n"
    ),
}


@pytest.mark.parametrize("how", ["folder", "file", "changed-since"])
def test_or_replace_of_an_object_an_earlier_migration_created_keeps_its_grants(tmp_path, capsys, monkeypatch, how):
    """CREATE OR REPLACE VIEW/FUNCTION of an existing object keeps its privileges: no missing-grant, whether the
    earlier file is linted too or only read for this (a single file, --changed-since)."""
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, text in REDEFINED.items():
        (migrations / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    args = {"folder": [], "file": ["supabase/migrations/20250104000000_redefine.sql"], "changed-since": []}[how]
    if how == "changed-since":
        subprocess.run(["git", "init", "-q", "."], check=True)
        subprocess.run(["git", "add", "."], check=True)
        subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qm", "x"], check=True)
        (migrations / "20250104000000_redefine.sql").write_text(REDEFINED["20250104000000_redefine.sql"] + "\n")
        args = ["--changed-since", "HEAD"]
    main(["lint", "--json", *args])
    found = [
        (Path(f["file"]).name, f["line"]) for f in json.loads(capsys.readouterr().out) if f["rule"] == "missing-grant"
    ]
    assert found == [
        ("20250104000000_redefine.sql", 6),
        ("20250104000000_redefine.sql", 9),
        ("20250104000000_redefine.sql", 12),
    ]
