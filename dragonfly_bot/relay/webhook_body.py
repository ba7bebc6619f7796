"""Reading a webhook body whose signature is not checked yet, with bounded memory.

Anyone can POST to the webhook, so until the HMAC matches, the body is the
sender's data and not ours to keep. It is hashed as it arrives; at most
``memory_bytes`` of it stay in memory (a larger one is spooled to a
temporary file, up to ``max_body``), and every connection's unchecked bytes
are counted against one process-wide budget, :class:`UnauthenticatedBytes`.
Past the budget the sender gets 503 instead of our memory.
"""

from __future__ import annotations

import hmac
import re
import tempfile
from typing import IO

from aiohttp import web

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
MEMORY_BODY_BYTES = 1024 * 1024  # a GitHub workflow_run payload is ~20 KB
UNAUTHENTICATED_BYTES = 32 * 1024 * 1024  # far below fly.toml's 512 MB machine
SMALL_PART = 64 * 1024  # the part of every body that counts as GitHub-sized
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


class TooLarge(Exception):
    pass


class OverBudget(Exception):
    pass


class UnauthenticatedBytes:
    """Bytes of webhook bodies received (or announced) whose signature is not checked yet.

    One per process. What lies beyond the first ``SMALL_PART`` bytes of a
    body ("large") may hold at most 7/8 of the limit, so a flood of large
    unsigned bodies leaves room for GitHub-sized deliveries.
    """

    def __init__(self, limit: int = UNAUTHENTICATED_BYTES):
        self.limit = limit
        self.large_limit = limit - limit // 8
        self.in_flight = 0
        self.large_in_flight = 0
        self.peak = 0

    def take(self, size: int, *, large: bool) -> bool:
        if self.in_flight + size > self.limit:
            return False
        if large and self.large_in_flight + size > self.large_limit:
            return False
        self.in_flight += size
        self.large_in_flight += size if large else 0
        self.peak = max(self.peak, self.in_flight)
        return True

    def give_back(self, size: int, *, large: bool) -> None:
        self.in_flight -= size
        if large:
            self.large_in_flight -= size


def well_formed_signature(value: str) -> bool:
    """A header that could be GitHub's (checked before a byte of the body is read)."""
    return _SIGNATURE.fullmatch(value) is not None


class SignedBodyReader:
    """Reads one request's body, hashing it as it arrives; ``signature`` is known at the end."""

    def __init__(self, mac: hmac.HMAC, budget: UnauthenticatedBytes, *, max_body: int, memory_bytes: int):
        self._mac = mac
        self._budget = budget
        self._max_body = max_body
        self._memory_bytes = memory_bytes
        self._held: list[bytes] = []
        self._spool: IO[bytes] | None = None
        self._size = 0
        self._taken = 0  # reserved from the budget, small part
        self._taken_large = 0  # reserved from the budget, beyond SMALL_PART

    @property
    def signature(self) -> str:
        return "sha256=" + self._mac.hexdigest()

    def _reserve(self, upto: int) -> None:
        """Hold budget for the first ``upto`` bytes of the body, or raise OverBudget."""
        small = min(upto, SMALL_PART) - self._taken
        if small > 0:
            if not self._budget.take(small, large=False):
                raise OverBudget
            self._taken += small
        large = upto - SMALL_PART - self._taken_large
        if large > 0:
            if not self._budget.take(large, large=True):
                raise OverBudget
            self._taken_large += large

    def release(self) -> None:
        """Give the budget back and drop what was held (call once the answer is known)."""
        self._budget.give_back(self._taken, large=False)
        self._budget.give_back(self._taken_large, large=True)
        self._taken = self._taken_large = 0
        self._held.clear()
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    async def read(self, request: web.Request) -> None:
        """Read to the end: TooLarge past ``max_body``, OverBudget past the process's budget."""
        length = request.content_length
        if length is not None:
            self._reserve(length)  # announced: refuse at once rather than part-way
        content = request.content
        while True:
            chunk = await content.readany()
            if not chunk:
                return
            self._size += len(chunk)
            if self._size > self._max_body:
                raise TooLarge
            if length is None:
                self._reserve(self._size)
            self._mac.update(chunk)
            self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        if self._spool is None and self._size <= self._memory_bytes:
            self._held.append(chunk)
            return
        if self._spool is None:
            # Past the in-memory bound: the rest goes to disk until the signature is known.
            self._spool = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (closed in release)
            self._spool.writelines(self._held)
            self._held.clear()
        self._spool.write(chunk)

    def body(self) -> bytes:
        """The whole body (call after the signature matched)."""
        if self._spool is None:
            return b"".join(self._held)
        self._spool.seek(0)
        return self._spool.read()
