"""dbmate-style ``-- migrate:down`` sections: the Supabase CLI has no such thing and runs the whole file on
``up``, so the rollback SQL runs right after the change (usually undoing it)."""

from __future__ import annotations

import re

from dragonfly_bot.core.lint.model import ERROR, Finding

_DOWN = re.compile(r"^[ \t]*--[ \t]*migrate:down\b", re.IGNORECASE | re.MULTILINE)


def check(text: str, spans: list[tuple[int, int]], file: str) -> list[Finding]:
    if "migrate:down" not in text.lower():
        return []
    match = _DOWN.search(text)
    if match is None:
        return []
    line = text.count("\n", 0, match.start()) + 1
    after = [span for span in spans if span[0] > line]
    if not after:
        return []  # an empty down section runs nothing
    return [
        Finding(
            file,
            line,
            "migrate-down-section",
            ERROR,
            f"a `-- migrate:down` section ({len(after)} statement{'s' if len(after) != 1 else ''} from line "
            f"{after[0][0]}): the Supabase CLI has no down migrations and runs them as part of `up`, "
            "undoing the change as soon as it is applied",
            "delete the down section from the migration (keep rollback SQL out of supabase/migrations, "
            "e.g. in a runbook); a rollback is a new forward migration",
            (line, line),
        )
    ]
