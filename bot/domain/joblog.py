"""GitHub Actions job logs: clean one line, and read a huge log cheaply.

GitHub serves a job log as plain text where every line starts with an
ISO-8601 timestamp (``2025-12-09T14:30:01.1234567Z ``), may carry ANSI colour
codes and workflow-command markers (``##[group]``, ``##[error]``...), and may
end in ``\\r``. ``clean_line`` removes all of that.

``interesting_lines`` reads a binary file in large chunks and yields only the
lines around the texts the failure parser reacts to (plus a window after
each, which is where the error block lives), so a 100 MB log of npm and
compiler noise costs a few ``bytes.find`` scans rather than a Python loop per
line. Memory stays bounded by the chunk size whatever the log size.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
# CSI sequences (colours, cursor moves) and the rarer OSC ones (terminal titles, links).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_MARKER = re.compile(r"^##\[[A-Za-z-]+\]")

# Texts that start (or end) something the failure parser must see. Every line
# the parser reacts to outside an error block contains one of these.
TRIGGERS: tuple[bytes, ...] = (
    b"Applying migration",
    b"SQLSTATE",
    b"ERROR:",
    b"failed to connect",
    b"Remote migration versions",
    b"Found local migration files",
    b"Try rerunning the command",
)
CONTEXT_BEFORE = 3  # lines kept before a trigger (an unknown error's text precedes the --debug hint)
WINDOW_AFTER = 400  # lines fed after a trigger: detail, "At statement", the statement text
CHUNK_SIZE = 8 << 20
MAX_LINE = 64 << 10  # a longer line is cut: nobody needs 64 KB of one log line


def clean_line(line: str) -> str:
    """One log line without timestamp, ANSI codes, ``##[...]`` marker, line end."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = line.rstrip("\r\n")
    if "\r" in line:
        # A progress bar redrawn with \r: what the terminal showed last is what counts.
        line = line.rsplit("\r", 1)[-1] or line.replace("\r", "")
    if line[:1].isdigit() or line[:1] == "\ufeff":
        line = _TIMESTAMP.sub("", line, count=1)
    if line.startswith("##["):
        line = _MARKER.sub("", line, count=1)
    return line


def clean_lines(lines) -> Iterator[str]:
    """``clean_line`` over any iterable of lines (a text file, a list, a generator)."""
    for line in lines:
        yield clean_line(line)


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_LINE:
        raw = raw[:MAX_LINE]
    return raw.decode("utf-8", errors="replace")


def interesting_lines(stream: BinaryIO, *, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """Raw (uncleaned) decoded lines of ``stream`` that the failure parser needs.

    Yields, in order and without repeats, each line containing a trigger, up to
    ``CONTEXT_BEFORE`` lines before it and ``WINDOW_AFTER`` lines after it.
    Feeding these to ``failures.parse_log`` gives the same answer as feeding
    every line (tests check that).
    """
    carry = b""
    window = 0  # lines still to yield unconditionally
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        buf = carry + chunk if carry else chunk
        # Only whole lines are scanned; the tail waits for the next chunk.
        end = buf.rfind(b"\n") + 1
        if end == 0:
            if len(buf) > MAX_LINE * 2:  # one endless line: keep only its head
                carry = buf[:MAX_LINE]
            else:
                carry = buf
            continue
        carry = buf[end:]
        if len(carry) > MAX_LINE * 2:
            carry = carry[:MAX_LINE]
        state = [window]
        yield from _scan(buf, end, state)
        window = state[0]
    if carry:
        yield from _scan(carry + b"\n", len(carry) + 1, [window])


def _scan(buf: bytes, end: int, window_box: list[int]) -> Iterator[str]:
    """Yield the needed lines of ``buf[:end]`` (whole lines). ``window_box[0]`` carries over."""
    pos = 0
    window = window_box[0]
    # Next position of each trigger at or after pos (-1: none left in this buffer).
    next_hit = {t: buf.find(t, 0, end) for t in TRIGGERS}
    while pos < end:
        if window > 0:
            nl = buf.find(b"\n", pos, end)
            stop = end if nl < 0 else nl + 1
            yield _decode(buf[pos:stop])
            pos = stop
            window -= 1
            continue
        hit = -1
        for trigger, at in next_hit.items():
            if 0 <= at < pos:
                at = next_hit[trigger] = buf.find(trigger, pos, end)
            if at >= 0 and (hit < 0 or at < hit):
                hit = at
        if hit < 0:
            break
        # Back up to the start of the hit's line, then a few lines more.
        start = buf.rfind(b"\n", pos, hit) + 1 if hit > pos else pos
        if start < pos:
            start = pos
        for _ in range(CONTEXT_BEFORE):
            if start <= pos:
                break
            prev = buf.rfind(b"\n", pos, start - 1) + 1
            start = max(prev, pos)
        pos = start
        window = WINDOW_AFTER + CONTEXT_BEFORE + 1
    window_box[0] = window
