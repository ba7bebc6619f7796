"""Reading timestamps that come from Postgres rows or PostgREST JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """A timestamp from Postgres (datetime) or JSON (ISO 8601 text, ``Z`` included); None stays None.

    The one reader of stored times, for status rows and hotfix records alike.
    """
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))  # Python 3.11+ reads a trailing Z as UTC
