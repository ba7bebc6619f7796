"""Hotfix input: codes, environment, summary, SQL (typed or attached), review texts; one line per refusal.

Pure, like dragonfly_bot.core.hotfix (which re-exports these). Every free text the bot stores goes through the one
redactor here, and declared SQL has one size limit (SQL_MAX_BYTES), checked in one function.
"""

from __future__ import annotations

import hashlib
import re

from dragonfly_bot.core.environments import ENVIRONMENTS
from dragonfly_bot.core.redact import redact

SUMMARY_MAX = 200
# The one limit on declared SQL, in UTF-8 bytes: typed, attached (checked on the attachment's size before
# it is downloaded, then on the text) and in the database (the check constraints of
# supabase/migrations/20251214200000_hotfix_sql_secret.sql, which must say the same number).
SQL_MAX_BYTES = 64 * 1024
REVIEW_MIN = 10
REVIEW_MAX = 2_000


class HotfixRefused(Exception):
    """An operation the rules do not allow; the message is one line for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Input -----------------------------------------------------------------

_CODE = re.compile(r"^\s*(?:hf[-_ ]?)?0*(\d{1,9})\s*$", re.IGNORECASE)


def format_code(number: int) -> str:
    return f"HF-{number:04d}"


def normalize_code(text: str) -> str:
    """``hf-7``, ``HF-0007``, ``7`` -> ``HF-0007``; anything else is refused."""
    match = _CODE.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise HotfixRefused(f"`{_clip(text, 30)}` is not a hotfix code; codes look like HF-0007 (see `/hotfix list`)")
    return format_code(int(match.group(1)))


def check_environment(env: str) -> str:
    value = (env or "").strip().lower()
    if value not in ENVIRONMENTS:
        raise HotfixRefused(f"environment must be dev or prod, not `{_clip(env, 20)}`")
    return value


# Control characters that are not layout: NUL (which PostgreSQL's text cannot hold) and the like.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _refuse_non_text(text: str, what: str, fix: str) -> None:
    found = _NOT_TEXT.search(text)
    if found:
        raise HotfixRefused(
            f"the {what} contains a control character (byte 0x{ord(found.group()):02x} at character "
            f"{found.start() + 1:,}), so it is not text: {fix}"
        )


def check_summary(summary: str) -> str:
    """The one-line summary, stored redacted."""
    _refuse_non_text(summary or "", "summary", "type it again as plain text")
    text = " ".join((summary or "").split())
    if not text:
        raise HotfixRefused("the summary is empty: say in one line what broke and what the SQL fixes")
    if len(text) > SUMMARY_MAX:
        raise HotfixRefused(
            f"the summary is {len(text)} characters; keep it to {SUMMARY_MAX} and put details in the thread"
        )
    return redact(text)


def check_sql_size(size: int, what: str = "the SQL") -> None:
    """The one size limit on declared SQL (SQL_MAX_BYTES), for text and attachments alike."""
    if size > SQL_MAX_BYTES:
        raise HotfixRefused(
            f"{what} is {size:,} bytes; the limit is {SQL_MAX_BYTES:,} bytes (64 KiB): attach only what was run"
        )


def check_sql(sql: str | None) -> str | None:
    if sql is None or not sql.strip():
        return None
    _refuse_non_text(sql, "SQL", "attach the .sql file as saved by your editor, or paste the statements")
    text = sql.replace("\r\n", "\n").strip()
    check_sql_size(len(text.encode("utf-8")))
    return text


def check_sql_file(name: str, size: int) -> None:
    """An attachment before it is downloaded: its name, and its size against the same limit as the text."""
    if not name.lower().endswith(".sql"):
        raise HotfixRefused(f"the attachment `{_clip(name, 60)}` is not a .sql file; attach the SQL you ran")
    check_sql_size(size, "the attachment")


def decode_sql_file(name: str, data: bytes) -> str:
    """An attachment's bytes as text; anything that is not UTF-8 text is one line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HotfixRefused(
            f"`{_clip(name, 60)}` is not UTF-8 text (byte {exc.start + 1:,}); attach the .sql file as saved"
        ) from None
    check_sql_size(len(data), "the attachment")
    _refuse_non_text(text, f"attachment `{_clip(name, 60)}`", "attach the .sql file as saved by your editor")
    return text


def redacted_copy(sql: str | None) -> str | None:
    """The copy of declared SQL kept for display and export: redacted, within the same size limit."""
    if not sql:
        return None
    text = redact(sql)
    data = text.encode("utf-8")
    if len(data) <= SQL_MAX_BYTES:
        return text
    marker = "\n-- … clipped"
    return data[: SQL_MAX_BYTES - len(marker.encode())].decode("utf-8", "ignore") + marker


def check_review(review: str, what: str = "review", question: str = "why did we need a hotfix?") -> str:
    """A required free text (the review, or the reason for rejecting, cancelling or accepting), stored redacted."""
    _refuse_non_text(review or "", what, "type it again as plain text")
    text = (review or "").strip()
    if len(text) < REVIEW_MIN:
        raise HotfixRefused(f"the {what} is required (at least {REVIEW_MIN} characters): {question}")
    if len(text) > REVIEW_MAX:
        raise HotfixRefused(f"the {what} is {len(text):,} characters; keep it to {REVIEW_MAX:,}")
    return redact(text)


def sql_digest(sql: str | None) -> str | None:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest() if sql else None


def _clip(text: str, limit: int) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
