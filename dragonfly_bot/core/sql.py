"""SQL text helpers built on pglast (PostgreSQL's own lexer and parser).

Two jobs, both shared by the status engine, the linter and the hotfix checks:

* ``split_statements`` cuts a file into statements the way the Supabase CLI
  does before it stores them in ``schema_migrations.statements`` (split on
  top-level ``;``, trimmed, the trailing ``;`` dropped, leading comments kept),
  so the digest of a local file can be compared with the digest the database
  view exposes without shipping every statement.
* ``canonical_form`` gives a whitespace-, comment- and case-insensitive form of
  SQL from its parse tree, so an applied file and its local copy compare equal
  unless their meaning changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from pglast import parser as pg

# The separator the view uses between statements when it digests them
# (see supabase/migrations/*_migration_status_view.sql): ASCII record separator.
DIGEST_SEPARATOR = "\x1e"


@dataclass(frozen=True)
class SqlSyntaxError(Exception):
    """PostgreSQL's grammar rejected the text; ``line`` is 1-based."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _char_offsets(sql: str) -> list[int] | None:
    """Map UTF-8 byte offsets to character offsets, or None for pure ASCII.

    libpg_query's parser reports positions in bytes (its lexer, through
    pglast.scan, already in characters); Python slices by characters.
    """
    if sql.isascii():
        return None
    offsets: list[int] = []
    for index, char in enumerate(sql):
        offsets.extend([index] * len(char.encode("utf-8")))
    offsets.append(len(sql))
    return offsets


def _to_char(offsets: list[int] | None, byte_pos: int) -> int:
    if offsets is None:
        return byte_pos
    return offsets[min(byte_pos, len(offsets) - 1)]


def line_of(sql: str, char_pos: int) -> int:
    """1-based line number of a character position."""
    return sql.count("\n", 0, max(char_pos, 0)) + 1


# Whitespace and comments before a statement's first token (the CLI keeps them in its text).
_LEADING_TRIVIA = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


@dataclass(frozen=True)
class Statement:
    text: str  # as the CLI stores it: trimmed, without the final ';'
    start: int  # character offset of ``text`` in the file
    line: int  # 1-based line where ``text`` starts

    @property
    def code_line(self) -> int:
        """1-based line of the statement's first token: its SQL, past the comments above it."""
        trivia = _LEADING_TRIVIA.match(self.text)
        assert trivia is not None  # the pattern matches the empty string
        return self.line + self.text.count("\n", 0, trivia.end())


_SEPARATORS = " \t\r\n\f\v;"


def _split_fast(sql: str) -> list[Statement] | None:
    """pglast's C splitter, when its answer provably equals the CLI's.

    It drops comment-only chunks (the CLI keeps them as statements) and knows
    nothing of ``BEGIN ATOMIC``; so it is trusted only when everything between
    the statements it returns is whitespace and semicolons. Ten times faster
    than walking tokens in Python, which matters for 10,000-file histories.
    """
    if "atomic" in sql.lower():
        return None
    try:
        texts = pg.split(sql, with_parser=False)
    except pg.ParseError:
        return None
    out: list[Statement] = []
    pos = 0
    line = 1
    for text in texts:
        start = sql.find(text, pos)
        if start < 0 or sql[pos:start].strip(_SEPARATORS):
            return None
        line += sql.count("\n", pos, start)
        out.append(Statement(text, start, line))
        line += text.count("\n")
        pos = start + len(text)
    if sql[pos:].strip(_SEPARATORS):
        return None
    return out


BOM = "\ufeff"


def split_statements(sql: str) -> list[Statement]:
    """Split like ``supabase migration up`` does, with PostgreSQL's lexer.

    Semicolons inside quotes, dollar quotes, comments, parentheses and
    ``BEGIN ATOMIC ... END`` bodies do not split. Text the lexer cannot read
    (an unterminated quote) stays in the final statement, as the CLI does.
    A leading byte-order mark (files saved by Windows editors) is not part of
    any statement: the CLI drops it. Offsets stay those of ``sql``.
    """
    if sql.startswith(BOM):
        return [Statement(s.text, s.start + 1, s.line) for s in split_statements(sql[1:])]
    fast = _split_fast(sql)
    return fast if fast is not None else _split_tokens(sql)


