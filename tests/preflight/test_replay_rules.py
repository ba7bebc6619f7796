"""The replay's findings are rules of the lint: listed with a description, and the config's select / ignore /
severity / per_path apply to them as to the static ones (the replay itself is stood in for: what is tested
is the run around it, dragonfly_bot.preflight.lint_service)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dragonfly_bot.cli import main
from dragonfly_bot.core.lint import ERROR, WARNING, Finding
from dragonfly_bot.core.lint.model import REPLAY_RULES, RULE_GROUPS, RULES
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.preflight import replay as replay_module
from dragonfly_bot.project_config import parse

BOT = Path(__file__).resolve().parents[2] / "dragonfly_bot"
GOOD = (
    "create table if not exists public.a (id int primary key);\n"
    "revoke all on public.a from anon, authenticated; grant select on public.a to service_role;\n"
)


def test_every_replay_rule_id_in_the_code_is_a_listed_rule_with_a_description():
    emitted = set()
    for path in (BOT / "preflight").glob("replay*.py"):
        emitted |= set(re.findall(r'"(replay-[a-z-]+)"', path.read_text()))
    assert emitted == set(REPLAY_RULES) and len(emitted) == 5
    assert all(rule in RULES and len(RULES[rule]) > 20 for rule in emitted)
    assert RULE_GROUPS["replay"] == frozenset(REPLAY_RULES)


def test_list_rules_prints_them(capsys):
    assert main(["lint", "--list-rules"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert set(REPLAY_RULES) <= listed


def test_the_config_accepts_replay_rules_and_the_group(tmp_path):
    config = parse(
        {
            "lint": {
                "select": ["lock", "replay"],
                "ignore": ["replay-skipped"],
                "severity": {"replay-base-incomplete": "error"},
                "per_path": {"old/*": {"ignore": ["replay-not-idempotent"]}},
            }
        },
        tmp_path,
    )
    assert config.lint.rules.select >= set(REPLAY_RULES)
    assert config.lint.rules.ignore == {"replay-skipped"}
    with pytest.raises(UserFacingError, match="unknown rule 'replay-nope'"):
        parse({"lint": {"ignore": ["replay-nope"]}}, tmp_path)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_a.sql").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    shown = "supabase/migrations/20250101000000_a.sql"

    def fake_replay(mset, *, db_url=None, base=None):
        return [
            Finding(shown, 1, "replay-not-idempotent", ERROR, "running this migration a second time fails", "x"),
            Finding(shown, 1, "replay-skipped", WARNING, "extension vector is not installed", "y"),
        ]

    monkeypatch.setattr(replay_module, "replay", fake_replay)
    return tmp_path


def lint(capsys, *config: str) -> tuple[int, list[tuple[str, str]]]:
    Path("dragonfly.toml").write_text("[lint]\n" + "\n".join(config) + "\n")
    code = main(["lint", "--replay", "--json", "--no-cache"])
    return code, [(f["rule"], f["severity"]) for f in json.loads(capsys.readouterr().out)]


def test_without_settings_both_are_reported(project, capsys):
    assert lint(capsys) == (1, [("replay-not-idempotent", "error"), ("replay-skipped", "warning")])


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (['ignore = ["replay-not-idempotent"]'], (0, [("replay-skipped", "warning")])),
        (['ignore = ["replay"]'], (0, [])),
        (
            ['severity = { replay-not-idempotent = "warning", replay-skipped = "error" }'],
            (1, [("replay-not-idempotent", "warning"), ("replay-skipped", "error")]),
        ),
        (['severity = { replay-skipped = "off" }'], (1, [("replay-not-idempotent", "error")])),
        (['select = ["lock"]'], (0, [])),  # a select without them turns them off, as any rule
        (['select = ["replay-skipped"]'], (0, [("replay-skipped", "warning")])),
        (
            ['[lint.per_path."supabase/migrations/2025*"]', 'ignore = ["replay-skipped"]'],
            (1, [("replay-not-idempotent", "error")]),
        ),
    ],
)
def test_select_ignore_severity_and_per_path_apply_to_replay_findings(project, capsys, settings, expected):
    assert lint(capsys, *settings) == expected


def test_a_lint_ignore_comment_cannot_silence_a_replay_rule(project, capsys):
    path = project / "supabase" / "migrations" / "20250101000000_a.sql"
    path.write_text("-- lint-ignore: replay-not-idempotent it is fine\n" + GOOD)
    code, found = lint(capsys)
    assert code == 1 and ("invalid-suppression", "error") in found and ("replay-not-idempotent", "error") in found
