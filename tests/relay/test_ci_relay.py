"""The relay end to end: real Supabase CLI failures, served by a local GitHub, posted to a RecordingPoster."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from dragonfly_bot.adapters.github import GitHubClient
from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.state.files import StateProblems
from dragonfly_bot.adapters.state.ledger import Ledger
from dragonfly_bot.adapters.state.outbox import SqliteOutbox
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.core.ci_runs import RunInfo
from dragonfly_bot.relay.service import Relay, process_queue, reconcile
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub, github_log
from tests.fakes.helpers import RecordingPoster

BAD_FILE = "20991209000002_rr_add_tier.sql"
BAD_SQL = (
    "-- adds the customer tier\n"
    "create table if not exists public.rr_tiers (id int);\n"
    "\n"
    "create table public.rr_customers (\n"
    "    id bigint primary key\n"
    ");\n"
)
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
GH_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
DB_PASSWORD = "Sup3rS3cretPw"
SECRET_PRELUDE = [
    f"DB_URL: postgresql://postgres:{DB_PASSWORD}@db.abcdefghijkl.supabase.co:5432/postgres",
    f"Authorization: Bearer {GH_TOKEN}",
    f"SUPABASE_SERVICE_ROLE_KEY={JWT}",
]
DISCORD_ID = 555_000_111


@dataclass
class RealFailure:
    cli_output: str
    file_text: str


@pytest.fixture(scope="session")
def real_failure(scratch_databases, repo_migrations_dir, tmp_path_factory) -> RealFailure:
    """Real `supabase migration up` output for a non-idempotent file (42P07), once per session."""
    db = scratch_databases()
    migrations = tmp_path_factory.mktemp("relay") / "migrations"
    shutil.copytree(repo_migrations_dir, migrations)
    (migrations / "20991209000001_rr_customers.sql").write_text("create table public.rr_customers (id bigint);\n")
    (migrations / BAD_FILE).write_text(BAD_SQL)
    result = migration_up(db.url, migrations)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "SQLSTATE 42P07" in output, output
    return RealFailure(cli_output=output, file_text=BAD_SQL)


@pytest.fixture
async def fake_github():
    fake = await FakeGitHub().start()
    yield fake
    await fake.stop()


@pytest.fixture
def client(fake_github):
    c = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake_github.url, retry=0)
    yield c
    c.close()


class DeliveringRelay(Relay):
    """The relay with its outbox delivered after each run, so a test sees the posts at once."""

    async def handle(self, run: RunInfo) -> str:
        outcome = await super().handle(run)
        await self.outbox.drain()
        return outcome


def make_relay(client, ledger_path: Path, poster: RecordingPoster, *, clock=None, **kwargs) -> Relay:
    """A relay on ``ledger_path`` with its outbox next to it (two relays on one path share both)."""
    problems = StateProblems()
    store = SqliteOutbox(ledger_path.with_suffix(".outbox"), problems=problems, **({"clock": clock} if clock else {}))
    return DeliveringRelay(
        client=client,
        ledger=Ledger(ledger_path, problems=problems),
        outbox=Outbox(store, poster, **({"clock": clock} if clock else {})),
        workflow="supabase-migrate.yml",
        discord_users={"OctoCat": DISCORD_ID},
        **({"clock": clock} if clock else {}),
        **kwargs,
    )


def add_failed_run(fake: FakeGitHub, real: RealFailure, run_id: int, attempt: int = 1, **kwargs) -> RunInfo:
    log = github_log(real.cli_output, prelude=SECRET_PRELUDE)
    payload = fake.add_run(run_id, attempt, log=log, **kwargs)
    fake.files[(f"supabase/migrations/{BAD_FILE}", payload["head_sha"])] = real.file_text
    return RunInfo.from_api(payload)


def everything_posted(poster: RecordingPoster) -> str:
    parts = []
    for post in [*poster.sent, *poster.edits, *poster.replies]:
        parts.append(str(post.get("content")))
        for embed in post.get("embeds") or []:
            parts.append(json.dumps(embed.to_dict()))
        for file in post.get("files") or []:
            parts.append(file.fp.getvalue().decode("utf-8", "replace"))
    return "\n".join(parts)


def fields(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


async def test_real_failure_is_alerted_with_file_line_sqlstate_category_and_fix(
    fake_github, client, real_failure, tmp_path
):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    run = add_failed_run(fake_github, real_failure, 101)
    assert await relay.handle(run) == "posted"
    [post] = poster.sent
    assert post["channel"] == "alerts"
    [embed] = post["embeds"]
    assert message_problems(post["content"], post["embeds"]) == []
    assert BAD_FILE in embed.title and "dev" in embed.title
    error = " ".join(embed.description.split())  # the ERROR line is wrapped to the embed's width
    assert "SQLSTATE 42P07" in error and 'relation "rr_customers" already exists' in error
    f = fields(embed)
    assert f["Environment"] == "dev"
    assert f["Category"] == "`relation_exists`"
    assert f["File"] == f"`{BAD_FILE}:4` · statement 2 of 2, line 4"  # from the file at the run's commit
    assert "create table if not exists public.rr_customers" in f["Fix (certain)"].lower()
    assert f["Failed step"].startswith("[Apply migrations](https://github.com/") and "#step:2:1)" in f["Failed step"]
    assert f["Branch"] == "`main`"
    assert f["Commit"].startswith(f"`{run.short_sha}` feat: add customer tier column")
    assert "Octo Cat" in f["Commit"] and "longer body" not in f["Commit"]
    assert "attempt 1" in f["Run"] and run.html_url in f["Run"]
    assert f["Duration"] == "1m 23s"
    # The author is pinged in content, and only them.
    assert post["content"].startswith(f"<@{DISCORD_ID}>")
    mentions = post["allowed_mentions"]
    assert [u.id for u in mentions.users] == [DISCORD_ID] and mentions.everyone is False and mentions.roles is False
    # The log download did not carry our token to blob storage.
    assert fake_github.blob_auth_headers == [None]


async def test_secrets_in_the_log_never_reach_the_poster(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    # No error in the log: the whole tail (with the secrets) is what gets attached.
    payload = fake_github.add_run(
        102, log=github_log("Connecting to remote database...\n" + "\n".join(SECRET_PRELUDE) + "\nKilled\n")
    )
    await relay.handle(RunInfo.from_api(payload))
    await relay.handle(add_failed_run(fake_github, real_failure, 103))
    posted = everything_posted(poster)
    assert len(poster.sent) == 2 and poster.sent[0]["files"]
    for secret in (DB_PASSWORD, GH_TOKEN, JWT, "eyJhbGci", "ghp_"):
        assert secret not in posted
    assert "[REDACTED]" in posted


async def test_log_without_error_still_alerts_with_link_and_tail(fake_github, client, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    payload = fake_github.add_run(104, log=github_log("npm warn deprecated\n" * 50 + "Killed\n"))
    assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    [post] = poster.sent
    embed = post["embeds"][0]
    assert "no error found in the log" in embed.description.lower()
    assert "Supabase Migrations failed on dev" in embed.title
    [file] = post["files"]
    text = file.fp.getvalue().decode()
    assert "Killed" in text and "Process completed with exit code 1." in text
    assert "2026-11-25T" not in text and "\x1b[" not in text  # cleaned like the parser sees it


async def test_binary_garbage_log_and_log_errors_still_alert(fake_github, client, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    garbage = bytes(range(256)) * 2000 + os.urandom(50_000) + b"\x00\xff" * 1000
    payload = fake_github.add_run(105, log=garbage)
    assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    fake_github.fail_logs_with = 500
    payload = fake_github.add_run(106, env="prod", log=b"whatever")
    assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    embed = poster.sent[1]["embeds"][0]
    assert "prod" in embed.title and "could not be read" in embed.description
    for post in poster.sent:
        assert message_problems(post["content"], post["embeds"]) == []


async def test_unreadable_log_alert_does_not_claim_an_attachment(fake_github, client, tmp_path):
    """When GitHub would not serve the log, the alert says so and promises no attached log tail."""
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    fake_github.fail_logs_with = 500
    payload = fake_github.add_run(107, env="prod", log=b"whatever")
    assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    [post] = poster.sent
    description = post["embeds"][0].description
    assert "could not be read" in description and not post["files"]
    assert "attached" not in description and "no error found in the log" not in description.lower()


async def test_huge_log_is_streamed_with_a_cap(fake_github, real_failure, tmp_path):
    noise = "npm http fetch GET 200 https://registry.npmjs.org/some-package 12ms (cache hit)\n" * 60_000  # ~4.7 MB
    fake_github.add_run(107, log=github_log(noise + real_failure.cli_output))
    capped = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake_github.url, retry=0, max_log_bytes=1 << 20)
    full = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake_github.url, retry=0)
    try:
        job = next(j for j in await full.jobs(107, 1) if j.failed)
        reading = await full.job_log(job.id)
        assert reading.failure is not None and reading.failure.sqlstate == "42P07"
        assert reading.bytes_read > 5_000_000 and not reading.truncated
        assert len(reading.tail) <= 200
        cut = await capped.job_log(job.id)
        assert cut.truncated and cut.bytes_read == 1 << 20 and cut.failure is None
    finally:
        capped.close()
        full.close()


async def test_redelivery_and_rerun_edit_the_same_alert(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    first = add_failed_run(fake_github, real_failure, 201)
    assert await relay.handle(first) == "posted"
    assert await relay.handle(first) == "duplicate"  # redelivered
    second = add_failed_run(fake_github, real_failure, 201, attempt=2)
    assert await relay.handle(second) == "edited"
    assert await relay.handle(second) == "duplicate"
    assert len(poster.sent) == 1
    [edit] = poster.edits
    assert edit["ref"] == poster.sent[0]["ref"]
    assert "attempt 2" in fields(edit["embeds"][0])["Run"]


async def test_restart_remembers_alerts(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    path = tmp_path / "ledger.db"
    relay = make_relay(client, path, poster)
    run = add_failed_run(fake_github, real_failure, 301)
    await relay.handle(run)
    relay.ledger.close()
    restarted = make_relay(client, path, poster)  # a new process on the same file
    assert await restarted.handle(run) == "duplicate"
    assert await restarted.handle(add_failed_run(fake_github, real_failure, 301, attempt=2)) == "edited"
    green = RunInfo.from_api(fake_github.add_run(302, conclusion="success", sha="f" * 40))
    assert await restarted.handle(green) == "fixed"
    assert len(poster.sent) == 1 and len(poster.replies) == 1


async def test_webhook_and_loop_racing_post_once(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    run = add_failed_run(fake_github, real_failure, 401)
    queue: asyncio.Queue = asyncio.Queue()
    worker = asyncio.create_task(process_queue(queue, relay))
    try:
        queue.put_nowait(run)
        queue.put_nowait(run)
        outcomes = await asyncio.gather(reconcile(client, relay), relay.handle(run), queue.join())
    finally:
        worker.cancel()
    assert len(poster.sent) == 1
    assert outcomes[1] in ("posted", "duplicate")
    # Two relays (two processes) on one ledger file, racing for a new run.
    other = make_relay(client, tmp_path / "ledger.db", poster)
    run2 = add_failed_run(fake_github, real_failure, 402)
    results = await asyncio.gather(relay.handle(run2), other.handle(run2))
    assert sorted(results) == ["duplicate", "posted"]
    assert len(poster.sent) == 2


async def test_success_marks_fixed_once_and_only_for_its_environment(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    await relay.handle(add_failed_run(fake_github, real_failure, 501))
    prod_green = RunInfo.from_api(fake_github.add_run(502, conclusion="success", env="prod"))
    assert await relay.handle(prod_green) == "green"
    older_green = RunInfo.from_api(fake_github.add_run(500, conclusion="success"))
    assert await relay.handle(older_green) == "green (older than the open alert)"
    green = RunInfo.from_api(
        fake_github.add_run(503, conclusion="success", sha="c0ffee" + "0" * 34, message="fix: idempotent tier table")
    )
    assert await relay.handle(green) == "fixed"
    assert await relay.handle(green) == "duplicate"
    assert await relay.handle(RunInfo.from_api(fake_github.add_run(504, conclusion="success"))) == "green"
    [edit] = poster.edits
    embed = edit["embeds"][0]
    assert embed.title.startswith("✅ Fixed:") and BAD_FILE in embed.title
    assert "`c0ffee0` fix: idempotent tier table" in fields(embed)["Fixed by"]
    [reply] = poster.replies
    assert reply["to"] == poster.sent[0]["ref"] and "fixed by `c0ffee0`" in reply["content"]


async def test_a_successful_rerun_fixes_its_own_failed_attempt(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    await relay.handle(add_failed_run(fake_github, real_failure, 601))
    rerun = RunInfo.from_api(fake_github.add_run(601, 2, conclusion="success"))
    assert await relay.handle(rerun) == "fixed"
    assert len(poster.replies) == 1


async def test_burst_is_rate_limited_and_summarised(fake_github, client, real_failure, tmp_path):
    now = [1_800_000_000.0]
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster, clock=lambda: now[0], max_posts=3)
    runs = [add_failed_run(fake_github, real_failure, 700 + i, env="dev" if i % 2 else "prod") for i in range(20)]
    outcomes = await asyncio.gather(*(relay.handle(r) for r in runs))
    assert outcomes.count("posted") == 3 and outcomes.count("summarised") == 17
    assert len(poster.sent) == 3
    assert await relay.flush_overflow() == 0  # the window is still full
    now[0] += 61  # the window reopens: one summary stands for the 17
    assert await relay.flush_overflow() == 17
    await relay.outbox.drain()
    assert len(poster.sent) == 4
    summary = poster.sent[3]["embeds"][0]
    assert summary.title == "⚠️ 17 more migration run(s) failed"
    assert summary.description.count("• ") == 17 and "42P07" in summary.description
    assert message_problems(None, [summary]) == []
    await relay.close()  # nothing left to fold
    await relay.outbox.drain()
    assert len(poster.sent) == 4


async def test_held_back_alerts_survive_a_restart_and_are_summarised(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster, max_posts=1, per_seconds=3600)
    for i in range(3):
        await relay.handle(add_failed_run(fake_github, real_failure, 750 + i))
    assert len(poster.sent) == 1
    # The process dies: nothing held back lived only in memory.
    relay.ledger.close()
    relay.outbox.store.close()
    restarted = make_relay(client, tmp_path / "ledger.db", poster, max_posts=1, per_seconds=3600)
    await restarted.close()  # shutdown folds what is held
    await restarted.outbox.drain()
    assert len(poster.sent) == 2 and poster.sent[1]["embeds"][0].title.startswith("⚠️ 2 more")


async def test_the_rate_limit_survives_a_restart(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster, max_posts=2)
    for i in range(2):
        await relay.handle(add_failed_run(fake_github, real_failure, 760 + i))
    relay.ledger.close()
    restarted = make_relay(client, tmp_path / "ledger.db", poster, max_posts=2)
    assert await restarted.handle(add_failed_run(fake_github, real_failure, 762)) == "summarised"
    assert len(poster.sent) == 2


async def test_other_workflows_and_preflight_runs_are_ignored(fake_github, client, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    pr = fake_github.run_payload(801, env="pre-flight")
    assert (await relay.handle(RunInfo.from_api(pr))).startswith("ignored")
    other = fake_github.run_payload(802)
    other["path"], other["name"] = ".github/workflows/tests.yml", "Tests"
    assert (await relay.handle(RunInfo.from_api(other))).startswith("ignored")
    cancelled = fake_github.run_payload(803, conclusion="cancelled")
    assert (await relay.handle(RunInfo.from_api(cancelled))).startswith("ignored")
    assert poster.sent == [] and fake_github.requests == []


async def test_reconcile_skips_old_history_and_seen_runs(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    add_failed_run(fake_github, real_failure, 901, minutes_ago=3 * 24 * 60)  # days old: never replayed
    add_failed_run(fake_github, real_failure, 902)
    assert await reconcile(client, relay) == ["posted"]
    assert await reconcile(client, relay) == []
    assert len(poster.sent) == 1


REAL_CASES = {
    # category: (file text, SQLSTATE, line of the failing statement (and of the error, when another),
    #            text the alert must show)
    "syntax_error": (
        "create table if not exists public.rr_syn_ok (id int);\n\n"
        "create table public.rr_syn (\n  id int,\n  name text,,\n);\n",
        "42601",
        "5` · statement 2 of 2, line 3",
        'syntax error at or near ","',
    ),
    "duplicate_key": (
        "create table if not exists public.rr_k (id int primary key);\n"
        "insert into public.rr_k values (1);\n"
        "insert into public.rr_k values (1);\n",
        "23505",
        "3` · statement 3 of 3, line 3",
        "Key (id)=(1) already exists.",
    ),
    "column_missing": (
        "create table if not exists public.rr_c (id int);\n\n"
        "create or replace view public.rr_v as\n  select nope from public.rr_c;\n",
        "42703",
        "4` · statement 2 of 2, line 3",
        'column "nope" does not exist',
    ),
}


@pytest.fixture(scope="session")
def real_outputs(scratch_databases, repo_migrations_dir, tmp_path_factory) -> dict[str, str]:
    """Real CLI output for each case, one scratch database, one bad file at a time."""
    db = scratch_databases()
    outputs = {}
    for category, (text, sqlstate, _, _) in REAL_CASES.items():
        migrations = tmp_path_factory.mktemp(category) / "migrations"
        shutil.copytree(repo_migrations_dir, migrations)
        (migrations / "20991210000000_rr_case.sql").write_text(text)
        result = migration_up(db.url, migrations)
        outputs[category] = result.stdout + result.stderr
        assert f"SQLSTATE {sqlstate}" in outputs[category], outputs[category]
    return outputs


@pytest.mark.parametrize("category", sorted(REAL_CASES))
async def test_real_errors_of_each_kind_reach_the_alert(category, real_outputs, tmp_path):
    text, sqlstate, line, shown = REAL_CASES[category]
    # Served the way GitHub Enterprise Server serves its API (/api/v3).
    fake = await FakeGitHub(prefix="/api/v3").start()
    client = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake.url, retry=0)
    try:
        payload = fake.add_run(1001, log=github_log(real_outputs[category]))
        fake.files[("supabase/migrations/20991210000000_rr_case.sql", payload["head_sha"])] = text
        poster = RecordingPoster()
        relay = make_relay(client, tmp_path / "ledger.db", poster)
        assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    finally:
        client.close()
        await fake.stop()
    [post] = poster.sent
    embed = post["embeds"][0]
    f = fields(embed)
    assert f["Category"] == f"`{category}`"
    assert f"SQLSTATE {sqlstate}" in embed.description and shown in embed.description + f.get("Statement", "") + f.get(
        "Where", ""
    )
    assert f["File"] == f"`20991210000000_rr_case.sql:{line}"
    fix = next(value for name, value in f.items() if name.startswith("Fix") or name == "What to check")
    assert fix and "no known fix" not in fix.lower()
    # The Fix is advice: the error message is in the description, not repeated before it.
    message = embed.description.removeprefix("```\n").split(" (SQLSTATE")[0].removeprefix("ERROR: ")
    assert " ".join(message.split()) not in " ".join(fix.split()) and "SQLSTATE" not in fix
    assert all(r.startswith("GET /api/v3/") for r in fake.requests)
    assert message_problems(post["content"], post["embeds"]) == []


def unknown_message():
    return discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), {"code": 10008, "message": "Unknown"})


class FlakyPoster(RecordingPoster):
    """Discord misbehaving: sends fail while ``down``; edits of and replies to deleted messages fail."""

    def __init__(self):
        super().__init__()
        self.down = False
        self.deleted: set[int] = set()

    async def send(self, channel, **kwargs):
        if self.down:
            raise ConnectionError("Discord unavailable")
        return await super().send(channel, **kwargs)

    async def edit(self, ref, **kwargs):
        if ref.message_id in self.deleted:
            raise unknown_message()
        return await super().edit(ref, **kwargs)

    async def reply(self, ref, **kwargs):
        if ref.message_id in self.deleted:
            raise unknown_message()
        return await super().reply(ref, **kwargs)


async def test_discord_outage_delays_the_alert_and_never_loses_it(fake_github, client, real_failure, tmp_path):
    now = [1_800_000_000.0]
    poster = FlakyPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster, clock=lambda: now[0])
    add_failed_run(fake_github, real_failure, 1101)
    poster.down = True
    assert await reconcile(client, relay) == ["posted"]  # handled: the alert is a durable outbox row
    assert poster.sent == []
    assert await reconcile(client, relay) == []  # done: not handled twice
    poster.down = False
    now[0] += 600  # past the retry backoff
    await relay.outbox.drain()
    assert len(poster.sent) == 1


async def test_reconcile_reads_every_page_of_its_window(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster, max_posts=1000)
    for i in range(250):
        fake_github.add_run(5000 + i, conclusion="success")
    add_failed_run(fake_github, real_failure, 4999, minutes_ago=30)  # the oldest of the window
    fake_github.pages_served = 0
    outcomes = await reconcile(client, relay)
    assert fake_github.pages_served == 3  # 251 runs, 100 a page
    assert outcomes.count("posted") == 1 and len(outcomes) == 251
    assert len(poster.sent) == 1


async def test_a_run_claimed_but_never_finished_is_taken_again_after_its_lease(
    fake_github, client, real_failure, tmp_path
):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    run = add_failed_run(fake_github, real_failure, 1150)
    # A process claimed the run and died before posting anything.
    assert relay.ledger.claim(run.key, environment="dev", conclusion="failure")
    assert await reconcile(client, relay) == ["duplicate"]  # its lease still runs
    relay.ledger.lease_seconds = 0
    assert await reconcile(client, relay) == ["posted"]
    assert await reconcile(client, relay) == []
    assert len(poster.sent) == 1


async def test_deleted_alerts_do_not_wedge_the_relay(fake_github, client, real_failure, tmp_path):
    poster = FlakyPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    await relay.handle(add_failed_run(fake_github, real_failure, 1201))
    poster.deleted.add(poster.sent[0]["ref"].message_id)
    # A re-run whose first alert was deleted gets a fresh alert.
    assert await relay.handle(add_failed_run(fake_github, real_failure, 1201, attempt=2)) == "edited"
    assert len(poster.sent) == 2
    poster.deleted.add(poster.sent[1]["ref"].message_id)
    green = RunInfo.from_api(fake_github.add_run(1202, conclusion="success"))
    assert await relay.handle(green) == "fixed"  # enqueued; the outbox drops the edit and the reply
    assert await relay.handle(green) == "duplicate" and poster.replies == [] and poster.edits == []
    assert await relay.outbox.store.pending_count() == 0  # nothing left retrying forever


async def test_startup_failure_without_jobs_is_alerted(fake_github, client, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    payload = fake_github.run_payload(1301, conclusion="startup_failure")
    fake_github.runs[(1301, 1)] = payload  # GitHub lists no jobs for a run that never started
    assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    embed = poster.sent[0]["embeds"][0]
    assert embed.title == "❌ Supabase Migrations could not start on dev"
    assert "could not start" in embed.description and poster.sent[0]["files"] == []
    assert message_problems(poster.sent[0]["content"], [embed]) == []


async def test_console_shows_the_same_alert(fake_github, client, real_failure, tmp_path):
    import io

    from dragonfly_bot.console.render import Printer
    from dragonfly_bot.console.session import Console
    from tests.fakes.team_guild import team_guild

    out = io.StringIO()
    async with team_guild(tmp_path / "data") as guild:
        console = Console(guild, Printer(out, tmp_path / "files"))
        await console.flush()
        # The relay posts through the real bot's poster into the virtual #alerts; the console prints it.
        relay = make_relay(client, tmp_path / "ledger.db", guild.env.bot.poster)
        await relay.handle(add_failed_run(fake_github, real_failure, 1401))
        await console.flush()
    text = out.getvalue()
    assert "[#alerts]" in text and BAD_FILE in text and "42P07" in text and "relation_exists" in text
    assert DB_PASSWORD not in text and GH_TOKEN not in text


async def test_github_errors_are_one_line_without_the_token(fake_github):
    from dragonfly_bot.adapters.github import GitHubUnavailable

    bad_token = "ghp_" + "WrongWrongWrongWrongWrongWrong0123"
    wrong = GitHubClient(bad_token, REPO, "supabase-migrate.yml", api_url=fake_github.url, retry=0)
    gone = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url="http://127.0.0.1:9", retry=0, timeout=2)
    try:
        with pytest.raises(GitHubUnavailable) as refused:
            await wrong.runs_since(datetime.now(UTC))
        assert str(refused.value) == "GitHub answered 401: Bad credentials"
        with pytest.raises(GitHubUnavailable) as unreachable:
            await gone.runs_since(datetime.now(UTC))
        assert "could not be reached" in str(unreachable.value)
        for text in (str(refused.value), str(unreachable.value)):
            assert "ghp_" not in text and "\n" not in text
    finally:
        wrong.close()
        gone.close()


# --------------------------------------------------------------------------- channel state you can trust


async def test_red_red_green_marks_every_open_alert_fixed(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    assert await relay.handle(add_failed_run(fake_github, real_failure, 1501)) == "posted"
    assert await relay.handle(add_failed_run(fake_github, real_failure, 1502)) == "posted"
    prod_red = add_failed_run(fake_github, real_failure, 1503, env="prod")
    assert await relay.handle(prod_red) == "posted"
    green = RunInfo.from_api(
        fake_github.add_run(1504, conclusion="success", sha="c0ffee" + "0" * 34, message="fix: idempotent tier table")
    )
    assert await relay.handle(green) == "fixed"
    red_a, red_b, _prod = (p["ref"] for p in poster.sent)
    assert sorted(e["ref"].message_id for e in poster.edits) == sorted([red_a.message_id, red_b.message_id])
    for edit in poster.edits:
        embed = edit["embeds"][0]
        assert embed.title.startswith("✅ Fixed:") and BAD_FILE in embed.title
        assert fields(embed)["Fixed by"].startswith("`c0ffee0` fix: idempotent tier table")
        assert edit["files"] is None  # the fixed edit keeps the post's attachments
    # One reply, to the newest alert, saying how many it closed; prod's alert stays open.
    [reply] = poster.replies
    assert reply["to"] == red_b and "2 failure alerts marked fixed" in reply["content"]
    assert relay.ledger.open_alerts(REPO, "dev") == []
    assert [a.run_id for a in relay.ledger.open_alerts(REPO, "prod")] == [1503]
    assert await relay.handle(green) == "duplicate"
    assert await relay.handle(RunInfo.from_api(fake_github.add_run(1505, conclusion="success"))) == "green"
    assert len(poster.edits) == 2 and len(poster.replies) == 1


async def test_a_green_run_fixes_only_the_alerts_older_than_itself(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    await relay.handle(add_failed_run(fake_github, real_failure, 1601))
    await relay.handle(add_failed_run(fake_github, real_failure, 1603))
    # Run 1602 went green between the two red runs, but was delivered after both.
    between = RunInfo.from_api(fake_github.add_run(1602, conclusion="success"))
    assert await relay.handle(between) == "fixed"
    [edit] = poster.edits
    assert edit["ref"] == poster.sent[0]["ref"]
    assert [a.run_id for a in relay.ledger.open_alerts(REPO, "dev")] == [1603]


async def test_a_failure_delivered_after_a_newer_green_run_is_posted_as_superseded(
    fake_github, client, real_failure, tmp_path
):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    green = RunInfo.from_api(
        fake_github.add_run(1702, conclusion="success", sha="beef00" + "0" * 34, message="fix: the tier table")
    )
    assert await relay.handle(green) == "green"
    late = add_failed_run(fake_github, real_failure, 1701)  # an older run, its webhook late
    assert await relay.handle(late) == "posted as superseded"
    [post] = poster.sent
    embed = post["embeds"][0]
    assert embed.title == f"⏭️ Superseded: {BAD_FILE} failed on dev"
    assert embed.colour is not None and embed.colour.value == 0x6A737D
    assert fields(embed)["Already green"].startswith("`beef000` fix: the tier table")
    assert "run 1702" in fields(embed)["Already green"]
    # Nobody is pinged about a failure that is already fixed, and it is never an open alert.
    assert post["content"] is None and post["allowed_mentions"].users is False
    assert relay.ledger.open_alerts(REPO, "dev") == []
    assert await relay.handle(RunInfo.from_api(fake_github.add_run(1703, conclusion="success"))) == "green"
    assert poster.edits == [] and poster.replies == []
    # A failure newer than the green run is an ordinary alert again; a prod failure is not superseded by dev.
    assert await relay.handle(add_failed_run(fake_github, real_failure, 1704)) == "posted"
    assert await relay.handle(add_failed_run(fake_github, real_failure, 1700, env="prod")) == "posted"
    assert [p["embeds"][0].title.startswith("❌") for p in poster.sent[1:]] == [True, True]
    assert poster.sent[1]["content"].startswith(f"<@{DISCORD_ID}>")


async def test_the_newest_green_run_is_remembered_across_a_restart(fake_github, client, real_failure, tmp_path):
    poster = RecordingPoster()
    path = tmp_path / "ledger.db"
    relay = make_relay(client, path, poster)
    await relay.handle(RunInfo.from_api(fake_github.add_run(1802, conclusion="success")))
    await relay.handle(RunInfo.from_api(fake_github.add_run(1800, conclusion="success")))  # older, late: not newest
    relay.ledger.close()
    restarted = make_relay(client, path, poster)
    assert restarted.ledger.newest_green(REPO, "dev").run_id == 1802
    assert await restarted.handle(add_failed_run(fake_github, real_failure, 1801)) == "posted as superseded"


async def test_a_rerun_edit_replaces_the_log_excerpt_and_the_fixed_edit_keeps_it(fake_github, client, tmp_path):
    poster = RecordingPoster()
    relay = make_relay(client, tmp_path / "ledger.db", poster)
    no_error = github_log("npm warn deprecated\n" * 20 + "Killed\n")
    assert await relay.handle(RunInfo.from_api(fake_github.add_run(1901, log=no_error))) == "posted"
    [first] = poster.sent[0]["files"]
    assert first.filename == "migration-run-1901-attempt-1.txt"
    rerun = github_log("npm warn deprecated\n" * 20 + "Killed again on the re-run\n")
    assert await relay.handle(RunInfo.from_api(fake_github.add_run(1901, 2, log=rerun))) == "edited"
    [edit] = poster.edits
    [excerpt] = edit["files"]
    assert excerpt.filename == "migration-run-1901-attempt-2.txt"
    assert "Killed again on the re-run" in excerpt.fp.getvalue().decode()
    green = RunInfo.from_api(fake_github.add_run(1902, conclusion="success"))
    assert await relay.handle(green) == "fixed"
    assert poster.edits[1]["files"] is None  # keeps the excerpt the re-run attached


async def test_a_missing_column_alert_reads_the_folder_and_names_the_later_file_that_creates_it(scratch_db, tmp_path):
    """The alert gives the hint `explain` gives: the column comes from a file that sorts after the view."""
    view, creator = "20991211000002_ro_view.sql", "20991211000003_ro_org.sql"
    files = {
        "20991211000001_ro_table.sql": "create table if not exists public.ro_t (id int);\n",
        view: "create or replace view public.ro_v as select c.org_id from public.ro_t c;\n",
        creator: "alter table public.ro_t add column if not exists org_id bigint;\n",
    }
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    result = migration_up(scratch_db.url, folder)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "SQLSTATE 42703" in output, output
    fake = await FakeGitHub().start()
    client = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake.url, retry=0)
    try:
        payload = fake.add_run(1201, log=github_log(output))
        sha = payload["head_sha"]
        fake.files[(f"supabase/migrations/{view}", sha)] = files[view]
        fake.commits[sha] = {f"supabase/migrations/{name}": text for name, text in files.items()}
        poster = RecordingPoster()
        relay = make_relay(client, tmp_path / "ledger.db", poster)
        assert await relay.handle(RunInfo.from_api(payload)) == "posted"
    finally:
        client.close()
        await fake.stop()
    text = everything_posted(poster)
    assert f"Order: {creator} line 1 creates column org_id of public.ro_t" in " ".join(text.split()), text
    assert len(fake.api_requests("tarball")) == 1  # the folder in one archive download
