"""Seed files without their bulk: the text the rules' parse tree is built from, with every ``VALUES`` row of a
long ``INSERT`` but the first blanked out.

Decoding the parse tree (JSON) is most of the lint's time, and a seed file of 10,000 rows is almost all row
constants that no rule reads: the rules look at the INSERT's target, columns, ``ON CONFLICT`` and ``WHERE``.
The rows are replaced by spaces with their newlines kept, so every byte offset and line of the tree stays
what it is in the file. The caller has already parsed the whole text (a syntax error in row 9,000 is still
found); this only changes what is decoded. Anything unusual in a statement (a backslash, a dollar quote, a
block comment) leaves it whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_FILE = 16_384  # smaller files are decoded whole: not worth a second parse
MIN_STATEMENT = 4_096
_TOKENS = re.compile(r"'(?:[^']++|'')*+'|\"(?:[^\"]++|\"\")*+\"|--[^\n]*+|[()]|\bvalues\b", re.IGNORECASE)
_INSERT = re.compile(r"\s*insert\b", re.IGNORECASE)
# A row: strings, quoted names and other text, with parentheses nested up to two deep (now(), coalesce(f(x), 1)).
_ATOM = r"(?:[^()'\"]++|'(?:[^']++|'')*+'|\"(?:[^\"]++|\"\")*+\")"
_ROW = rf"\((?:{_ATOM}|\((?:{_ATOM}|\({_ATOM}*+\))*+\))*+\)"
_MORE_ROWS = re.compile(rf"(?:\s*+,\s*+{_ROW})++")
_UNUSUAL = re.compile(r"[\\$]|/\*")


def blank_value_rows(text: str, statements: Sequence[slice]) -> str | None:
    """``text`` with the rows after the first of each long INSERT ... VALUES blanked; None when there are none."""
    pieces: list[str] = []
    done = 0
    for part in statements:
        if part.stop - part.start < MIN_STATEMENT or not _INSERT.match(text, part.start):
            continue
        statement = text[part]
        if _UNUSUAL.search(statement):
            continue
        span = _later_rows(statement)
        if span is None:
            continue
        start, stop = part.start + span[0], part.start + span[1]
        pieces.append(text[done:start])
        # every byte becomes a space (a 2-byte "é" two spaces), newlines stay: the tree's offsets are in bytes
        lines = text[start:stop].encode("utf-8").split(b"\n")
        pieces.append("\n".join(" " * len(line) for line in lines))
        done = stop
    if not pieces:
        return None
    pieces.append(text[done:])
    return "".join(pieces)


def _later_rows(statement: str) -> tuple[int, int] | None:
    """(start, end) in ``statement`` of its VALUES rows after the first (the separating commas included)."""
    depth = 0
    in_values = False
    for token in _TOKENS.finditer(statement):
        word = token.group()
        if word[0] in "'\"-":
            continue
        if word.lower() == "values":
            if depth != 0:
                continue
            if in_values:
                return None  # a second VALUES at the top: not a plain row list
            in_values = True
        elif word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
            if in_values and depth == 0:  # the first row ends: match the others in one go
                more = _MORE_ROWS.match(statement, token.end())
                return (token.end(), more.end()) if more else None
    return None
