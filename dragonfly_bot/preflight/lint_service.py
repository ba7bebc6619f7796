"""One ``dragonfly-bot lint`` run: files chosen, static rules, ``--replay``, the config's rule settings,
then the baseline (written, or used to hide recorded findings and report stale ones).

Returns an outcome; ``lint_command`` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dragonfly_bot.core.lint import ERROR, Finding, LintOptions, baseline, lint_migrations
from dragonfly_bot.core.lint.model import RULES
from dragonfly_bot.core.redact import redact
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.preflight import lint_cache, rule_settings
from dragonfly_bot.preflight.files import MigrationSet, collect
from dragonfly_bot.project_config import ProjectConfig

if TYPE_CHECKING:  # psycopg and pg_dump only when --replay runs
    from dragonfly_bot.preflight.replay_base import Base

_ALL = frozenset(RULES)


@dataclass
class LintOutcome:
    findings: list[Finding]
    files_checked: int
    baselined: int = 0  # findings hidden because the baseline records them
    wrote_baseline: Path | None = None
    sets: list[MigrationSet] = field(default_factory=list)


@dataclass(frozen=True)
class LintRequest:
    paths: list[str]
    changed_since: str | None = None
    replay: bool = False
    db_url: str | None = None
    base: Base | None = None  # --base-db / --base-schema: the replay starts from the target's schema
    baseline: str | None = None  # a path instead of the config's
    use_baseline: bool = True
    write_baseline: bool = False
    use_cache: bool = True  # --no-cache: parse every file again


def run_lint(request: LintRequest, config: ProjectConfig, cwd: Path) -> LintOutcome:
    if request.write_baseline and request.changed_since:
        raise UserFacingError("--write-baseline records the whole folder: drop --changed-since")
    sets = collect(request.paths, changed_since=request.changed_since, cwd=cwd, max_bytes=config.lint.max_file_bytes)
    options = LintOptions(config.lint.private_schemas, config.lint.exposed_schemas, off=_off(config))
    findings: list[Finding] = []
    cache_root = lint_cache.cache_root(config.lint.cache_dir, config.root) if request.use_cache else None
    for mset in sets:
        cache = lint_cache.DiskCache(cache_root, mset.folder) if cache_root is not None else None
        findings.extend(lint_migrations(mset.targets, mset.others, mset.read, options, cache, mset.identity))
        if cache is not None:
            cache.flush()
        findings.extend(_too_large(mset, config.lint.max_file_bytes))
    if request.replay:
        from dragonfly_bot.preflight.replay import replay

        for mset in sets:
            if mset.targets:
                findings.extend(replay(mset, db_url=request.db_url, base=request.base))
    findings = rule_settings.apply(findings, config.lint, config.root, cwd)
    # One redactor on every path out: a fix quoting CREATE ROLE ... PASSWORD '...' must not print it.
    findings = [replace(f, message=redact(f.message), fix=redact(f.fix)) for f in findings]
    # --replay applies every file of the folder: one that is not a target can fail too.
    checked = len({t.path for m in sets for t in m.targets} | {f.file for f in findings})
    outcome = LintOutcome(findings, checked, sets=sets)
    path = _baseline_path(request, config, cwd)
    texts = {t.path: t.text or "" for m in sets for t in m.targets}

    def file_key(file: str) -> str:
        return rule_settings.relative_to_root(file, config.root, cwd)

    if request.write_baseline:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(baseline_text(outcome, config, cwd), "utf-8")
        outcome.wrote_baseline = path
        return outcome
    if request.use_baseline and path.is_file():
        try:
            recorded = baseline.from_json(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UserFacingError(
                f"{path}: not a lint baseline ({exc}); rewrite it with `dragonfly-bot lint --write-baseline`"
            ) from None
        checked_files = {file_key(t.path) for m in sets for t in m.targets}
        checked_files |= {e.file for e in recorded if not (config.root / e.file).exists()}
        kept, stale = baseline.split(findings, recorded, texts, file_key, checked_files)
        outcome.baselined = len(findings) - len(kept)
        outcome.findings = kept + stale
    return outcome


def baseline_text(outcome: LintOutcome, config: ProjectConfig, cwd: Path) -> str:
    """What ``--write-baseline`` records for a run's findings (``init`` writes it too)."""
    texts = {t.path: t.text or "" for m in outcome.sets for t in m.targets}
    return baseline.to_json(
        baseline.entries(outcome.findings, texts, lambda file: rule_settings.relative_to_root(file, config.root, cwd))
    )


def _baseline_path(request: LintRequest, config: ProjectConfig, cwd: Path) -> Path:
    if request.baseline:
        return (cwd / request.baseline).resolve()
    return config.path(config.lint.baseline)


def _too_large(mset: MigrationSet, limit: int) -> list[Finding]:
    return [
        Finding(
            path,
            1,
            "file-too-large",
            ERROR,
            f"{size:,} bytes, over [lint] max_file_bytes ({limit:,}): not parsed, so nothing in it was checked",
            "split the file (a seed belongs in supabase/seed.sql or a COPY), or raise max_file_bytes in the config",
        )
        for path, size in mset.too_large
    ]


def _off(config: ProjectConfig) -> frozenset[str]:
    """The default-off rules the config does not turn on (by naming them in a select or a severity)."""
    from dragonfly_bot.core.lint.model import DEFAULT_OFF

    turned_on: set[str] = set()
    for settings in [config.lint.rules, *(p.rules for p in config.lint.per_path)]:
        turned_on |= set(settings.select or ()) if settings.select != _ALL else set()
        turned_on |= {rule for rule, level in settings.severity.items() if level != "off"}
    return DEFAULT_OFF - turned_on
