"""kill -9 of a hotfix process at each step of a prod declaration's posting, then a restart: one post.

The service runs in a subprocess (tests/fakes/hotfix_kill_driver.py) on the real
discord.py HTTP path against a local Discord (tests/fakes/discord_fake.py), with
the real store on PostgreSQL. The first process declares and dies (or meets a
Discord fault); a second one starts on the same data folder and database; a
third approves. Afterwards the declaration has exactly one #alerts post, with
the lead ping, edited to "approved" with its Approve button gone, and exactly
one "approved" update.
"""

from __future__ import annotations

import uuid

import pytest

from tests.fakes.discord_fake import FakeDiscord, run_killable
from tests.fakes.hotfix_kill_driver import LEAD_ROLE

PROCESS_TIMEOUT = 90

# (how the first process ends, fake Discord faults)
SCENARIOS = {
    "killed after the store took it, before any post was queued": (["--kill", "after-store:1"], {}),
    "killed before the send": (["--kill", "before-send:1"], {}),
    "killed after the send, before it was marked sent": (["--kill", "after-send:1"], {}),
    "killed right after it was marked sent": (["--kill", "after-mark:1"], {}),
    "killed during Discord's create request": ([], {"kill_on": {1}}),
    "Discord created it, then answered 500": ([], {"fail_with": {1: 500}}),
    "Discord answered 429": ([], {"fail_with": {1: 429}}),
}


async def run_driver(data_dir, discord: FakeDiscord, db_url: str, summary: str, *extra: str) -> int:
    return await run_killable(
        "tests.fakes.hotfix_kill_driver",
        discord,
        str(data_dir),
        discord.url,
        db_url,
        "--summary",
        summary,
        *extra,
        timeout=PROCESS_TIMEOUT,
    )


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_a_prod_declaration_is_posted_exactly_once(scenario, migrated_db, tmp_path):
    extra, faults = SCENARIOS[scenario]
    discord = await FakeDiscord(**faults).start()
    summary = f"stuck lock {uuid.uuid4().hex[:8]}"  # the module's database is shared: ours by its summary
    try:
        first = await run_driver(tmp_path, discord, migrated_db.url, summary, "--declare", *extra)
        assert first == (-9 if "killed" in scenario else 0)
        assert await run_driver(tmp_path, discord, migrated_db.url, summary) == 0  # the restart
        posts = [m for m in discord.messages.values() if summary in str(m["embeds"])]
        assert len(posts) == 1, [m["embeds"][0].get("title") for m in posts]
        [post] = posts
        assert post["content"].startswith(f"<@&{LEAD_ROLE}>: prod hotfix HF-")
        code = post["embeds"][0]["title"].split()[2]
        assert [c["custom_id"] for row in post["components"] for c in row["components"]] == [f"hotfix:approve:{code}"]

        assert await run_driver(tmp_path, discord, migrated_db.url, summary, "--approve") == 0
        assert post["embeds"][0]["title"] == f"Hotfix {code} in prod: approved"
        assert post["components"] == [] and "needs your approval" not in (post["content"] or "")
        approved = [
            m
            for m in discord.messages.values()
            if m["embeds"] and m["embeds"][0].get("title") == f"✅ {code} approved by lou"
        ]
        assert len(approved) == 1
        assert [m for m in discord.messages.values() if summary in str(m["embeds"])] == [post]
    finally:
        await discord.stop()
