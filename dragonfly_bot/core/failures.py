"""Compatibility names for the diagnosis engine, which lives in ``dragonfly_bot.core.diagnosis``."""

from dragonfly_bot.core.diagnosis import (
    CATEGORIES,
    NEEDS_OTHER_FILES,
    SQLSTATE_CATEGORIES,
    Category,
    Confidence,
    Failure,
    classify,
    enrich,
    locate_statement,
    parse_log,
    version_of,
)
from dragonfly_bot.core.diagnosis import DiagnosingParser as LogParser

UNKNOWN = Category.UNKNOWN

__all__ = [
    "CATEGORIES",
    "NEEDS_OTHER_FILES",
    "SQLSTATE_CATEGORIES",
    "UNKNOWN",
    "Category",
    "Confidence",
    "Failure",
    "LogParser",
    "classify",
    "enrich",
    "locate_statement",
    "parse_log",
    "version_of",
]
