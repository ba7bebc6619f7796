"""The one secret redactor: each kind of secret, and properties under fuzzing."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.redact import MARK, redact


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict, signature: bytes = b"\x01" * 32) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(signature)}"


SERVICE_ROLE_KEY = make_jwt({"iss": "supabase", "ref": "abcdefghijklmnop", "role": "service_role", "exp": 2000000000})
GHP = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "--db-url postgresql://postgres:pa55word@db.abc.supabase.co:5432/postgres",
            "pa55word",
            "postgresql://postgres:[REDACTED]@db.abc.supabase.co:5432/postgres",
        ),
        (
            "postgres://postgres.abcdef:p@ss/w:rd@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
            "ss/w:rd",
            "postgres.abcdef:[REDACTED]@aws-0-eu-west-1.pooler.supabase.com",
        ),
        ('DB_URL="postgresql://u:s3cr%40t@localhost/db"', "s3cr%40t", "u:[REDACTED]@localhost/db"),
        (f"SUPABASE_SERVICE_ROLE_KEY={SERVICE_ROLE_KEY}", SERVICE_ROLE_KEY, "SUPABASE_SERVICE_ROLE_KEY="),
        (f"apikey: {SERVICE_ROLE_KEY}", SERVICE_ROLE_KEY, "apikey: [REDACTED]"),
        ("apikey: sb_secret_abcdefgh12345678", "sb_secret_abcdefgh12345678", "apikey: "),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi", "Authorization: Bearer [REDACTED]"),
        ("-H 'authorization: token 0123456789abcdef'", "0123456789abcdef", "authorization: token [REDACTED]"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization: Basic [REDACTED]"),
        (f"git clone https://x-access-token:{GHP}@github.com/o/r", GHP, "github.com/o/r"),
        ("token ghs_" + "a" * 36, "ghs_" + "a" * 36, "token "),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "",
        ),
        (
            "hook https://discord.com/api/webhooks/123456789012345678/AbC-dEf_123.xyz ok",
            "AbC-dEf_123.xyz",
            "discord.com/api/webhooks/123456789012345678/[REDACTED] ok",
        ),
        ("https://discordapp.com/api/v10/webhooks/1/tok", "/tok", "webhooks/1/[REDACTED]"),
        ("PGPASSWORD=hunter2 psql -h db", "hunter2", "PGPASSWORD=[REDACTED] psql -h db"),
        ("host=db.x.supabase.co port=5432 user=postgres password='a b c' dbname=postgres", "a b c", "dbname=postgres"),
        (
            "postgresql://postgres@db/postgres?sslmode=require&password=qwerty",
            "qwerty",
            "sslmode=require&password=[REDACTED]",
        ),
        # A connection string ending at a comma (a YAML/JSON list, a sentence), and the CLI's short -p flag.
        ("db_urls: postgres://u:c0mma@db.x.supabase.co, next", "c0mma", "u:[REDACTED]@db.x.supabase.co, next"),
        ("supabase link --project-ref abc -p hunter2 --debug", "hunter2", "-p [REDACTED] --debug"),
        ("npx supabase db dump -p='a b' -f x.sql", "a b", "-p=[REDACTED] -f x.sql"),
    ],
)
def test_each_secret_kind(text, secret, kept):
    out = redact(text)
    assert secret not in out
    assert MARK in out
    assert kept in out


@pytest.mark.parametrize(
    "text",
    [
        "failed to connect to `host=127.0.0.1 user=postgres database=postgres`: dial error",
        'FATAL: password authentication failed for user "postgres" (SQLSTATE 28P01)',
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "Applying migration 20251209000002_step2.sql...",
        'ERROR: relation "foo" already exists (SQLSTATE 42P07)',
        "create table public.users_ghp (id int)",
        "psql -p 5432 -h db.x.supabase.co",  # psql's -p is the port
        "supabase migration up --db-url x; psql -p 6543",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


_token_text = st.text(alphabet=st.characters(codec="ascii"), max_size=80)
_secrets = st.one_of(
    st.builds(lambda role: make_jwt({"role": role}), st.text(max_size=20)),
    st.builds(lambda s: "ghp_" + s, st.text(alphabet="abcdefABCDEF0123456789", min_size=36, max_size=36)),
    st.builds(lambda s: "github_pat_" + s, st.text(alphabet="abcXYZ019_", min_size=40, max_size=82)),
)
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.")
_GH_SHAPE = re.compile(r"gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}")


@settings(max_examples=300, deadline=None)
@given(_token_text, _secrets, _token_text)
def test_no_token_survives(before, secret, after):
    out = redact(before + secret + after)
    assert secret not in out
    assert not _JWT_SHAPE.search(out)
    assert not _GH_SHAPE.search(out)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_redact_never_raises_and_is_idempotent(text):
    once = redact(text)
    assert isinstance(once, str)
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii", exclude_characters=":=_@."), max_size=200))
def test_text_without_secret_syntax_is_unchanged(text):
    # No ':', '=', '_', '@' or '.': no URL password, header, token or JWT can be there.
    assert redact(text) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abc:/@xyz", max_size=60))
def test_postgres_url_password_never_survives(password):
    password = password.strip() or "p"
    if any(ch.isspace() for ch in password):
        return
    url = f"postgresql://postgres:{password}@db.example.supabase.co:5432/postgres"
    out = redact(f"--db-url {url} --yes")
    assert out == "--db-url postgresql://postgres:[REDACTED]@db.example.supabase.co:5432/postgres --yes"


@pytest.mark.parametrize(
    "sql, secret",
    [
        ("alter role app_user login password 'S3cr3t-value';", "S3cr3t-value"),
        ("CREATE USER reporter WITH ENCRYPTED PASSWORD E'it''s-secret';", "it''s-secret"),
        ("create user mapping for app server legacy options (user 'u', password 'pw-12345');", "pw-12345"),
        ("alter role r password $$dollar-secret$$;", "dollar-secret"),
    ],
)
def test_passwords_in_sql_are_redacted(sql, secret):
    out = redact(sql)
    assert secret not in out and "[REDACTED]" in out
    keyword = sql.lower().rindex("password")
    assert out.startswith(sql[: keyword + len("password ")])  # the statement stays readable


def test_sql_without_a_password_literal_is_left_alone():
    for sql in ("alter role r password null;", "select 'password reset' as label;"):
        assert redact(sql) == sql


def test_postgrest_error_text_is_redacted():
    """PostgREST may echo what it was sent (a key in a message); the bot prints that text."""
    import httpx

    from dragonfly_bot.adapters.supabase.rest import _error_message

    key = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXNlY3JldA"
    response = httpx.Response(401, json={"code": "PGRST301", "message": f"JWT {key} is invalid"})
    text = _error_message("https://x.supabase.co/rest/v1/v_migration_status", response)
    assert "c2lnbmF0dXJlLXNlY3JldA" not in text and MARK in text and "PGRST301" in text


def test_a_percent_zz_database_url_never_quotes_the_password():
    """psycopg quotes the undecodable part of a URL, the password, in its error: record-run says one line without it."""
    from dragonfly_bot.errors import UserFacingError
    from dragonfly_bot.relay.run_record import RunRow, insert_rows

    row = RunRow(environment="dev", status="applied", version="20251209000001", file_name="20251209000001_a.sql")
    with pytest.raises(UserFacingError) as raised:
        insert_rows("postgresql://postgres:Sup3r%zzSecret@127.0.0.1:1/postgres", [row])
    assert "Sup3r" not in str(raised.value) and "zzSecret" not in str(raised.value)
    assert str(raised.value).startswith("could not record the run in public.migration_runs:")
