"""Property: a secret of any kind the project knows, planted in any field that reaches a post, a log line or an
attachment, never comes out. Hypothesis generates the secrets (values and the text around them)."""

from __future__ import annotations

import json
import string
from dataclasses import replace

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
from dragonfly_bot.core.diagnosis import Category, Facts, Failure, parse_log
from dragonfly_bot.core.redact import redact
from dragonfly_bot.relay.render_discord import render_alert, render_burst_summary, render_fixed, render_fixed_reply
from tests.fakes.github_fake import FakeGitHub, github_log

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "-_"
_value = st.text(ALNUM, min_size=14, max_size=32)
_b64 = st.text(B64, min_size=30, max_size=60)

# (kind, strategy giving (text to plant, the secret part that must not come out))
SECRETS = {
    "postgres_url": st.builds(lambda v: (f"postgresql://postgres:{v}@db.abc.supabase.co:5432/postgres", v), _value),
    "jwt": st.builds(lambda a, b, c: (f"eyJ{a}.{b}.{c}", f"{a}.{b}.{c}"), _b64, _b64, _b64),
    "github": st.builds(lambda v: (f"ghp_{v}xxxxxx", v), _value),
    "supabase_access_token": st.builds(lambda v: (f"sbp_{v}", v), _value),
    "supabase_secret_key": st.builds(lambda v: (f"sb_secret_{v}", v), _value),
    "discord_webhook": st.builds(lambda v: (f"https://discord.com/api/webhooks/1234567890/{v}", v), _b64),
    "discord_bot_token": st.builds(
        lambda a, b, c: (f"{a}.{b}.{c}", f"{a}.{b}.{c}"),
        st.text(B64, min_size=24, max_size=26),
        st.text(B64, min_size=6, max_size=6),
        st.text(B64, min_size=27, max_size=38),
    ),
    "stripe": st.builds(
        lambda p, mode, v: (f"{p}_{mode}_{v}", v),
        st.sampled_from(["sk", "rk"]),
        st.sampled_from(["live", "test"]),
        _value,
    ),
    "json_member": st.builds(
        lambda k, v: (f'{{"{k}": "{v}"}}', v), st.sampled_from(["password", "secret", "token", "api_key"]), _value
    ),
    "basic_auth_url": st.builds(lambda v: (f"https://deploy:{v}@registry.example.com/v2", v), _value),
    "env_assignment": st.builds(
        lambda k, v: (f"{k}={v}", v),
        st.sampled_from(["STRIPE_SECRET_KEY", "SUPABASE_SERVICE_ROLE_KEY", "MY_TOKEN", "APP_SECRET"]),
        _value,
    ),
    "vault": st.builds(lambda v: (f"select vault.create_secret('{v}', 'stripe_key');", v), _value),
    "percent_token": st.builds(lambda v: (f'invalid percent-encoded token: "{v}%zz"', v), _value),
    "sql_password": st.builds(lambda v: (f"create role app login password '{v}';", v), _value),
}
_secret = st.sampled_from(sorted(SECRETS)).flatmap(lambda kind: SECRETS[kind])
_around = st.text(string.ascii_letters + " .,:()", max_size=20)

FAILURE_FIELDS = ("message", "detail", "cli_hint", "statement", "hint", "fix_sql", "file", "db_user")
RUN_FIELDS = ("commit_message", "commit_author", "actor", "head_branch", "display_title")


def _planted(text: str, before: str, after: str) -> str:
    return f"{before} {text} {after}"


def _everything(rendered) -> str:
    parts = [rendered.content or "", json.dumps(rendered.embed.to_dict())]
    if rendered.excerpt is not None:
        parts.append(rendered.excerpt[1].decode())
    return "\n".join(parts)


def _run(**changes) -> RunInfo:
    return replace(RunInfo.from_api(FakeGitHub().run_payload(77, 2)), **changes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _secret,
    _around,
    _around,
    st.sampled_from(FAILURE_FIELDS + RUN_FIELDS + ("error_lines", "log_tail", "facts", "facts_unavailable")),
)
def test_a_planted_secret_never_reaches_a_post_or_its_attachment(secret, before, after, field):
    text, value = secret
    assume(value not in before + after)  # the text around it is not itself the secret
    planted = _planted(text, before, after)
    failure = Failure(
        category=Category.RELATION_EXISTS,
        message="relation x already exists",
        sqlstate="42P07",
        file="20251209000001_a.sql",
        statement="create table x (id int)",
        hint="fix:\ncreate table if not exists x (id int);",
        fix_sql="create table if not exists x (id int);",
        error_lines=("ERROR: relation x already exists (SQLSTATE 42P07)",),
        context=((1, "create table x (id int);"),),
    )
    run = _run()
    log_tail: tuple[str, ...] = ("the end",)
    if field in FAILURE_FIELDS:
        failure = replace(failure, **{field: planted})
    elif field in RUN_FIELDS:
        run = replace(run, **{field: planted})
    elif field == "error_lines":
        failure = replace(failure, error_lines=(planted,), category=Category.UNKNOWN)
    elif field == "facts":  # catalog facts (the alert's Database field), as read back from a job log
        facts = Facts(current_user=planted, object_name=planted, object_owner=planted, other_schemas=(planted,))
        failure = replace(failure, facts=replace(facts, privileges=((planted, False),), extension=planted))
    elif field == "facts_unavailable":
        failure = replace(failure, facts=Facts(unavailable=planted))
    else:
        log_tail = (planted,)
    alert = CiAlert(run=run, environment="dev", failure=failure, log_tail=log_tail, failed_steps=(planted,))
    assert value not in _everything(render_alert(alert))
    assert value not in json.dumps(render_burst_summary([alert]).to_dict())
    fixed = render_fixed(render_alert(alert).embed.to_dict(), run)
    assert value not in json.dumps(fixed.to_dict()) and value not in render_fixed_reply("dev", run)
    assert value not in redact(f"run 77 not relayed: RuntimeError: {planted}")  # what the relay logs


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_secret, _around)
def test_a_secret_in_the_cli_output_never_reaches_the_failure(secret, around):
    text, value = secret
    assume(value not in around)
    cli = (
        "Applying migration 20251209000001_a.sql...\n"
        f"ERROR: boom {around} {text} (SQLSTATE P0001)\n"
        f"{text}\n"
        "At statement: 0\n"
        f"do $$ begin raise exception '{around} {text}'; end $$\n"
        "Try rerunning the command with --debug to troubleshoot the error.\n"
    )
    lines = github_log(cli, prelude=[f"DB_URL={text}"]).decode().splitlines(keepends=True)
    f = parse_log(lines)
    assert f is not None
    assert value not in json.dumps(f.to_dict())
