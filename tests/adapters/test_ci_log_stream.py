"""Streaming a job log in arbitrary chunks gives what reading it whole gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dragonfly_bot.adapters.github import read_log
from dragonfly_bot.core.failures import parse_log
from dragonfly_bot.core.joblog import clean_line
from tests.fakes.github_fake import github_log

CLI_OUTPUT = (
    "Applying migration 20991209000001_a.sql...\n"
    'ERROR: duplicate key value violates unique constraint "k_pkey" (SQLSTATE 23505)\n'
    "Key (id)=(1) already exists.\n"
    "At statement: 2\n"
    "insert into public.k values (1)\n"
    "Try rerunning the command with --debug to troubleshoot the error.\n"
)
LOG = github_log(CLI_OUTPUT)


def _chunks(data: bytes, cuts: list[int]):
    points = sorted({c % (len(data) + 1) for c in cuts})
    start = 0
    for point in points:
        yield data[start:point]
        start = point
    yield data[start:]


@settings(max_examples=150, deadline=None)
@given(
    noise=st.lists(st.binary(max_size=120), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=12),
    with_error=st.booleans(),
)
def test_any_chunking_gives_the_same_failure_and_tail(noise, cuts, with_error):
    data = b"\n".join(noise) + b"\n" + (LOG if with_error else b"")
    reading = read_log(_chunks(data, cuts))
    whole = parse_log(data.decode("utf-8", errors="replace").splitlines(keepends=True))
    assert reading.failure == whole
    if with_error:
        assert reading.failure is not None and reading.failure.sqlstate == "23505"
    assert reading.bytes_read == len(data) and not reading.truncated
    expected_tail = (
        [clean_line(x) for x in data.decode("utf-8", errors="replace").splitlines()][-len(reading.tail) :]
        if reading.tail
        else []
    )
    assert reading.tail == expected_tail


def test_cap_stops_reading_and_says_so():
    data = b"noise line\n" * 100_000
    reading = read_log(iter([data[i : i + 4096] for i in range(0, len(data), 4096)]), max_bytes=50_000)
    assert reading.truncated and reading.bytes_read == 50_000
