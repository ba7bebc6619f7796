"""The hotfix journal fails loudly: bad lines quarantined (not fatal), an unwritable journal a typed one-liner."""

from __future__ import annotations

import json
import os
import stat

import pytest

from dragonfly_bot.adapters.state.files import StateProblems
from dragonfly_bot.adapters.state.journal import HotfixJournal, JournalUnwritable
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.errors import UserFacingError
from tests.fakes.hotfix_support import DEV, T0


def declaration(summary: str):
    return rules.declare(DEV, "dev", summary, "select 1;", now=T0, reminder_hours=4)


async def test_bad_lines_are_quarantined_and_the_rest_replays(tmp_path):
    journal = HotfixJournal(tmp_path, problems=StateProblems())
    first, second = declaration("first"), declaration("second")
    await journal.record(first)
    with open(journal.path, "ab") as fh:
        fh.write(b'{"op": "declare", "id": "x\xff\xfe"}\n')  # bad UTF-8
        fh.write(b"[1, 2, 3]\n")  # JSON, but not an object
        fh.write(b"42\n")
        fh.write(b'{"no": "op"}\n')
    await journal.record(second)

    problems = StateProblems()
    restarted = HotfixJournal(tmp_path, problems=problems)  # detected at start
    assert [d.id for d in await restarted.pending()] == [first.id, second.id]
    [problem] = problems.items()
    assert problem.what == "hotfix journal" and "4 unreadable line(s) (2, 3, 4, 5)" in problem.reason
    quarantined = restarted.quarantine_path.read_bytes()
    assert b"\xff\xfe" in quarantined and b"[1, 2, 3]" in quarantined
    assert stat.S_IMODE(os.stat(restarted.quarantine_path).st_mode) == 0o600
    # The journal itself is clean now: reading it again reports nothing new.
    assert all(json.loads(line) for line in journal.path.read_text().splitlines())
    await restarted.pending()
    assert len(problems.items()) == 1


async def test_a_torn_last_line_is_skipped_not_quarantined(tmp_path):
    journal = HotfixJournal(tmp_path, problems=StateProblems())
    first = declaration("first")
    await journal.record(first)
    with open(journal.path, "ab") as fh:
        fh.write(b'{"op": "declare", "id": "torn')
    problems = StateProblems()
    restarted = HotfixJournal(tmp_path, problems=problems)
    assert [d.id for d in await restarted.pending()] == [first.id]
    assert problems.items() == [] and not restarted.quarantine_path.exists()
    later = declaration("later")
    await restarted.record(later)  # starts on a fresh line
    assert [d.id for d in await restarted.pending()] == [first.id, later.id]


async def test_an_unwritable_journal_is_one_line_saying_nothing_was_saved(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "hotfix-journal.jsonl").mkdir()  # something that cannot be appended to, even as root
    journal = HotfixJournal(folder, problems=StateProblems())
    with pytest.raises(JournalUnwritable) as raised:
        await journal.record(declaration("lost"))
    error = raised.value
    assert isinstance(error, UserFacingError) and "\n" not in error.message
    assert "could not be saved anywhere" in error.message and "declare it again" in error.message
    assert str(folder) in error.message
