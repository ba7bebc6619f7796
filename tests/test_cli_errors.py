"""An unexpected error in any command: one line on stderr, exit 4 (never 1, which means "needs attention")."""

from __future__ import annotations

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.errors import EXIT_INTERNAL


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["lint", "supabase/migrations"], "dragonfly_bot.preflight.lint_service.run_lint"),
        (["guard", "."], "dragonfly_bot.preflight.guard_command.files_to_scan"),
    ],
)
def test_a_bug_in_a_command_is_one_redacted_line_and_exit_4(argv, target, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom while reading postgresql://postgres:hunter2@db.example.com:5432/postgres")

    monkeypatch.setattr(target, broken)
    assert main(argv) == EXIT_INTERNAL == 4
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("error: internal error (RuntimeError: boom")
    assert "Traceback" not in err and "hunter2" not in err + out and "-v" in err


def test_the_standalone_entry_of_a_command_reports_a_bug_the_same_way(monkeypatch, capsys):
    from dragonfly_bot.preflight import lint_command

    def broken(*args, **kwargs):
        raise KeyError("no such thing")

    monkeypatch.setattr("dragonfly_bot.preflight.lint_service.run_lint", broken)
    assert lint_command.main(["supabase/migrations"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("error: internal error (KeyError:") and err.count("\n") == 1
