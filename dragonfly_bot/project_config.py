"""The one reader of the project's config file: ``dragonfly.toml`` at the repository root, else
``[tool.dragonfly]`` in ``pyproject.toml``. Shared by ``lint``, ``guard`` and ``init``.

Each section is parsed into a frozen dataclass; a missing file or section gives the defaults.
A bad value raises ``ConfigError`` (a ``UserFacingError``: the CLI prints one line and exits 2)
naming the file, the key and what to write instead. Unknown keys are errors too: a typo must
not silently turn a rule back on.

Sections: ``[lint]`` and ``[guard]`` here; ``[environments]`` and ``[workflow]`` are kept as
plain tables (``ProjectConfig.sections``) until their owner (``init``) adds a parser to
``_SECTION_PARSERS``.

    [lint]
    select = ["all"]                 # rule ids, or "all" (default); "lock" / "security" / "replay" name groups
    ignore = ["missing-grant"]
    severity = { lock-timeout = "error", file-name = "off" }
    private_schemas = ["private"]    # kept for service_role: no anon/authenticated grant expected
    exposed_schemas = ["public"]     # what the Data API serves (Supabase's default: public)
    baseline = "supabase/lint-baseline.json"
    max_file_bytes = 5000000
    cache_dir = ".dragonfly-cache"   # "" turns the content-hash cache off

    [lint.per_path."supabase/migrations/2023*"]
    ignore = ["lock-timeout"]

    [guard]
    ignore = ["linked-flag"]
    include = ["tools/*.txt"]        # more files to scan (read as shell unless the name says otherwise)
    exclude = ["docs/**"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from dragonfly_bot.errors import UserFacingError

CONFIG_FILE = "dragonfly.toml"
PYPROJECT = "pyproject.toml"
SEVERITIES = ("error", "warning", "off")
DEFAULT_MAX_FILE_BYTES = 5_000_000
DEFAULT_BASELINE = "supabase/lint-baseline.json"
DEFAULT_CACHE_DIR = ".dragonfly-cache"


class ConfigError(UserFacingError):
    """The config file is unreadable or has a bad key; the message names it and says what to write."""


@dataclass(frozen=True)
class RuleSettings:
    """Rule selection: ``select`` (None: every rule on by default), ``ignore``, severity overrides."""

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PathSettings:
    """Settings for files whose path (relative to the root, ``/``-separated) matches ``pattern``."""

    pattern: str
    rules: RuleSettings

    def matches(self, path: str) -> bool:
        path = path.replace("\\", "/")
        return fnmatchcase(path, self.pattern) or fnmatchcase(path.rsplit("/", 1)[-1], self.pattern)


@dataclass(frozen=True)
class LintConfig:
    rules: RuleSettings = field(default_factory=RuleSettings)
    per_path: tuple[PathSettings, ...] = ()
    private_schemas: frozenset[str] = frozenset()
    exposed_schemas: frozenset[str] = frozenset({"public"})
    baseline: str = DEFAULT_BASELINE
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    cache_dir: str = DEFAULT_CACHE_DIR

    def rules_for(self, path: str) -> list[RuleSettings]:
        """The rule settings that apply to ``path``: the section's own, then each matching per-path table."""
        return [self.rules] + [p.rules for p in self.per_path if p.matches(path)]


@dataclass(frozen=True)
class GuardConfig:
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # globs (relative to the root) scanned on top of the default scope

    def excluded(self, path: str) -> bool:
        return _matches_any(path, self.exclude)

    def included(self, path: str) -> bool:
        return _matches_any(path, self.include)


def _matches_any(path: str, patterns: tuple[str, ...]) -> bool:
    path = path.replace("\\", "/")
    return any(fnmatchcase(path, pattern) for pattern in patterns)


@dataclass(frozen=True)
class ProjectConfig:
    root: Path  # the folder the file was found in (paths in it are relative to this)
    source: Path | None = None  # the file read, None when there is none
    lint: LintConfig = field(default_factory=LintConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    # Sections whose parser lives elsewhere (``[environments]``, ``[workflow]``), as read.
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def label(self) -> str:
        """How messages name the config: ``dragonfly.toml`` or ``pyproject.toml [tool.dragonfly]``."""
        if self.source is None:
            return CONFIG_FILE
        return self.source.name + (" [tool.dragonfly]" if self.source.name == PYPROJECT else "")


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding dragonfly.toml, a pyproject.toml with
    [tool.dragonfly], or .git (the repository root); ``start`` itself when there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and "tool.dragonfly" in pyproject.read_text("utf-8", errors="replace"):
            return folder
    return start


def load(start: Path | None = None) -> ProjectConfig:
    """The config of the project containing ``start`` (default: the current folder)."""
    root = find_root(start or Path.cwd())
    path = root / CONFIG_FILE
    if path.is_file():
        return parse(_read_toml(path), root, path)
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("dragonfly")
        if table is not None:
            return parse(table, root, pyproject)
    return ProjectConfig(root)


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a file: lint --changed-since runs on every commit

    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc}); fix the syntax there") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot be read ({exc.__class__.__name__}); check the file") from None


