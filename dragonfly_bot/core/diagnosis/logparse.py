"""Read a ``supabase migration up`` job log, line by line, into a ``Failure``.

What the CLI prints (supabase 3.1, pkg/migration/file.go) on a SQL error::

    Applying migration 20251209000002_step2.sql...
    ERROR: duplicate key value violates unique constraint "k_pkey" (SQLSTATE 23505)
    Key (id)=(1) already exists.                    <- detail, optional
    At statement: 0                                 <- index into the file's statements
    insert into public.k values (1)                 <- the statement, cut after a caret line
    Try rerunning the command with --debug to troubleshoot the error.

Postgres's message may itself span lines (an unterminated ``$$`` quotes the
rest of the file, ``RAISE EXCEPTION`` may hold newlines): the ``ERROR:`` line
then has no SQLSTATE, which ends a later line. State stays bounded whatever
the log holds; everything kept goes through ``redact``; nothing here raises.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from dragonfly_bot.core.diagnosis.categories import Category, classify, connect_category
from dragonfly_bot.core.diagnosis.facts import FACTS_LINE, facts_of, parse_facts_line
from dragonfly_bot.core.diagnosis.model import Failure
from dragonfly_bot.core.joblog import clean_line, is_marker
from dragonfly_bot.core.redact import redact
from dragonfly_bot.core.versions import version_of

MAX_ERROR_LINES = 60
MAX_DETAIL_LINES = 20
MAX_STATEMENT_LINES = 200
MAX_MESSAGE_LINES = 80  # of a multi-line Postgres message, before its SQLSTATE
MAX_TEXT = 16_000
MAX_LISTED = 50  # versions / files named by out-of-order and remote-missing errors
_TAIL_LINES = 12  # lines read after a CLI (non-SQL) error for its suggestion text
_RECENT = 6  # raw lines remembered before an unexplained "Try rerunning"

_APPLYING = re.compile(r"Applying migration (.+?\.sql)\.\.\.")
_PG_ERROR = re.compile(r"(?:ERROR|FATAL|PANIC):\s+(?P<msg>.*?)\s*\(SQLSTATE (?P<code>[0-9A-Z]{5})\)", re.DOTALL)
_ERROR_START = re.compile(r"^(?:ERROR|FATAL|PANIC):\s")
_SQLSTATE = re.compile(r"\(SQLSTATE ([0-9A-Z]{5})\)")
_AT_STATEMENT = re.compile(r"^At statement:? (\d+)\s*$")
_CARET = re.compile(r"^( *)\^\s*$")
# The user of the URL the CLI was given (never more of it): --db-url "postgresql://USER:...@host".
_DB_URL_USER = re.compile(r"(?:--db-url|--remote)[= ]+[\"']?postgres(?:ql)?://(?P<user>[A-Za-z0-9_.\-]+)[:@]")
_TRY_RERUN = "Try rerunning the command"
_CONNECT = "failed to connect to"
_REMOTE_MISSING = "Remote migration versions not found"
_OUT_OF_ORDER = "Found local migration files to be inserted before the last migration"
_VERSIONS_IN_LINE = re.compile(r"\b(\d{8,})\b")
_SQL_PATH = re.compile(r"([^\s/\\]+\.sql)\s*$")
# Lines the CLI prints around every run; never the error itself.
_CLI_CHATTER = (
    "Applying migration",
    "Target:",
    "Warning: --db-url",
    "Confirmed by --yes",
    "Connected to",
    "Remote database is up to date",
    "Finished supabase",
    "Process completed with exit code",
)


def cap(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def is_caret(line: str) -> bool:
    return _CARET.match(line) is not None


def is_at_statement(line: str) -> bool:
    return _AT_STATEMENT.match(line) is not None


class _Block:
    """An error block being read: the lines after the line that opened it."""

    def __init__(self, kind: str, first: str, file: str | None, sqlstate: str | None = None):
        self.kind = kind  # "sql", "connect", "remote_missing", "out_of_order"
        self.file = file
        self.error_lines: list[str] = [x[:2000] for x in first.split("\n")[:MAX_ERROR_LINES]]
        self.detail: list[str] = []
        self.cli_hint: list[str] = []
        self.statement: list[str] = []
        self.statement_chars = 0
        self.statement_capped = False
        self.statement_index: int | None = None
        self.caret: tuple[int, int] | None = None  # (line within statement, column)
        self.statement_lines_seen = 0  # kept or not: the caret's line counts them all
        # The out-of-order error lists every file; others end with a short suggestion.
        self.tail_left = MAX_LISTED + 4 if kind == "out_of_order" else _TAIL_LINES
        self.message = first
        self.sqlstate = sqlstate

    def keep(self, line: str) -> None:
        if len(self.error_lines) < MAX_ERROR_LINES:
            self.error_lines.append(line[:2000])

    def feed(self, line: str) -> bool:
        """Take the next cleaned line; False when the block has ended (line not consumed)."""
        if self.kind == "sql":
            return self._feed_sql(line)
        if _TRY_RERUN in line:
            self.keep(line)
            return False
        self.tail_left -= 1
        if self.tail_left < 0:
            return False
        self.keep(line)
        return True

    def _feed_sql(self, line: str) -> bool:
        if _TRY_RERUN in line:
            return False
        if self.statement_index is None:
            at = _AT_STATEMENT.match(line)
            if at:
                self.statement_index = int(at.group(1)[:9])
                self.keep(line)
                return True
            if len(self.detail) + len(self.cli_hint) >= MAX_DETAIL_LINES:
                return False  # no "At statement" after all: not the CLI's block
            # The CLI may add its own "Hint:" paragraph (indented continuation
            # lines) after a blank line; keep it apart from Postgres's detail.
            if line.startswith("Hint:") or (self.cli_hint and line.startswith(" ")):
                self.cli_hint.append(line.strip()[:2000])
            elif line.strip():
                self.detail.append(line[:2000])
            self.keep(line)
            return True
        caret = _CARET.match(line)
        if caret and self.statement and self.caret is None:
            self.caret = (self.statement_lines_seen, len(caret.group(1)) + 1)
        elif len(self.statement) < MAX_STATEMENT_LINES and self.statement_chars < MAX_TEXT:
            self.statement.append(line)
            self.statement_chars += len(line) + 1
            self.statement_lines_seen += 1
        else:
            self.statement_capped = True
            self.statement_lines_seen += 1
        self.keep(line)
        return True

    def finish(self, db_user: str | None) -> Failure:
        error_lines = tuple(redact(x) for x in self.error_lines)
        message = redact(cap(self.message, 2000))
        if self.kind == "sql":
            statement = "\n".join(self.statement).strip()
            # The CLI prints the whole statement unless it shows a caret (then it stops at the caret's line).
            complete = bool(statement) and self.caret is None and not self.statement_capped
            return Failure(
                category=classify(self.sqlstate, self.message),
                message=message,
                file=self.file,
                version=version_of(self.file),
                sqlstate=self.sqlstate,
                detail=redact("\n".join(self.detail).strip()),
                cli_hint=redact(" ".join(self.cli_hint)),
                statement=redact(cap(statement)),
                statement_complete=complete and redact(statement) == statement,
                statement_index=self.statement_index,
                caret_column=self.caret[1] if self.caret else None,
                caret_line=self.caret[0] if self.caret else None,
                db_user=db_user,
                error_lines=error_lines,
            )
        if self.kind == "remote_missing":
            versions: list[str] = []
            for line in self.error_lines[1:]:
                if "migration repair" in line:
                    versions.extend(_VERSIONS_IN_LINE.findall(line))
            versions = list(dict.fromkeys(versions))[:MAX_LISTED]
            return Failure(
                category=Category.REMOTE_VERSION_MISSING,
                message=message,
                version=versions[0] if versions else None,
                versions=tuple(versions),
                error_lines=error_lines,
            )
        if self.kind == "out_of_order":
            files: list[str] = []
            for line in self.error_lines[1:]:
                path = _SQL_PATH.search(line)
                if path and len(files) < MAX_LISTED:
                    files.append(redact(path.group(1)))
            return Failure(
                category=Category.OUT_OF_ORDER,
                message=message,
                file=files[0] if files else None,
                version=version_of(files[0]) if files else None,
                files=tuple(files),
                error_lines=error_lines,
            )
        return Failure(
            category=connect_category(self.message, self.sqlstate),
            message=message,
            sqlstate=self.sqlstate,
            db_user=db_user,
            error_lines=error_lines,
        )


class LogParser:
    """Streaming state machine: ``feed`` lines, then ``result()``.

    State is bounded: the last "Applying migration" file, a few recent raw
    lines, a multi-line message being read, the block being read and the
    failure found last.
    """

    def __init__(self) -> None:
        self.applying: str | None = None
        self.db_user: str | None = None
        self.recent: deque[str] = deque(maxlen=_RECENT)
        self.pending: list[str] | None = None  # an ERROR: line whose SQLSTATE is on a later line
        self.pending_chars = 0
        self.block: _Block | None = None
        self.found: Failure | None = None
        self.record: dict | None = None  # the last catalog-facts record seen

    def feed(self, raw: str) -> None:
        if FACTS_LINE in raw:
            # record-run's catalog facts (a later step of the job): kept for the failure they name.
            record = parse_facts_line(clean_line(raw))
            if record is not None:
                self.record = record
            return
        if self.block is not None:
            # GitHub's own markers mean the step's output is over.
            if is_marker(raw):
                self._close()
            else:
                line = clean_line(raw)
                if self.block.feed(line):
                    return
                self._close()
                if _TRY_RERUN in line:
                    return
        if self.pending is not None and self._continue_message(raw):
            return
        # Cheap substring tests first: almost every line of a job log is noise.
        if "Applying migration" in raw:
            match = _APPLYING.search(clean_line(raw))
            if match:
                self.applying = redact(match.group(1).rsplit("/", 1)[-1])[:300]
            return
        if "://" in raw and ("--db-url" in raw or "--remote" in raw):
            user = _DB_URL_USER.search(raw)
            if user:
                self.db_user = user.group("user")[:100]
        if not (
            "SQLSTATE" in raw
            or "ERROR" in raw
            or _CONNECT in raw
            or _TRY_RERUN in raw
            or _REMOTE_MISSING in raw
            or _OUT_OF_ORDER in raw
        ):
            self.recent.append(raw)
            return
        line = clean_line(raw)
        if _CONNECT in line:
            code = _SQLSTATE.search(line)
            self._open(_Block("connect", line, None, code.group(1) if code else None))
        elif _REMOTE_MISSING in line:
            self._open(_Block("remote_missing", line, None))
        elif _OUT_OF_ORDER in line:
            self._open(_Block("out_of_order", line, None))
        elif (error := _PG_ERROR.search(line)) is not None:
            self._open_sql(line, error)
        elif _ERROR_START.match(line) and "SQLSTATE" not in line:
            self.pending, self.pending_chars = [line], len(line)
        elif _TRY_RERUN in line:
            self._unexplained(line)
        else:
            self.recent.append(raw)

    def _continue_message(self, raw: str) -> bool:
        """The next line of a multi-line message; False when it is not one (the line is then read afresh)."""
        assert self.pending is not None
        line = clean_line(raw)
        if is_marker(raw) or _TRY_RERUN in raw or "Applying migration" in raw or _ERROR_START.match(line):
            self._abandon_pending()
            return False
        self.pending.append(line)
        self.pending_chars += len(line) + 1
        if "SQLSTATE" in line:
            text = "\n".join(self.pending)
            self.pending = None
            error = _PG_ERROR.search(text)
            if error is not None and _SQLSTATE.search(line):
                self._open_sql(text, error)
                return True
            self.recent.extend(text.split("\n")[-_RECENT:])
            return True
        if len(self.pending) > MAX_MESSAGE_LINES or self.pending_chars > MAX_TEXT:
            self._abandon_pending()
        return True

    def _abandon_pending(self) -> None:
        lines, self.pending = self.pending or [], None
        self.recent.extend(lines[-_RECENT:])

    def _open_sql(self, text: str, error: re.Match) -> None:
        block = _Block("sql", text, self.applying, error.group("code"))
        block.message = error.group("msg")
        self._open(block)

    def _open(self, block: _Block) -> None:
        self.block = block
        self.recent.clear()

    def _close(self) -> None:
        block, self.block = self.block, None
        if block is not None:
            self._record(block.finish(self.db_user))

    def _record(self, failure: Failure) -> None:
        # The last failure wins (a retried step), but a vague one never hides a precise one.
        if self.found is None or failure.category != Category.UNKNOWN or self.found.category == Category.UNKNOWN:
            self.found = failure

    def _unexplained(self, line: str) -> None:
        """The CLI gave up with an error we have no pattern for: report its text."""
        lines = [clean_line(r) for r in self.recent]
        lines = [x for x in lines if x.strip() and not x.lstrip().startswith(_CLI_CHATTER) and x.strip() not in "│▲"]
        self.recent.clear()
        if not lines:
            return
        # With an "At statement" in view, the error is what precedes it.
        at = max((i for i, x in enumerate(lines) if _AT_STATEMENT.match(x)), default=None)
        message = (lines[at - 1] if at else lines[-1]).strip()
        if message.startswith("Error: "):
            message = message[len("Error: ") :]
        sqlstate = _SQLSTATE.search(message)
        code = sqlstate.group(1) if sqlstate else None
        self._record(
            Failure(
                category=classify(code, message),
                message=redact(cap(message, 2000)),
                sqlstate=code,
                db_user=self.db_user,
                error_lines=tuple(redact(x[:2000]) for x in [*lines, line]),
            )
        )

    def result(self) -> Failure | None:
        if self.pending is not None:
            self._abandon_pending()
        self._close()
        if self.found is not None and self.record is not None:
            facts = facts_of(self.record, self.found)
            if facts is not None:
                self.found = replace(self.found, facts=facts)
        return self.found


def read_log(lines: Iterable[str]) -> Failure | None:
    """The failure a job log shows, without a hint yet, or None. ``lines`` may be raw GitHub log lines."""
    parser = LogParser()
    try:
        for raw in lines:
            if not isinstance(raw, str):
                raw = bytes(raw).decode("utf-8", errors="replace")
            parser.feed(raw)
        return parser.result()
    except Exception:
        # A bug here must not cost the alert: report what was found so far.
        try:
            return parser.found
        except Exception:
            return None
