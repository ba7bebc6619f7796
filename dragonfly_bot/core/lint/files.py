"""File-name rules: the protocol's naming convention, and what the Supabase CLI does with versions.

Decisions (see docs/lint.md):
* ``YYYYMMDDHHMMSS_lower_snake_description.sql`` passes.
* 4-digit versions are the legacy tracker's files: accepted as they are.
* A name the CLI does not take as a migration at all (``<digits>_<name>.sql``)
  is an error: CI would skip it silently and the change never ships.
* Other digit counts (8-digit dates are common), an impossible date-time or a
  description that is not lower snake case are warnings: the CLI applies them,
  but ordering is by string and ``migration list`` mispairs 8-digit versions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from dragonfly_bot.core.lint.model import ERROR, WARNING, Finding, MigrationSource
from dragonfly_bot.core.versions import parse_file_name

_DESCRIPTION = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def _after(version: str) -> str:
    """The first version after ``version`` (one second later for a timestamp)."""
    try:
        return (datetime.strptime(version, "%Y%m%d%H%M%S") + timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")
    except ValueError:
        return str(int(version) + 1).zfill(len(version))


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "describe_the_change"


def check_name(source: MigrationSource) -> list[Finding]:
    parsed = parse_file_name(source.name)
    if parsed is None:
        stem = source.name.rsplit(".", 1)[0]
        return [
            Finding(
                source.path,
                1,
                "file-name",
                ERROR,
                f"{source.name} is not <version>_<name>.sql: the Supabase CLI skips it, so it would never run",
                f"rename it to <YYYYMMDDHHMMSS, the current UTC time>_{_slug(stem)}.sql",
            )
        ]
    if parsed.is_legacy:
        return []
    problems = []
    version = parsed.version
    if len(version) != 14:
        problems.append(
            f"its version has {len(version)} digits, not YYYYMMDDHHMMSS (versions sort as strings; "
            "`migration list` mispairs 8-digit ones)"
        )
        version = (version + "000000")[:14] if len(version) == 8 else version
    else:
        try:  # the constructor validates as strptime does, at a fraction of the cost
            datetime(
                int(version[:4]),
                int(version[4:6]),
                int(version[6:8]),
                int(version[8:10]),
                int(version[10:12]),
                int(version[12:14]),
            )
        except ValueError:
            problems.append(f"{version} is not a real date and time")
    if not _DESCRIPTION.match(parsed.name):
        problems.append("the description is not lower_snake_case")
    if not problems:
        return []
    return [
        Finding(
            source.path,
            1,
            "file-name",
            WARNING,
            f"{source.name}: " + "; ".join(problems),
            f"for a file not applied anywhere yet, rename it to {version}_{_slug(parsed.name)}.sql "
            "(never rename an applied migration)",
        )
    ]


def check_set(targets: list[MigrationSource], others: list[str]) -> list[Finding]:
    """duplicate-version and out-of-order, for the target files against all files."""
    findings = []
    by_version: dict[str, list[str]] = defaultdict(list)
    for name in [t.name for t in targets] + list(others):
        parsed = parse_file_name(name)
        if parsed:
            by_version[parsed.version].append(name)
    newest_other = max((p.version for p in map(parse_file_name, others) if p), default=None)
    newest = max(by_version, default="0")
    renames = _suggested_versions(targets, by_version, newest_other, newest)
    for target in targets:
        parsed = parse_file_name(target.name)
        if parsed is None:
            continue
        twins = [n for n in by_version[parsed.version] if n != target.name]
        if twins:
            findings.append(
                Finding(
                    target.path,
                    1,
                    "duplicate-version",
                    ERROR,
                    f"version {parsed.version} is also used by {', '.join(sorted(twins))}: "
                    "the second one fails (duplicate key in schema_migrations)",
                    f"give the new file a version after every other one, e.g. {renames[target.name]}_{parsed.name}.sql",
                )
            )
        if _out_of_order(target, parsed, newest_other):
            findings.append(
                Finding(
                    target.path,
                    1,
                    "out-of-order",
                    ERROR,
                    f"version {parsed.version} sorts before the newest existing migration {newest_other}: "
                    '`migration up` refuses it ("inserted before the last migration")',
                    f"rename it with a version after {newest_other}, e.g. {renames[target.name]}_{parsed.name}.sql",
                )
            )
    return findings


def _out_of_order(target: MigrationSource, parsed, newest_other: str | None) -> bool:
    return target.is_new and newest_other is not None and parsed.version < newest_other


def _suggested_versions(targets, by_version, newest_other, newest) -> dict[str, str]:
    """A new version for each target that needs one: unused by any file, distinct from each other, and in
    the targets' own order, so following every fix as written gives neither a duplicate nor a reordering."""
    used = set(by_version)
    renames: dict[str, str] = {}
    previous = ""
    for target in sorted(targets, key=lambda t: (getattr(parse_file_name(t.name), "version", ""), t.name)):
        parsed = parse_file_name(target.name)
        if parsed is None:
            continue
        duplicate = len(by_version[parsed.version]) > 1
        if not duplicate and not _out_of_order(target, parsed, newest_other):
            continue
        version = _after(max(newest if duplicate else newest_other, previous))
        while version in used:
            version = _after(version)
        used.add(version)
        renames[target.name] = previous = version
    return renames
