"""kill -9 of a relay process at chosen points of a 40-run burst, then a restart: every run alerted exactly once.

The relay runs in a subprocess (tests/fakes/outbox_kill_driver.py) on the real
discord.py HTTP path against a local Discord (tests/fakes/discord_fake.py) and the
local GitHub, both on loopback in this process. The burst is 40 failed runs:
5 a window are alerted one by one (the rate limit), the others held and
folded into summary posts (how many of each depends on the machine's speed).
A run is "alerted" when its number appears in exactly one Discord message.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import pytest
from aiohttp import ClientSession

from tests.fakes.discord_fake import FakeDiscord, run_killable
from tests.fakes.github_fake import FakeGitHub, github_log, signed_headers
from tests.fakes.outbox_kill_driver import WEBHOOK_SECRET

RUNS = list(range(3001, 3041))
CLI_OUTPUT = (
    "Applying migration 20991209000003_grants.sql...\n"
    "ERROR: permission denied for table customers (SQLSTATE 42501)\n"
    "At statement: 0\n"
    "select * from public.customers\n"
)
RUN_NUMBER = re.compile(r"\brun (\d+)\b")
PROCESS_TIMEOUT = 120


async def run_driver(data_dir, discord: FakeDiscord, github: FakeGitHub, *extra: str) -> int:
    return await run_killable(
        "tests.fakes.outbox_kill_driver",
        discord,
        str(data_dir),
        discord.url,
        github.url,
        "--runs",
        ",".join(map(str, RUNS)),
        *extra,
        timeout=PROCESS_TIMEOUT,
    )


@pytest.fixture
async def burst():
    github = await FakeGitHub().start()
    for run_id in RUNS:
        github.add_run(run_id, log=github_log(CLI_OUTPUT))
    yield github
    await github.stop()


def alerted(discord: FakeDiscord) -> Counter:
    counts: Counter = Counter()
    for text in discord.texts():
        counts.update(int(n) for n in set(RUN_NUMBER.findall(text)))
    return counts


# (where the first process dies, fake Discord faults, nonce window: Discord's, and the bot's belief of it).
# A nonce window of 0 makes every retry look past the window: the post is looked for in the history.
SCENARIOS = {
    "killed before a send": (["--kill", "before-send:3"], {}, 120.0),
    "killed before a send, nonce window passed": (["--kill", "before-send:3"], {}, 0.0),
    "killed after a send, before it is marked": (["--kill", "after-send:4"], {}, 120.0),
    "killed after a send, nonce window passed": (["--kill", "after-send:4"], {}, 0.0),
    "killed in the middle of a send (Discord got it)": ([], {"kill_on": {3}, "fail_with": {3: 500}}, 120.0),
    "killed while waiting out a 429": ([], {"fail_with": {2: 429}, "kill_after_429": {2}}, 120.0),
    "a Discord 500 after creating the message": ([], {"fail_with": {2: 500, 5: 502}}, 120.0),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_kill_9_at_any_point_then_restart_alerts_every_run_exactly_once(scenario, burst, tmp_path):
    kill, faults, nonce_window = SCENARIOS[scenario]
    discord = await FakeDiscord(nonce_window=nonce_window, **faults).start()
    window = ["--nonce-window", str(nonce_window)]
    try:
        first = await run_driver(tmp_path, discord, burst, *kill, *window)
        killed = bool(faults.get("kill_on") or faults.get("kill_after_429") or kill)
        assert first == (-9 if killed else 0)
        if killed:
            assert await run_driver(tmp_path, discord, burst, *window) == 0  # the restart, no faults left to hit
        counts = alerted(discord)
        assert sorted(counts) == RUNS, f"never alerted: {sorted(set(RUNS) - set(counts))}"
        assert [run for run, n in counts.items() if n != 1] == []
        assert all(RUN_NUMBER.search(t) for t in discord.texts())  # no stray message either
    finally:
        await discord.stop()


async def test_kill_9_with_the_outbox_in_the_database(burst, tmp_path, migrated_db):
    """The production store (the migration's functions, as service_role): a kill after a send, then a restart."""
    discord = await FakeDiscord().start()
    database = ["--db-url", migrated_db.url]
    try:
        assert await run_driver(tmp_path, discord, burst, "--kill", "after-send:3", *database) == -9
        assert await run_driver(tmp_path, discord, burst, *database) == 0
        counts = alerted(discord)
        assert sorted(counts) == RUNS and set(counts.values()) == {1}
    finally:
        await discord.stop()


@pytest.mark.parametrize("kill", ["before-read:1", "after-send:4"])
async def test_kill_9_after_acknowledging_webhook_deliveries_then_restart_alerts_every_run_exactly_once(
    kill, burst, tmp_path
):
    """The 40 runs come as signed deliveries, all answered 202; the process dies before reading them
    (or part-way through relaying them); the restart's reconciliation pass relays what was lost."""
    discord = await FakeDiscord().start()
    port_file = tmp_path / "webhook.port"
    try:
        first = asyncio.create_task(run_driver(tmp_path, discord, burst, "--webhook", str(port_file), "--kill", kill))
        for _ in range(600):
            if port_file.exists() and port_file.read_text():
                break
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{int(port_file.read_text())}/github/webhook"

        async def deliver(session: ClientSession, run_id: int) -> int:
            run = burst.runs[(run_id, 1)]
            body = json.dumps({"action": "completed", "workflow_run": run, "repository": run["repository"]}).encode()
            headers = signed_headers(WEBHOOK_SECRET, body, "workflow_run", f"delivery-{run_id}")
            async with session.post(url, data=body, headers=headers) as resp:
                return resp.status

        async with ClientSession() as session:
            statuses = await asyncio.gather(*(deliver(session, run_id) for run_id in RUNS))
        assert statuses == [202] * len(RUNS)  # every one acknowledged to "GitHub"
        assert await first == -9
        if kill.startswith("before-read"):
            assert alerted(discord) == Counter()  # nothing relayed before the kill
        assert await run_driver(tmp_path, discord, burst) == 0  # the restart: the reconciliation loop
        counts = alerted(discord)
        assert sorted(counts) == RUNS, f"never alerted: {sorted(set(RUNS) - set(counts))}"
        assert [run for run, n in counts.items() if n != 1] == []
    finally:
        await discord.stop()
