"""How deeply a JSON text nests, found without recursion and without parsing it.

``json.loads`` recurses once per nesting level: a body nested 100k deep
raises RecursionError (or worse, on a small C stack). A webhook checks the
depth of the raw bytes first and refuses deep ones with a plain 400.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64  # GitHub's payloads nest about 6 deep

# A whole string literal, escapes included (its brackets do not count).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_OPENERS = frozenset(b"[{")


def _brackets_outside_strings(text: bytes) -> bytes:
    # No quote escaped: every quote opens or closes a string, so the even
    # pieces between quotes are what lies outside strings (at C speed).
    simple = b'\\"' not in text
    outside = b"".join(text.split(b'"')[::2]) if simple else _STRING.sub(b"", text)
    return outside.translate(None, _NOT_BRACKETS)


def nests_deeper_than(text: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the arrays and objects of ``text`` nest more than ``limit`` deep.

    Brackets inside strings are skipped. Malformed JSON gives some answer;
    ``json.loads`` refuses it afterwards anyway.
    """
    if text.count(b"[") + text.count(b"{") <= limit:
        return False  # cannot nest deeper than the brackets it has
    brackets = _brackets_outside_strings(text)
    if len(brackets) <= limit:
        return False
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False
