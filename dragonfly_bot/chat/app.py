"""The Discord application: one Bot subclass, all start-up in ``setup_hook``.

The bot is chat only: it receives its parts (``Services``: the shared HTTP
client, the GitHub client, the per-environment backends, the status service)
from the composition root ``dragonfly_bot.compose`` and hands them to cogs as
``bot.services``. Order matters: the services and the poster exist before
any extension loads (cogs use them in ``cog_load``); ``web_app`` exists
before extensions load (cogs add routes to it) and is served only after all
have loaded (aiohttp freezes its router on start). The console builds the
same bot without logging in (``serve_web=False, sync_commands=False``).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import cast

import discord
import httpx
from discord.ext import commands

from dragonfly_bot.adapters.state.files import STATE_PROBLEMS, StateProblem
from dragonfly_bot.adapters.state.outbox import make_outbox_store
from dragonfly_bot.chat.channels import ChannelPoster
from dragonfly_bot.chat.errors import DragonflyTree
from dragonfly_bot.chat.outbox_message import card, post
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.chat.poster import DiscordPoster
from dragonfly_bot.chat.web import WebServer, connection_limits, create_web_app
from dragonfly_bot.compose import Services, build_services
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.settings import Settings

log = logging.getLogger(__name__)

AMBER = 0xDBAB09
# In DATA_DIR: the digest of the commands last synced globally (sync again only on change).
GLOBAL_SYNC_FILE = "global-commands.sha256"

# Every cog, loaded in this order; add yours here.
EXTENSIONS = [
    "dragonfly_bot.cogs.admin",
    "dragonfly_bot.cogs.status",
    "dragonfly_bot.cogs.relay",
    "dragonfly_bot.cogs.hotfix",
]


def bot_of(interaction: discord.Interaction) -> DragonflyBot:
    """The DragonflyBot behind an interaction (discord.py types ``interaction.client`` as Client)."""
    return cast("DragonflyBot", interaction.client)


class DragonflyBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        *,
        services: Services | None = None,
        poster: ChannelPoster | None = None,
        serve_web: bool = True,
        sync_commands: bool = True,
        sync_global: bool = False,
        extensions: list[str] | None = None,
    ):
        """``services`` default to ``build_services(settings)`` (what ``dragonfly-bot run`` uses);
        the bot closes them when it closes. ``serve_web``/``sync_commands``: how this process
        starts (the console and tests neither listen nor sync)."""
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need nothing else
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=DragonflyTree,
            help_command=None,
            owner_ids=set(settings.owner_ids) or None,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        self.services = services or build_services(settings)
        self.poster: ChannelPoster | None = poster
        # Every post goes through it (made in setup_hook, once the poster exists).
        self.outbox: Outbox | None = None
        self.serve_web = serve_web
        self.sync_on_start = sync_commands
        self.sync_global = sync_global
        self.extension_names = list(EXTENSIONS if extensions is None else extensions)
        self.failed_extensions: dict[str, str] = {}
        self.web_app = create_web_app(self)
        self.web_server: WebServer | None = None
        self.gateway_state = "not started"
        self.started_at = time.monotonic()

    # ------------------------------------------------------------------ start-up and shutdown

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The process's one HTTP client (owned by the services)."""
        return self.services.http

    async def setup_hook(self) -> None:
        if self.poster is None:
            self.poster = DiscordPoster.from_settings(self, self.settings)
        if self.outbox is None:
            self.outbox = Outbox(
                make_outbox_store(self.settings, client=self.http_client),
                self.poster,
                lease_seconds=self.settings.outbox_lease_seconds,
            )
        for name in self.extension_names:
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                # One broken cog must not take /migrations down with it.
                cause = exc.__cause__ or exc
                self.failed_extensions[name] = type(cause).__name__
                if isinstance(cause, UserFacingError):
                    log.error("extension %s not loaded: %s", name, cause.message)
                else:
                    log.error("extension %s not loaded", name, exc_info=(type(cause), cause, cause.__traceback__))
        # What is loaded by now lives as long as the process: take it out of
        # the collector's reach, so a full collection during a burst of
        # webhook deliveries pauses for milliseconds instead of ~100 ms
        # (bench/bench_webhook.py measures both).
        gc.collect()
        gc.freeze()
        if self.serve_web:
            self.web_server = WebServer(self.web_app, connection_limits(self.settings))
            await self.web_server.start(self.settings.web_host, self.settings.web_port)
        if self.sync_on_start:
            # No guild: global, or the commands would never appear; but only when they
            # changed since the last global sync (those are rate-limited, and take up to an hour).
            unsynced = self.settings.discord_guild_id is None and self._commands_digest() != self._synced_digest()
            if unsynced and not self.sync_global:
                try:
                    await self.sync_commands(global_=True)
                except (discord.DiscordException, UserFacingError) as exc:
                    # Not asked for: the bot still starts; the next start (or /admin sync) tries again.
                    log.warning("could not sync the commands globally: %s", getattr(exc, "message", exc))
            else:
                await self.sync_commands(global_=self.sync_global)
        # Damaged state files found while starting (and later) go to #alerts once each.
        self._state_loop = asyncio.get_running_loop()
        STATE_PROBLEMS.subscribe(self._state_problem_found)
        self.outbox.start()
        self.gateway_state = "connecting"

    def _state_problem_found(self, problem: StateProblem) -> None:
        # May be called from a worker thread (the journal is read in one).
        try:
            asyncio.run_coroutine_threadsafe(self._announce_state_problem(problem), self._state_loop)
        except RuntimeError:  # the loop is gone: the bot is closing
            log.warning("state problem not announced (shutting down): %s", problem.line)

    async def _announce_state_problem(self, problem: StateProblem) -> None:
        if self.outbox is None:
            return
        title = "⚠️ The bot's saved state was damaged"
        message = post(embeds=[card(title=title, description=problem.line, colour=AMBER)])
        try:
            await self.outbox.enqueue(f"state-problem:{problem.path}:{problem.moved_to}", "alerts", message)
        except Exception:
            log.exception("could not queue the #alerts post about: %s", problem.line)

    def _commands_digest(self) -> str:
        payload = sorted((c.to_dict(self.tree) for c in self.tree.get_commands()), key=lambda c: c["name"])
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def _synced_digest_file(self) -> Path:
        return self.settings.data_dir / GLOBAL_SYNC_FILE

    def _synced_digest(self) -> str | None:
        try:
            return self._synced_digest_file.read_text().strip()
        except OSError:
            return None

    async def sync_commands(self, *, global_: bool = False) -> list[str]:
        """Sync to the configured guild (instant); globally only when asked (up to an hour to show)."""
        synced: list[str] = []
        try:
            if self.settings.discord_guild_id is not None:
                guild = discord.Object(id=self.settings.discord_guild_id)
                self.tree.copy_global_to(guild=guild)
                done = await self.tree.sync(guild=guild)
                synced.append(f"{len(done)} command(s) to guild {guild.id}")
            if global_:
                done = await self.tree.sync()
                synced.append(f"{len(done)} command(s) globally")
                try:
                    self._synced_digest_file.parent.mkdir(parents=True, exist_ok=True)
                    self._synced_digest_file.write_text(self._commands_digest() + "\n")
                except OSError as exc:  # the next start syncs again: harmless
                    log.warning("could not record the global sync in %s: %s", self._synced_digest_file, exc)
        except discord.Forbidden:
            raise UserFacingError(
                "Discord refused to sync commands: invite the bot with the applications.commands scope"
            ) from None
        if not synced:
            log.info("commands unchanged since the last global sync (set DISCORD_GUILD_ID for instant guild commands)")
        for line in synced:
            log.info("synced %s", line)
        return synced

    async def close(self) -> None:
        # Stop taking HTTP requests first, then unload cogs (stops their loops),
        # then close the client those loops may still have been using.
        if self.web_server is not None:
            await self.web_server.stop()
            self.web_server = None
        STATE_PROBLEMS.unsubscribe(self._state_problem_found)
        if self.outbox is not None:
            # What is still pending stays in the store for the next start.
            await self.outbox.close()
        await super().close()
        if self.outbox is not None:
            self.outbox.store.close()
        await self.services.aclose()
        self.gateway_state = "closed"

    # ------------------------------------------------------------------ gateway state for /healthz

    async def on_connect(self) -> None:
        self.gateway_state = "connected"

    async def on_resumed(self) -> None:
        self.gateway_state = "connected"

    async def on_disconnect(self) -> None:
        if not self.is_closed():
            self.gateway_state = "reconnecting"

    async def on_ready(self) -> None:
        self.gateway_state = "connected"
        log.info("logged in as %s (%s) in %d guild(s)", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    # ------------------------------------------------------------------ for /readyz

    async def probe_status_source(self) -> str | None:
        return await self.services.status.probe(self.settings.supabase_mode)
