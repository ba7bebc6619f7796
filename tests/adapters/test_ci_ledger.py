"""The ledger's claims, and the run model's reading of arbitrary payloads."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.state.ledger import Ledger, OpenAlert
from bot.chat.channels import PostRef
from bot.core.ci_runs import BadRunPayload, RunInfo, is_migrations_workflow

KEY = ("o/r", 7, 1)


def test_claim_is_exclusive_across_ledger_objects(tmp_path):
    a, b = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    assert a.claim(KEY, environment="dev", conclusion="failure") is True
    assert b.claim(KEY, environment="dev", conclusion="failure") is False
    assert a.claim(("o/r", 7, 2), environment="dev", conclusion="failure") is True


def test_released_claim_can_be_retried_and_a_done_one_cannot(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    ledger.release(KEY)
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    ledger.complete(KEY, ref=PostRef("alerts", 1, 99))
    ledger.release(KEY)  # no effect once done
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")
    assert ledger.alert_for_run("o/r", 7) == (1, PostRef("alerts", 1, 99))


def test_stale_claim_is_taken_over_once(tmp_path):
    ledger = Ledger(tmp_path / "l.db", stale_after=0.05)
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")
    time.sleep(0.1)  # the holder died between claim and post
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")


def test_open_alert_is_closed_by_exactly_one(tmp_path):
    a, b = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    a.set_open_alert("o/r", "dev", OpenAlert(7, 1, "abc", PostRef("alerts", 1, 99)))
    assert b.open_alert("o/r", "dev").ref.message_id == 99
    assert b.open_alert("o/r", "prod") is None
    assert [a.close_open_alert("o/r", "dev", 7), b.close_open_alert("o/r", "dev", 7)] == [True, False]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=20,
)
run_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers() | st.text(max_size=5) | st.none(),
        "run_attempt": json_values,
        "head_commit": json_values,
        "actor": json_values,
        "display_title": json_values,
        "path": json_values,
        "name": json_values,
        "run_started_at": json_values | st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:01:00", "yesterday"]),
        "updated_at": json_values | st.sampled_from(["2026-01-01T00:00:30Z", "2026-01-01T00:02:00+02:00"]),
        "repository": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(payload=json_values | run_like, repository=st.sampled_from([None, "o/r"]))
def test_run_payloads_are_read_or_rejected_cleanly(payload, repository):
    try:
        run = RunInfo.from_api(payload, repository)
    except BadRunPayload:
        return
    # Whatever was read, the relay's questions about it have answers.
    assert run.environment() in {"dev", "prod", "pre-flight", "unknown"}
    assert isinstance(is_migrations_workflow(run, "supabase-migrate.yml"), bool)
    assert run.duration_seconds is None or run.duration_seconds >= 0
    assert isinstance(run.commit_title, str) and isinstance(run.attempt_url, str)
