"""The folder's migrations as the cross-file rules see them, with an optional content-hash cache.

Each file is parsed at most once per run, and not at all when the cache has it:

* a file's *summary* is what later files need from it: its privilege decisions
  (``grants.prior_of``) and the objects it creates or drops, in order. It depends on the
  file's text only, so it is cached by the text's SHA-256;
* a target's *result* (its findings) depends on its text and on what the run tells it:
  its name and display path, whether it is new, the whole-file findings (versions), the
  options, and the privileges decided by the files before it (a digest of them). The
  questions it asked the other files while it was linted (was this view created earlier?
  what do the files after it settle: a policy on this table, RLS, ``security_invoker``, a
  REVOKE? see ``dragonfly_bot.core.lint.later``) are stored with their answers, and a cached result
  counts only when every answer is still the same. So editing one file changes its entry
  only, an earlier file that changes a default privilege still reaches every later file,
  and a later file that fixes (or stops fixing) an earlier one's finding is seen on a warm run.

The cache itself is given by the caller (``FileCache``: ``get``/``put`` of JSON-able
dicts by file name); this module does no I/O, and the caller keys the store by the
tool's version, so a new release never reads an old entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from dragonfly_bot.core.lint.later import Settles, answer, topics
from dragonfly_bot.core.lint.model import Finding, LintOptions, MigrationSource, Prior

if TYPE_CHECKING:
    from dragonfly_bot.core.lint.parse import ParsedFile

MAX_COMMENT_DEPTH = 200
_COMMENT_MARKS = re.compile(r"/\*|\*/")
# Words without which a file cannot leave privileges decided for later ones (default privileges, a schema
# REVOKE, row level security, a policy): only files holding one are read for it. A cheap superset test.
_DECIDING_WORDS = ("privileges", "revoke", "security", "policy")


def _flags(text: str) -> list[bool]:
    """[may decide privileges]: the text test the earlier files' privileges start with."""
    lowered = text.lower()
    return [any(word in lowered for word in _DECIDING_WORDS)]


_EMPTY_SHA = hashlib.sha256(b"").hexdigest()


class FileCache(Protocol):
    def get(self, name: str) -> dict | None: ...

    def put(self, name: str, entry: dict) -> None: ...


def comment_depth(text: str) -> int:
    """How deep ``/* /* ... */ */`` nest (PostgreSQL nests them). Its scanner takes quadratic time on tens of
    thousands of levels, so such a file is reported instead of parsed. Cheap: only counted when many open."""
    if text.count("/*") <= MAX_COMMENT_DEPTH:
        return 0
    depth = deepest = 0
    for mark in _COMMENT_MARKS.finditer(text):
        depth = depth + 1 if mark.group() == "/*" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


class ObjectKey(NamedTuple):
    """What ``created_earlier`` is asked about (a ``grants._Created`` has the same attributes)."""

    family: str
    schema: str
    name: str
    signature: str = ""