def _split_tokens(sql: str) -> list[Statement]:
    """The general splitter: walks the lexer's tokens, tracking parentheses and ATOMIC bodies."""
    try:
        tokens = pg.scan(sql)  # token positions are character offsets
    except pg.ParseError:
        tokens = None
    cuts: list[int] = []  # character offsets of top-level semicolons
    if tokens is not None:
        depth = 0
        atomic = 0
        prev_name = ""
        for tok in tokens:
            name = tok.name
            if name == "ASCII_40":  # (
                depth += 1
            elif name == "ASCII_41":  # )
                depth = max(depth - 1, 0)
            elif name == "ATOMIC" and prev_name == "BEGIN_P":
                atomic += 1
            elif name == "END_P" and atomic:
                atomic -= 1
            elif name == "ASCII_59" and depth == 0 and not atomic:
                cuts.append(tok.start)
            if name not in ("SQL_COMMENT", "C_COMMENT"):
                prev_name = name
    statements: list[Statement] = []
    begin = 0
    for cut in [*cuts, len(sql)]:
        chunk = sql[begin:cut]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            start = begin + lead
            statements.append(Statement(stripped, start, line_of(sql, start)))
        begin = cut + 1
    return statements


def statements_digest(statements: list[str]) -> str:
    """The digest v_migration_status computes: md5 of the statements joined by RS."""
    return hashlib.md5(DIGEST_SEPARATOR.join(statements).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _position_fields() -> frozenset[str]:
    """Every parse-node field that holds a source position (ParseLoc), from pglast's own AST.

    Read from the grammar's node definitions rather than listed by hand, since
    each PostgreSQL release adds some (PG 18: ``rexpr_list_start``...).
    """
    from pglast import ast

    names: set[str] = set()
    for node in vars(ast).values():
        slots = getattr(node, "__slots__", None)
        if isinstance(slots, dict):
            names.update(k for k, v in slots.items() if getattr(v, "c_type", None) == "ParseLoc")
    return frozenset(names)


def _normalize_tree(node):
    """The parse tree without source positions, and with function and DO
    bodies (kept by the parser as string constants) compared token by token,
    so re-indenting or converting a body to CRLF is no change either."""
    return _without_positions(node, _position_fields())


def _without_positions(node, positions: frozenset[str]):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in positions and isinstance(value, int):
                continue
            out[key] = _without_positions(value, positions)
        if node.get("defname") == "as":
            out["arg"] = _normalize_body(out.get("arg"))
        return out
    if isinstance(node, list):
        return [_without_positions(v, positions) for v in node]
    return node


def _normalize_body(arg):
    items = arg.get("List", {}).get("items") if isinstance(arg, dict) else None
    if isinstance(arg, dict) and "String" in arg:
        items = [arg]
    if not items:
        return arg
    return [_token_form(i["String"]["sval"]) if "String" in i else i for i in items]


def syntax_error(sql: str) -> SqlSyntaxError | None:
    """The first syntax error PostgreSQL's grammar finds, or None."""
    try:
        pg.parse_sql_json(sql)
    except pg.ParseError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        byte_pos = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else None
        # No position means "at end of input".
        pos = len(sql.rstrip()) if byte_pos is None else _to_char(_char_offsets(sql), byte_pos)
        line = line_of(sql, pos)
        column = pos - (sql.rfind("\n", 0, pos) + 1) + 1
        return SqlSyntaxError(message, line, column)
    return None


@lru_cache(maxsize=4096)
def canonical_form(sql: str) -> str:
    """A form of ``sql`` that ignores whitespace, comments, CRLF and keyword case.

    The parse tree (without source positions) when PostgreSQL can parse the
    text; otherwise the lexer's tokens with comments dropped, so even text
    written for a newer server compares sensibly.
    """
    # A byte-order mark is no change, as for the CLI; nor are CRLF line endings, even
    # inside a multi-line string literal (a Windows checkout of the same file in git).
    sql = sql.removeprefix(BOM).replace("\r\n", "\n")
    try:
        tree = json.loads(pg.parse_sql_json(sql))
        return json.dumps(_normalize_tree(tree.get("stmts", [])), sort_keys=True)
    except pg.ParseError:
        return _token_form(sql)


def _token_form(sql: str) -> str:
    """The lexer's tokens with comments dropped and case folded where PostgreSQL folds it."""
    try:
        tokens = pg.scan(sql)
    except pg.ParseError:
        return " ".join(sql.split())
    words = []
    for tok in tokens:
        if tok.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        text = sql[tok.start : tok.end + 1]
        # Keywords and unquoted identifiers are case-insensitive in PostgreSQL.
        folds = tok.kind != "NO_KEYWORD" or (tok.name == "IDENT" and not text.startswith('"'))
        words.append(text.lower() if folds else text)
    return " ".join(words)


def same_sql(a: list[str] | str, b: list[str] | str) -> bool:
    """True when two statement lists (or scripts) mean the same SQL text.

    Statement boundaries do not matter: both sides are joined and parsed whole.
    """
    join = lambda s: s if isinstance(s, str) else ";\n".join(s)  # noqa: E731
    return canonical_form(join(a)) == canonical_form(join(b))
