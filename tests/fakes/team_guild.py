"""The real ``DragonflyBot`` with its real cogs in simcord's offline team guild.

    async with team_guild(tmp_path, status_db_url=db.url) as guild:
        result = await guild.slash("migrations", env="dev")
        assert result.response.embeds[0].title == "✅ Migrations · DEV"

Everything goes through discord.py's own dispatch and HTTP layer (option
parsing, checks, the tree's error handler, views, dynamic items); only the
databases and GitHub behind the bot are the tests' own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.compose import build_services
from dragonfly_bot.console.virtual_guild import VirtualGuild
from dragonfly_bot.settings import Settings
from tests.conftest import REPO_MIGRATIONS


def make_bot(
    data_dir: Path,
    *,
    settings: dict[str, Any] | None = None,
    status_db_url: str | None = None,
    local_files: bool = True,
    **bot_options: Any,
) -> DragonflyBot:
    values = {"migrations_dir": REPO_MIGRATIONS, "data_dir": data_dir, **(settings or {})}
    made = Settings(_env_file=None, **values)
    # As the console wires it: every environment reads status_db_url, files from the local folder
    # (local_files=False: from GitHub when GitHub settings are given, as `dragonfly-bot run` does).
    services = build_services(made, db_url=status_db_url, local_files=local_files)
    return DragonflyBot(made, services=services, **{"serve_web": False, **bot_options})


@contextlib.asynccontextmanager
async def team_guild(
    data_dir: Path, *, settings: dict[str, Any] | None = None, **bot_options: Any
) -> AsyncIterator[VirtualGuild]:
    async with VirtualGuild.running(make_bot(data_dir, settings=settings, **bot_options)) as guild:
        yield guild


def interaction_callbacks(guild: VirtualGuild) -> list[dict[str, Any]]:
    """The bot's answers to interactions as sent to Discord (``{"type": 5}`` is a defer), in order."""
    return [
        entry.json or {}
        for entry in guild.env.http_requests
        if entry.path.startswith("/interactions/") and entry.path.endswith("/callback")
    ]


DEFER_PUBLIC = {"type": 5}
DEFER_EPHEMERAL = {"type": 5, "data": {"flags": 64}}
