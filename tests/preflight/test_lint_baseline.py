"""The lint baseline cycle (write, new bad file red, fixed green, baselined file deleted -> stale),
fingerprints that survive line shifts, and file-level suppressions."""

from __future__ import annotations

import json

import pytest

from dragonfly_bot.cli import main

LEGACY = (
    "create table public.legacy (id int);\nrevoke all on public.legacy from anon, authenticated; "
    "grant select on public.legacy to service_role;\n"
)
GOOD = (
    "create table if not exists public.ok (id int);\nrevoke all on public.ok from anon, authenticated; "
    "grant select on public.ok to service_role;\n"
)
BAD = (
    "create table public.fresh (id int);\nrevoke all on public.fresh from anon, authenticated; "
    "grant select on public.fresh to service_role;\n"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_legacy.sql").write_text(LEGACY)
    (folder / "20240102000000_ok.sql").write_text(GOOD)
    (tmp_path / "dragonfly.toml").write_text("[lint]\n")
    monkeypatch.chdir(tmp_path)
    return folder


def lint_json(capsys, *extra):
    code = main(["lint", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_baseline_cycle(project, capsys):
    code, found = lint_json(capsys)
    assert code == 1 and [f["rule"] for f in found] == ["create-without-if-not-exists"]
    assert main(["lint", "--write-baseline"]) == 0
    assert "Recorded 1 finding in" in capsys.readouterr().out
    recorded = json.loads((project.parent / "lint-baseline.json").read_text())
    assert recorded["findings"][0]["file"] == "supabase/migrations/20240101000000_legacy.sql"
    assert lint_json(capsys) == (0, [])
    assert main(["lint"]) == 0
    assert "(1 baselined finding not shown)" in capsys.readouterr().out

    # a line shift above the legacy statement keeps it baselined
    (project / "20240101000000_legacy.sql").write_text("-- a note\n\n" + LEGACY.replace("(id int)", "(\n  id int\n)"))
    assert lint_json(capsys) == (0, [])

    (project / "20240103000000_fresh.sql").write_text(BAD)
    code, found = lint_json(capsys)
    assert code == 1 and [(f["file"].rsplit("/", 1)[-1], f["rule"]) for f in found] == [
        ("20240103000000_fresh.sql", "create-without-if-not-exists")
    ]
    (project / "20240103000000_fresh.sql").write_text(BAD.replace("table public", "table if not exists public"))
    assert lint_json(capsys) == (0, [])

    (project / "20240101000000_legacy.sql").unlink()
    code, found = lint_json(capsys)
    assert code == 0 and [(f["rule"], f["severity"]) for f in found] == [("stale-baseline", "warning")]
    assert "create-without-if-not-exists" in found[0]["message"]
    assert lint_json(capsys, "--no-baseline") == (0, [])


def test_fixed_baselined_finding_is_stale_and_other_files_untouched_by_changed_since_are_not(project, capsys):
    assert main(["lint", "--write-baseline"]) == 0
    capsys.readouterr()
    (project / "20240101000000_legacy.sql").write_text(LEGACY.replace("table public", "table if not exists public"))
    code, found = lint_json(capsys)
    assert code == 0 and [f["rule"] for f in found] == ["stale-baseline"]


def test_write_baseline_refuses_changed_since(project, capsys):
    assert main(["lint", "--write-baseline", "--changed-since", "HEAD"]) == 2
    assert "--write-baseline records the whole folder" in capsys.readouterr().err


def test_corrupt_baseline_is_one_line(project, capsys):
    (project.parent / "lint-baseline.json").write_text("[1, 2]")
    assert main(["lint"]) == 2
    assert "not a lint baseline" in capsys.readouterr().err


def test_lint_ignore_file_needs_a_reason_and_covers_the_whole_file(project, capsys):
    path = project / "20240101000000_legacy.sql"
    path.write_text("-- lint-ignore-file: create-without-if-not-exists applied once by the legacy tool\n" + LEGACY)
    assert lint_json(capsys) == (0, [])
    path.write_text("-- lint-ignore-file: create-without-if-not-exists\n" + LEGACY)
    code, found = lint_json(capsys)
    assert code == 1 and {f["rule"] for f in found} == {"invalid-suppression", "create-without-if-not-exists"}
    path.write_text(
        "-- lint-ignore-file: missing-grant nothing to say\n"
        + LEGACY.replace("table public", "table if not exists public")
    )
    code, found = lint_json(capsys)
    assert [f["rule"] for f in found] == ["unused-suppression"]
    assert "`lint-ignore-file: missing-grant` suppresses nothing: the file" in found[0]["message"]


def test_file_over_max_file_bytes_is_reported_and_skipped(project, capsys):
    (project.parent.parent / "dragonfly.toml").write_text("[lint]\nmax_file_bytes = 300\n")
    (project / "20240103000000_big.sql").write_text("select 1;\n" * 50)
    code, found = lint_json(capsys, "--no-baseline")
    assert code == 1
    assert [(f["file"].rsplit("/", 1)[-1], f["rule"]) for f in found if f["rule"] == "file-too-large"] == [
        ("20240103000000_big.sql", "file-too-large")
    ]
