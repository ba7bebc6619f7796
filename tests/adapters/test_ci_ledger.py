"""The ledger's claims, and the run model's reading of arbitrary payloads."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.adapters.state.files import StateProblems
from dragonfly_bot.adapters.state.ledger import Ledger, OpenAlert
from dragonfly_bot.core.ci_runs import BadRunPayload, CiAlert, RunInfo, is_migrations_workflow
from dragonfly_bot.core.failures import Failure

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


def test_a_ledger_with_one_open_alert_per_environment_moves_it_to_open_alerts(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "l.db")
    old.executescript(
        "create table handled_runs (repository text not null, run_id integer not null, attempt integer not null,"
        " environment text not null, conclusion text not null, state text not null, claimed_at real not null,"
        " summary text, channel text, channel_id integer, message_id integer, thread_id integer,"
        " alert text, post_key text, primary key (repository, run_id, attempt));"
        "create table open_alert_posts (repository text not null, environment text not null,"
        " run_id integer not null, attempt integer not null, head_sha text not null, post_key text not null,"
        " primary key (repository, environment));"
        "insert into handled_runs values ('o/r', 7, 2, 'dev', 'failure', 'done', 1, null, null, null, null, null,"
        " null, 'ci-alert:o/r:7:2');"
        "insert into open_alert_posts values ('o/r', 'dev', 7, 2, 'abc', 'ci-alert:o/r:7:2');"
    )
    old.commit()
    old.close()
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.open_alerts("o/r", "dev") == [OpenAlert(7, 2, "abc", "ci-alert:o/r:7:2")]
    tables = {r[0] for r in ledger._db.execute("select name from sqlite_master where type = 'table'")}
    assert "open_alert_posts" not in tables and "open_alerts" in tables
    # A second alert of the same environment no longer replaces the first.
    ledger.set_open_alert("o/r", "dev", OpenAlert(8, 1, "def", "ci-alert:o/r:8:1", run_number=8))
    ledger.close()
    again = Ledger(tmp_path / "l.db")  # opening the moved file again changes nothing
    assert [a.run_id for a in again.open_alerts("o/r", "dev")] == [7, 8]
    assert again.open_alert("o/r", "dev").run_id == 8


def test_open_alerts_are_ordered_as_their_runs_are(tmp_path):
    from datetime import UTC, datetime

    ledger = Ledger(tmp_path / "l.db")
    # Run ids out of step with the run numbers (a restored workflow): the run number decides.
    ledger.set_open_alert("o/r", "dev", OpenAlert(90, 1, "a", "k90", run_number=12))
    ledger.set_open_alert("o/r", "dev", OpenAlert(50, 1, "b", "k50", run_number=13))
    when = datetime(2026, 12, 1, tzinfo=UTC)
    ledger.set_open_alert("o/r", "prod", OpenAlert(70, 1, "c", "k70", created_at=when))
    assert [a.run_id for a in ledger.open_alerts("o/r", "dev")] == [90, 50]
    assert ledger.open_alerts("o/r", "prod")[0].created_at == when


def test_the_newest_green_run_is_kept_per_environment(tmp_path):
    from dataclasses import replace

    ledger = Ledger(tmp_path / "l.db")
    base = RunInfo.from_api(
        {"id": 10, "run_number": 10, "repository": {"full_name": "o/r"}, "conclusion": "success"}, "o/r"
    )
    ledger.note_green("o/r", "dev", base)
    ledger.note_green("o/r", "dev", replace(base, run_id=9, run_number=9))  # older: not newest
    assert ledger.newest_green("o/r", "dev") == base and ledger.newest_green("o/r", "prod") is None
    ledger.note_green("o/r", "dev", replace(base, attempt=2))
    assert ledger.newest_green("o/r", "dev").attempt == 2


def test_a_superseded_alert_reads_back_with_its_green_run(tmp_path):
    from dragonfly_bot.adapters.state.ledger import alert_from_json, alert_to_json

    run = RunInfo.from_api({"id": 7, "run_number": 7, "repository": {"full_name": "o/r"}}, "o/r")
    green = RunInfo.from_api(
        {"id": 8, "run_number": 8, "head_sha": "b" * 40, "created_at": "2026-12-01T10:00:00Z"}, "o/r"
    )
    alert = CiAlert(run=run, environment="dev", failure=None, superseded_by=green)
    back = alert_from_json(alert_to_json(alert))
    assert back == alert and back.superseded_by.created_at == green.created_at
    older = alert_to_json(CiAlert(run=run, environment="dev", failure=None)).replace(',"superseded_by":null', "")
    assert alert_from_json(older).superseded_by is None  # stored before the field existed


def test_run_order_prefers_the_run_number_then_the_creation_time():
    from datetime import UTC, datetime

    from dragonfly_bot.core.ci_runs import RunOrder

    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert RunOrder(5, 1, run_number=20).newer_than(RunOrder(9, 1, run_number=19))
    assert RunOrder(5, 1, created_at=late).newer_than(RunOrder(9, 1, created_at=early))
    assert RunOrder(9, 1).newer_than(RunOrder(5, 1)) and not RunOrder(5, 1).newer_than(RunOrder(9, 1))
    assert RunOrder(5, 2, run_number=5).newer_than(RunOrder(5, 1, run_number=5))
    assert not RunOrder(5, 1).newer_than(RunOrder(5, 1))
