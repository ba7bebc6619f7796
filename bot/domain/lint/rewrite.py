"""Fixes written out: the offending statement rewritten, shown by its first line."""

from __future__ import annotations

import re

_KEYWORD_FLAGS = re.IGNORECASE | re.DOTALL


def head(sql: str, limit: int = 160) -> str:
    """The first line of a statement (enough to see the fix), with `...` when there is more."""
    sql = sql.strip()
    first, _, rest = sql.partition("\n")
    first = first.rstrip()
    if len(first) > limit:
        return first[:limit] + " ..."
    if rest.strip():
        return first + " ..."
    return first + ";"


def insert_after(sql: str, pattern: str, words: str) -> str | None:
    """``sql`` with ``words`` inserted after the first match of ``pattern`` (None when absent)."""
    match = re.search(pattern, sql, _KEYWORD_FLAGS)
    if not match:
        return None
    return sql[: match.end()] + " " + words + sql[match.end():]


def rewritten(sql: str, pattern: str, words: str, fallback: str) -> str:
    new = insert_after(sql, pattern, words)
    return head(new) if new else fallback


def append_clause(sql: str, clause: str) -> str:
    """An INSERT with a clause added before RETURNING (or at the end)."""
    match = re.search(r"\bRETURNING\b", sql, re.IGNORECASE)
    if match:
        new = sql[: match.start()].rstrip() + f" {clause} " + sql[match.start():]
    else:
        new = sql.rstrip().rstrip(";") + f" {clause}"
    lines = new.strip().splitlines()
    if len(lines) <= 3:
        return " ".join(line.strip() for line in lines) + ";"
    return "... " + " ".join(line.strip() for line in lines[-2:]) + ";"
