"""The data a diagnosis is made of: the ``Failure`` read from a log, its ``Hint``, and catalog ``Facts``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from dragonfly_bot.core.diagnosis.categories import Category
from dragonfly_bot.core.redact import redact


class Confidence(StrEnum):
    """How much the hint knows.

    certain: the fix is mechanical and verified (an idempotent rewrite that tests re-apply twice);
    likely: the usual cause of this error, said as such;
    check: what to look at; no fix is invented.
    """

    CERTAIN = "certain"
    LIKELY = "likely"
    CHECK = "check"


@dataclass(frozen=True)
class Hint:
    text: str  # the advice, in prose (never the error message again)
    confidence: Confidence
    sql: str = ""  # a complete statement to run instead, only when it is complete and runnable


@dataclass(frozen=True)
class Facts:
    """Read-only catalog facts about one failure, gathered where CI has the database URL.

    Plain data (JSON in ``migration_runs.diagnosis`` and in the job log), so the bot's alert
    can use them later without a database connection. Empty means "not looked at".
    """

    current_user: str = ""
    object_name: str = ""  # what the facts are about, e.g. public.t or public.t.col
    other_schemas: tuple[str, ...] = ()  # schemas where an object of that name exists
    similar_columns: tuple[str, ...] = ()  # columns of the table, closest to the missing one first
    table_exists: bool | None = None
    privileges: tuple[tuple[str, bool], ...] = ()  # (privilege, current_user has it) on object_name
    object_owner: str = ""
    applied_versions: tuple[tuple[str, bool], ...] = ()  # (version, in schema_migrations)
    extension: str = ""
    extension_available: bool | None = None
    extension_installed_schema: str = ""
    is_owner: bool | None = None  # current_user owns object_name (or is a member of its owner)
    unavailable: str = ""  # why the catalog was not read (one line); then every other field is empty

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", (), None)}

    @classmethod
    def from_dict(cls, data: Any) -> Facts | None:
        """Read back what ``to_dict`` wrote; None for anything else (stored data is outside input)."""
        if not isinstance(data, dict):
            return None
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if value is None:
                continue
            if f.name in ("privileges", "applied_versions"):
                pairs = (
                    [p for p in value if isinstance(p, list | tuple) and len(p) == 2] if isinstance(value, list) else []
                )
                kwargs[f.name] = tuple((str(a)[:200], bool(b)) for a, b in pairs[:50])
            elif f.name in ("other_schemas", "similar_columns"):
                kwargs[f.name] = tuple(str(x)[:200] for x in value[:50]) if isinstance(value, list) else ()
            elif f.name in ("table_exists", "extension_available", "is_owner"):
                kwargs[f.name] = value if isinstance(value, bool) else None
            else:
                kwargs[f.name] = str(value)[:200]
        return cls(**kwargs)

    def redacted(self) -> Facts:
        """Every text redacted (names are split when hints and lines are composed: redact them whole first)."""

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return redact(value)
            if isinstance(value, tuple):
                return tuple(clean(v) for v in value)
            return value

        return Facts(**{f.name: clean(getattr(self, f.name)) for f in fields(Facts)})

    @property
    def known(self) -> bool:
        """True when the catalog was read and said something."""
        return not self.unavailable and bool(self.to_dict())

    def has(self, privilege: str) -> bool | None:
        for name, granted in self.privileges:
            if name.upper() == privilege.upper():
                return granted
        return None


@dataclass(frozen=True)
class Failure:
    category: Category
    message: str
    file: str | None = None  # migration file name, e.g. 20251209000002_step2.sql
    version: str | None = None
    sqlstate: str | None = None
    detail: str = ""
    cli_hint: str = ""  # the Supabase CLI's own "Hint:" paragraph, when it prints one
    statement: str = ""  # as the log shows it (caret line removed), or the file's text after enrich
    statement_index: int | None = None  # N from "At statement: N" (0-based)
    statement_count: int | None = None  # statements in the file, once it was read
    statement_complete: bool = False  # True when ``statement`` is the file's whole statement
    line: int | None = None  # 1-based line of that statement in the file
    error_line: int | None = None  # 1-based line of the error position (caret / syntax error)
    caret_column: int | None = None  # 1-based column of the caret within its statement line
    # 1-based line of the CLI's statement text the caret is under (a 70-line DO block's caret
    # lies past the error lines kept in ``error_lines``)
    caret_line: int | None = None
    hint: str = ""  # the advice, then the SQL to run (after a newline) when there is one
    confidence: Confidence | None = None
    fix_sql: str = ""  # complete and runnable, or empty
    db_user: str | None = None  # the role CI connected as, when the log or the URL shows it
    facts: Facts | None = None
    error_lines: tuple[str, ...] = ()  # raw error block from the log, redacted, capped
    files: tuple[str, ...] = ()  # out_of_order: the files listed
    versions: tuple[str, ...] = ()  # remote_version_missing: versions the database has
    context: tuple[tuple[int, str], ...] = field(default=(), compare=False)  # (line, text) around the error

    @property
    def headline(self) -> str:
        """The message with its SQLSTATE, once (a connection error's message already carries it)."""
        if not self.sqlstate or f"SQLSTATE {self.sqlstate}" in self.message:
            return self.message
        return f"{self.message} (SQLSTATE {self.sqlstate})"

    @property
    def advice(self) -> str:
        """The hint's prose without the SQL."""
        if self.fix_sql and self.hint.endswith(self.fix_sql):
            return self.hint[: -len(self.fix_sql)].rstrip("\n")
        return self.hint

    def to_dict(self) -> dict:
        data = asdict(self)
        data["category"] = str(self.category)
        data["confidence"] = str(self.confidence) if self.confidence else None
        data["facts"] = self.facts.to_dict() if self.facts else None
        data["error_lines"] = list(self.error_lines)
        data["files"] = list(self.files)
        data["versions"] = list(self.versions)
        data["context"] = [list(x) for x in self.context]
        return data
