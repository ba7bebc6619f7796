"""Compatibility names for the rewrite engine (``dragonfly_bot.core.diagnosis.rewrite``) and the hints."""

from __future__ import annotations

from collections.abc import Mapping

from dragonfly_bot.core.diagnosis.context import Context
from dragonfly_bot.core.diagnosis.engine import hint_for as _hint_for
from dragonfly_bot.core.diagnosis.model import Failure
from dragonfly_bot.core.diagnosis.rewrite import (
    do_block,
    insert_on_conflict_do_nothing,
    make_rerunnable,
    rerunnable_create,
)

# lint's fixes (dragonfly_bot/core/lint) call these names: the one rewrite engine is
# dragonfly_bot.core.diagnosis.rewrite.
rerun_safe = make_rerunnable


def idempotent_rewrite(sql: str) -> str | None:
    """A CREATE/ADD (or an INSERT) written so that running it twice is harmless, or None."""
    return rerunnable_create(sql) or insert_on_conflict_do_nothing(sql)


def swallowing(sql: str, condition: str) -> str:
    """``sql`` in a DO block that ignores ``condition`` (e.g. undefined_column for a rename done already)."""
    return do_block(sql, swallow=condition)


def hint_for(f: Failure, *, migrations: Mapping[str, str] | None = None) -> str:
    """The hint's text (and SQL) for ``f`` alone."""
    hint = _hint_for(Context(f, migrations=migrations))
    return hint.text + (f"\n{hint.sql}" if hint.sql else "")


__all__ = ["hint_for", "idempotent_rewrite", "make_rerunnable", "rerun_safe", "swallowing"]
