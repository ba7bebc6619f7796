"""The one diagnosis engine for failed ``supabase migration up`` runs (the relay, ``explain``, the replay).

* ``categories``: ``Category`` and ``classify`` (SQLSTATE, else the message);
* ``logparse``: the streaming job-log reader;
* ``engine``: ``parse_log``, ``enrich`` and the hint dispatch;
* ``hints_*``: one module per family of failures; each hint has a ``Confidence``;
* ``objects``: what every local migration creates (pglast), for drift / order / typo;
* ``rewrite``: ``make_rerunnable(sql)``, the one rewrite engine (lint's fixes use it too).
"""

from dragonfly_bot.core.diagnosis.categories import (
    CATEGORIES,
    NEEDS_OTHER_FILES,
    SQLSTATE_CATEGORIES,
    Category,
    classify,
)
from dragonfly_bot.core.diagnosis.engine import DiagnosingParser, enrich, locate_statement, parse_log
from dragonfly_bot.core.diagnosis.model import Confidence, Facts, Failure, Hint
from dragonfly_bot.core.diagnosis.rewrite import make_rerunnable
from dragonfly_bot.core.versions import version_of

__all__ = [
    "CATEGORIES",
    "NEEDS_OTHER_FILES",
    "SQLSTATE_CATEGORIES",
    "Category",
    "Confidence",
    "DiagnosingParser",
    "Facts",
    "Failure",
    "Hint",
    "classify",
    "enrich",
    "locate_statement",
    "make_rerunnable",
    "parse_log",
    "version_of",
]
