"""The local declaration journal: durable appends, pending/done, torn lines, compaction; and render limits."""

from __future__ import annotations

import os
from datetime import timedelta

from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import Hotfix
from dragonfly_bot.hotfix.render_discord import alert_embed, list_embeds, show_embed
from tests.fakes.hotfix_support import DEV, T0


def declaration(summary: str = "x", sql: str | None = None):
    return rules.declare(DEV, "dev", summary, sql, now=T0, reminder_hours=4)


async def test_record_fsyncs_the_file_and_the_new_folder(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def watching_fsync(fd):
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    journal = HotfixJournal(tmp_path / "new-folder")
    await journal.record(declaration())
    assert synced == ["file", "dir"]  # the new file's directory entry is durable too
    await journal.record(declaration())
    assert synced == ["file", "dir", "file"]


async def test_pending_done_torn_line_and_compaction(tmp_path):
    journal = HotfixJournal(tmp_path)
    first, second = declaration("first", "select 1;"), declaration("second")
    await journal.record(first)
    await journal.record(second)
    await journal.record(first)  # a repeated record of the same id is one declaration
    with open(journal.path, "a", encoding="utf-8") as fh:
        fh.write('{"op":"declare","id":"to')  # a crash in the middle of a write
    assert [d.id for d in await HotfixJournal(tmp_path).pending()] == [first.id, second.id]
    restored = (await journal.pending())[0]
    assert restored == first  # times, state and SQL survive the round trip

    await journal.mark_done(first.id)
    assert [d.id for d in await journal.pending()] == [second.id]
    await journal.compact()
    assert [d.id for d in await journal.pending()] == [second.id]
    assert first.id not in journal.path.read_text()
    await journal.mark_done(second.id)
    await journal.compact()
    assert await journal.pending() == [] and journal.path.read_text() == ""


def stored(new, number: int) -> Hotfix:
    return Hotfix.from_mapping({**new.to_json(), "code": rules.format_code(number)})


def test_embeds_stay_within_discords_limits_with_huge_input():
    sql = "select '" + "x" * (rules.SQL_MAX_BYTES - 20) + "';"
    big = stored(declaration("@everyone " + "s" * (rules.SUMMARY_MAX - 10), sql), 7)
    assert message_problems(None, [alert_embed(big)]) == []
    many = [stored(declaration(f"summary {i} " + "y" * 150), i) for i in range(1, 400)]
    pages = list_embeds(many, "Hotfixes")
    assert len(pages) > 1 and all(message_problems(None, [p]) == [] for p in pages)
    assert sum(p.description.count("HF-") for p in pages) == 399
    events = [
        rules.HotfixEvent(
            at=T0 + timedelta(minutes=i),
            kind="reminder",
            actor_id=None,
            actor_name=None,
            detail={"number": i, "recipient": "declarer"},
        )
        for i in range(200)
    ]
    shown = show_embed(big, events, T0)
    assert message_problems(None, [shown]) == []
    timeline = next(f.value for f in shown.fields if f.name == "Timeline")
    assert "reminder #199 " in timeline and "earlier event(s)" in timeline  # the latest events are kept
