"""The advisor: the security rules over a whole migration history read as one, so what a later file fixes
(``ALTER VIEW ... SET (security_invoker = on)``, a REVOKE, RLS turned on) counts, as Supabase's advisor
sees the resulting database. The same rule code as the per-file pre-flight (bot.core.lint.security).

Used on the bot's own supabase/migrations (tests/preflight/test_advisor.py), where it must find nothing.
"""

from __future__ import annotations

from bisect import bisect_right

from bot.core.lint import security
from bot.core.lint.model import SECURITY_RULES, Finding, LintOptions
from bot.core.lint.parse import parse_file


def advise(files: list[tuple[str, str]], options: LintOptions | None = None) -> list[Finding]:
    """Security findings of the history ``files`` ((name, text), in order), each pointed at its own file.
    Every security rule is on (also the default-off ones: the advisor's search_path check)."""
    options = options or LintOptions()
    starts, chunks, line = [], [], 1
    for name, text in files:
        text = text.removeprefix("\ufeff")
        if not text.endswith("\n"):
            text += "\n"
        starts.append((line, name))
        chunks.append(text)
        line += text.count("\n")
    parsed = parse_file("".join(chunks))
    if parsed.error is not None:
        at = bisect_right([s for s, _ in starts], parsed.error.line) - 1
        raise ValueError(f"{starts[at][1]} does not parse: {parsed.error.message}")
    found = security.check(parsed.occurrences, "", None, options)
    result = []
    for finding in found:
        if finding.rule not in SECURITY_RULES:
            continue
        at = bisect_right([s for s, _ in starts], finding.line) - 1
        first, name = starts[at]
        result.append(
            Finding(name, finding.line - first + 1, finding.rule, finding.severity, finding.message, finding.fix)
        )
    return result
