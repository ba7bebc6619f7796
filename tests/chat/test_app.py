"""The app: start-up order, command tree payload, and the central error handler."""

from __future__ import annotations

import gc
import logging

import discord
import pytest
from discord import app_commands

from dragonfly_bot.chat.app import EXTENSIONS, DragonflyBot
from dragonfly_bot.chat.errors import handle_app_command_error
from dragonfly_bot.errors import SourceUnavailable, UserFacingError
from dragonfly_bot.settings import Settings
from tests.fakes.helpers import RecordingPoster, last_ephemeral_text, make_interaction


def _not_found(code: int) -> discord.NotFound:
    class _Resp:
        status = 404
        reason = "Not Found"

    return discord.NotFound(_Resp(), {"code": code, "message": "Unknown interaction"})


def _invoke_error(exc: Exception, interaction) -> app_commands.CommandInvokeError:
    command = app_commands.Command(name="migrations", description="x", callback=_dummy)
    return app_commands.CommandInvokeError(command, exc)


async def _dummy(interaction: discord.Interaction) -> None:  # pragma: no cover - never called
    pass


async def test_user_facing_error_not_yet_answered_goes_to_send_message():
    inter = make_interaction()
    await handle_app_command_error(inter, _invoke_error(UserFacingError("SUPABASE_DEV_URL is not set"), inter))
    inter.response.send_message.assert_awaited_once()
    inter.followup.send.assert_not_awaited()
    assert inter.sent[-1]["ephemeral"] is True
    assert last_ephemeral_text(inter) == "SUPABASE_DEV_URL is not set"


async def test_already_deferred_goes_to_followup():
    inter = make_interaction()
    await inter.response.defer(ephemeral=True, thinking=True)
    await handle_app_command_error(inter, _invoke_error(SourceUnavailable("view not deployed"), inter))
    inter.followup.send.assert_awaited_once()
    assert last_ephemeral_text(inter) == "view not deployed"


async def test_error_after_the_answer_was_sent_keeps_the_answer():
    inter = make_interaction()
    await inter.response.defer(thinking=True)
    await inter.followup.send("the status", embeds=[])  # replaces the placeholder
    await handle_app_command_error(inter, _invoke_error(RuntimeError("boom"), inter))
    assert "delete_original_response" not in inter.events and "edit_original_response" not in inter.events
    assert "incident" in last_ephemeral_text(inter)


async def test_expired_interaction_is_logged_only(caplog):
    inter = make_interaction()
    inter.response.send_message.side_effect = _not_found(10062)
    with caplog.at_level(logging.WARNING, logger="dragonfly_bot.chat.errors"):
        await handle_app_command_error(inter, _invoke_error(UserFacingError("late"), inter))
    assert "expired" in caplog.text
    assert inter.sent == []


async def test_command_that_answered_too_late_is_logged_only(caplog):
    inter = make_interaction()
    with caplog.at_level(logging.WARNING, logger="dragonfly_bot.chat.errors"):
        await handle_app_command_error(inter, _invoke_error(_not_found(10062), inter))
    assert "after the interaction expired" in caplog.text and "incident" not in caplog.text
    inter.response.send_message.assert_not_awaited()


async def test_unexpected_error_gets_incident_id_and_no_traceback(caplog):
    inter = make_interaction()
    secret_error = RuntimeError("password=hunter2 exploded")
    with caplog.at_level(logging.ERROR, logger="dragonfly_bot.chat.errors"):
        await handle_app_command_error(inter, _invoke_error(secret_error, inter))
    text = last_ephemeral_text(inter)
    assert "incident" in text and "hunter2" not in text and "Traceback" not in text
    incident = text.split("`")[1]
    assert incident in caplog.text  # the same id is in the log, with the traceback


async def test_missing_role_and_cooldown_messages():
    inter = make_interaction(command_name="hotfix declare")
    await handle_app_command_error(inter, app_commands.MissingRole(1234))
    assert "<@&1234>" in last_ephemeral_text(inter) and "/hotfix declare" in last_ephemeral_text(inter)
    inter = make_interaction()
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30), 12.4)
    await handle_app_command_error(inter, cooldown)
    assert "12 s" in last_ephemeral_text(inter)


async def test_interaction_fake_tracks_state():
    inter = make_interaction()
    assert not inter.response.is_done()
    await inter.response.defer()
    assert inter.response.is_done()
    with pytest.raises(discord.InteractionResponded):
        await inter.response.send_message("twice")
    message = await inter.followup.send("hello", ephemeral=True)
    await message.edit(content="bye")
    assert [r["via"] for r in inter.sent] == ["followup", "followup.edit"]


async def test_recording_poster_refs():
    poster = RecordingPoster()
    ref = await poster.send("alerts", content="x", thread_name="HF-0001")
    reply = await poster.reply(ref, content="y")
    assert ref.thread_id is not None and reply.thread_id == ref.thread_id
    assert poster.posts_to("alerts")[0]["content"] == "x"


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


