"""The one secret redactor: everything taken from outside input goes through it.

Job logs, error lines and statements may carry a ``--db-url`` with its
password, service-role keys (JWTs), Supabase access tokens (``sbp_``) and
secret keys (``sb_secret_``), GitHub and Discord bot tokens, Stripe keys,
a Discord webhook URL, basic-auth URLs, JSON ``"password"``/``"secret"``/
``"token"`` members, ``*_KEY=``/``*_SECRET=``/``*_TOKEN=`` assignments, SQL
``PASSWORD '...'`` and Vault's ``vault.create_secret('...')`` arguments.
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
# The Supabase CLI's short password flag: supabase link -p X, supabase db dump -p=X (not psql's -p PORT).
_CLI_SHORT_PASSWORD = re.compile(
    r"(?P<keep>\bsupabase\b[^\n;&|]*?\s-p(?:=|\s+))(?P<secret>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s'\";&|]+)",
    re.IGNORECASE,
)
# SQL: CREATE/ALTER ROLE ... [ENCRYPTED] PASSWORD 'x', and OPTIONS (password 'x')
# of user mappings and foreign servers; hotfix SQL pasted from Studio has these.
_SQL_PASSWORD = re.compile(
    r"(?P<keep>\bpassword\s+)(?P<secret>[Ee]?'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)",
    re.IGNORECASE | re.DOTALL,
)

# Supabase personal access tokens (sbp_ + 40 hex) and Stripe-style live/restricted keys.
_SUPABASE_ACCESS_TOKEN = re.compile(r"\bsbp_[A-Za-z0-9]{12,}")
_STRIPE_KEY = re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}")
# Discord bot tokens: base64(user id) . base64(timestamp) . HMAC.
_DISCORD_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b")
# Basic-auth URLs of any scheme but postgres (handled above): https://user:PW@host.
_URL_USERINFO = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)(?P<secret>[^\s/@]+)(?=@)", re.IGNORECASE)
# JSON (and Python repr) members whose name says secret: "password": "x", 'api_key': 'x'.
_JSON_SECRET = re.compile(
    r"(?P<keep>[\"'][\w-]*(?:password|passwd|secret|token|api_?key|apikey)[\"']\s*:\s*)"
    r"(?P<secret>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')",
    re.IGNORECASE,
)
# Environment-style assignments: SERVICE_ROLE_KEY=x, export STRIPE_SECRET="x", GITHUB_TOKEN: x.
_ENV_SECRET = re.compile(
    r"(?P<keep>\b[A-Za-z0-9_]*(?:_KEY|_SECRET|_TOKEN|_PASSWORD|_PASS)\b[\"']?\s*[=:]\s*)"
    r"(?P<secret>\"[^\"]*\"|'[^']*'|[^\s\"',;&|)]+)",
    re.IGNORECASE,
)
# Supabase Vault: vault.create_secret('SECRET', ...) and vault.update_secret(id, 'SECRET', ...).
_VAULT_SECRET = re.compile(
    r"(?P<keep>\bvault\s*\.\s*(?:create_secret\s*\(\s*|update_secret\s*\(\s*[^,()]*,\s*)(?:new_secret\s*=>\s*)?)"
    r"(?P<secret>[Ee]?'(?:[^']|'')*'|\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)",
    re.IGNORECASE | re.DOTALL,
)
# libpq/psycopg quote a URL's undecodable part (the password, with a stray %) in their error.
_PERCENT_TOKEN = re.compile(r"(?P<keep>invalid percent-encoded token: \")(?P<secret>[^\"]*)(?=\")")

# (pattern, substring(s) one of which must be present (lower-case), whether the match keeps a prefix)
_RULES = (
    (_PG_URL, "postgres", True),
    (_PERCENT_TOKEN, "percent-encoded", True),
    (_VAULT_SECRET, "vault", True),
    (_JSON_SECRET, ("password", "passwd", "secret", "token", "key"), True),
    (_URL_USERINFO, "://", True),
    (_DISCORD_WEBHOOK, "webhooks/", True),
    (_JWT, "eyj", False),
    (_GITHUB_TOKEN, "_", False),
    (_SUPABASE_KEY, "sb_", False),
    (_SUPABASE_ACCESS_TOKEN, "sbp_", False),
    (_STRIPE_KEY, ("_live_", "_test_"), False),  # test-mode keys read and write test-mode data too
    (_DISCORD_TOKEN, ".", False),
    (_ENV_SECRET, ("_key", "_secret", "_token", "_pass"), True),
    (_HEADER, "", True),
    (_FLAG_PASSWORD, "password", True),
    (_CLI_SHORT_PASSWORD, " -p", True),
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
        if isinstance(needle, tuple):
            if not any(n in lowered for n in needle):
                continue
        elif needle and needle not in lowered:
            continue
        text = pattern.sub(_keep_prefix, text) if keeps_prefix else pattern.sub(MARK, text)
    return text
