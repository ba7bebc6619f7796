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
    depth = _comment_depth(text)
    if depth > MAX_COMMENT_DEPTH:
        return [*whole_file, _too_deep(source.path, f"block comments nested {depth} deep")]
    try:
        return _lint_text(source, text, whole_file, created_earlier, prior, options, policy_later)
    except RecursionError:
        # json.loads of a parse tree 3,000 sub-selects or PL/pgSQL IFs deep: report it, never a traceback
        return [*whole_file, _too_deep(source.path, "statements nested too deeply to read their parse tree")]


def _lint_text(source, text, whole_file, created_earlier, prior, options, policy_later) -> list[Finding]:
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


MAX_COMMENT_DEPTH = 200
_COMMENT_MARKS = re.compile(r"/\*|\*/")


def _comment_depth(text: str) -> int:
    """How deep ``/* /* ... */ */`` nest (PostgreSQL nests them). Its scanner takes quadratic time on tens of
    thousands of levels, so such a file is reported instead of parsed. Cheap: only counted when many open."""
    if text.count("/*") <= MAX_COMMENT_DEPTH:
        return 0
    depth = deepest = 0
    for mark in _COMMENT_MARKS.finditer(text):
        depth = depth + 1 if mark.group() == "/*" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _too_deep(path: str, what: str) -> Finding:
    return Finding(
        path,
        1,
        "too-deeply-nested",
        ERROR,
        f"{what}: the file was not checked (PostgreSQL may refuse it too: stack depth limit)",
        "flatten it (a CTE or a join instead of nested sub-selects, ELSIF instead of nested IFs)",
    )


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
            try:
                parsed = parse_file(text) if text and _comment_depth(text) <= MAX_COMMENT_DEPTH else None
            except RecursionError:
                parsed = None  # reported when that file itself is linted
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
            earlier = self._priors[other]
            if earlier is not None:
                prior.extend(earlier)
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
