"""Settings: one clear line naming the variable; secrets never shown."""

from __future__ import annotations

import pytest

from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.settings import load_settings


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("SUPABASE_MODE", "staging", "SUPABASE_MODE (the default environment: dev or prod)"),
        ("WEB_PORT", "eighty", "WEB_PORT (port the web server listens on)"),
        ("SUPABASE_PROD_URL", "db.example.com", "SUPABASE_PROD_URL"),
        ("GITHUB_DISCORD_USERS", "{not json", "GITHUB_DISCORD_USERS"),
        ("HOTFIX_REMINDER_HOURS", "-1", "HOTFIX_REMINDER_HOURS"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL (logging level: DEBUG, INFO, WARNING or ERROR)"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(UserFacingError) as exc:
        load_settings()
    assert expected in exc.value.message and "\n" not in exc.value.message


def test_log_level_is_read_in_any_case(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_per_environment_values_fall_back_to_the_protocol_variables(monkeypatch):
    monkeypatch.setenv("SUPABASE_MODE", "prod")
    monkeypatch.setenv("SUPABASE_URL", "https://prodref.supabase.co/")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-key-value-123")
    monkeypatch.setenv("SUPABASE_DEV_URL", "https://devref.supabase.co")
    settings = load_settings()
    assert settings.project_url("prod") == "https://prodref.supabase.co"
    assert settings.project_url("dev") == "https://devref.supabase.co"
    assert settings.service_role_key("dev") is None
    assert settings.service_role_key("prod").get_secret_value() == "service-key-value-123"
    assert "service-key-value-123" not in repr(settings) and "service-key-value-123" not in str(settings.model_dump())


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text('SUPABASE_MODE=prod\nDISCORD_GUILD_ID=42\nGITHUB_DISCORD_USERS={"octocat": 7}\n')
    settings = load_settings()
    assert (settings.supabase_mode, settings.discord_guild_id, settings.github_discord_users) == (
        "prod",
        42,
        {"octocat": 7},
    )


def test_env_file_saved_with_a_byte_order_mark_is_read_from_its_first_line(tmp_path):
    # PowerShell 5's `Out-File -Encoding utf8` / `Set-Content -Encoding UTF8` write a BOM.
    (tmp_path / ".env").write_bytes("\ufeffSUPABASE_MODE=prod\r\nDISCORD_GUILD_ID=42\r\n".encode())
    settings = load_settings()
    assert (settings.supabase_mode, settings.discord_guild_id) == ("prod", 42)


@pytest.mark.parametrize("secret", [" ", " " * 40, "\t\n  \t", "hunter2", "fifteen-chars!!"])
def test_a_weak_webhook_secret_is_refused_with_one_line(monkeypatch, secret):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", secret)
    with pytest.raises(UserFacingError) as exc:
        load_settings()
    message = exc.value.message
    assert message.startswith("setting GITHUB_WEBHOOK_SECRET (") and "\n" not in message
    assert "Value error" not in message
    assert ("whitespace" in message) == (not secret.strip())
    if secret.strip():
        assert secret not in message and "16 characters" in message


def test_an_empty_webhook_secret_is_unset_and_a_long_one_is_kept(monkeypatch):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "")
    assert load_settings().github_webhook_secret is None
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "sixteen-chars-ok")
    assert load_settings().github_webhook_secret.get_secret_value() == "sixteen-chars-ok"


def test_run_refuses_a_weak_webhook_secret_at_start_up_with_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DISCORD_", "SUPABASE_"))}
    env.update(GITHUB_WEBHOOK_SECRET="tiny-secret", DISCORD_TOKEN="x" * 50)
    done = subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: setting GITHUB_WEBHOOK_SECRET"), done.stderr
    assert "tiny-secret" not in done.stderr


@pytest.mark.parametrize(
    "environment, env_file",
    [
        ({}, ""),
        ({"SUPABASE_MODE": "prod"}, ""),
        ({}, "SUPABASE_MODE=prod\nMIGRATIONS_DIR=db/migrations\n"),
        ({"SUPABASE_MODE": "dev"}, "SUPABASE_MODE=prod\n"),  # the environment wins over .env
        ({"supabase_mode": "prod", "migrations_dir": "x"}, ""),  # names in any case
        ({}, "export SUPABASE_MODE='prod'  # quoted, exported, commented\nMIGRATIONS_DIR=\"a b\"\n"),
        ({}, "\ufeffSUPABASE_MODE=prod\r\n"),
    ],
)
def test_the_early_reader_agrees_with_settings(monkeypatch, tmp_path, environment, env_file):
    from dragonfly_bot import early_settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if env_file:
        (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    settings = load_settings()
    assert early_settings.default_environment() == settings.supabase_mode
    assert early_settings.migrations_dir() == settings.migrations_dir


def test_the_early_reader_refuses_what_settings_refuses(monkeypatch):
    from dragonfly_bot import early_settings

    monkeypatch.setenv("SUPABASE_MODE", "staging")
    with pytest.raises(UserFacingError) as early:
        early_settings.default_environment()
    with pytest.raises(UserFacingError) as full:
        load_settings()
    named = "setting SUPABASE_MODE (the default environment: dev or prod) is invalid"
    assert early.value.message.startswith(named) and full.value.message.startswith(named)
