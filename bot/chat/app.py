"""The Discord application: one Bot subclass, all start-up in ``setup_hook``.

Order matters: the shared HTTP client and the poster exist before any
extension loads (cogs use them in ``cog_load``); ``web_app`` exists before
extensions load (cogs add routes to it) and is served only after all have
loaded (aiohttp freezes its router on start). The console builds the same
bot without logging in (``serve_web=False, sync_commands=False``).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
from pathlib import Path

import discord
import httpx
from discord.ext import commands

from bot.adapters.supabase.readiness import probe_source
from bot.chat.channels import ChannelPoster
from bot.chat.errors import DragonflyTree
from bot.chat.poster import DiscordPoster
from bot.chat.web import WebServer, create_web_app
from bot.core.status import StatusReport
from bot.errors import UserFacingError
from bot.settings import Environment, Settings
from bot.status.service import (
    FolderFiles,
    GitHubFiles,
    MigrationFiles,
    github_files_wanted,
    make_github_files,
    status_for,
)

log = logging.getLogger(__name__)

# In DATA_DIR: the digest of the commands last synced globally (sync again only on change).
GLOBAL_SYNC_FILE = "global-commands.sha256"

# Every cog, loaded in this order; add yours here.
EXTENSIONS = [
    "cogs.admin",
    "cogs.status",
    "cogs.relay",
    "cogs.hotfix",
]


class DragonflyBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        *,
        poster: ChannelPoster | None = None,
        status_db_url: str | None = None,
        status_note: str | None = None,
        serve_web: bool = True,
        sync_commands: bool = True,
        sync_global: bool = False,
        extensions: list[str] | None = None,
        files_source: str | None = None,
    ):
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
        self.poster: ChannelPoster | None = poster
        # When set (console mode, tests), every environment reads this database.
        self.status_db_url = status_db_url
        self.status_note = status_note
        # "local" (the console): compare with the local folder whatever MIGRATIONS_SOURCE says.
        self.files_source = files_source
        self._migration_files: MigrationFiles | None = None
        self.serve_web = serve_web
        self.sync_on_start = sync_commands
        self.sync_global = sync_global
        self.extension_names = list(EXTENSIONS if extensions is None else extensions)
        self.failed_extensions: dict[str, str] = {}
        self.http_client: httpx.AsyncClient | None = None
        self.web_app = create_web_app(self)
        self.web_server: WebServer | None = None
        self.gateway_state = "not started"
        self.started_at = time.monotonic()

    # ------------------------------------------------------------------ start-up and shutdown

    async def setup_hook(self) -> None:
        self.http_client = httpx.AsyncClient(
            timeout=self.settings.rest_timeout_seconds,
            headers={"User-Agent": "dragonfly-bot"},
            limits=httpx.Limits(max_connections=20),
        )
        if self.poster is None:
            self.poster = DiscordPoster.from_settings(self, self.settings)
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
            self.web_server = WebServer(self.web_app)
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
        self.gateway_state = "connecting"

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
        await super().close()
        if self.http_client is not None:
            await self.http_client.aclose()
            self.http_client = None
        if isinstance(self._migration_files, GitHubFiles):
            self._migration_files.client.close()
            self._migration_files = None
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

    # ------------------------------------------------------------------ status, for cogs and probes

    async def read_status(self, env: Environment) -> tuple[str, StatusReport]:
        """(where the data came from, the report) for ``env``: the one path cogs use."""
        local = await self.migration_files().read()
        source, report = await status_for(
            self.settings, env, db_url=self.status_db_url, client=self.http_client, local=local
        )
        where = source.description
        if self.status_note:
            where = f"{where} ({self.status_note})"
        if local.origin:
            where = f"{where}; files: {local.origin}"
        return where, report

    def migration_files(self) -> MigrationFiles:
        """Where the bot's migration files come from (MIGRATIONS_SOURCE): made on first use, kept."""
        if self._migration_files is None:
            if self.files_source != "local" and github_files_wanted(self.settings):
                self._migration_files = make_github_files(self.settings)
            else:
                self._migration_files = FolderFiles(self.settings.migrations_dir)
        return self._migration_files

    async def probe_status_source(self) -> str | None:
        return await probe_source(
            self.settings, self.settings.supabase_mode, db_url=self.status_db_url, client=self.http_client
        )
