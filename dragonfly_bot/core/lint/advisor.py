"""The advisor: the security rules over a whole migration history, as Supabase's advisor sees the database
it leaves. What a later file fixes (``ALTER VIEW ... SET (security_invoker = on)``, a REVOKE, RLS turned on,
``ALTER FUNCTION ... SET search_path``, a redefinition) counts.

It is the pre-flight lint itself, run over every file of the history with every security rule on (the
default-off search_path check too) and only the security findings kept: the same rules and the same
cross-file answers (dragonfly_bot.core.lint.later), so the advisor and ``dragonfly-bot lint`` cannot disagree.

Used on the bot's own supabase/migrations (tests/preflight/test_advisor.py), where it must find nothing.
"""

from __future__ import annotations

from dataclasses import replace

from dragonfly_bot.core.lint import lint_migrations
from dragonfly_bot.core.lint.model import SECURITY_RULES, Finding, LintOptions, MigrationSource


def advise(files: list[tuple[str, str]], options: LintOptions | None = None) -> list[Finding]:
    """Security findings of the history ``files`` ((name, text); names sort in the order they apply), each
    pointed at its own file. A file that does not parse is a ValueError (its state cannot be read)."""
    options = replace(options or LintOptions(), off=frozenset())
    texts = dict(files)
    sources = [MigrationSource(name, name, text, is_new=False) for name, text in files]
    findings = lint_migrations(sources, [], texts.get, options)
    for finding in findings:
        if finding.rule == "parse-error":
            raise ValueError(f"{finding.file} does not parse: {finding.message}")
    return [f for f in findings if f.rule in SECURITY_RULES]
