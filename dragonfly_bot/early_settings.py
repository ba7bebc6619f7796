"""A setting's text as ``Settings`` would read it, without loading pydantic.

``status --db-url`` decides its run from two settings, SUPABASE_MODE and
MIGRATIONS_DIR; importing pydantic to validate all forty would cost about 70 ms
of a 250 ms run (issue 10's goal is half the Supabase CLI's time). The sources
and their precedence are Settings': the process environment, then ``.env`` in
the working directory, names in any case (pydantic-settings reads ``.env``
with the same python-dotenv parser).
"""

from __future__ import annotations

import os
from pathlib import Path

from dragonfly_bot.core.environments import ENVIRONMENTS, Environment, is_environment
from dragonfly_bot.errors import UserFacingError

ENV_FILE = ".env"
ENV_FILE_ENCODING = "utf-8-sig"
DEFAULT_ENVIRONMENT: Environment = "dev"
DEFAULT_MIGRATIONS_DIR = Path("supabase/migrations")


def setting_text(name: str) -> str | None:
    """The raw value of setting ``name`` (e.g. ``SUPABASE_MODE``), or None when it is not set."""
    wanted = name.lower()
    found = None
    for key, value in os.environ.items():
        if key.lower() == wanted:
            found = value
    if found is not None or not Path(ENV_FILE).is_file():
        return found
    from dotenv import dotenv_values

    for key, text in dotenv_values(ENV_FILE, encoding=ENV_FILE_ENCODING).items():
        if key.lower() == wanted:
            found = text
    return found


def default_environment() -> Environment:
    """SUPABASE_MODE, checked as Settings checks it."""
    text = setting_text("SUPABASE_MODE")
    if text is None:
        return DEFAULT_ENVIRONMENT
    if not is_environment(text):
        choices = " or ".join(ENVIRONMENTS)
        raise UserFacingError(f"setting SUPABASE_MODE (the default environment: {choices}) is invalid: it is {text!r}")
    return text


def migrations_dir() -> Path:
    """MIGRATIONS_DIR, else the default folder."""
    text = setting_text("MIGRATIONS_DIR")
    return DEFAULT_MIGRATIONS_DIR if text is None else Path(text)
