"""The bot's own migrations, read at run time: one copy of the SQL.

From a checkout (or an editable install) they are this repository's
``supabase/migrations``; an installed wheel carries the same files as package
data in ``dragonfly_bot/_migrations`` (copied there at build time by setup.py).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dragonfly_bot.errors import UserFacingError

REPO_FOLDER = Path(__file__).resolve().parents[2] / "supabase" / "migrations"


def bot_migrations() -> list[tuple[str, str]]:
    """(file name, SQL) of every migration the bot needs, in version order."""
    if REPO_FOLDER.is_dir() and (REPO_FOLDER.parent.parent / "dragonfly_bot" / "adopt").is_dir():
        found = {p.name: p.read_text("utf-8") for p in REPO_FOLDER.glob("*.sql")}
    else:
        packaged = resources.files("dragonfly_bot") / "_migrations"
        found = {p.name: p.read_text("utf-8") for p in packaged.iterdir() if p.name.endswith(".sql")}
    if not found:
        raise UserFacingError("this installation of dragonfly-bot has no migrations; reinstall it")
    return sorted(found.items())
