"""record-run reads catalog facts in CI and keeps them: in migration_runs.diagnosis and as one line of the
job log, which the relay's alert reads back without any database connection.

The failure is real (the CI role lacks SELECT on a table; the pinned CLI, the real PostgreSQL), and so is
the relay's path: the local GitHub serves the job log (migrate step, then record-run's step), the relay
builds and posts the alert.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dragonfly_bot.adapters.github import GitHubClient
from dragonfly_bot.adapters.state.ledger import alert_from_json, alert_to_json
from dragonfly_bot.core.ci_runs import RunInfo
from dragonfly_bot.core.diagnosis import Confidence
from dragonfly_bot.core.diagnosis.facts import FACTS_LINE, facts_of
from dragonfly_bot.relay import record_run_command as record_run
from dragonfly_bot.relay.run_record import stored_facts
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.cli_cases import V1, case_runner, execute
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub
from tests.fakes.helpers import RecordingPoster
from tests.relay.test_ci_relay import fields, make_relay
from tests.relay.test_diagnosis_cases import CASES

BOT_TABLES = ("20251209000000_migration_status_view.sql", "20251214100000_migration_runs_diagnosis.sql")


@pytest.fixture(scope="module")
def ran(scratch_databases, tmp_path_factory):
    with case_runner({"ci_role": CASES["ci_role"]}, scratch_databases, tmp_path_factory) as get:
        yield get


def record(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    record_run.add_arguments(parser)
    return record_run.run(parser.parse_args(argv))


def record_step(lines: list[str]) -> bytes:
    """record-run's step as GitHub serves it, after the migrate step."""
    t = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)
    body = ["##[group]Run dragonfly-bot record-run migrate.log --env dev --outcome failure", "##[endgroup]", *lines]
    return "".join(
        f"{(t + timedelta(milliseconds=50 * i)).strftime('%Y-%m-%dT%H:%M:%S.%f')}0Z {line}\r\n"
        for i, line in enumerate(body)
    ).encode()


@pytest.fixture(scope="module")
def recorded(ran, tmp_path_factory):
    """record-run as CI runs it: on the migrate step's log, with DB_URL (the CI role), writing the run record."""
    r = ran("ci_role")
    for name in BOT_TABLES:  # the bot's run record on the team's database, as its owner made it
        execute(r.db.url, (REPO_MIGRATIONS / name).read_text())
    execute(r.db.url, f"alter table public.migration_runs owner to {r.role}")  # CI is its writer, as the owner
    log = tmp_path_factory.mktemp("record") / "migrate.log"
    log.write_bytes(r.log)
    return r, log


def test_record_run_prints_the_facts_line_and_stores_the_record(recorded, capsys):
    r, log = recorded
    argv = [str(log), "--env", "dev", "--outcome", "failure", "--migrations-dir", str(r.migrations)]
    assert record([*argv, "--db-url", r.url]) == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith(FACTS_LINE)]
    printed = json.loads(line.removeprefix(FACTS_LINE))
    assert printed["facts"]["current_user"] == r.role and printed["confidence"] == "likely"
    with psycopg.connect(r.db.url) as conn:
        diagnosis, sqlstate = conn.execute(
            "select diagnosis, sqlstate from public.migration_runs where status = 'failed' and version = %s", (V1,)
        ).fetchone()
        # A row written before the diagnosis column existed (NULL) still reads: no facts.
        conn.execute(
            "insert into public.migration_runs (environment, status, version, file_name) values ('dev', 'failed',"
            " '20251101000000', '20251101000000_old.sql')"
        )
        old = conn.execute("select diagnosis from public.migration_runs where version = '20251101000000'").fetchone()
    assert sqlstate == "42501" and diagnosis["schema"] == 1 and diagnosis == printed
    facts = stored_facts(diagnosis)
    assert facts is not None and facts.current_user == r.role and ("SELECT", False) in facts.privileges
    assert stored_facts(old[0]) is None
    # A newer record's unknown fields are ignored; a record without a schema is not one.
    assert facts_of({**diagnosis, "schema": 2, "facts": {**diagnosis["facts"], "new": 1}}) == facts
    assert facts_of({"facts": diagnosis["facts"]}) is None


def test_an_unreachable_database_records_the_run_and_says_so_in_one_line(recorded, capsys, tmp_path):
    r, log = recorded
    argv = [str(log), "--env", "dev", "--outcome", "failure", "--migrations-dir", str(r.migrations), "--dry-run"]
    assert record([*argv, "--db-url", "postgresql://ci:pw-9f8e@127.0.0.1:1/postgres"]) == 0
    out = capsys.readouterr().out
    said = [x for x in out.splitlines() if "not read" in x and not x.startswith(FACTS_LINE)]
    assert len(said) == 1 and said[0].startswith("catalog facts: database not read (") and "pw-9f8e" not in out


async def test_the_alert_uses_the_recorded_facts_without_a_database(recorded, capsys, tmp_path):
    r, log = recorded
    argv = [str(log), "--env", "dev", "--outcome", "failure", "--migrations-dir", str(r.migrations), "--dry-run"]
    assert record([*argv, "--db-url", r.url]) == 0
    job_log = r.log + record_step(capsys.readouterr().out.splitlines())
    fake = await FakeGitHub().start()
    client = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake.url, retry=0)
    try:
        payload = fake.add_run(301, log=job_log)
        fake.files[(f"supabase/migrations/{V1}_read.sql", payload["head_sha"])] = (
            r.migrations / f"{V1}_read.sql"
        ).read_text()
        poster = RecordingPoster()
        relay = make_relay(client, tmp_path / "ledger.db", poster)
        assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    finally:
        client.close()
        await fake.stop()
    [post] = poster.sent
    f = fields(post["embeds"][0])
    assert f"{r.role}, the role CI connects as, lacks SELECT on public.ledger" in f["Fix (likely)"]
    assert "TO authenticated, service_role`" not in f["Fix (likely)"] and "<CI role>" not in f["Fix (likely)"]
    assert f"CI connects as {r.role}" in f["Database"] and "SELECT no" in f["Database"]
    # The ledger keeps the alert with its facts; an alert stored before facts existed still loads.
    stored = relay.ledger.alert_of((REPO, 301, 1))
    assert stored is not None and stored.failure.facts.current_user == r.role
    assert stored.failure.confidence == Confidence.LIKELY
    old = json.loads(alert_to_json(stored))
    del old["failure"]["facts"]
    loaded = alert_from_json(json.dumps(old))
    assert loaded is not None and loaded.failure.facts is None
