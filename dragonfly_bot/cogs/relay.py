"""CI alerts: relays failed "Supabase Migrations" runs to #alerts (see dragonfly_bot/relay.py).

Thin: wires settings to the relay, serves ``POST /github/webhook`` on the
bot's web server, runs the queue worker and the reconciliation loop, and
offers ``/ci last``. With no GITHUB_TOKEN/GITHUB_REPOSITORY it loads, says
so once, and stays idle.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from aiohttp import web
from discord import app_commands
from discord.ext import commands, tasks

from dragonfly_bot.adapters.github import GitHubClient, GitHubUnavailable
from dragonfly_bot.adapters.state.ledger import LEDGER_FILE, Ledger
from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.chat.web_guard import ACTIVITY_KEY
from dragonfly_bot.relay.render_discord import render_alert
from dragonfly_bot.relay.service import Relay, process_queue, reconcile
from dragonfly_bot.relay.webhook import PATH, GitHubWebhook
from dragonfly_bot.relay.webhook_body import UnauthenticatedBytes

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class _WebhookSlot:
    """The route is added once (aiohttp freezes its router on start); the cog plugs itself in and out."""

    def __init__(self) -> None:
        self.webhook: GitHubWebhook | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.webhook is None:
            return web.json_response({"error": "CI relay not running"}, status=503)
        return await self.webhook.handle(request)


SLOT_KEY = web.AppKey("github_webhook_slot", _WebhookSlot)


class CiAlerts(commands.GroupCog, group_name="ci", group_description="Migration CI runs relayed to #alerts"):
    def __init__(self, bot: DragonflyBot):
        self.bot = bot
        self.client: GitHubClient | None = None
        self.ledger: Ledger | None = None
        self.relay: Relay | None = None
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.webhook: GitHubWebhook | None = None
        self._worker: asyncio.Task | None = None
        super().__init__()

    async def cog_load(self) -> None:
        s = self.bot.settings
        # The process's one GitHub client (dragonfly_bot.compose), shared with the migration files.
        self.client = self.bot.services.github
        if self.client is None:
            log.info("CI relay idle: set GITHUB_TOKEN and GITHUB_REPOSITORY to relay failed migration runs")
            return
        outbox = self.bot.outbox
        if outbox is None:  # setup_hook makes it before any cog loads
            raise RuntimeError("the CI relay cog loaded before the bot's outbox was set up")
        self.ledger = Ledger(s.data_dir / LEDGER_FILE, lease_seconds=s.ci_claim_lease_seconds)
        self.relay = Relay(
            client=self.client,
            ledger=self.ledger,
            outbox=outbox,
            workflow=s.migrations_workflow,
            discord_users=s.github_discord_users,
            migrations_dir=s.migrations_dir.as_posix(),
        )
        # A worker for webhook deliveries only when they can arrive: not in the console or the simcord
        # tests (no web server), where a task forever waiting on the queue would be work that never settles.
        if self._plug_webhook() and self.bot.serve_web:
            self._worker = asyncio.create_task(process_queue(self.queue, self.relay), name="ci-webhook-worker")
        self.reconcile_loop.change_interval(seconds=s.reconcile_interval_seconds)
        self.reconcile_loop.start()

    def _plug_webhook(self) -> bool:
        """Serve the webhook route; True when it accepts deliveries (a secret is set)."""
        secret = self.bot.settings.github_webhook_secret
        app = self.bot.web_app
        slot = app.get(SLOT_KEY)
        if slot is None:
            if app.frozen:
                log.warning("web server already started; %s not served until restart", PATH)
                return False
            slot = _WebhookSlot()
            app[SLOT_KEY] = slot
            app.router.add_post(PATH, slot.handle)
        if secret is None or not secret.get_secret_value():
            log.info("GITHUB_WEBHOOK_SECRET not set: %s answers 503; the reconciliation loop finds runs", PATH)
            return False
        s = self.bot.settings
        slot.webhook = self.webhook = GitHubWebhook(
            secret.get_secret_value(),
            s.migrations_workflow,
            self.queue,
            max_body=s.webhook_max_body_bytes,
            memory_bytes=s.webhook_memory_body_bytes,
            budget=UnauthenticatedBytes(s.webhook_unauthenticated_bytes),
            activity=app.get(ACTIVITY_KEY),  # deliveries are read in the web server's lulls
        )
        return True

    async def cog_unload(self) -> None:
        slot = self.bot.web_app.get(SLOT_KEY)
        if slot is not None:
            if slot.webhook is not None:
                slot.webhook.close()
            slot.webhook = None
        self.reconcile_loop.cancel()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self.relay is not None:
            try:
                await self.relay.close()
            except Exception:
                # They stay held in the outbox: the next start's reconciliation pass folds them.
                log.warning("held-back CI alerts could not be summarised on unload", exc_info=True)
        # self.client belongs to the services: the bot closes it.
        if self.ledger is not None:
            self.ledger.close()

    @tasks.loop(seconds=120)
    async def reconcile_loop(self) -> None:
        # GitHub never redelivers by itself: this pass catches what the webhook missed.
        if self.relay is None:  # started only once cog_load has built the relay
            return
        try:
            outcomes = await reconcile(self.client, self.relay)
            if outcomes:
                log.info("reconciliation relayed %d run(s): %s", len(outcomes), ", ".join(outcomes))
        except GitHubUnavailable as exc:
            log.warning("reconciliation skipped: %s", exc)
        except Exception:
            log.exception("reconciliation pass failed; the loop goes on")

    @reconcile_loop.before_loop
    async def _before_reconcile(self) -> None:
        await self.bot.wait_until_ready()

    @app_commands.command(name="last", description="The latest failed migration run relayed to #alerts")
    async def last(self, interaction: discord.Interaction) -> None:
        if self.ledger is None:
            await interaction.response.send_message(
                "The CI relay is not configured (GITHUB_TOKEN and GITHUB_REPOSITORY).", ephemeral=True
            )
            return
        alert = self.ledger.last_alert(self.bot.settings.github_repository)
        if alert is None:
            await interaction.response.send_message("No failed migration run has been relayed yet.", ephemeral=True)
            return
        # Rendered now, from the stored domain data (the same renderer as the #alerts post).
        rendered = render_alert(alert)
        await interaction.response.send_message(embed=rendered.embed, files=rendered.files(), ephemeral=True)


async def setup(bot: DragonflyBot) -> None:
    await bot.add_cog(CiAlerts(bot))
