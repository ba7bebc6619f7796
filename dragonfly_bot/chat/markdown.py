"""The chat's text format (Discord-flavoured markdown): showing outside text literally.

Pure, so renderers below the chat layer can use it. Outside text (a source
line, a database's error message, a file name) goes through ``plain`` so a
``*`` or ``_`` in it is shown, not taken as formatting, and an ``@everyone``
or ``<@id>`` in it is shown, not a mention (pings are granted only through
``OutgoingMessage.pings``).
"""

from __future__ import annotations

import re

# Links are left alone: escaping inside them would break them.
_LINK = re.compile(r"<[^: >]+:/[^ >]+>|https?://[^\s<]+[^<.,:;\"'\]\s]")
_INLINE = re.compile(r"([\\*_~|`\[])")
_LINE_START = re.compile(r"^(\s*)([>#-])", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")
ZERO_WIDTH = "\u200b"


def _escape_text(text: str) -> str:
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def escape_markdown(text: str) -> str:
    """``text`` with every markdown character escaped, links kept as they are."""
    out, pos = [], 0
    for link in _LINK.finditer(text):
        out.append(_escape_text(text[pos : link.start()]))
        out.append(link.group())
        pos = link.end()
    out.append(_escape_text(text[pos:]))
    return "".join(out)


def escape_mentions(text: str) -> str:
    """``@everyone``, ``@here`` and ``<@id>``/``<@&id>`` shown as text, never as mentions."""
    return _MENTION.sub(f"@{ZERO_WIDTH}\\1", text)


def plain(text: str) -> str:
    """Outside text shown as it is: no formatting, no mentions."""
    return escape_mentions(escape_markdown(text))
