"""cogs.relay inside the real app: the webhook route, the queue worker, the loop, /ci last."""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import ClientSession

from bot.chat.app import EXTENSIONS, DragonflyBot
from bot.settings import Settings
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub, github_log, signed_headers
from tests.fakes.helpers import RecordingPoster, make_interaction

SECRET = "webhook-secret-for-tests"
CLI_OUTPUT = (
    "Applying migration 20991209000003_grants.sql...\n"
    "ERROR: permission denied for table customers (SQLSTATE 42501)\n"
    "At statement: 0\n"
    "select * from public.customers\n"
    "Try rerunning the command with --debug to troubleshoot the error.\n"
)


def _settings(tmp_path, fake: FakeGitHub | None = None, **values) -> Settings:
    if fake is not None:
        values.update(
            github_token=TOKEN,
            github_repository=REPO,
            github_api_url=fake.url,
            github_webhook_secret=SECRET,
        )
    return Settings(_env_file=None, data_dir=tmp_path, web_host="127.0.0.1", web_port=0, **values)


async def test_unconfigured_cog_loads_idle_and_says_so(tmp_path, caplog):
    assert "cogs.relay" in EXTENSIONS
    bot = DragonflyBot(_settings(tmp_path), poster=RecordingPoster(), serve_web=False, sync_commands=False)
    with caplog.at_level(logging.INFO, logger="cogs.relay"):
        async with bot:
            await bot.setup_hook()
            assert bot.failed_extensions == {}
            cog = bot.get_cog("CiAlerts")
            assert cog.relay is None and not cog.reconcile_loop.is_running()
            inter = make_interaction(client=bot)
            await cog.last.callback(cog, inter)
            assert "not configured" in inter.sent[-1]["content"]
    idle = [r for r in caplog.records if "CI relay idle" in r.getMessage()]
    assert len(idle) == 1


async def test_webhook_to_alert_through_the_running_bot(tmp_path):
    fake = await FakeGitHub().start()
    poster = RecordingPoster()
    bot = DragonflyBot(_settings(tmp_path, fake), poster=poster, sync_commands=False)
    try:
        async with bot:
            await bot.setup_hook()
            assert bot.failed_extensions == {}
            cog = bot.get_cog("CiAlerts")
            assert cog.reconcile_loop.is_running()
            run = fake.add_run(42, log=github_log(CLI_OUTPUT))
            body = json.dumps({"action": "completed", "workflow_run": run, "repository": run["repository"]}).encode()
            url = f"http://127.0.0.1:{bot.web_server.port}/github/webhook"
            async with ClientSession() as session:
                async with session.post(url, data=body, headers={"X-GitHub-Event": "workflow_run"}) as resp:
                    assert resp.status == 401
                headers = signed_headers(SECRET, body, "workflow_run", "delivery-42")
                async with session.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 202
            await asyncio.wait_for(cog.queue.join(), 10)
            [post] = poster.sent
            embed = post["embeds"][0]
            assert "20991209000003_grants.sql" in embed.title
            assert {f.name: f.value for f in embed.fields}["Category"] == "`permission_denied`"
            inter = make_interaction(client=bot)
            await cog.last.callback(cog, inter)
            assert inter.sent[-1]["embed"].title == embed.title

            # The loop's body never raises, even when GitHub is gone.
            await fake.stop()
            await cog.reconcile_loop.coro(cog)
            worker = cog._worker
        assert worker.done() and not cog.reconcile_loop.is_running()
        assert (tmp_path / "ci_ledger.sqlite3").exists()
    finally:
        await fake.stop()


async def test_without_webhook_secret_the_route_refuses_and_the_loop_relays(tmp_path):
    fake = await FakeGitHub().start()
    poster = RecordingPoster()
    settings = _settings(tmp_path, fake).model_copy(update={"github_webhook_secret": None})
    bot = DragonflyBot(settings, poster=poster, sync_commands=False)
    try:
        async with bot:
            await bot.setup_hook()
            cog = bot.get_cog("CiAlerts")
            url = f"http://127.0.0.1:{bot.web_server.port}/github/webhook"
            async with (
                ClientSession() as session,
                session.post(url, data=b"{}", headers={"X-GitHub-Event": "ping"}) as resp,
            ):
                assert resp.status == 503
            fake.add_run(77, log=github_log(CLI_OUTPUT))
            await cog.reconcile_loop.coro(cog)  # one pass of the loop
            await cog.reconcile_loop.coro(cog)  # the next pass finds nothing new
            assert len(poster.sent) == 1
            # Reloading the extension plugs into the same (frozen) route.
            await bot.reload_extension("cogs.relay")
            assert bot.get_cog("CiAlerts").relay is not None
    finally:
        await fake.stop()
