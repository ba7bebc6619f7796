"""What a hint may look at: the failure, its statement, the file, the other files, catalog facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dragonfly_bot.core.diagnosis.model import Confidence, Facts, Failure, Hint
from dragonfly_bot.core.diagnosis.objects import Created, ObjectIndex, split_by_file
from dragonfly_bot.core.diagnosis.rewrite import terminated

_QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class Context:
    f: Failure
    file_text: str | None = None
    statement_start: int | None = None  # character offset of the statement in the file
    migrations: Mapping[str, str] | None = None
    facts: Facts | None = None
    _index: ObjectIndex | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.facts is None:
            self.facts = self.f.facts  # facts read back from a job log or a stored run record
        if self.facts is not None and not self.facts.known:
            self.facts = None  # "not read" (the database was unreachable): diagnose as without facts
        elif self.facts is not None:
            self.facts = self.facts.redacted()

    @property
    def statement(self) -> str:
        return self.f.statement or ""

    @property
    def complete(self) -> bool:
        """True when the statement is the file's whole statement: only then is a rewrite of it given."""
        return self.f.statement_complete

    def where(self, line: int | None = None) -> str:
        """'20251209_x.sql line 12' / '20251209_x.sql, statement 3 of 9' / 'the failing migration'."""
        name = self.f.file or "the failing migration"
        line = line or self.f.line
        if line is not None:
            return f"{name} line {line}"
        if self.f.statement_index is not None:
            return f"{name}, statement {self.f.statement_index + 1}"
        return name

    @property
    def before(self) -> str:
        """The file's text above the failing statement."""
        if not self.file_text or self.statement_start is None:
            return ""
        return self.file_text[: self.statement_start]

    @property
    def after(self) -> str:
        if not self.file_text or self.statement_start is None:
            return ""
        return self.file_text[self.statement_start + len(self.statement) :]

    def index(self) -> ObjectIndex | None:
        if self._index is None and self.migrations:
            self._index = ObjectIndex.build(self.migrations)
        return self._index

    def quoted(self) -> list[str]:
        return _QUOTED.findall(self.f.message)

    def creators(self, kind: str, name: str) -> tuple[list[Created], list[Created]] | None:
        """(earlier-or-same-file creators, later ones) of ``name``, or None without the other files."""
        index = self.index()
        if index is None or not self.f.file:
            return None
        return split_by_file(index.creators(kind, name), self.f.file)

    def rewrite(self, text: str, rewritten: str | None, *, confidence: Confidence = Confidence.CERTAIN) -> Hint | None:
        """A hint writing the statement out, only when the statement is complete (never a cut one)."""
        if rewritten is None or not self.complete:
            return None
        return Hint(text, confidence, terminated(rewritten))

    def ci_role(self) -> str:
        """Who CI connects as: from the facts, the URL in the log, else described."""
        if self.facts and self.facts.current_user:
            return self.facts.current_user
        return self.f.db_user or ""

    def applied(self, version: str) -> bool | None:
        if self.facts is None:
            return None
        for v, is_applied in self.facts.applied_versions:
            if v == version:
                return is_applied
        return None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def names_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
