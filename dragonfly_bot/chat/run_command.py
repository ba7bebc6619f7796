"""``dragonfly-bot run``: the Discord bot (gateway, slash commands, web server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.logs import configure_logging
from dragonfly_bot.settings import Settings, load_settings

NAME = "run"
HELP = "Run the Discord bot (needs DISCORD_TOKEN); serves /healthz and /readyz on WEB_PORT."

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sync-global",
        action="store_true",
        help="also sync slash commands globally on start (takes up to an hour to show; do it once, not every start)",
    )


async def run_bot(settings: Settings, *, sync_global: bool = False) -> int:
    import aiohttp
    import discord

    from dragonfly_bot.chat.app import DragonflyBot
    from dragonfly_bot.compose import build_services, github_files_wanted

    token = settings.discord_token
    if token is None or not token.get_secret_value().strip():
        raise UserFacingError(
            "DISCORD_TOKEN is not set: the bot token from the Discord developer portal (Bot tab), "
            "needed to log in to Discord"
        )
    github_files_wanted(settings)  # MIGRATIONS_SOURCE=github without GitHub settings: say so now, not at /migrations
    bot = DragonflyBot(settings, services=build_services(settings), sync_global=sync_global)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    closing: list[asyncio.Task] = []  # held, so the close task is not garbage-collected mid-way

    def request_stop(signame: str) -> None:
        if not stopping.is_set():
            log.warning("%s received: shutting down", signame)
            stopping.set()
            closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows: no signal handlers, but Ctrl-C still raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, request_stop, sig.name)
    try:
        async with bot:
            await bot.start(token.get_secret_value())
    except discord.LoginFailure:
        raise UserFacingError(
            "Discord rejected DISCORD_TOKEN: copy the current token from the developer portal (Bot tab)"
        ) from None
    except (TimeoutError, aiohttp.ClientConnectionError, OSError) as exc:
        raise UserFacingError(
            f"cannot reach Discord ({type(exc).__name__}); check the network, DNS and any proxy, then start again"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise UserFacingError("Discord refused a privileged intent; this bot needs none, so update it") from None
    return 0


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level.upper(), "%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run_bot(settings, sync_global=args.sync_global))
