"""The one secret redactor: everything taken from outside input goes through it.

Job logs, error lines and statements may carry a ``--db-url`` with its
password, service-role keys (JWTs), GitHub tokens or a Discord webhook URL.
``redact`` replaces the secret part with ``[REDACTED]`` and keeps what helps
a reader (user, host, header name, webhook id). It runs over log excerpts, so
the patterns are compiled once and skipped when a cheap substring test says
they cannot match.
"""

from __future__ import annotations

import re

MARK = "[REDACTED]"

# postgres://user:PASSWORD@host... The password may itself contain '@' (people
# paste it unencoded), so take the shortest run that ends at an '@' followed
# by something host-like and then the end of the authority.
_PG_URL = re.compile(
    r"(?P<keep>postgres(?:ql)?://[^\s:/@]*:)(?P<secret>[^\s]+)(?=@[\w.\-\[\]:%]*(?:[/?\s'\"`<>)]|$))",
    re.IGNORECASE,
)
# header.payload.signature, base64url; the signature may be empty (alg none).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_GITHUB_TOKEN = re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})")
_SUPABASE_KEY = re.compile(r"sb_(?:secret|publishable)_[A-Za-z0-9_-]{8,}")
_DISCORD_WEBHOOK = re.compile(
    r"(?P<keep>(?:https?://)?(?:[\w-]+\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/\d+/)(?P<secret>[A-Za-z0-9_.\-]+)",
    re.IGNORECASE,
)
# apikey: X, Authorization: Bearer X, x-api-key=X (curl -H, YAML, env dumps).
_HEADER = re.compile(
    r"(?P<keep>\b(?:apikey|x-api-key|authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token|digest)\s+)?)(?P<secret>[^\s\"',;]+)",
    re.IGNORECASE,
)
# PGPASSWORD=X, password=X in libpq key/value strings and URL query strings,
# password: X in YAML.
_PASSWORD = re.compile(
    r"(?P<keep>(?:pg|ssl)?password\s*[=:]\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;'\"]+)",
    re.IGNORECASE,
)
# Command-line flags: supabase link --password X, --db-password=X (scripts the guard quotes).
_FLAG_PASSWORD = re.compile(
    r"(?P<keep>--[\w-]*password(?:=|\s+))(?P<secret>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s'\";&|]+)",
    re.IGNORECASE,
)
# SQL: CREATE/ALTER ROLE ... [ENCRYPTED] PASSWORD 'x', and OPTIONS (password 'x')
# of user mappings and foreign servers; hotfix SQL pasted from Studio has these.
_SQL_PASSWORD = re.compile(
    r"(?P<keep>\bpassword\s+)(?P<secret>[Ee]?'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)",
    re.IGNORECASE | re.DOTALL,
)

# (pattern, substring that must be present (lower-case), whether the match keeps a prefix)
_RULES = (
    (_PG_URL, "postgres", True),
    (_DISCORD_WEBHOOK, "webhooks/", True),
    (_JWT, "eyj", False),
    (_GITHUB_TOKEN, "_", False),
    (_SUPABASE_KEY, "sb_", False),
    (_HEADER, "", True),
    (_FLAG_PASSWORD, "password", True),
    (_PASSWORD, "password", True),
    (_SQL_PASSWORD, "password", True),
)


def _keep_prefix(match: re.Match) -> str:
    if match.group("secret") == MARK:
        return match.group(0)
    return match.group("keep") + MARK


def redact(text: str) -> str:
    """``text`` with every secret the project knows about replaced by ``[REDACTED]``."""
    if not text:
        return text
    lowered = text.lower()
    for pattern, needle, keeps_prefix in _RULES:
        if needle and needle not in lowered:
            continue
        text = pattern.sub(_keep_prefix, text) if keeps_prefix else pattern.sub(MARK, text)
    return text