async def test_command_tree_payload_has_names_options_and_choices():
    bot = DragonflyBot(_settings(), poster=RecordingPoster(), serve_web=False, sync_commands=False)
    async with bot:
        await bot.setup_hook()
        assert bot.failed_extensions == {}
        payload = {c.name: c.to_dict(bot.tree) for c in bot.tree.get_commands()}
    migrations = payload["migrations"]
    [env] = migrations["options"]
    assert env["name"] == "env" and env["type"] == discord.AppCommandOptionType.string.value
    assert env.get("required", False) is False
    assert [c["value"] for c in env["choices"]] == ["dev", "prod", "compare"]
    admin = payload["admin"]
    [sync] = admin["options"]
    assert sync["name"] == "sync" and sync["type"] == discord.AppCommandOptionType.subcommand.value
    [scope] = sync["options"]
    assert [c["value"] for c in scope["choices"]] == ["guild", "global"]


async def test_setup_hook_loads_every_extension_before_serving_web(monkeypatch):
    from aiohttp import ClientSession, web

    from dragonfly_bot.chat import web as web_module

    started_with: list[list[str]] = []
    frozen_before_serving: list[int] = []
    gc.unfreeze()
    original_start = web_module.WebServer.start

    async def recording_start(self, host, port):
        started_with.append(sorted(bot.extensions))
        frozen_before_serving.append(gc.get_freeze_count())
        await original_start(self, host, port)

    monkeypatch.setattr(web_module.WebServer, "start", recording_start)
    bot = DragonflyBot(_settings(web_host="127.0.0.1", web_port=0), poster=RecordingPoster(), sync_commands=False)

    async def extra(request):
        return web.json_response({"from": "a cog"})

    # What a cog does in cog_load: routes added before the server starts are served.
    bot.web_app.router.add_get("/extra", extra)
    async with bot:
        await bot.setup_hook()
        assert started_with == [sorted(EXTENSIONS)]
        # the start-up heap is out of the collector's reach before webhooks arrive
        assert frozen_before_serving[0] > 0
        assert bot.http_client is not None and not bot.http_client.is_closed
        client = bot.http_client
        async with ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{bot.web_server.port}/extra") as resp:
                assert (await resp.json()) == {"from": "a cog"}
            async with session.get(f"http://127.0.0.1:{bot.web_server.port}/healthz") as resp:
                assert resp.status == 200 and (await resp.json())["gateway"] == "connecting"
    assert client.is_closed and bot.web_server is None


async def test_guild_sync_when_guild_is_set_else_global_when_the_commands_changed(monkeypatch, tmp_path):
    calls = []

    async def fake_sync(self, *, guild=None):
        calls.append(guild.id if guild else "global")
        return []

    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", fake_sync)

    async def start(**kw) -> list:
        calls.clear()
        settings = _settings(data_dir=tmp_path, **kw.pop("settings", {}))
        bot = DragonflyBot(settings, poster=RecordingPoster(), serve_web=False, **kw)
        async with bot:
            await bot.setup_hook()
        return list(calls)

    assert await start(settings={"discord_guild_id": 42}) == [42]
    # No guild: global, so the commands appear at all (the rule) -- but only when
    # they differ from the last global sync: global syncs are rate-limited.
    assert await start() == ["global"]
    assert await start() == []  # unchanged since: no call
    assert await start(sync_global=True) == ["global"]  # forced
    assert await start(settings={"discord_guild_id": 42}) == [42]  # a guild never adds a global sync


async def test_admin_sync_is_owner_only(tmp_path):
    # On the real path (simcord): the check runs in discord.py's dispatch, the tree's handler answers.
    from tests.fakes.team_guild import DEFER_EPHEMERAL, interaction_callbacks, team_guild

    async with team_guild(tmp_path) as guild:  # the console user (the first teammate) is the owner
        refused = await guild.slash("admin sync", by="sam")
        assert refused.ephemeral and refused.response.content == "You are not allowed to use /admin sync."
        synced = await guild.slash("admin sync")
        assert interaction_callbacks(guild)[-1] == DEFER_EPHEMERAL and synced.ephemeral
        assert synced.response.content.startswith("Synced ") and f"to guild {guild.guild.id}" in synced.response.content


def test_run_without_token_names_the_setting(monkeypatch, tmp_path, capsys):
    from dragonfly_bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("error: DISCORD_TOKEN is not set: the bot token from the Discord developer portal")


# A stand-in for the Discord gateway: login runs setup_hook (as the real login
# does after authenticating), connect holds until the bot is closed.
FAKE_GATEWAY = """
import asyncio, sys
import discord
from dragonfly_bot.cli import main

async def login(self, token):
    await self.setup_hook()

async def connect(self, *, reconnect=True):
    await self.on_connect()
    print("gateway up", flush=True)
    while not self.is_closed():
        await asyncio.sleep(0.05)

discord.Client.login = login
discord.Client.connect = connect
sys.exit(main(["run"]))
"""


def test_sigterm_shuts_down_cleanly(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from dragonfly_bot.adapters.localdb import PROJECT_ROOT

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DISCORD_TOKEN": "fake-token", "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}
    env.pop("DISCORD_GUILD_ID", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", FAKE_GATEWAY],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "gateway up"
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert b'"gateway": "connected"' in resp.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "web server never answered"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert "SIGTERM received: shutting down" in stderr and "Traceback" not in stderr
    assert "fake-token" not in stderr
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_a_web_port_in_use_is_named_not_blamed_on_discord(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    from dragonfly_bot.adapters.localdb import PROJECT_ROOT

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DISCORD_TOKEN": "fake-token", "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)}
        result = subprocess.run(
            [sys.executable, "-c", FAKE_GATEWAY],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "WEB_PORT" in last and str(port) in last, last
    assert "cannot reach Discord" not in result.stderr
