"""Fixes written out: the offending statement rewritten, shown by the line that changed."""

from __future__ import annotations

import re

_KEYWORD_FLAGS = re.IGNORECASE | re.DOTALL


def head(sql: str, limit: int = 160, at: int | None = None) -> str:
    """The line of a statement holding position ``at`` of ``sql`` (default: its first line),
    enough to see the fix, with `...` where lines are left out before or after it."""
    lead = len(sql) - len(sql.lstrip())
    sql = sql.strip()
    pos = 0 if at is None else min(max(at - lead, 0), len(sql))
    start = sql.rfind("\n", 0, pos) + 1
    end = sql.find("\n", pos)
    end = len(sql) if end < 0 else end
    line = sql[start:end].strip() if start else sql[start:end].rstrip()
    before = "... " if start else ""
    if len(line) > limit:
        return before + line[:limit] + " ..."
    if sql[end:].strip():
        return before + line + " ..."
    return before + line + ";"


def insert_after(sql: str, pattern: str, words: str) -> str | None:
    """``sql`` with ``words`` inserted after the first match of ``pattern`` (None when absent)."""
    match = re.search(pattern, sql, _KEYWORD_FLAGS)
    if not match:
        return None
    return sql[: match.end()] + " " + words + sql[match.end() :]


def rewritten(sql: str, pattern: str, words: str, fallback: str) -> str:
    """``words`` inserted after ``pattern``, shown by the line that changed."""
    match = re.search(pattern, sql, _KEYWORD_FLAGS)
    if not match:
        return fallback
    return head(sql[: match.end()] + " " + words + sql[match.end() :], at=match.end() + 1)


def append_clause(sql: str, clause: str) -> str:
    """An INSERT with a clause added before RETURNING (or at the end)."""
    match = re.search(r"\bRETURNING\b", sql, re.IGNORECASE)
    if match:
        new = sql[: match.start()].rstrip() + f" {clause} " + sql[match.start() :]
    else:
        new = sql.rstrip().rstrip(";") + f" {clause}"
    lines = new.strip().splitlines()
    if len(lines) <= 3:
        return " ".join(line.strip() for line in lines) + ";"
    return "... " + " ".join(line.strip() for line in lines[-2:]) + ";"
