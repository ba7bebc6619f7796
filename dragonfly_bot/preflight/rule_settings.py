"""The config's rule selection and severity overrides, applied to lint findings.

Settings are read in order (the ``[lint]`` section, then each ``[lint.per_path."glob"]`` table that
matches the file): a ``select`` decides which rules are on, ``ignore`` turns rules off, and
``severity`` sets ``error`` / ``warning`` / ``off``. ``parse-error`` is always reported: with it
off nothing in the file would be checked, silently.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dragonfly_bot.core.lint.model import Finding
from dragonfly_bot.project_config import LintConfig

ALWAYS_ON = frozenset({"parse-error"})


def relative_to_root(file: str, root: Path, cwd: Path) -> str:
    """``file`` as shown in findings (relative to cwd, or absolute), relative to the config's root."""
    path = Path(file)
    path = path if path.is_absolute() else cwd / path
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def effective(rule: str, severity: str, config: LintConfig, path: str) -> str | None:
    """The severity of ``rule`` in ``path`` after the config, or None when the rule is off there."""
    enabled = True
    for settings in config.rules_for(path):
        if settings.select is not None:
            enabled = rule in settings.select
        if rule in settings.ignore:
            enabled = False
        level = settings.severity.get(rule)
        if level == "off":
            enabled = False
        elif level is not None:
            enabled, severity = True, level
    if rule in ALWAYS_ON:
        return severity
    return severity if enabled else None


def apply(findings: list[Finding], config: LintConfig, root: Path, cwd: Path) -> list[Finding]:
    kept = []
    paths: dict[str, str] = {}
    for finding in findings:
        path = paths.setdefault(finding.file, relative_to_root(finding.file, root, cwd))
        severity = effective(finding.rule, finding.severity, config, path)
        if severity is None:
            continue
        kept.append(finding if severity == finding.severity else replace(finding, severity=severity))
    return kept