@dataclass
class Summary:
    """What one file leaves for the files after it."""

    prior: Prior
    # ("create" | "drop", family, schema, name, signature) for each top-level CREATE/DROP, in order
    events: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    digest: str = ""  # of ``prior``: what later files' results are keyed by
    settles: Settles = field(default_factory=Settles)  # what it decides about earlier files' objects

    def __post_init__(self) -> None:
        if not self.digest:
            # most files decide nothing for later ones: their digest is the same, made once
            self.digest = _EMPTY_PRIOR_DIGEST if _empty(self.prior) else _digest(prior_to_json(self.prior))

    @classmethod
    def of(cls, parsed: ParsedFile) -> Summary:
        from dragonfly_bot.core.lint import grants
        from dragonfly_bot.core.lint.names import dropped_objects
        from dragonfly_bot.core.lint.parse import FUNCTION_BODY

        events: list[tuple[str, str, str, str, str]] = []
        for occ in parsed.occurrences:
            if occ.context == FUNCTION_BODY:
                continue
            if occ.kind == "DropStmt":
                events.extend(("drop", *key, "") for key in dropped_objects(occ.node) if len(key) == 3)
            elif occ.kind in ("ViewStmt", "CreateFunctionStmt", "CreateStmt", "CreateTableAsStmt"):
                for made in grants.created_objects([occ]):
                    events.append(("create", made.family, made.schema, made.name, made.signature))
        return cls(grants.prior_of(parsed.occurrences), events, settles=parsed.settles)

    def history(self, obj: Any) -> bool | None:
        """True when the file's last word on ``obj`` is its creation, False a DROP, None when it does not touch it
        (``grants.history_of`` on the summary)."""
        for how, family, schema, name, signature in reversed(self.events):
            if (family, schema, name) != (obj.family, obj.schema, obj.name):
                continue
            if how == "drop":
                return False
            if obj.family != "function" or signature == obj.signature:
                return True
        return None

    def to_json(self) -> dict:
        return {
            "prior": prior_to_json(self.prior),
            "events": [list(e) for e in self.events],
            "digest": self.digest,
            "settles": self.settles.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        events = [tuple(e) for e in data["events"]]
        return cls(prior_from_json(data["prior"]), events, data.get("digest", ""), Settles.from_json(data["settles"]))


def prior_to_json(prior: Prior) -> dict:
    return {
        "defaults": [[family, schema, sorted(marks)] for family, schema, marks in prior.defaults],
        "schema_revoked": {schema: sorted(roles) for schema, roles in sorted(prior.schema_revoked.items())},
        "rls_tables": sorted(list(t) for t in prior.rls_tables),
        "policy_tables": sorted(list(t) for t in prior.policy_tables),
    }


def prior_from_json(data: dict) -> Prior:
    return Prior(
        [(family, schema, frozenset(marks)) for family, schema, marks in data["defaults"]],
        {schema: set(roles) for schema, roles in data["schema_revoked"].items()},
        {(s, t) for s, t in data["rls_tables"]},
        {(s, t) for s, t in data["policy_tables"]},
    )


def _empty(prior: Prior) -> bool:
    return not (prior.defaults or prior.schema_revoked or prior.rls_tables or prior.policy_tables)


def finding_to_json(f: Finding) -> list:
    return [f.file, f.line, f.rule, f.severity, f.message, f.fix, list(f.span) if f.span else None]


def finding_from_json(data: list) -> Finding:
    file, line, rule, severity, message, fix, span = data
    return Finding(file, line, rule, severity, message, fix, tuple(span) if span else None)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=sorted).encode()).hexdigest()[:32]


_EMPTY_PRIOR_DIGEST = _digest(prior_to_json(Prior()))


