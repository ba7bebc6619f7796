"""The one classifier of failed ``supabase migration up`` runs.

``parse_log`` reads a job log line by line (keeping only bounded state) and
returns the failure it shows: which migration file, Postgres's error and
SQLSTATE, the detail, the statement (``At statement: N``) and a category from
the protocol's "Responding to a Red CI Run" table, with a concrete hint.
``enrich`` adds what only the migration file can tell: the statement's line
and the full statement text the hint rewrites.

Pure functions: no I/O. Everything kept from the log goes through ``redact``.
No function here raises on any input: a log is outside input.

What the CLI prints (supabase 3.1, pkg/migration/file.go) on a SQL error::

    Applying migration 20251209000002_step2.sql...
    ERROR: duplicate key value violates unique constraint "k_pkey" (SQLSTATE 23505)
    Key (id)=(1) already exists.                    <- detail, optional
    At statement: 0                                 <- index into the file's statements
    insert into public.k values (1)                 <- the statement, cut after a caret line
    Try rerunning the command with --debug to troubleshoot the error.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from bot.core.joblog import clean_line, is_marker
from bot.core.redact import redact
from bot.core.versions import version_of

# The protocol's table names these five; the rest are ours.
RELATION_EXISTS = "relation_exists"
COLUMN_MISSING = "column_missing"
PERMISSION_DENIED = "permission_denied"
SYNTAX_ERROR = "syntax_error"
DUPLICATE_KEY = "duplicate_key"
UNKNOWN = "unknown"

# SQLSTATE -> category. Every duplicate_* code is "already exists": the same fix.
SQLSTATE_CATEGORIES: dict[str, str] = {
    "42P07": RELATION_EXISTS,  # duplicate_table
    "42P06": RELATION_EXISTS,  # duplicate_schema
    "42710": RELATION_EXISTS,  # duplicate_object (type, policy, constraint, role...)
    "42723": RELATION_EXISTS,  # duplicate_function
    "42P04": RELATION_EXISTS,  # duplicate_database
    "42P05": RELATION_EXISTS,  # duplicate_prepared_statement
    "42P03": RELATION_EXISTS,  # duplicate_cursor
    "42701": RELATION_EXISTS,  # duplicate_column
    "42712": RELATION_EXISTS,  # duplicate_alias
    "42703": COLUMN_MISSING,
    "42501": PERMISSION_DENIED,
    "42601": SYNTAX_ERROR,
    "23505": DUPLICATE_KEY,
    "42P01": "undefined_table",
    "42883": "undefined_function",
    "3F000": "undefined_schema",
    "42704": "undefined_object",
    "2BP01": "dependent_objects",
    "55P03": "lock_timeout",
    "57014": "statement_timeout",
    "40P01": "deadlock",
    "40001": "serialization_failure",
    "25001": "transaction_block",  # must run outside a transaction (CONCURRENTLY, VACUUM)
    "25P01": "needs_transaction_block",  # must run inside one (LOCK TABLE): the CLI opens none
    "23502": "not_null_violation",
    "23503": "foreign_key_violation",
    "23514": "check_violation",
    "42804": "datatype_mismatch",
    "28P01": "authentication_failed",
    "28000": "authentication_failed",
    "3D000": "database_missing",
    "57P01": "connection_failed",
    "57P03": "connection_failed",
}

CATEGORIES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *SQLSTATE_CATEGORIES.values(),
            "query_canceled",
            "connection_failed",
            "dns_failed",
            "remote_version_missing",
            "out_of_order",
            UNKNOWN,
        ]
    )
)

# Without a SQLSTATE (psql-style output, other tools) the protocol's table
# matches on the message text; so do we.
_MESSAGE_CATEGORIES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), c)
    for p, c in (
        (r"duplicate key value violates unique constraint", DUPLICATE_KEY),
        (r"\balready exists\b", RELATION_EXISTS),
        (r"multiple primary keys for table", RELATION_EXISTS),  # 42P16: ADD PRIMARY KEY run again
        (r"\bcolumn \S+ (?:of relation \S+ )?does not exist", COLUMN_MISSING),
        (r"\bpermission denied\b|must be owner of", PERMISSION_DENIED),
        (r"syntax error at or near|syntax error at end of input", SYNTAX_ERROR),
        (r"\brelation \S+ does not exist", "undefined_table"),
        (r"\bfunction \S+ does not exist", "undefined_function"),
        (r"\bschema \S+ does not exist", "undefined_schema"),
        (r"because other objects depend on it", "dependent_objects"),
        (r"deadlock detected", "deadlock"),
        (r"lock timeout|could not obtain lock", "lock_timeout"),
        (r"statement timeout", "statement_timeout"),
    )
)

# Categories whose hint can name another migration file (the one that creates
# what is missing), so callers should pass the other files to ``enrich``.
NEEDS_OTHER_FILES = frozenset({COLUMN_MISSING, "undefined_table", "undefined_function", "undefined_schema"})

# Bounds on what one failure keeps, whatever the log holds.
MAX_ERROR_LINES = 60
MAX_DETAIL_LINES = 20
MAX_STATEMENT_LINES = 200
MAX_TEXT = 16_000
MAX_LISTED = 50  # versions / files named by out-of-order and remote-missing errors
_TAIL_LINES = 12  # lines read after a CLI (non-SQL) error for its suggestion text
_RECENT = 6  # raw lines remembered before an unexplained "Try rerunning"


@dataclass(frozen=True)
class Failure:
    category: str
    message: str
    file: str | None = None  # migration file name, e.g. 20251209000002_step2.sql
    version: str | None = None
    sqlstate: str | None = None
    detail: str = ""
    cli_hint: str = ""  # the Supabase CLI's own "Hint:" paragraph, when it prints one
    statement: str = ""  # as the log shows it (caret line removed), or the file's text after enrich
    statement_index: int | None = None  # N from "At statement: N"
    line: int | None = None  # 1-based line of that statement in the file
    error_line: int | None = None  # 1-based line of the error position (caret / syntax error)
    caret_column: int | None = None  # 1-based column of the caret within its statement line
    hint: str = ""
    error_lines: tuple[str, ...] = ()  # raw error block from the log, redacted, capped
    files: tuple[str, ...] = ()  # out_of_order: the files listed
    versions: tuple[str, ...] = ()  # remote_version_missing: versions the database has

    @property
    def headline(self) -> str:
        """The message with its SQLSTATE, once (a connection error's message already carries it)."""
        if not self.sqlstate or f"SQLSTATE {self.sqlstate}" in self.message:
            return self.message
        return f"{self.message} (SQLSTATE {self.sqlstate})"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["error_lines"] = list(self.error_lines)
        data["files"] = list(self.files)
        data["versions"] = list(self.versions)
        return data


_APPLYING = re.compile(r"Applying migration (.+?\.sql)\.\.\.")
_PG_ERROR = re.compile(r"(?:ERROR|FATAL|PANIC):\s+(?P<msg>.*?)\s*\(SQLSTATE (?P<code>[0-9A-Z]{5})\)")
_SQLSTATE = re.compile(r"\(SQLSTATE ([0-9A-Z]{5})\)")
_AT_STATEMENT = re.compile(r"^At statement:? (\d+)\s*$")
_CARET = re.compile(r"^( *)\^\s*$")
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


def classify(sqlstate: str | None, message: str) -> str:
    """The category of an error, from its SQLSTATE, else from its text."""
    if sqlstate == "57014" and "statement timeout" not in message:
        return "query_canceled"
    if sqlstate in SQLSTATE_CATEGORIES:
        return SQLSTATE_CATEGORIES[sqlstate]
    if sqlstate and sqlstate.startswith("08"):
        return "connection_failed"
    for pattern, category in _MESSAGE_CATEGORIES:
        if pattern.search(message):
            return category
    return UNKNOWN


def _cap(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


class _Block:
    """An error block being read: the lines after the line that opened it."""

    def __init__(self, kind: str, first: str, file: str | None, sqlstate: str | None = None):
        self.kind = kind  # "sql", "connect", "remote_missing", "out_of_order"
        self.file = file
        self.error_lines: list[str] = [first[:2000]]
        self.detail: list[str] = []
        self.cli_hint: list[str] = []
        self.statement: list[str] = []
        self.statement_chars = 0
        self.statement_index: int | None = None
        self.caret: tuple[int, int] | None = None  # (line within statement, column)
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
                self.statement_index = int(at.group(1))
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
            self.caret = (len(self.statement), len(caret.group(1)) + 1)
        elif len(self.statement) < MAX_STATEMENT_LINES and self.statement_chars < MAX_TEXT:
            self.statement.append(line)
            self.statement_chars += len(line) + 1
        self.keep(line)
        return True

    def finish(self) -> Failure:
        error_lines = tuple(redact(x) for x in self.error_lines)
        if self.kind == "sql":
            detail = redact("\n".join(self.detail).strip())
            statement = redact(_cap("\n".join(self.statement).strip()))
            failure = Failure(
                category=classify(self.sqlstate, self.message),
                message=redact(_cap(self.message, 2000)),
                file=self.file,
                version=version_of(self.file),
                sqlstate=self.sqlstate,
                detail=detail,
                cli_hint=redact(" ".join(self.cli_hint)),
                statement=statement,
                statement_index=self.statement_index,
                caret_column=self.caret[1] if self.caret else None,
                error_lines=error_lines,
            )
            return _with_hint(failure)
        if self.kind == "remote_missing":
            versions: list[str] = []
            for line in self.error_lines[1:]:
                if "migration repair" in line:
                    versions.extend(_VERSIONS_IN_LINE.findall(line))
            versions = list(dict.fromkeys(versions))[:MAX_LISTED]
            failure = Failure(
                category="remote_version_missing",
                message=redact(_cap(self.message, 2000)),
                version=versions[0] if versions else None,
                versions=tuple(versions),
                error_lines=error_lines,
            )
        elif self.kind == "out_of_order":
            files: list[str] = []
            for line in self.error_lines[1:]:
                path = _SQL_PATH.search(line)
                if path and len(files) < MAX_LISTED:
                    files.append(redact(path.group(1)))
            failure = Failure(
                category="out_of_order",
                message=redact(_cap(self.message, 2000)),
                file=files[0] if files else None,
                version=version_of(files[0]) if files else None,
                files=tuple(files),
                error_lines=error_lines,
            )
        else:  # connect
            failure = Failure(
                category=_connect_category(self.message, self.sqlstate),
                message=redact(_cap(self.message, 2000)),
                sqlstate=self.sqlstate,
                error_lines=error_lines,
            )
        return _with_hint(failure)


def _connect_category(message: str, sqlstate: str | None) -> str:
    low = message.lower()
    if "hostname resolving error" in low or "no such host" in low or "enotfound" in low or "getaddrinfo" in low:
        return "dns_failed"
    if sqlstate in ("28P01", "28000") or "password authentication failed" in low or "tenant or user not found" in low:
        return "authentication_failed"
    if sqlstate == "3D000":
        return "database_missing"
    return "connection_failed"


class LogParser:
    """Streaming state machine: ``feed`` lines, then ``result()``.

    State is bounded: the last "Applying migration" file, a few recent raw
    lines, the block being read and the failure found last.
    """

    def __init__(self) -> None:
        self.applying: str | None = None
        self.recent: deque[str] = deque(maxlen=_RECENT)
        self.block: _Block | None = None
        self.found: Failure | None = None

    def feed(self, raw: str) -> None:
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
        # Cheap substring tests first: almost every line of a job log is noise.
        if "Applying migration" in raw:
            match = _APPLYING.search(clean_line(raw))
            if match:
                self.applying = redact(match.group(1).rsplit("/", 1)[-1])[:300]
            return
        if not (
            "SQLSTATE" in raw or _CONNECT in raw or _TRY_RERUN in raw or _REMOTE_MISSING in raw or _OUT_OF_ORDER in raw
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
            block = _Block("sql", line, self.applying, error.group("code"))
            block.message = error.group("msg")
            self._open(block)
        elif _TRY_RERUN in line:
            self._unexplained(line)
        else:
            self.recent.append(raw)

    def _open(self, block: _Block) -> None:
        self.block = block
        self.recent.clear()

    def _close(self) -> None:
        block, self.block = self.block, None
        if block is not None:
            self._record(block.finish())

    def _record(self, failure: Failure) -> None:
        # The last failure wins (a retried step), but a vague one never hides a precise one.
        if self.found is None or failure.category != UNKNOWN or self.found.category == UNKNOWN:
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
        failure = Failure(
            category=classify(code, message),
            message=redact(_cap(message, 2000)),
            sqlstate=code,
            error_lines=tuple(redact(x[:2000]) for x in [*lines, line]),
        )
        self._record(_with_hint(failure))

    def result(self) -> Failure | None:
        self._close()
        return self.found


def parse_log(lines: Iterable[str]) -> Failure | None:
    """The failure a job log shows, or None. ``lines`` may be raw GitHub log lines."""
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


def locate_statement(file_text: str, statement_index: int | None) -> int | None:
    """1-based line where statement ``statement_index`` (the CLI's numbering) starts: its SQL, past leading comments."""
    statement = _statement_at(file_text, statement_index)
    return statement.code_line if statement is not None else None


def _statement_at(file_text: str, statement_index: int | None):
    from bot.core.sql import split_statements

    if statement_index is None or statement_index < 0 or not file_text:
        return None
    try:
        statements = split_statements(file_text)
    except Exception:
        return None
    if statement_index >= len(statements):
        return None  # the CLI's own history INSERT, which follows the file's statements
    return statements[statement_index]


def enrich(failure: Failure, file_text: str | None, migrations: Mapping[str, str] | None = None) -> Failure:
    """Add what the migration file tells: the statement's line, its full text, a better hint.

    ``migrations`` (file name -> text), when given, lets the hint name the
    file that creates a missing column/table/function but sorts later.
    """
    try:
        statement = _statement_at(file_text or "", failure.statement_index)
        if statement is None:
            return _with_hint(failure, migrations=migrations)
        caret_offset = _caret_offset(failure)
        error_line = None
        if caret_offset is not None:
            error_line = statement.line + caret_offset - 1
        elif failure.category == SYNTAX_ERROR:
            from bot.core.sql import syntax_error

            found = syntax_error(statement.text)
            if found is not None:
                error_line = statement.line + found.line - 1
        updated = replace(
            failure,
            statement=redact(_cap(statement.text)),
            line=statement.code_line,  # the CLI's text keeps the comments above it; point at the SQL
            error_line=error_line,
        )
        return _with_hint(updated, migrations=migrations)
    except Exception:
        return failure


def _caret_offset(failure: Failure) -> int | None:
    """Which line of the statement (1-based) the CLI's caret points at, from the raw block."""
    in_statement = False
    count = 0
    for line in failure.error_lines:
        if not in_statement:
            in_statement = bool(_AT_STATEMENT.match(line))
            continue
        if _CARET.match(line) and count:
            return count
        count += 1
    return None


def _with_hint(failure: Failure, *, migrations: Mapping[str, str] | None = None) -> Failure:
    from bot.core.fixes import hint_for

    try:
        hint = hint_for(failure, migrations=migrations)
    except Exception:
        hint = "no known fix" if failure.category == UNKNOWN else ""
    return replace(failure, hint=redact(hint))
