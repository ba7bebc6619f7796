"""How a lint fix shows a rewritten statement. The rewriting itself is dragonfly_bot.core.fixes (``rerun_safe``): the
one engine, shared with the relay's hints, so the pre-flight and the CI alert suggest the same SQL."""

from __future__ import annotations

from dragonfly_bot.core.lint.parse import Occurrence

MAX_SHOWN = 600


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


def show(new: str, old: str) -> str:
    """A rewrite shown by the line that changed when it only inserts words into the statement; whole (up to
    MAX_SHOWN characters) when it wraps it (a DO block, a DROP first)."""
    new, old = new.strip().rstrip(";"), old.strip().rstrip(";")
    common = next((i for i, (a, b) in enumerate(zip(new, old, strict=False)) if a != b), min(len(new), len(old)))
    if common and new.endswith(old[common:][-40:]):  # words inserted, the rest as written
        while common < len(new) and new[common].isspace():
            common += 1  # a clause appended on a line of its own: show that line
        return head(new, at=common)
    shown = new if len(new) <= MAX_SHOWN else new[:MAX_SHOWN].rstrip() + " ..."
    return shown + ";"


def engine_rewrite(occ: Occurrence) -> str | None:
    """The statement rewritten by the engine, shown; None when the engine has no rewrite for it."""
    statement = occ.text.strip().rstrip(";")
    # the rewriter (and the diagnosis it shares) loads with the first fix
    from dragonfly_bot.core.fixes import rerun_safe

    rewritten = rerun_safe(statement) if statement else None
    return show(rewritten, statement) if rewritten else None


def engine_fix(occ: Occurrence, fallback: str) -> str:
    """The engine's rewrite, shown; ``fallback`` when it has none."""
    return engine_rewrite(occ) or fallback
