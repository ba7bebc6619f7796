"""The CI alert renderer: Discord's limits whatever the log holds, mentions, the fixed edit."""

from __future__ import annotations

from dataclasses import replace

from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
from dragonfly_bot.core.failures import Failure
from dragonfly_bot.relay.render_discord import render_alert, render_burst_summary, render_fixed, render_fixed_reply
from tests.fakes.github_fake import FakeGitHub


def _run(**changes) -> RunInfo:
    return replace(RunInfo.from_api(FakeGitHub().run_payload(12, 3)), **changes)


HUGE = "x" * 20_000


def test_enormous_inputs_stay_within_limits_and_attach_the_excerpt():
    failure = Failure(
        category="syntax_error",
        message="syntax error at or near " + HUGE,
        file="2099_" + "f" * 400 + ".sql",
        sqlstate="42601",
        detail=HUGE,
        statement="select " + HUGE,
        statement_index=4,
        line=9,
        hint="fix it:\n" + HUGE,
        fix_sql=HUGE,
        error_lines=tuple(HUGE for _ in range(5)),
    )
    run = _run(commit_message="m" * 5000, commit_author="a" * 500, actor="octocat")
    alert = CiAlert(
        run=run,
        environment="prod",
        failure=failure,
        failed_steps=("s" * 900,) * 5,
        log_tail=tuple(HUGE for _ in range(3)),
        mention_user_id=42,
    )
    rendered = render_alert(alert)
    assert message_problems(rendered.content, [rendered.embed]) == []
    assert rendered.excerpt is not None
    name, data = rendered.excerpt
    assert name == "migration-run-12-attempt-3.txt" and HUGE in data.decode()
    fix = {f.name: f.value for f in rendered.embed.fields}["Fix"]
    # A statement too long for the field is never shown cut: it is in the attachment, whole.
    assert fix == "fix it:\n(the statement to run is in the attached excerpt)" and HUGE in data.decode()


def test_short_alert_has_no_attachment_and_no_mentions_without_a_mapping():
    failure = Failure(
        category="permission_denied",
        message="permission denied for table t",
        sqlstate="42501",
        file="20991209000001_a.sql",
        hint="Add the GRANT:\ngrant select on public.t to authenticated, service_role;",
    )
    run = _run(commit_message="@everyone look <@&1> here")
    rendered = render_alert(CiAlert(run=run, environment="dev", failure=failure))
    assert rendered.excerpt is None and rendered.files() == []
    assert rendered.content is None
    mentions = rendered.allowed_mentions
    assert mentions.everyone is False and mentions.users is False and mentions.roles is False


def test_fixed_edit_keeps_the_failure_and_says_which_commit():
    failure = Failure(
        category="relation_exists",
        message='relation "foo" already exists',
        sqlstate="42P07",
        file="20991209000002_b.sql",
    )
    original = render_alert(CiAlert(run=_run(), environment="dev", failure=failure)).embed
    fixer = _run(run_id=13, attempt=1, head_sha="c0ffee" + "0" * 34, commit_message="fix: idempotent\n\nbody")
    fixed = render_fixed(original.to_dict(), fixer)
    assert fixed.title == "✅ Fixed: 20991209000002_b.sql failed on dev"
    fields = {f.name: f.value for f in fixed.fields}
    assert fields["Category"] == "`relation_exists`"
    assert fields["Fixed by"].startswith("`c0ffee0` fix: idempotent")
    assert message_problems(None, [fixed]) == []
    reply = render_fixed_reply("dev", fixer)
    assert reply.startswith("✅ dev migrations are green again: fixed by `c0ffee0`")


def test_burst_summary_fits_with_hundreds_of_runs():
    alerts = [CiAlert(run=_run(run_id=i), environment="dev", failure=None) for i in range(500)]
    embed = render_burst_summary(alerts)
    assert embed.title == "⚠️ 500 more migration run(s) failed"
    assert "… and" in embed.description
    assert message_problems(None, [embed]) == []


def test_unknown_error_shows_its_lines_and_no_known_fix():
    failure = Failure(
        category="unknown",
        message="something odd happened",
        error_lines=(
            "Error: something odd happened",
            "while doing the thing",
            "Try rerunning the command with --debug",
        ),
        hint="no known fix",
    )
    rendered = render_alert(CiAlert(run=_run(), environment="dev", failure=failure))
    assert "while doing the thing" in rendered.embed.description
    assert {f.name: f.value for f in rendered.embed.fields}["Fix"] == "no known fix"


def test_a_superseded_alert_is_grey_names_the_green_run_and_pings_nobody():
    failure = Failure(
        category="relation_exists",
        message='relation "foo" already exists',
        sqlstate="42P07",
        file="20991209000002_b.sql",
        hint="Make it idempotent.",
    )
    green = _run(run_id=14, head_sha="beef00" + "0" * 34, commit_message="fix: idempotent")
    alert = CiAlert(run=_run(), environment="dev", failure=failure, superseded_by=green, mention_user_id=None)
    rendered = render_alert(alert)
    embed = rendered.embed
    assert embed.title == "⏭️ Superseded: 20991209000002_b.sql failed on dev"
    assert embed.colour is not None and embed.colour.value == 0x6A737D
    already = {f.name: f.value for f in embed.fields}["Already green"]
    assert already.startswith("`beef000` fix: idempotent") and "run 14, attempt 3" in already
    assert rendered.content is None and rendered.allowed_mentions.users is False
    # Even with a mapped author, a superseded failure pings nobody.
    mapped = render_alert(
        CiAlert(run=_run(), environment="dev", failure=failure, superseded_by=green, mention_user_id=7)
    )
    assert mapped.content is None
    assert message_problems(None, [embed]) == []
    summary = render_burst_summary([alert])
    assert "superseded by `beef000`" in summary.description


def test_the_fixed_reply_says_how_many_alerts_it_closed():
    fixer = _run(run_id=13, head_sha="c0ffee" + "0" * 34, commit_message="fix")
    assert "marked fixed" not in render_fixed_reply("dev", fixer)
    assert "(3 failure alerts marked fixed)" in render_fixed_reply("dev", fixer, 3)
