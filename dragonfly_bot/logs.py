"""Logging set-up for every entry point: one place, and every line through the one redactor.

A record's message, its arguments and any traceback are formatted first and
redacted as a whole, so a secret in an exception's text (a driver quoting a
DB URL, PostgREST echoing a key) never reaches stderr or the platform's log.
"""

from __future__ import annotations

import logging

from dragonfly_bot.core.redact import redact


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int | str, fmt: str) -> None:
    """Replace the root handlers by one stderr handler whose lines are redacted."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