def parse(table: Any, root: Path, source: Path | None = None) -> ProjectConfig:
    """A ``ProjectConfig`` from an already-read TOML table (tests build configs this way)."""
    label = ProjectConfig(root, source).label
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: expected a table of sections ([lint], [guard], ...)")
    values: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for name, body in table.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{label}: `{name}` must be a table ([{name}]), not a {type(body).__name__}")
        if name in _SECTION_PARSERS:
            values[name] = _SECTION_PARSERS[name](_Keys(label, name, body))
        elif name in RAW_SECTIONS:
            sections[name] = body
        else:
            known = ", ".join(f"[{s}]" for s in (*_SECTION_PARSERS, *RAW_SECTIONS))
            raise ConfigError(f"{label}: unknown section [{name}]; known sections: {known}")
    return ProjectConfig(root, source, sections=sections, **values)


class _Keys:
    """One table being read: typed getters that name ``[section] key`` in their errors, and a final
    check that no key was left unread (a typo)."""

    def __init__(self, label: str, where: str, body: dict[str, Any]):
        self.label, self.where, self.body = label, where, body
        self._seen: set[str] = set()

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.label}: [{self.where}] {key}: {what}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._seen.add(key)
        value = self.body.get(key, default)
        if value is not default and (not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {_article(expected)}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key, list, None)
        if value is None:
            return None
        if not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f'expected a list of non-empty strings, e.g. ["a", "b"]; got {value!r}')
        return tuple(value)

    def done(self) -> None:
        extra = sorted(set(self.body) - self._seen)
        if extra:
            raise self.fail(extra[0], f"unknown key; known keys here: {', '.join(sorted(self._seen))}")


def _article(name: str) -> str:
    return ("an " if name[:1] in "aeiou" else "a ") + name


def _rule_ids() -> tuple[set[str], dict[str, frozenset[str]]]:
    from dragonfly_bot.core.lint.model import RULE_GROUPS, RULES

    return set(RULES), RULE_GROUPS


def _rules(keys: _Keys) -> RuleSettings:
    known, groups = _rule_ids()

    def check(key: str, ids: tuple[str, ...] | None) -> frozenset[str] | None:
        if ids is None:
            return None
        expanded: set[str] = set()
        for rule in ids:
            if rule == "all":
                expanded |= known
            elif rule in groups:
                expanded |= groups[rule]
            elif rule in known:
                expanded.add(rule)
            else:
                raise keys.fail(key, f"unknown rule {rule!r}; use `dragonfly-bot lint --list-rules` for the ids")
        return frozenset(expanded)

    select = check("select", keys.strings("select"))
    ignore = check("ignore", keys.strings("ignore")) or frozenset()
    severity: dict[str, str] = {}
    for rule, level in keys.get("severity", dict, {}).items():
        if not isinstance(level, str) or level not in SEVERITIES:
            raise keys.fail(f"severity.{rule}", f"expected one of {', '.join(SEVERITIES)}, got {level!r}")
        for one in check(f"severity.{rule}", (rule,)) or ():
            severity[one] = level
    return RuleSettings(select, ignore, severity)


def _lint(keys: _Keys) -> LintConfig:
    rules = _rules(keys)
    per_path = []
    for pattern, body in keys.get("per_path", dict, {}).items():
        if not isinstance(body, dict):
            raise keys.fail(f'per_path."{pattern}"', "expected a table with select / ignore / severity")
        inner = _Keys(keys.label, f'{keys.where}.per_path."{pattern}"', body)
        per_path.append(PathSettings(pattern, _rules(inner)))
        inner.done()
    max_bytes = keys.get("max_file_bytes", int, DEFAULT_MAX_FILE_BYTES)
    if max_bytes <= 0:
        raise keys.fail("max_file_bytes", f"expected a positive number of bytes, got {max_bytes}")
    config = LintConfig(
        rules=rules,
        per_path=tuple(per_path),
        private_schemas=frozenset(keys.strings("private_schemas") or ()),
        exposed_schemas=frozenset(keys.strings("exposed_schemas") or ("public",)),
        baseline=keys.get("baseline", str, DEFAULT_BASELINE),
        max_file_bytes=max_bytes,
        cache_dir=keys.get("cache_dir", str, DEFAULT_CACHE_DIR),
    )
    keys.done()
    return config


def _guard(keys: _Keys) -> GuardConfig:
    from dragonfly_bot.core.guard import FORBIDDEN

    ignore = keys.strings("ignore") or ()
    for rule in ignore:
        if rule not in FORBIDDEN:
            raise keys.fail("ignore", f"unknown guard rule {rule!r}; known: {', '.join(FORBIDDEN)}")
    config = GuardConfig(frozenset(ignore), keys.strings("exclude") or (), keys.strings("include") or ())
    keys.done()
    return config


# Section name -> parser. ``init``'s owner adds "environments" / "workflow" here (and drops them from RAW_SECTIONS).
_SECTION_PARSERS = {"lint": _lint, "guard": _guard}
RAW_SECTIONS = frozenset({"environments", "workflow"})
