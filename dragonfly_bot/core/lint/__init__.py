"""Static pre-flight checks for Supabase migration files (pure: the caller reads the files).

``lint_migrations(targets, others, read_other)`` runs every rule on the
target files' text; ``others`` are the names of the rest of the folder,
needed by the cross-file rules (duplicate and out-of-order versions). One
rule reads earlier files, and only when it has to: a ``CREATE OR REPLACE``
view or function without grants is fine when an earlier migration created it
(its privileges stay); the security rules read later files, and only about a
finding they would report (a later file that settles it: dragonfly_bot.core.lint.later);
``read_other(name)`` gives such a file's text.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dragonfly_bot.core.lint.history import MAX_COMMENT_DEPTH, FileCache, History, comment_depth
from dragonfly_bot.core.lint.model import ERROR, RULES, WARNING, Finding, LintOptions, MigrationSource

if TYPE_CHECKING:
    from dragonfly_bot.core.lint.grants import Prior
    from dragonfly_bot.core.lint.later import Later
    from dragonfly_bot.core.lint.parse import ParsedFile

__all__ = [
    "ERROR",
    "RULES",
    "WARNING",
    "FileCache",
    "Finding",
    "LintOptions",
    "MigrationSource",
    "has_errors",
    "lint_migrations",
    "lint_text",
    "parse_file",
]

DEFAULT_OPTIONS = LintOptions()


def __getattr__(name: str) -> Any:
    # The parser (pglast) and the rules load on first use: a run answered from the cache never needs them.
    if name == "parse_file":
        from dragonfly_bot.core.lint.parse import parse_file

        return parse_file
    raise AttributeError(name)


def lint_text(
    source: MigrationSource,
    whole_file: Sequence[Finding] = (),
    created_earlier: Callable | None = None,
    prior: Prior | None = None,
    options: LintOptions = DEFAULT_OPTIONS,
    later: Later | None = None,
    parsed: ParsedFile | None = None,
    fresh_tables: frozenset[tuple[str, str]] = frozenset(),
) -> list[Finding]:
    """All per-file rules on one file; ``whole_file`` findings (names, versions) join the suppression pass;
    ``created_earlier(obj)`` says whether earlier migrations created an object (see ``grants.check``);
    ``later(question)`` what the files after it settle (see ``dragonfly_bot.core.lint.later``);
    ``parsed``: the file already parsed (by the run's ``History``), else it is parsed here;
    ``fresh_tables``: tables earlier files of the same change create (the lock rules take them as empty)."""
    # The Supabase CLI applies files saved with a UTF-8 byte-order mark (Windows
    # editors write one); PostgreSQL itself would choke on it, so drop it first.
    text = (source.text or "").removeprefix("\ufeff")
    depth = comment_depth(text)
    if depth > MAX_COMMENT_DEPTH:
        return [*whole_file, _too_deep(source.path, f"block comments nested {depth} deep")]
    try:
        return _lint_text(source, text, whole_file, created_earlier, prior, options, later, parsed, fresh_tables)
    except RecursionError:
        # json.loads of a parse tree 3,000 sub-selects or PL/pgSQL IFs deep: report it, never a traceback
        return [*whole_file, _too_deep(source.path, "statements nested too deeply to read their parse tree")]


def _lint_text(source, text, whole_file, created_earlier, prior, options, later, parsed, fresh) -> list[Finding]:
    from dragonfly_bot.core.lint import (
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
    from dragonfly_bot.core.lint.parse import parse_file
    from dragonfly_bot.core.lint.plpgsql_errors import every_syntax_error

    raw: list[Finding] = list(whole_file) + files.check_name(source)
    parsed = parsed if parsed is not None else parse_file(text)
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
        occurrences, path = parsed.occurrences, source.path
        raw.extend(idempotency.check(occurrences, path))
        raw.extend(destructive.check(occurrences, path))
        raw.extend(
            grants.check(
                occurrences, path, created_earlier, prior, options.private_schemas, later, parsed.settles.policy_calls
            )
        )
        raw.extend(security.check(occurrences, path, prior, options, later, parsed.settles))
        if "supabase_migrations" in text:  # cheap: almost no file mentions the history schema
            raw.extend(protocol.check(occurrences, path))
        raw.extend(locks.check(occurrences, path, fresh))
    if options.off:
        raw = [f for f in raw if f.rule not in options.off]
    comments = suppress.read_comments(text, source.path)
    return suppress.apply(raw, comments, parsed.spans, source.path)


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
    cache: FileCache | None = None,
    identify_other: Callable[[str], object] | None = None,
) -> list[Finding]:
    """Findings for ``targets``, sorted by file and line. ``cache``: per-file results and summaries from
    earlier runs (see ``dragonfly_bot.core.lint.history``); an unchanged file is then not parsed again.
    ``identify_other(name)``: a cheap identity of another file (size and mtime) so its entry is taken unread."""
    from dragonfly_bot.core.lint import files

    cross = files.check_set(targets, list(others))
    by_path: dict[str, list[Finding]] = {}
    for finding in cross:
        by_path.setdefault(finding.file, []).append(finding)
    history = History(targets, others, read_other, cache, identify_other)
    findings: list[Finding] = []
    with _collector_paused():
        for source in targets:
            findings.extend(history.lint(source, by_path.get(source.path, []), options, lint_text))
    history.save()
    return sorted(findings, key=lambda f: (f.file, f.line, f.rule))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a folder is linted. The parse trees are acyclic dicts that
    reference counting frees; with a few hundred of them alive, the collector's passes walk every node
    again and again (a 300-file history's trees decode in 124 ms without it, 575 ms with it)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
