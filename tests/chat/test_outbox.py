"""The durable outbox: written before sent, leased, idempotent, ordered edits, unknown outcomes resolved."""

from __future__ import annotations

import asyncio
import sqlite3
from types import SimpleNamespace

import discord
import pytest

from dragonfly_bot.adapters.state.files import StateProblems
from dragonfly_bot.adapters.state.outbox import SqliteOutbox, nonce_for
from dragonfly_bot.chat.outbox_message import card, post
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.chat.poster import fingerprint
from tests.fakes.helpers import RecordingPoster


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def http_error(status: int, cls=discord.HTTPException):
    return cls(SimpleNamespace(status=status, reason="test"), {"code": 0, "message": f"status {status}"})


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = SqliteOutbox(tmp_path / "outbox.sqlite3", clock=clock, problems=StateProblems())
    yield s
    s.close()


def outbox_for(store, poster, clock, **kw) -> Outbox:
    return Outbox(store, poster, clock=clock, lease_seconds=60, nonce_window=120, **kw)


ALERT = post(content="hello", embeds=[card(title="❌ run failed", fields=[("Environment", "dev", True)])])


async def test_a_post_is_a_row_before_it_is_sent_and_marked_sent_with_its_message_id(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    assert await outbox.enqueue("ci-alert:1", "alerts", ALERT) is True
    row = await store.get("ci-alert:1")
    assert row is not None and row.state == "pending" and row.ref is None and poster.sent == []

    await outbox.drain()

    row = await store.get("ci-alert:1")
    assert row.state == "sent"
    assert row.ref == poster.sent[0]["ref"] and await outbox.ref("ci-alert:1") == row.ref
    sent = poster.sent[0]
    assert sent["content"] == "hello" and sent["embeds"][0].title == "❌ run failed"
    assert sent["nonce"] == nonce_for("ci-alert:1") and len(sent["nonce"]) <= 25


async def test_the_same_key_twice_is_one_post(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    assert await outbox.enqueue("k", "alerts", ALERT)
    await outbox.drain()
    assert await outbox.enqueue("k", "alerts", post(content="again")) is False
    await outbox.drain()
    assert len(poster.sent) == 1


async def test_edits_wait_for_their_message_and_land_in_order(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("post", "alerts", ALERT)
    await outbox.enqueue("edit-1", "alerts", post(content="first edit"), edit_of="post")
    await outbox.enqueue("edit-2", "alerts", post(content="second edit"), edit_of="post")
    [claimed] = await store.claim(lease_seconds=60)
    assert claimed.key == "post" and await store.claim(lease_seconds=60) == []  # nothing to edit before it is sent
    clock.now += 61
    await outbox.drain()
    target = poster.sent[0]["ref"]
    assert [e["content"] for e in poster.edits] == ["first edit", "second edit"]
    assert all(e["ref"] == target for e in poster.edits)
    assert await outbox.ref("edit-2") == target


async def test_a_later_edit_never_overtakes_an_earlier_one_that_is_retrying(store, clock):
    class EditFailsOnce(RecordingPoster):
        failed = False

        async def edit(self, ref, **kw):
            if not self.failed:
                self.failed = True
                raise http_error(503, discord.DiscordServerError)
            await super().edit(ref, **kw)

    poster = EditFailsOnce()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("post", "alerts", ALERT)
    await outbox.drain()
    await outbox.enqueue("edit-1", "alerts", post(content="one"), edit_of="post")
    await outbox.enqueue("edit-2", "alerts", post(content="two"), edit_of="post")
    await outbox.drain()
    assert poster.edits == []  # edit-1 waits for its backoff; edit-2 waits behind it
    clock.now += 600
    await outbox.drain()
    assert [e["content"] for e in poster.edits] == ["one", "two"]


async def test_a_claim_never_finished_is_taken_again_when_its_lease_runs_out(store, clock):
    await store.enqueue("k", "alerts", ALERT)
    first = await store.claim(lease_seconds=60)
    assert [r.key for r in first] == ["k"]
    assert await store.claim(lease_seconds=60) == []  # leased
    clock.now += 61
    again = await store.claim(lease_seconds=60)
    assert [r.key for r in again] == ["k"] and again[0].lease_token != first[0].lease_token
    # The first holder lost its lease: it must not start a send any more.
    assert await store.mark_attempted("k", first[0].lease_token) is False
    assert await store.mark_attempted("k", again[0].lease_token) is True


async def test_a_send_with_an_unknown_outcome_is_not_posted_twice_within_the_nonce_window(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("k", "alerts", ALERT)

    def die_after_send(point, row):
        if point == "after-send":
            raise SystemExit("killed between the send and the mark")

    outbox.on_step = die_after_send
    with pytest.raises(SystemExit):
        await outbox.drain()
    assert len(poster.sent) == 1 and (await store.get("k")).state == "pending"

    outbox.on_step = None
    clock.now += 61  # the lease ran out; still within Discord's nonce window
    await outbox.drain()
    assert len(poster.sent) == 1  # the same nonce gave back the first message
    assert (await store.get("k")).ref == poster.sent[0]["ref"]


async def test_past_the_nonce_window_the_message_is_looked_for_before_posting_again(store, clock):
    class ForgetfulDiscord(RecordingPoster):
        """The nonce window has passed: Discord no longer dedupes, the history still has the post."""

        lookups = 0

        async def send(self, channel, **kw):
            kw["nonce"] = None
            return await super().send(channel, **kw)

        async def find_sent(self, channel, *, nonce, since, content, embeds=()):
            self.lookups += 1
            for s in self.sent:
                if s["channel"] == channel and fingerprint(s["content"], s["embeds"]) == fingerprint(content, embeds):
                    return s["ref"]
            return None

    poster = ForgetfulDiscord()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("k", "alerts", ALERT)
    outbox.on_step = lambda point, row: (_ for _ in ()).throw(SystemExit()) if point == "after-send" else None
    with pytest.raises(SystemExit):
        await outbox.drain()
    outbox.on_step = None
    clock.now += 3600
    await outbox.drain()
    assert poster.lookups == 1 and len(poster.sent) == 1
    assert (await store.get("k")).state == "sent"

    # And a send that really never happened is posted after the look-up finds nothing.
    await outbox.enqueue("k2", "alerts", post(content="other"))
    outbox.on_step = lambda point, row: (_ for _ in ()).throw(SystemExit()) if point == "before-send" else None
    with pytest.raises(SystemExit):
        await outbox.drain()
    outbox.on_step = None
    clock.now += 3600
    await outbox.drain()
    assert poster.lookups == 2 and [s["content"] for s in poster.sent] == ["hello", "other"]


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retried_with_backoff(store, clock, status):
    class Down(RecordingPoster):
        failures = 2

        async def send(self, channel, **kw):
            if self.failures:
                self.failures -= 1
                raise http_error(status, discord.DiscordServerError if status >= 500 else discord.HTTPException)
            return await super().send(channel, **kw)

    poster = Down()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("k", "alerts", ALERT)
    await outbox.drain()
    row = await store.get("k")
    assert row.state == "pending" and row.attempts == 1 and str(status) in row.last_error
    await outbox.drain()
    assert poster.sent == []  # backing off
    for _ in range(2):
        clock.now += 600
        await outbox.drain()
    assert len(poster.sent) == 1 and (await store.get("k")).state == "sent"


async def test_a_refused_message_is_given_up_at_once_and_the_queue_goes_on(store, clock):
    class Refuses(RecordingPoster):
        async def send(self, channel, **kw):
            if kw.get("content") == "bad":
                raise http_error(400)
            return await super().send(channel, **kw)

    poster = Refuses()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("bad", "alerts", post(content="bad"))
    await outbox.enqueue("good", "alerts", post(content="good"))
    await outbox.drain()
    assert (await store.get("bad")).state == "dead" and "400" in (await store.get("bad")).last_error
    assert [s["content"] for s in poster.sent] == ["good"]


async def test_an_edit_of_a_deleted_message_is_dropped_or_posted_anew(store, clock):
    class Deleted(RecordingPoster):
        async def edit(self, ref, **kw):
            raise http_error(404, discord.NotFound)

    poster = Deleted()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("post", "alerts", ALERT)
    await outbox.drain()
    await outbox.enqueue("drop-me", "alerts", post(content="edit"), edit_of="post")
    await outbox.enqueue("resend-me", "alerts", post(content="attempt 2"), edit_of="post", if_gone="send")
    await outbox.drain()
    assert (await store.get("drop-me")).state == "dead"
    assert [s["content"] for s in poster.sent] == ["hello", "attempt 2"]
    assert (await store.get("resend-me")).ref == poster.sent[1]["ref"]


async def test_replies_go_to_the_message_of_their_target(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("post", "alerts", post(content="red", thread_name="run 1"))
    await outbox.enqueue("reply", "alerts", post(content="green again"), reply_to="post")
    await outbox.drain()
    assert poster.sent[0]["thread_name"] == "run 1"
    assert poster.replies[0]["to"] == poster.sent[0]["ref"] and poster.replies[0]["content"] == "green again"


async def test_mentions_are_exactly_the_listed_ids(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("k", "alerts", post(content="<@7> <@&9> @everyone", mention_users=[7], mention_roles=[9]))
    await outbox.enqueue("quiet", "alerts", post(content="<@7>"))
    await outbox.drain()
    loud, quiet = (s["allowed_mentions"] for s in poster.sent)
    assert [u.id for u in loud.users] == [7] and [r.id for r in loud.roles] == [9] and loud.everyone is False
    assert quiet.users is False and quiet.roles is False and quiet.everyone is False


async def test_held_rows_are_never_sent_alone_and_fold_into_one_summary(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    for n in range(3):
        await outbox.enqueue(f"alert-{n}", "alerts", post(content=f"alert {n}"), tag="burst", held=True)
    await outbox.drain()
    assert poster.sent == []
    assert [r.key for r in await store.held("burst")] == ["alert-0", "alert-1", "alert-2"]

    folded = await store.fold("burst", "summary-1", "alerts", lambda rows: post(content=f"{len(rows)} more"))
    assert len(folded) == 3 and await store.held("burst") == []
    assert await store.fold("burst", "summary-2", "alerts", lambda rows: post(content="never")) == []
    await outbox.drain()
    assert [s["content"] for s in poster.sent] == ["3 more"]
    assert (await store.get("alert-0")).state == "folded"


async def test_count_since_is_a_rate_limit_that_survives_a_restart(tmp_path, clock):
    path = tmp_path / "outbox.sqlite3"
    first = SqliteOutbox(path, clock=clock, problems=StateProblems())
    await first.enqueue("a", "alerts", ALERT, tag="ci-alert")
    await first.enqueue("b", "alerts", ALERT, tag="ci-alert", held=True)
    first.close()
    clock.now += 10
    second = SqliteOutbox(path, clock=clock, problems=StateProblems())
    assert await second.count_since("ci-alert", clock.now - 60) == 1
    assert await second.count_since("ci-alert", clock.now - 5) == 0
    second.close()


async def test_the_loop_survives_a_store_error_and_delivers_later(store, clock):
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock, poll_seconds=0.01)
    real_claim = store.claim
    calls = []

    async def flaky_claim(**kw):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return await real_claim(**kw)

    store.claim = flaky_claim
    await outbox.enqueue("k", "alerts", ALERT)
    outbox.start()
    try:
        for _ in range(200):
            if poster.sent:
                break
            await asyncio.sleep(0.01)
    finally:
        await outbox.close()
    assert len(poster.sent) == 1 and len(calls) >= 2


def test_a_corrupted_outbox_is_moved_aside_reported_and_replaced(tmp_path, clock):
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    problems = StateProblems()
    store = SqliteOutbox(path, clock=clock, problems=problems)
    try:
        [problem] = problems.items()
        assert problem.what == "outbox" and problem.path == str(path)
        assert problem.moved_to and (tmp_path / problem.moved_to.rsplit("/", 1)[-1]).read_bytes().startswith(b"this")
        assert "fresh" in problem.line
    finally:
        store.close()
    reopened = SqliteOutbox(path, clock=clock, problems=problems)
    reopened.close()
    assert len(problems.items()) == 1  # the fresh file is sound


async def test_an_outgoing_message_goes_through_the_outbox_whole(store, clock):
    from dragonfly_bot.chat.message import Attachment, Button, Card, CardField, OutgoingMessage, Pings

    message = OutgoingMessage(
        content="<@&9> prod hotfix HF-0001 needs your approval",
        cards=(Card(title="🚨 HF-0001", colour=0xD73A49, fields=(CardField("Environment", "prod", True),)),),
        attachments=(Attachment.text("hf-0001.sql", "select 1;\n"),),
        buttons=(Button("Approve", custom_id="hotfix:approve:HF-0001", style="success"),),
        pings=Pings(roles=(9,)),
    )
    poster = RecordingPoster()
    outbox = outbox_for(store, poster, clock)
    await outbox.enqueue("hotfix-declared:1", "alerts", message, thread_name="HF-0001 reindex")
    await outbox.drain()
    [sent] = poster.sent
    assert sent["content"] == message.content and sent["thread_name"] == "HF-0001 reindex"
    assert sent["embeds"][0].title == "🚨 HF-0001" and sent["embeds"][0].fields[0].value == "prod"
    assert sent["files"][0].filename == "hf-0001.sql" and sent["files"][0].fp.read() == b"select 1;\n"
    assert [c.custom_id for c in sent["view"].children] == ["hotfix:approve:HF-0001"]
    assert [r.id for r in sent["allowed_mentions"].roles] == [9] and not sent["allowed_mentions"].users
