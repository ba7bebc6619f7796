"""How deeply a JSON text nests, found without recursion and without parsing it.

``json.loads`` recurses once per nesting level: a body nested 100k deep
raises RecursionError (or worse, on a small C stack). A webhook checks the
depth of the raw bytes first and refuses deep ones with a plain 400.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64  # GitHub's payloads nest about 6 deep

_KEEP = b'[]{}"'
_NOT_KEPT = bytes(c for c in range(256) if c not in _KEEP)
_OPENERS = frozenset(b"[{")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def _brackets_outside_strings(text: bytes) -> bytes:
    if b"\\" in text:
        # In JSON a backslash only starts an escape (two characters), inside a string:
        # without them, every quote left opens or closes a string.
        text = _ESCAPE.sub(b"", text)
    # Only brackets and quotes; the even pieces between quotes lie outside strings.
    # Two adjacent quotes enclose nothing (an empty string, or an empty gap between
    # two strings): dropping them keeps every other quote's parity, and leaves few pieces.
    quotes_and_brackets = text.translate(None, _NOT_KEPT).replace(b'""', b"")
    return b"".join(quotes_and_brackets.split(b'"')[::2])


def nests_deeper_than(text: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the arrays and objects of ``text`` nest more than ``limit`` deep.

    Brackets inside strings are skipped. Malformed JSON gives some answer;
    ``json.loads`` refuses it afterwards anyway.
    """
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
