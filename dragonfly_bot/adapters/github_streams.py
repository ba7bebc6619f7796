"""Reading what GitHub streams to the bot, in bounded memory: a job's log and a repository tarball's folder.

Both read byte chunks as they arrive: a log goes straight through
``joblog.interesting_lines`` into the failure parser, keeping only a window
and a short tail; a tarball is read once in streaming mode, keeping only the
wanted folder's files.
"""

from __future__ import annotations

import tarfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dragonfly_bot.core.joblog import clean_line, interesting_lines

MAX_LOG_BYTES = 256 << 20  # stop reading a job log after this much
MAX_FILE_BYTES = 32 << 20  # one migration file larger than this is refused
TAIL_BYTES = 64 << 10  # the end of the log, kept for the attached excerpt


class GitHubUnavailable(Exception):
    """GitHub did not answer usefully; the message is safe to log (no token, no URL query).

    ``status`` is GitHub's HTTP status when it answered (None: unreachable or unreadable);
    ``rate_limited`` is True for an exhausted rate limit (403/429 with no requests left).
    """

    def __init__(
        self, message: str, *, status: int | None = None, rate_limited: bool = False, reset: int | None = None
    ):
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited
        self.reset = reset  # epoch seconds when the rate limit resets, when GitHub said


class ArchiveTooLarge(GitHubUnavailable):
    """The repository archive went over the size cap."""


@dataclass
class LogReading:
    """What one job log gave: the parsed failure (or None) and a cleaned tail."""

    failure: object | None
    tail: list[str] = field(default_factory=list)
    bytes_read: int = 0
    truncated: bool = False


class CappedStream:
    """A file-like ``read(n)`` over an iterator of byte chunks, stopping at ``limit``.

    It also keeps the last TAIL_BYTES seen, for the excerpt.
    """

    def __init__(self, chunks: Iterable[bytes], limit: int):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._limit = limit
        self._pending = b""
        self.bytes_read = 0
        self.truncated = False
        self.tail: deque[bytes] = deque()
        self._tail_size = 0

    def _remember(self, data: bytes) -> None:
        self.tail.append(data)
        self._tail_size += len(data)
        while self._tail_size - len(self.tail[0]) >= TAIL_BYTES:
            self._tail_size -= len(self.tail.popleft())

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            if self.bytes_read >= self._limit:
                self.truncated = True
                return b""
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            room = self._limit - self.bytes_read
            if len(chunk) > room:
                chunk = chunk[:room]
                self.truncated = True
            self.bytes_read += len(chunk)
            self._remember(chunk)
            self._pending = chunk
        if size is None or size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def tail_lines(self, max_lines: int = 200) -> list[str]:
        text = b"".join(self.tail).decode("utf-8", errors="replace")
        lines = text.splitlines()
        if self._tail_size >= TAIL_BYTES and lines:
            lines = lines[1:]  # the first one is probably cut
        return [clean_line(line) for line in lines[-max_lines:]]


def read_log(chunks: Iterable[bytes], *, max_bytes: int = MAX_LOG_BYTES) -> LogReading:
    """Parse a job log given as byte chunks (bounded memory). Never raises on content."""
    from dragonfly_bot.core.failures import parse_log  # the one classifier

    stream = CappedStream(chunks, max_bytes)
    failure = parse_log(interesting_lines(stream, chunk_size=1 << 20))
    # Drain what the parser did not need, so the tail is the real end of the log.
    while stream.read(1 << 20):
        pass
    return LogReading(
        failure=failure, tail=stream.tail_lines(), bytes_read=stream.bytes_read, truncated=stream.truncated
    )


def read_archive_folder(stream, folder: str, *, max_file_bytes: int = MAX_FILE_BYTES) -> dict[str, bytes]:
    """The regular files directly in ``folder`` of a GitHub tarball (``owner-repo-sha/...``) read from ``stream``.

    Streaming mode (``r|*``): members are read once, in order, and only the wanted
    ones are kept, so memory holds the folder's files, never the archive.
    """
    folder = folder.strip("/")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                parts = member.name.split("/", 1)  # GitHub's archives have one top-level folder
                if len(parts) != 2:
                    continue
                parent, _, name = parts[1].rpartition("/")
                if parent != folder or not name or not member.isreg():
                    continue
                if member.size > max_file_bytes:
                    raise ArchiveTooLarge(f"{folder}/{name} is larger than {max_file_bytes >> 20} MB")
                handle = archive.extractfile(member)
                found[name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise GitHubUnavailable(f"the repository archive could not be read ({type(exc).__name__})") from None
    return found
