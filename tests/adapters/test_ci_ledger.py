"""The ledger's claims, and the run model's reading of arbitrary payloads."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.state.files import StateProblems
from bot.adapters.state.ledger import Ledger, OpenAlert
from bot.core.ci_runs import BadRunPayload, CiAlert, RunInfo, is_migrations_workflow
from bot.core.failures import Failure

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
    assert not ledger.done(KEY)  # claimed is not done
    ledger.complete(KEY, post_key="ci-alert:o/r:7:1")
    ledger.release(KEY)  # no effect once done
    assert ledger.done(KEY)
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")
    assert ledger.post_for_run("o/r", 7, before_attempt=2) == (1, "ci-alert:o/r:7:1")
    assert ledger.post_for_run("o/r", 7, before_attempt=1) is None  # never its own attempt


def test_a_claim_is_a_lease_taken_over_once_when_it_runs_out(tmp_path):
    ledger = Ledger(tmp_path / "l.db", lease_seconds=0.05)
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")
    time.sleep(0.1)  # the holder died between claim and post
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    assert not ledger.claim(KEY, environment="dev", conclusion="failure")


def test_the_alert_is_stored_as_domain_data_and_read_back_whole(tmp_path):
    run = RunInfo.from_api(
        {
            "id": 7,
            "run_attempt": 1,
            "status": "completed",
            "conclusion": "failure",
            "head_sha": "a" * 40,
            "html_url": "https://github.com/o/r/actions/runs/7",
            "run_started_at": "2026-11-25T09:00:00Z",
            "updated_at": "2026-11-25T09:01:23Z",
        },
        "o/r",
    )
    failure = Failure(
        category="relation_exists",
        message="relation exists",
        file="2099_x.sql",
        sqlstate="42P07",
        line=3,
        error_lines=('ERROR: relation "x" already exists (SQLSTATE 42P07)',),
    )
    alert = CiAlert(run=run, environment="dev", failure=failure, failed_jobs=("migrate (dev)",), mention_user_id=5)
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.claim(KEY, environment="dev", conclusion="failure")
    ledger.complete(KEY, alert=alert, post_key="ci-alert:o/r:7:1")
    reopened = Ledger(tmp_path / "l.db")
    assert reopened.alert_of(KEY) == alert
    assert reopened.last_alert("o/r") == alert and reopened.alert_of_post("ci-alert:o/r:7:1") == alert
    stored = reopened._db.execute("select alert from handled_runs").fetchone()[0]
    assert '"category":"relation_exists"' in stored and "embed" not in stored and "fields" not in stored


def test_a_ledger_of_the_previous_version_opens_and_keeps_its_runs(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "l.db")
    old.executescript(
        "create table handled_runs (repository text not null, run_id integer not null, attempt integer not null,"
        " environment text not null, conclusion text not null, state text not null, claimed_at real not null,"
        " summary text, channel text, channel_id integer, message_id integer, thread_id integer,"
        " primary key (repository, run_id, attempt));"
        "insert into handled_runs values ('o/r', 7, 1, 'dev', 'failure', 'done', 1, '{\"title\": \"x\"}',"
        " 'alerts', 1, 99, null);"
    )
    old.commit()
    old.close()
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.done(KEY) and ledger.last_alert() is None and ledger.post_for_run("o/r", 7, 2) is None


def test_a_corrupted_ledger_is_moved_aside_reported_and_replaced(tmp_path):
    path = tmp_path / "ci_ledger.sqlite3"
    Ledger(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header survives, the schema page does not
    path.write_bytes(bytes(data))
    problems = StateProblems()
    ledger = Ledger(path, problems=problems)
    [problem] = problems.items()
    assert problem.what == "CI ledger" and problem.moved_to and ".corrupt-" in problem.moved_to
    assert ledger.claim(KEY, environment="dev", conclusion="failure")  # the fresh one works


def test_open_alert_is_closed_by_exactly_one(tmp_path):
    a, b = Ledger(tmp_path / "l.db"), Ledger(tmp_path / "l.db")
    a.set_open_alert("o/r", "dev", OpenAlert(7, 1, "abc", "ci-alert:o/r:7:1"))
    assert b.open_alert("o/r", "dev").post_key == "ci-alert:o/r:7:1"
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
