"""fly.toml, the Dockerfile and the README's deployment section say what the bot needs."""

from __future__ import annotations

import re
import tomllib

import discord

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from dragonfly_bot.settings import Settings
from tools.settings_table import END, START, settings_table


def test_fly_runs_exactly_one_always_on_machine_checked_on_healthz():
    fly = tomllib.loads((PROJECT_ROOT / "fly.toml").read_text())
    http = fly["http_service"]
    assert http["min_machines_running"] == 1
    assert http["auto_stop_machines"] in ("off", False)
    assert http["internal_port"] == int(fly["env"]["WEB_PORT"]) == Settings.model_fields["web_port"].default
    assert [c["path"] for c in http["checks"]] == ["/healthz"]
    assert fly["kill_signal"] == "SIGTERM" and fly["kill_timeout"]
    assert fly["mounts"]["destination"] == fly["env"]["DATA_DIR"]


def test_dockerfile_is_slim_and_non_root():
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert 'CMD ["dragonfly-bot", "run"]' in text
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and "node_modules" in ignored and ".git" in ignored


def test_readme_settings_table_lists_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == settings_table(), "run: python -m tools.settings_table --write"
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in table


def test_readme_invite_link_has_the_listed_permissions():
    readme = (PROJECT_ROOT / "README.md").read_text()
    deploy = readme.split("## Deploying to Fly.io", 1)[1]
    for step in ("fly launch --no-deploy", "fly secrets set", "fly deploy --ha=false", "applications.commands"):
        assert step in deploy
    wanted = discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        attach_files=True,
        create_public_threads=True,
        send_messages_in_threads=True,
        read_message_history=True,
    )
    assert f"permissions={wanted.value}" in deploy
