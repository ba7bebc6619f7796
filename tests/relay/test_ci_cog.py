"""dragonfly_bot.cogs.relay inside the real app: the webhook route, the queue worker, the loop, /ci last."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import ClientSession

from dragonfly_bot.chat.app import EXTENSIONS, DragonflyBot
from dragonfly_bot.settings import Settings
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub, github_log, signed_headers
from tests.fakes.helpers import RecordingPoster, make_interaction
from tests.fakes.team_guild import team_guild

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
    assert "dragonfly_bot.cogs.relay" in EXTENSIONS
    with caplog.at_level(logging.INFO, logger="dragonfly_bot.cogs.relay"):
        async with team_guild(tmp_path) as guild:
            bot = guild.env.bot
            assert bot.failed_extensions == {}
            cog = bot.get_cog("CiAlerts")
            assert cog.relay is None and not cog.reconcile_loop.is_running()
            answer = await guild.slash("ci last")
            assert answer.ephemeral and "not configured" in answer.response.content
    idle = [r for r in caplog.records if "CI relay idle" in r.getMessage()]
    assert len(idle) == 1


@pytest.mark.parametrize("status", [500, 429])
async def test_an_alert_survives_discord_failing_while_it_is_posted(tmp_path, caplog, status):
    # The real path: the bot's own loop relays the run, the outbox posts through discord.py's HTTP
    # layer, and Discord answers 500 (or 429) to the first try: the post goes out once, later.
    # A 429 discord.py waits out and retries itself; a 500 the outbox retries on its schedule.
    fake = await FakeGitHub().start()
    try:
        settings = _settings(tmp_path, fake).model_dump(include={"github_token", "github_repository", "github_api_url"})
        async with team_guild(tmp_path, settings=settings) as guild:
            bot = guild.env.bot
            cog = bot.get_cog("CiAlerts")
            alerts = guild.channels["alerts"]
            assert alerts.history() == []  # the loop's first pass, on ready, found nothing
            fake.add_run(91, log=github_log(CLI_OUTPUT))
            guild.env.inject_error("POST", f"/channels/{alerts.id}/messages", status=status)
            with caplog.at_level(logging.WARNING, logger="dragonfly_bot.chat.outbox_sender"):
                await cog.reconcile_loop()  # one pass, as its timer would run it (it already ran once on ready)
                await guild.env.settle()
                deadline = asyncio.get_running_loop().time() + 10
                while not alerts.history() and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.5)  # the retry is due 2 s after the failure (the outbox's clock)
                    await bot.outbox.drain()
                    await guild.env.settle()
            [alert] = alerts.history()
            assert "20991209000003_grants.sql" in alert.embeds[0].title
            retried_by_outbox = any(
                "not delivered" in r.getMessage() and "500" in r.getMessage() for r in caplog.records
            )
            assert retried_by_outbox == (status == 500)
            # /ci last rebuilds the same alert for whoever asks.
            last = await guild.slash("ci last")
            assert last.response.embeds[0].title == alert.embeds[0].title
            assert guild.env.errors == []
    finally:
        await fake.stop()


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
            await asyncio.wait_for(cog.webhook.until_read(), 10)  # read after the answer
            await asyncio.wait_for(cog.queue.join(), 10)
            await bot.outbox.drain()  # the alert is an outbox row; the sender posts it
            [post] = poster.sent
            embed = post["embeds"][0]
            assert "20991209000003_grants.sql" in embed.title
            assert {f.name: f.value for f in embed.fields}["Category"] == "`permission_denied`"
            # A spec'd interaction, not simcord: this bot serves its web server for the webhook, and the
            # webhook queue's worker (waiting for deliveries) is work simcord's settlement cannot tell
            # from a hang. /ci last on the real path: test_an_alert_survives_discord_failing_while_it_is_posted.
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
            await bot.outbox.drain()
            assert len(poster.sent) == 1
            # Reloading the extension plugs into the same (frozen) route.
            await bot.reload_extension("dragonfly_bot.cogs.relay")
            assert bot.get_cog("CiAlerts").relay is not None
    finally:
        await fake.stop()


async def test_a_corrupted_ledger_and_outbox_are_reported_in_alerts_and_readyz_and_the_bot_goes_on(tmp_path):
    from dragonfly_bot.adapters.state.files import STATE_PROBLEMS
    from dragonfly_bot.adapters.state.outbox import OUTBOX_FILE
    from dragonfly_bot.chat.web import READINESS_KEY

    (tmp_path / "ci_ledger.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    (tmp_path / OUTBOX_FILE).write_bytes(b"\x00garbage" * 700)
    fake = await FakeGitHub().start()
    poster = RecordingPoster()
    bot = DragonflyBot(_settings(tmp_path, fake), poster=poster, sync_commands=False)
    try:
        async with bot:
            await bot.setup_hook()
            assert bot.failed_extensions == {}  # the CI cog loads on a fresh ledger
            cog = bot.get_cog("CiAlerts")
            fake.add_run(78, log=github_log(CLI_OUTPUT))
            await cog.reconcile_loop.coro(cog)
            await asyncio.sleep(0)  # the announcements are scheduled on the loop
            await bot.outbox.drain()
            titles = [p["embeds"][0].title for p in poster.posts_to("alerts")]
            assert titles.count("⚠️ The bot's saved state was damaged") == 2
            assert any("20991209000003_grants.sql" in t for t in titles)  # and it keeps relaying
            damaged = " ".join(p["embeds"][0].description or "" for p in poster.posts_to("alerts"))
            assert "CI ledger" in damaged and "outbox" in damaged and ".corrupt-" in damaged
            bot.gateway_state = "connected"
            bot.is_ready = lambda: True
            bot.probe_status_source = _no_problem
            status, body = await bot.web_app[READINESS_KEY].check()
            assert status == 200 and body["ready"] is True
            assert len(body["state_problems"]) == 2 and all("started a fresh one" in p for p in body["state_problems"])
        assert sorted(p.name.split(".corrupt-")[0] for p in tmp_path.glob("*.corrupt-*") if "-wal" not in p.name) == [
            "ci_ledger.sqlite3",
            OUTBOX_FILE,
        ]
    finally:
        STATE_PROBLEMS.clear()
        await fake.stop()


async def _no_problem() -> None:
    return None
