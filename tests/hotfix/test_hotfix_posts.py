"""What the hotfix feature posts, through the real outbox, on real PostgreSQL: escalation, truthful edits,
the timeline, and announcements a crash would have lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import discord
import pytest

from dragonfly_bot.adapters.state.outbox import SqliteOutbox
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import HotfixState
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.hotfix.render_discord import show_embed
from tests.fakes.helpers import RecordingPoster, embed_text
from tests.fakes.hotfix_support import DEV, LEAD, LEAD2, T0, Clock, make_service

LEAD_ROLE, BACKUP_ROLE = 9000, 9100


def about(poster: RecordingPoster, code: str) -> list[dict]:
    """Thread messages about ``code`` (the module's database is shared with other tests)."""
    return [r for r in poster.replies if code in (r["embeds"][0].title or "")]


async def test_approval_pings_escalate_on_the_clock_in_order_once_each(migrated_db, tmp_path):
    clock = Clock(T0 - timedelta(days=30))
    poster = RecordingPoster()
    options = {"backup_role_id": BACKUP_ROLE, "approval_ping_minutes": 15, "approval_escalate_minutes": 60}
    service = make_service(migrated_db.url, tmp_path, poster, clock=clock, **options)
    hotfix = (await service.declare(DEV, "prod", "payments stuck, kill the lock", "select 1;")).hotfix
    start = clock.now
    for minutes in (1, 14, 15, 16, 29, 30, 31, 44, 45, 59, 60, 61, 74, 75):
        clock.now = start + timedelta(minutes=minutes)
        await service.send_approval_pings()
    pings = about(poster, hotfix.code)
    assert [p["content"].split("(reminder ")[1][:1] for p in pings] == ["1", "2", "3", "4", "5"]
    assert [sorted(r.id for r in p["allowed_mentions"].roles) for p in pings] == [
        [LEAD_ROLE],
        [LEAD_ROLE],
        [LEAD_ROLE],
        [LEAD_ROLE, BACKUP_ROLE],
        [LEAD_ROLE, BACKUP_ROLE],
    ]
    assert pings[0]["content"].startswith(f"<@&{LEAD_ROLE}>: prod hotfix {hotfix.code} has waited 15m")
    assert pings[3]["content"].startswith(f"<@&{LEAD_ROLE}> <@&{BACKUP_ROLE}>:") and "Escalated" in pings[3]["content"]
    assert all(p["allowed_mentions"].everyone is False and p["allowed_mentions"].users is False for p in pings)

    restarted = make_service(migrated_db.url, tmp_path, poster, clock=clock, **options)
    assert await restarted.send_approval_pings() == 0  # ping 5 again: its key is taken
    await restarted.approve(LEAD2, hotfix.code)
    clock.advance(minutes=30)
    await restarted.send_approval_pings()
    assert len(about(poster, hotfix.code)) == 5 + 1  # the approval's update, no more pings


async def test_posts_tell_the_truth_about_environment_and_state(migrated_db, tmp_path):
    poster = RecordingPoster()
    service = make_service(migrated_db.url, tmp_path, poster)
    prod = (await service.declare(DEV, "prod", "prod lock", "select 1;")).hotfix
    dev = (await service.declare(DEV, "dev", "dev index", "select 1;")).hotfix
    prod_post, dev_post = poster.posts_to("alerts")[-2:]
    prod_text, dev_text = embed_text(prod_post["embeds"][0]), embed_text(dev_post["embeds"][0])
    assert "Notify the DevOps lead before touching prod" in prod_text and "for dev only" not in prod_text
    assert "for dev only" in dev_text and "Notify the DevOps lead" not in dev_text
    assert prod_post["embeds"][0].title == f"🚨 Hotfix {prod.code} in prod: awaiting approval"
    assert dev_post["embeds"][0].title == f"🚨 Hotfix {dev.code} declared in dev"

    await service.approve(LEAD, prod.code)  # by command, not the button
    edit = next(e for e in reversed(poster.edits) if e["ref"] == prod_post["ref"])
    assert edit["buttons"] == [] and edit["content"] is None
    assert edit["embeds"][0].title == f"Hotfix {prod.code} in prod: approved"
    text = embed_text(edit["embeds"][0])
    fields = {f.name: f.value for f in edit["embeds"][0].fields}
    assert "approval needed" not in text and fields["Approved by"] == "lee" and "Prod: approval needed" not in fields

    await service.link(DEV, dev.code, "20251209000000_migration_status_view.sql")
    edit = next(e for e in reversed(poster.edits) if e["ref"] == dev_post["ref"])
    assert edit["embeds"][0].title == f"Hotfix {dev.code} in dev: migration_linked"  # no longer "declared"


async def test_timeline_notes_runs_and_follow_ups(migrated_db, tmp_path):
    clock = Clock(T0 + timedelta(days=3))
    poster = RecordingPoster()
    service = make_service(migrated_db.url, tmp_path, poster, clock=clock)
    declared = await service.declare(
        DEV,
        "dev",
        "flag flipped",
        "update settings set on = false;",
        rollback="update settings set on = true;",
        impact="checkout for EU users",
    )
    hotfix = declared.hotfix
    assert "checkout for EU users" in embed_text(poster.posts_to("alerts")[-1]["embeds"][0])
    await service.note(DEV, hotfix.code, "root cause: a bad deploy flipped it")
    _, at = await service.ran(DEV, hotfix.code, "30m ago")
    assert at == clock.now - timedelta(minutes=30)
    _, item = await service.followup(DEV, hotfix.code, "add a test for the flag", "111", "dana", "2026-11-29")
    for bad, expected in (
        (service.ran(DEV, hotfix.code, "tomorrow"), "is not a time"),
        (service.ran(DEV, hotfix.code, "2099-01-01 10:00"), "in the future"),
        (service.followup(DEV, hotfix.code, "x", "1", "a", "2020-01-01"), "in the past"),
        (service.followup(DEV, hotfix.code, "x", "1", "a", "29/11/2026"), "YYYY-MM-DD"),
        (service.note(DEV, hotfix.code, "   "), "empty"),
    ):
        with pytest.raises(UserFacingError, match=expected):
            await bad
    titles = [r["embeds"][0].title for r in about(poster, hotfix.code)]
    assert titles == [
        f"📝 {hotfix.code}: note by dana",
        f"▶️ {hotfix.code}: SQL run in Studio",
        f"📌 {hotfix.code}: follow-up for dana, due 2026-11-29",
    ]

    stored, events = await service.show(hotfix.code)
    text = embed_text(show_embed(stored, events, clock()))
    assert "root cause: a bad deploy" in text and "SQL run in Studio" in text and "by dana at" in text
    assert "add a test for the flag (owner dana, due 2026-11-29)" in text
    assert "checkout for EU users" in text and "update settings set on = true" in text
    _, markdown = await service.export("markdown")
    assert "- [ ] add a test for the flag (owner dana, due 2026-11-29)" in markdown
    assert "- SQL run in Studio by dana at" in markdown and "- Impact: checkout for EU users" in markdown
    _, csv_text = await service.export("csv")
    assert "add a test for the flag (owner dana, due 2026-11-29)" in csv_text

    clock.advance(days=2)  # past the due date: reminded once, owner pinged
    assert await service.remind_overdue_followups() >= 1
    restarted = make_service(migrated_db.url, tmp_path, poster, clock=clock)
    assert await restarted.remind_overdue_followups() == 0
    overdue = [r for r in about(poster, hotfix.code) if "overdue" in r["embeds"][0].title]
    assert len(overdue) == 1 and [u.id for u in overdue[0]["allowed_mentions"].users] == [111]
    assert item.id  # the follow-up's own id keys its reminder


async def test_a_declaration_stored_but_never_posted_is_announced_by_the_next_tick(migrated_db, tmp_path):
    clock = Clock()
    poster = RecordingPoster()
    service = make_service(migrated_db.url, tmp_path, poster, clock=clock)
    # A process stored this one and was killed before it queued any post.
    new = rules.declare(LEAD, "prod", "stored then killed", None, now=clock(), reminder_hours=4)
    stored = await service.store.declare(new)
    for _ in range(2):
        await service.tick()
    [post] = [p for p in poster.posts_to("alerts") if stored.code in (p["embeds"][0].title or "")]
    assert post["content"].startswith(f"<@&{LEAD_ROLE}>: prod hotfix {stored.code} needs your approval")
    assert [b.custom_id for b in post["view"].children] == [f"hotfix:approve:{stored.code}"]
    assert (await service.get(stored.code)).alert_message_id == post["ref"].message_id
    assert (await service.get(stored.code)).state is HotfixState.AWAITING_APPROVAL


@dataclass
class Wall:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class DiscordDown(RecordingPoster):
    """Answers 503 to everything while ``down`` (after discord.py's own retries, as the outbox sees it)."""

    down: bool = True

    def _check(self) -> None:
        if self.down:
            raise discord.DiscordServerError(SimpleNamespace(status=503, reason="down"), {"code": 0, "message": "down"})

    async def send(self, *args, **kwargs):
        self._check()
        return await super().send(*args, **kwargs)

    async def edit_post(self, *args, **kwargs):
        self._check()
        return await super().edit_post(*args, **kwargs)


async def test_a_journal_replayed_while_discord_is_down_is_announced_once_discord_is_back(migrated_db, tmp_path):
    wall, poster = Wall(), DiscordDown()
    outbox = Outbox(SqliteOutbox(tmp_path / "outbox.sqlite3", clock=wall), poster, clock=wall)
    service = make_service(migrated_db.url, tmp_path, poster, outbox=outbox)
    real = service.store
    service.store = PostgresHotfixStore("postgresql://postgres@127.0.0.1:1/postgres")
    declared = await service.declare(DEV, "prod", "store and Discord both down", None)
    assert declared.journaled and declared.posted  # queued, not yet sent
    await outbox.drain()  # Discord answers 503: kept for a retry
    service.store = real
    assert (await service.tick()).replayed == 1  # stored now; its post is still waiting for Discord
    wall.now += 30
    await outbox.drain()
    assert poster.sent == []  # nothing got through; the post and its edit to the code wait

    poster.down = False
    wall.now += 600
    await outbox.drain()
    [post] = [p for p in poster.posts_to("alerts") if p["embeds"][0].description == "store and Discord both down"]
    assert post["content"].startswith(f"<@&{LEAD_ROLE}>: a prod hotfix (code pending) needs your approval")
    [edit] = [e for e in poster.edits if e["ref"] == post["ref"]]
    [stored] = [h for h in await service.list() if h.id == declared.declaration.id]
    assert (
        edit["ref"] == post["ref"] and edit["embeds"][0].title == f"🚨 Hotfix {stored.code} in prod: awaiting approval"
    )
    assert [b.custom_id for b in edit["buttons"]] == [f"hotfix:approve:{stored.code}"]
    await service.tick()
    await outbox.drain()
    assert [p for p in poster.posts_to("alerts") if p["embeds"][0].description == post["embeds"][0].description] == [
        post
    ]
    assert len([e for e in poster.edits if e["ref"] == post["ref"]]) == 1
