"""A schema snapshot of a migrations' target: what ``lint --replay`` starts from instead of file 0001.

One text, written by ``dragonfly-bot schema-snapshot`` (committed, for pull requests from forks
that have no database secret) and made in memory by ``lint --replay --base-db``. Three sections,
each behind a marker line, so the restorer knows what it is running:

* ``roles``: the target's roles, created ``NOLOGIN`` when the scratch server lacks them
  (GRANTs and policies name them; roles are cluster-wide, so only names, never attributes);
* ``schema``: ``pg_dump --schema-only --no-owner`` of the target, its ACLs kept (GRANTs to the
  platform roles are what the privilege check reads), cut into pg_dump's own entries
  (``-- Name: ...; Type: ...``); psql's ``\\restrict`` lines (a random key per dump) are dropped,
  and an entry holding what looks like a secret (a user mapping's password...) is left out
  with a comment saying so;
* ``applied``: ``supabase_migrations.schema_migrations`` rows (version, name), sorted by version.

Deterministic: the same database gives the same bytes (no timestamps, sorted rows and roles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dragonfly_bot.core.redact import redact

MARK = "-- dragonfly-bot snapshot section: "
SECTIONS = ("roles", "schema", "applied")

# pg_dump's entry header: "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n"
_ENTRY = re.compile(r"^--\n-- (?:Data for )?Name: (?P<title>[^\n]*)\n--\n", re.MULTILINE)
_PSQL_META = re.compile(r"^\\(?:restrict|unrestrict|connect)\b[^\n]*\n?", re.MULTILINE)
_LEFT_OUT = "-- left out by dragonfly-bot (it holds what looks like a secret): "


@dataclass(frozen=True)
class Entry:
    title: str  # "t; Type: TABLE; Schema: public; Owner: -"
    sql: str


@dataclass
class Snapshot:
    header: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    preamble: str = ""  # pg_dump's session SETs, run before every entry on the same connection
    entries: list[Entry] = field(default_factory=list)
    applied: list[tuple[str, str | None]] = field(default_factory=list)  # (version, name)

    @property
    def versions(self) -> set[str]:
        return {version for version, _ in self.applied}


def split_dump(dump: str) -> tuple[str, list[Entry]]:
    """pg_dump's plain output -> (session preamble, entries), psql meta-commands dropped."""
    text = _PSQL_META.sub("", dump.replace("\r\n", "\n"))
    matches = list(_ENTRY.finditer(text))
    if not matches:
        return _strip_comments(text), []
    preamble = _strip_comments(text[: matches[0].start()])
    entries = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end]
        if index + 1 == len(matches):
            body = body.split("--\n-- PostgreSQL database dump complete\n--", 1)[0]
        entries.append(Entry(match.group("title").strip(), body.strip() + "\n"))
    return preamble, entries


def _strip_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("--")]
    return "\n".join(lines) + ("\n" if lines else "")


def without_secrets(entries: list[Entry]) -> list[Entry]:
    """Entries the redactor would change (a user mapping's password, a vault secret) are left out."""
    kept = []
    for entry in entries:
        if " Type: USER MAPPING;" in f" {entry.title}" or redact(entry.sql) != entry.sql:
            kept.append(Entry(entry.title, ""))
        else:
            kept.append(entry)
    return kept


def _literal(value: str | None) -> str:
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def render(snapshot: Snapshot) -> str:
    out = [f"-- {line}".rstrip() for line in snapshot.header]
    out += ["", MARK + "roles"]
    for role in sorted(set(snapshot.roles)):
        out.append(
            "DO $$ BEGIN CREATE ROLE "
            + _ident(role)
            + " NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;"
        )
    out += ["", MARK + "schema", snapshot.preamble.rstrip()]
    for entry in snapshot.entries:
        out += ["", f"-- Name: {entry.title}"]
        out.append(entry.sql.rstrip() if entry.sql else _LEFT_OUT + entry.title)
    out += ["", MARK + "applied"]
    for version, name in sorted(snapshot.applied):
        out.append(
            "INSERT INTO supabase_migrations.schema_migrations (version, name) "
            f"VALUES ({_literal(version)}, {_literal(name)}) ON CONFLICT DO NOTHING;"
        )
    return "\n".join(out) + "\n"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SnapshotError(ValueError):
    """The text is not a snapshot ``render`` wrote."""


_ROLE = re.compile(r'CREATE ROLE "((?:[^"]|"")+)" NOLOGIN')
_APPLIED = re.compile(r"VALUES \('((?:[^']|'')*)', (NULL|'(?:[^']|'')*')\)")


def parse(text: str) -> Snapshot:
    """The sections of a snapshot file (what ``render`` wrote; hand edits inside an entry are kept)."""
    parts = text.replace("\r\n", "\n").split("\n" + MARK)
    found = {p.split("\n", 1)[0].strip(): p.split("\n", 1)[1] if "\n" in p else "" for p in parts[1:]}
    missing = [s for s in SECTIONS if s not in found]
    if missing:
        raise SnapshotError(f"no '{MARK}{missing[0]}' line")
    snap = Snapshot(header=[line.removeprefix("-- ") for line in parts[0].splitlines() if line.startswith("--")])
    snap.roles = [m.group(1).replace('""', '"') for m in _ROLE.finditer(found["roles"])]
    schema = found["schema"]
    chunks = re.split(r"^-- Name: ([^\n]*)\n", schema, flags=re.MULTILINE)
    snap.preamble = chunks[0].strip() + "\n"
    for title, sql in zip(chunks[1::2], chunks[2::2], strict=True):
        snap.entries.append(Entry(title.strip(), "" if sql.startswith(_LEFT_OUT) else sql.strip() + "\n"))
    for match in _APPLIED.finditer(found["applied"]):
        name = None if match.group(2) == "NULL" else match.group(2)[1:-1].replace("''", "'")
        snap.applied.append((match.group(1).replace("''", "'"), name))
    return snap
