"""Migration file names and versions, read the way the Supabase CLI reads them.

The CLI takes any ``<digits>_<name>.sql`` in supabase/migrations, keys it by
the digits, and orders versions as *strings* (so an applied ``20261105`` sorts
after a pending ``20260118000000``). 4-digit (legacy), 8-digit and 14-digit
prefixes all occur in real repositories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIGRATION_FILE = re.compile(r"^(?P<version>[0-9]+)_(?P<name>.*)\.sql$")
PROTOCOL_NAME = re.compile(r"^(?P<version>[0-9]{14})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
LEGACY_VERSION = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True, order=True)
class MigrationName:
    version: str
    name: str  # what the CLI stores in schema_migrations.name
    file: str  # the file name

    @property
    def is_legacy(self) -> bool:
        """A 4-digit version from the old ``dragonfly_migrations`` tracker."""
        return bool(LEGACY_VERSION.match(self.version))


def parse_file_name(file_name: str) -> MigrationName | None:
    """The version and name of a migration file, or None if the CLI would skip it."""
    match = MIGRATION_FILE.match(file_name)
    if not match:
        return None
    return MigrationName(match.group("version"), match.group("name"), file_name)


def version_of(file_name: str | None) -> str | None:
    """The version of a migration file name (``20251209000002_x.sql`` -> ``20251209000002``), else None."""
    parsed = parse_file_name(file_name) if file_name else None
    return parsed.version if parsed else None


def follows_protocol(file_name: str) -> bool:
    """``YYYYMMDDHHMMSS_short_description.sql`` as the protocol asks for new files."""
    return bool(PROTOCOL_NAME.match(file_name))
