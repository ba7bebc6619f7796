"""Static pre-flight checks for Supabase migration files (pure: the caller reads the files).

``lint_migrations(targets, others, read_other)`` runs every rule on the
target files' text; ``others`` are the names of the rest of the folder,
needed by the cross-file rules (duplicate and out-of-order versions). One
rule reads earlier files, and only when it has to: a ``CREATE OR REPLACE``
view or function without grants is fine when an earlier migration created it
(its privileges stay); ``read_other(name)`` gives such a file's text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from bot.core.lint import (
    baseline,
    destructive,
    down_sections,
    files,
    grants,
    idempotency,
    locks,
    protocol,
    security,
    suppress,
)
from bot.core.lint.model import ERROR, RULES, WARNING, Finding, LintOptions, MigrationSource
from bot.core.lint.parse import ParsedFile, parse_file
from bot.core.lint.plpgsql_errors import every_syntax_error

__all__ = [
    "ERROR",
    "RULES",
    "WARNING",
    "Finding",
    "LintOptions",
    "MigrationSource",
    "baseline",
    "has_errors",
    "lint_migrations",
    "lint_text",
    "parse_file",
]

DEFAULT_OPTIONS = LintOptions()
_STATEMENT_RULES = (idempotency.check, destructive.check, grants.check, protocol.check, locks.check)


def lint_text(
    source: MigrationSource,
    whole_file: Sequence[Finding] = (),
    created_earlier: Callable | None = None,
    prior: grants.Prior | None = None,
    options: LintOptions = DEFAULT_OPTIONS,
    policy_later: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """All per-file rules on one file; ``whole_file`` findings (names, versions) join the suppression pass;
    ``created_earlier(obj)`` says whether earlier migrations created an object (see ``grants.check``)."""
    # The Supabase CLI applies files saved with a UTF-8 byte-order mark (Windows
    # editors write one); PostgreSQL itself would choke on it, so drop it first.
    text = (source.text or "").removeprefix("\ufeff")
    raw: list[Finding] = list(whole_file) + files.check_name(source)
    parsed: ParsedFile = parse_file(text)
    if parsed.error is not None:
        errors = every_syntax_error(text)
        for error in errors:
            raw.append(
                Finding(
                    source.path,
                    error.line,
                    "parse-error",
                    ERROR,
                    f"PostgreSQL cannot parse this statement: {error.message} "
                    f"(line {error.line}, column {error.column})",
                    f"fix the SQL at line {error.line}; the file's other rules were not checked"
                    + (f" ({len(errors)} statements do not parse)" if len(errors) > 1 else ""),
                )
            )
    else:
        for line, message, span in parsed.body_errors:
            raw.append(
                Finding(
                    source.path,
                    line,
                    "parse-error",
                    ERROR,
                    f"PL/pgSQL cannot parse this body: {message} (PostgreSQL rejects it when the migration runs)",
                    f"fix the PL/pgSQL at line {line}",
                    span,
                )
            )
        raw.extend(down_sections.check(text, parsed.spans, source.path))
        for rule in _STATEMENT_RULES:
            if rule is protocol.check and "supabase_migrations" not in text:
                continue  # cheap: almost no file mentions the history schema
            if rule is grants.check:
                raw.extend(
                    grants.check(parsed.occurrences, source.path, created_earlier, prior, options.private_schemas)
                )
                raw.extend(security.check(parsed.occurrences, source.path, prior, options, policy_later))
            else:
                raw.extend(rule(parsed.occurrences, source.path))
    if options.off:
        raw = [f for f in raw if f.rule not in options.off]
    comments = suppress.read_comments(text, source.path)
    return suppress.apply(raw, comments, parsed.spans, source.path)


def lint_migrations(
    targets: list[MigrationSource],
    others: Sequence[str] = (),
    read_other: Callable[[str], str | None] | None = None,
    options: LintOptions = DEFAULT_OPTIONS,
) -> list[Finding]:
    """Findings for ``targets``, sorted by file and line."""
    cross = files.check_set(targets, list(others))
    by_path: dict[str, list[Finding]] = {}
    for finding in cross:
        by_path.setdefault(finding.file, []).append(finding)
    history = _History(targets, others, read_other)
    findings: list[Finding] = []
    for source in targets:
        findings.extend(
            lint_text(
                source,
                by_path.get(source.path, []),
                history.before(source.name),
                history.prior(source.name),
                options,
                history.policy_after(source.name),
            )
        )
    return sorted(findings, key=lambda f: (f.file, f.line, f.rule))


# Files that can leave privileges decided for later ones (only these are parsed for it).
_DECIDES_PRIVILEGES = re.compile(r"default\s+privileges|\brevoke\b|row\s+level\s+security|\bpolicy\b", re.IGNORECASE)


_CREATES_POLICY = re.compile(r"create\s+policy", re.IGNORECASE)


class _History:
    """The migrations before a file, read and parsed lazily (only files that mention the object's name)."""

    def __init__(self, targets, others, read_other):
        self._texts = {t.name: t.text for t in targets if t.text is not None}
        self._names = sorted(set(self._texts) | set(others))
        self._read = read_other
        self._parsed: dict[str, ParsedFile | None] = {}
        self._priors: dict[str, grants.Prior | None] = {}

    def _text(self, name: str) -> str | None:
        if name not in self._texts and self._read is not None:
            try:
                self._texts[name] = self._read(name)
            except Exception:
                self._texts[name] = None
        return self._texts.get(name)

    def _file(self, name: str) -> ParsedFile | None:
        if name not in self._parsed:
            text = (self._text(name) or "").removeprefix("\ufeff")
            parsed = parse_file(text) if text else None
            self._parsed[name] = parsed if parsed is not None and parsed.error is None else None
        return self._parsed[name]

    def prior(self, name: str) -> grants.Prior:
        """The privilege decisions (default privileges, schema revokes) of every migration before ``name``."""
        prior = grants.Prior()
        for other in self._names[: bisect_left(self._names, name)]:
            if other not in self._priors:
                text = self._text(other)
                parsed = self._file(other) if text and _DECIDES_PRIVILEGES.search(text) else None
                self._priors[other] = grants.prior_of(parsed.occurrences) if parsed is not None else None
            if self._priors[other] is not None:
                prior.extend(self._priors[other])
        return prior

    def policy_after(self, name: str) -> Callable[[str], bool]:
        """Whether a later migration creates a policy on a table (RLS on in one file, policies in the next)."""

        def policy_later(table: str) -> bool:
            for other in self._names[bisect_right(self._names, name) :]:
                text = self._text(other)
                if text and table in text and _CREATES_POLICY.search(text):
                    return True
            return False

        return policy_later

    def before(self, name: str) -> Callable:
        def created_earlier(obj) -> bool:
            earlier = self._names[: bisect_left(self._names, name)]
            for other in reversed(earlier):  # the newest word on the object counts
                text = self._text(other)
                if not text or obj.name not in text:
                    continue
                parsed = self._file(other)
                state = grants.history_of(obj, parsed.occurrences) if parsed is not None else None
                if state is not None:
                    return state
            return False

        return created_earlier


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
