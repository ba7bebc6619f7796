"""GitHub Actions job logs: clean one line, and read a huge log cheaply.

GitHub serves a job log as plain text where every line starts with an
ISO-8601 timestamp (``2025-12-09T14:30:01.1234567Z ``), may carry ANSI colour
codes and workflow-command markers (``##[group]``, ``##[error]``...), and may
end in ``\\r``. ``clean_line`` removes all of that.

``interesting_lines`` reads a binary log in large chunks and yields only the
lines a failure can be in: the output just before each ``##[error]`` line
(GitHub writes ``##[error]Process completed with exit code 1.`` right after a
failed step's output), the end of the log (raw CLI output saved to a file
has no GitHub markers; its error is at the end), and every ``Applying
migration`` line. Finding those places is two ``bytes.find`` passes per
chunk, close to grep's speed, instead of a Python loop per
line; memory is bounded by the chunk and look-back sizes whatever the log size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
# CSI sequences (colours, cursor moves) and the rarer OSC ones (terminal titles, links).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_MARKER = re.compile(r"^##\[[A-Za-z-]+\]")
# `gh run view --log` prefixes each line with "<job>\t<step>\t" before the timestamp.
_GH_CLI_PREFIX = re.compile(r"^[^\t\n]*\t[^\t\n]*\t(?=\ufeff?\d{4}-\d\d-\d\dT)")
_MARKER_LINE = re.compile(
    r"^(?:[^\t\n]*\t[^\t\n]*\t)?\ufeff?"  # gh's "<job>\t<step>\t" prefix, a BOM
    r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )?(?:\x1b\[[0-9;]*m)*##\[[A-Za-z-]+\]"
)

ERROR_MARK = b"##[error]"
# Always yielded (with their look-back): what was applied, and record-run's catalog facts line.
SINGLE_LINES = (b"Applying migration", b"dragonfly-bot catalog facts: ")
LOOKBACK = 256 << 10  # bytes of a failed step's output read before its ##[error] line (and at the log's end)
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
    if "\t" in line:
        line = _GH_CLI_PREFIX.sub("", line, count=1)
    if line[:1].isdigit() or line[:1] == "\ufeff":
        line = _TIMESTAMP.sub("", line, count=1)
    if line.startswith("##["):
        line = _MARKER.sub("", line, count=1)
    return line


def is_marker(line: str) -> bool:
    """True for GitHub's own ``##[group]``/``##[error]``... lines (not a program's output)."""
    return "##[" in line and _MARKER_LINE.match(line) is not None


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_LINE:
        raw = raw[:MAX_LINE]
    return raw.decode("utf-8", errors="replace")


def _next_line_start(buf: bytes, pos: int, limit: int) -> int:
    """``pos`` if a line starts there, else the start of the next line (at most ``limit``)."""
    if pos <= 0 or buf[pos - 1 : pos] == b"\n":
        return max(pos, 0)
    nl = buf.find(b"\n", pos, limit)
    return limit if nl < 0 else nl + 1


def _lines(buf: bytes, start: int, end: int) -> Iterator[str]:
    while start < end:
        nl = buf.find(b"\n", start, end)
        stop = end if nl < 0 else nl + 1
        yield _decode(buf[start:stop])
        start = stop


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def interesting_lines(
    stream: Readable,
    *,
    chunk_size: int = CHUNK_SIZE,
    lookback: int = LOOKBACK,
    single_lines: tuple[bytes, ...] = SINGLE_LINES,
) -> Iterator[str]:
    """Raw (uncleaned) decoded lines of ``stream`` where a failure can be, in order, no repeats.

    That is, the lines starting within ``lookback`` bytes before each
    ``##[error]`` line and each line containing one of ``single_lines`` (by
    default ``Applying migration``, which says what was applied), those lines
    included, and the lines within the last ``lookback`` bytes of the log.
    Feeding these to ``failures.parse_log`` gives the same answer as feeding
    every line as long as the failure's block lies within ``lookback`` of its
    step's end (or of the log's end).
    """
    buf = b""  # whole lines kept for look-back, then the new chunk
    needles = (ERROR_MARK, *single_lines)
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        scan_from = buf.rfind(b"\n") + 1  # a needle may start in the kept incomplete line
        buf += chunk
        complete = buf.rfind(b"\n") + 1  # only whole lines are used; the rest waits for more
        fed = 0  # buf[:fed] was yielded (or lies before the look-back)
        next_at = {n: buf.find(n, scan_from, complete) for n in needles}
        while True:
            hits = [(at, n) for n, at in next_at.items() if at >= 0]
            if not hits:
                break
            hit = min(hits)[0]
            line_start = max(buf.rfind(b"\n", fed, hit) + 1, fed)
            nl = buf.find(b"\n", hit, complete)
            line_end = complete if nl < 0 else nl + 1
            region = _next_line_start(buf, max(line_start - lookback, fed), line_start)
            yield from _lines(buf, region, line_end)
            fed = line_end
            for n, at in next_at.items():
                if 0 <= at < fed:
                    next_at[n] = buf.find(n, fed, complete)
        keep = _next_line_start(buf, max(complete - lookback, fed), complete)
        buf = buf[keep:]
        if len(buf) > lookback + 2 * MAX_LINE and b"\n" not in buf:
            buf = buf[:MAX_LINE]  # one endless line: keep only its head
    if buf:  # the end of the log: raw CLI output has its error there
        buf += b"" if buf.endswith(b"\n") else b"\n"
        yield from _lines(buf, _next_line_start(buf, len(buf) - lookback, len(buf)), len(buf))