class History:
    """The migrations of one folder: texts read lazily, each parsed at most once, summaries and results cached."""

    def __init__(
        self,
        targets: Sequence[MigrationSource],
        others: Sequence[str],
        read_other: Callable[[str], str | None] | None,
        cache: FileCache | None = None,
        identify: Callable[[str], Any] | None = None,
    ):
        self._texts: dict[str, str | None] = {t.name: t.text for t in targets if t.text is not None}
        self._targets = frozenset(self._texts)
        self._new_targets = sorted(t.name for t in targets if t.is_new and t.text is not None)
        # (size, mtime) of a file, say: an entry recorded with the same identity is taken without reading
        # the file (as ruff does). Only for files that are not linted this run; targets are always hashed.
        self._identify = identify
        self._names = sorted(set(self._texts) | set(others))
        self._read = read_other
        self._cache = cache
        self._parsed: dict[str, ParsedFile | None] = {}
        self._summaries: dict[str, Summary | None] = {}
        self._entries: dict[str, dict] = {}  # as read from the cache (text hash checked)
        self._shas: dict[str, str] = {}
        self._cumulative: list[Prior] = []  # [i]: privileges decided by the first i files
        self._chain: list[str] = []  # [i]: a digest of what decided them (the files' own decisions, in order)
        self._flag_memo: dict[str, list[bool]] = {}
        self._dirty: set[str] = set()
        self._topics: dict[tuple[str, ...], list[int]] | None = None  # topic -> positions of the files speaking to it
        self._topics_from = 0  # the first position the index covers
        self.parsed_count = 0  # files parsed this run (tests check a warm run parses none)

    # ---------------------------------------------------------------- texts, parse trees, summaries

    def text(self, name: str) -> str | None:
        if name not in self._texts and self._read is not None:
            try:
                self._texts[name] = self._read(name)
            except Exception:
                self._texts[name] = None
        return self._texts.get(name)

    def _sha(self, name: str) -> str:
        if name not in self._shas:
            self._shas[name] = hashlib.sha256((self.text(name) or "").encode("utf-8", "surrogatepass")).hexdigest()
        return self._shas[name]

    def _entry(self, name: str) -> dict | None:
        """The cache's entry for the file when it is of the same text."""
        if self._cache is None:
            return None
        if name not in self._entries:
            entry = self._cache.get(name)
            if not isinstance(entry, dict) or not isinstance(entry.get("sha"), str):
                entry = {}
            elif (
                name not in self._targets
                and self._identify is not None
                and entry.get("id") is not None
                and entry.get("id") == self._identity(name)
            ):
                self._shas[name] = entry["sha"]  # unchanged since it was recorded: not read
            elif entry["sha"] != self._sha(name):
                entry = {}
            self._entries[name] = entry
        return self._entries[name] or None

    def _identity(self, name: str) -> Any:
        if self._identify is None:
            return None
        try:
            return self._identify(name)
        except Exception:
            return None

    def parsed(self, name: str) -> ParsedFile | None:
        """The file parsed (with ``error`` set when it does not parse); None when it is too deep to read."""
        if name not in self._parsed:
            from dragonfly_bot.core.lint.parse import parse_file

            text = (self.text(name) or "").removeprefix("\ufeff")
            parsed = None
            if comment_depth(text) <= MAX_COMMENT_DEPTH:
                self.parsed_count += 1
                try:
                    parsed = parse_file(text)
                except RecursionError:
                    parsed = None  # reported when that file itself is linted
            self._parsed[name] = parsed
        return self._parsed[name]

    def summary(self, name: str) -> Summary | None:
        """What the file leaves decided for later ones; None when it does not parse."""
        if name not in self._summaries:
            entry = self._entry(name)
            if entry is not None and "summary" in entry:
                data = entry["summary"]
                self._summaries[name] = Summary.from_json(data) if data is not None else None
            else:
                text = self.text(name)
                parsed = self.parsed(name) if text else None
                summary = Summary.of(parsed) if parsed is not None and parsed.error is None else None
                self._summaries[name] = summary
                self._store(name, summary=summary.to_json() if summary is not None else None)
        return self._summaries[name]

    def _store(self, name: str, **parts: Any) -> None:
        """Add to the file's entry; ``save()`` gives the changed entries to the cache, once each."""
        if self._cache is None or self.text(name) is None:
            return
        entry = self._entries.get(name)
        if not entry:
            entry = self._entries[name] = {"sha": self._sha(name), "id": self._identity(name)}
        entry.update(parts)
        self._dirty.add(name)

    def save(self) -> None:
        """Hand the entries this run changed to the cache."""
        if self._cache is not None:
            for name in sorted(self._dirty):
                self._cache.put(name, self._entries[name])
        self._dirty.clear()

    # ---------------------------------------------------------------- what the rules ask of the other files

    def _has_text(self, name: str) -> bool:
        """Whether the file has any text; from its cache entry when that is taken unread."""
        entry = self._entry(name)
        if entry is not None and name not in self._texts:
            return entry["sha"] != _EMPTY_SHA
        return bool(self.text(name))

    def flags(self, name: str) -> list[bool]:
        if name not in self._flag_memo:
            entry = self._entry(name)
            flags = entry.get("flags") if entry is not None else None
            if not (isinstance(flags, list) and len(flags) == 1):
                flags = _flags(self.text(name) or "")
                self._store(name, flags=flags)
            self._flag_memo[name] = flags
        return self._flag_memo[name]

    def prior(self, name: str) -> Prior:
        """The privilege decisions (default privileges, schema revokes, RLS, policies) of every file before ``name``."""
        return self._prior_at(bisect_left(self._names, name))

    def _prior_at(self, count: int) -> Prior:
        if not self._cumulative:
            self._cumulative.append(Prior())
            self._chain.append("")
        while len(self._cumulative) <= count:
            index = len(self._cumulative) - 1
            previous, other = self._cumulative[-1], self._names[index]
            summary = self.summary(other) if self._has_text(other) and self.flags(other)[0] else None
            if summary is None or _empty(summary.prior):
                self._cumulative.append(previous)  # nothing decided: the same object (the rules only read it)
                self._chain.append(self._chain[-1])
            else:
                merged = Prior()
                merged.extend(previous)
                merged.extend(summary.prior)
                self._cumulative.append(merged)
                self._chain.append(_digest([self._chain[-1], summary.digest]))
        return self._cumulative[count]

    def _prior_digest(self, name: str) -> str:
        count = bisect_left(self._names, name)
        self._prior_at(count)
        return self._chain[count]

    def created_earlier(self, name: str, obj: Any) -> bool:
        """Whether the files before ``name`` leave ``obj`` existing (the newest word on it counts)."""
        for other in reversed(self._names[: bisect_left(self._names, name)]):
            text = self.text(other)
            if not text or obj.name not in text:
                continue
            summary = self.summary(other)
            state = summary.history(obj) if summary is not None else None
            if state is not None:
                return state
        return False

    def later(self, name: str, question: tuple[str, ...]) -> Any:
        """What the files after ``name`` settle about ``question`` (``dragonfly_bot.core.lint.later``), the newest word
        counting: RLS or a policy on a table in the next file, ``security_invoker``, a REVOKE, a redefinition."""
        after = bisect_right(self._names, name)
        if after >= len(self._names):
            return answer(question, ())  # the newest file (a new migration, say): nothing comes after it
        index = self._topic_index(after)
        positions = sorted({p for spoken in topics(question) for p in index.get(spoken, ())})
        later_files = positions[bisect_right(positions, after - 1) :]
        summaries = (self.summary(self._names[position]) for position in later_files)
        return answer(question, (summary.settles for summary in summaries if summary is not None))

    def _topic_index(self, after: int) -> dict[tuple[str, ...], list[int]]:
        """topic -> positions (from ``after`` on) of the files speaking to it."""
        # Built once, on the first question: asking every later file each question is quadratic in a
        # 300-file history (a warm run re-asks every cached question to check its answer). Only the files
        # after the first target are ever asked (with --changed-since, those after the new files).
        if self._topics is None or after < self._topics_from:
            first = min((bisect_right(self._names, name) for name in self._targets), default=after)
            self._topics, self._topics_from = {}, min(first, after)
            for position in range(self._topics_from, len(self._names)):
                other = self._names[position]
                summary = self.summary(other) if self._has_text(other) else None
                if summary is not None:
                    for spoken in summary.settles.topics():
                        self._topics.setdefault(spoken, []).append(position)
        return self._topics

    def fresh_tables(self, name: str) -> frozenset[tuple[str, str]]:
        """Tables the new targets before ``name`` create (files of the same change: applied nowhere yet)."""
        found: set[tuple[str, str]] = set()
        for other in self._new_targets:
            if other >= name:
                break
            summary = self.summary(other)
            for how, family, schema, relation, _signature in summary.events if summary is not None else ():
                if family == "relation":
                    (found.add if how == "create" else found.discard)((schema, relation))
        return frozenset(found)

    def _answer(self, name: str, question: list) -> Any:
        if question[0] == "created":
            return self.created_earlier(name, ObjectKey(*question[1]))
        return self.later(name, tuple(question[1]))

    # ---------------------------------------------------------------- one target, from the cache or linted

    def lint(
        self, source: MigrationSource, whole_file: list[Finding], options: LintOptions, lint_text: Callable
    ) -> list[Finding]:
        name = source.name
        fresh = self.fresh_tables(name)
        key = None
        if self._cache is not None:
            key = _digest(
                [
                    name,
                    source.path,
                    source.is_new,
                    [finding_to_json(f) for f in whole_file],
                    sorted(options.private_schemas),
                    sorted(options.exposed_schemas),
                    sorted(options.off),
                    self._prior_digest(name),
                    sorted(fresh),
                ]
            )
            result = (self._entry(name) or {}).get("result")
            if (
                isinstance(result, dict)
                and result.get("key") == key
                and all(self._answer(name, q) == a for q, a in result.get("asked", []))
            ):
                return [finding_from_json(f) for f in result["findings"]]
        asked: list[list] = []

        def created_earlier(obj: Any) -> bool:
            answer = self.created_earlier(name, obj)
            asked.append([["created", [obj.family, obj.schema, obj.name, obj.signature]], answer])
            return answer

        def later(question: tuple[str, ...]) -> Any:
            settled = self.later(name, question)
            asked.append([["later", list(question)], settled])
            return settled

        findings = lint_text(
            source,
            whole_file,
            created_earlier,
            self.prior(name),
            options,
            later,
            parsed=self.parsed(name),
            fresh_tables=fresh,
        )
        if key is not None:
            self.summary(name)  # stored beside the result: later runs with --changed-since read it
            self._store(name, result={"key": key, "asked": asked, "findings": [finding_to_json(f) for f in findings]})
        return findings
