"""``POST /github/webhook``: authenticate, acknowledge, then read the run for the relay.

GitHub waits 10 s for an answer and never retries on its own, so the answer
comes first and costs little more than the HMAC: the signature is checked
while the body arrives (dragonfly_bot/relay/webhook_body.py: bounded memory, one
process-wide budget for unchecked bytes) and the delivery is answered. Its JSON is read after the
burst it came in, in the web server's lulls (dragonfly_bot/relay/webhook_payload.py,
dragonfly_bot/core/activity.py), at most ``READ_DELAY_MAX`` later even while the
server stays busy: a run for the relay goes on ``queue``, where the relay's worker does
the slow part (jobs, logs, Discord). Redeliveries are dropped by
``X-GitHub-Delivery``; the ledger is what makes "one alert per run attempt"
hold across restarts.

Answers: 401 bad/missing signature (a missing or malformed header before a
byte of the body is read), 413 body over the cap, 408 body stalled, 400
no event header, 200 ``ping`` and duplicate
deliveries, 202 everything else (``accepted`` for a workflow_run, read
later; ``ignored`` for other events), 503 if the queue is full or too many
unchecked bytes are in flight (the reconciliation loop will find the run
anyway). A signed body that turns out not to be a usable run (not JSON,
nested deeper than ``max_depth``, a field missing) is counted as rejected
and logged in one line when it is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass

from aiohttp import web

from dragonfly_bot.core.activity import Activity
from dragonfly_bot.core.ci_runs import RunInfo
from dragonfly_bot.core.json_depth import MAX_JSON_DEPTH
from dragonfly_bot.core.webhook_secret import secret_problem
from dragonfly_bot.relay.webhook_body import (
    MAX_BODY_BYTES,
    MEMORY_BODY_BYTES,
    OverBudget,
    SignedBodyReader,
    TooLarge,
    UnauthenticatedBytes,
    well_formed_signature,
)
from dragonfly_bot.relay.webhook_payload import Delivery, Skipped, read_run

log = logging.getLogger(__name__)

PATH = "/github/webhook"
SEEN_DELIVERIES = 10_000
BODY_TIMEOUT_SECONDS = 30.0  # a sender that stalls mid-body must not hold a handler forever
# Accepted deliveries are read in the server's lulls (dragonfly_bot/core/activity.py: no connection opened and no
# byte arrived for a moment), so a burst is answered first; a delivery waits READ_DELAY_MAX at most,
# then is read even while the server stays busy (a flood of unsigned bodies must not hold it back).
READ_DELAY_MAX = 1.0
# Without the server's Activity (a bare aiohttp app) the webhook knows only its own arrivals,
# which a burst spaces further apart than bytes arrive: a longer lull.
READ_QUIET = 0.02
READ_SLICE = 8  # deliveries read at a time (~0.5 ms), then the loop serves connections again
# A burst that never pauses must not pile up unread deliveries (they take the queue's room, and past
# it deliveries get 503): past READ_BACKLOG unread (under half the queue), each new one has a slice read at once.
READ_BACKLOG = 384


@dataclass
class WebhookStats:
    received: int = 0
    queued: int = 0
    ignored: int = 0
    duplicates: int = 0
    rejected: int = 0
    busy: int = 0  # 503: queue full or unchecked-bytes budget spent


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


# The answer to almost every delivery, encoded once (json_response would encode it per request).
_ACCEPTED = json.dumps({"result": "accepted"}).encode()


def _reply(status: int, **body) -> web.Response:
    return web.json_response(body, status=status)


def _refuse(status: int, **body) -> web.Response:
    # The sender may still be sending: no keep-alive, so aiohttp stops reading it soon.
    response = web.json_response(body, status=status)
    response.force_close()
    return response


def _buffered_body(request: web.Request) -> bytes | None:
    """The whole body when aiohttp has already received all of it, else None.

    The common case (a GitHub payload is tens of KB and arrives with its
    headers): no read loop, no timer, no budget (nothing is held across an
    await). A body that ended early (the parser set an exception) or is
    still arriving takes the streaming path.
    """
    content = request.content
    if not content.is_eof() or content.exception() is not None:
        return None
    return content.read_nowait()


class GitHubWebhook:
    """The aiohttp handler; ``queue`` receives the ``RunInfo`` (read once, here, after the answer) for the relay."""

    def __init__(
        self,
        secret: str,
        workflow: str,
        queue: asyncio.Queue,
        *,
        max_body: int = MAX_BODY_BYTES,
        memory_bytes: int = MEMORY_BODY_BYTES,
        budget: UnauthenticatedBytes | None = None,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        max_depth: int = MAX_JSON_DEPTH,
        activity: Activity | None = None,
    ):
        problem = secret_problem(secret)
        if problem:
            raise ValueError(f"the webhook secret {problem}")
        self._key = secret.encode()
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)  # copied per streamed body
        self._workflow = workflow
        self.queue = queue
        self._max_body = max_body
        self._memory_bytes = memory_bytes
        self.budget = budget or UnauthenticatedBytes()
        self._body_timeout = body_timeout
        self._max_depth = max_depth
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.stats = WebhookStats()
        # The server's (dragonfly_bot.chat.web_guard.ACTIVITY_KEY), else one this webhook touches itself.
        self._activity = activity or Activity(READ_QUIET)
        self._unread: deque[Delivery] = deque()
        self._read_timer: asyncio.Handle | None = None

    def _duplicate(self, delivery: str) -> bool:
        """Remember the delivery id; True when it was seen before."""
        if not delivery:
            return False
        if delivery in self._seen:
            self._seen.move_to_end(delivery)
            return True
        self._seen[delivery] = None
        if len(self._seen) > SEEN_DELIVERIES:
            self._seen.popitem(last=False)
        return False

    async def handle(self, request: web.Request) -> web.Response:
        self.stats.received += 1
        length = request.content_length
        if length is not None and length > self._max_body:
            self.stats.rejected += 1
            return _refuse(413, error=f"payload over {self._max_body} bytes")
        given = request.headers.get("X-Hub-Signature-256", "")
        if not well_formed_signature(given):
            self.stats.rejected += 1
            return _refuse(401, error="missing or invalid X-Hub-Signature-256")
        body = _buffered_body(request)
        if body is None:
            return await self._streamed(request, given)
        if len(body) > self._max_body:
            self.stats.rejected += 1
            return _refuse(413, error=f"payload over {self._max_body} bytes")
        # One C call (OpenSSL's one-shot HMAC) for a body already here.
        if not hmac.compare_digest(bytes.fromhex(given[7:]), hmac.digest(self._key, body, "sha256")):
            self.stats.rejected += 1
            return _refuse(401, error="missing or invalid X-Hub-Signature-256")
        return self._authenticated(request, body)

    async def _streamed(self, request: web.Request, given: str) -> web.Response:
        reader = SignedBodyReader(
            self._mac.copy(), self.budget, max_body=self._max_body, memory_bytes=self._memory_bytes
        )
        try:
            try:
                async with asyncio.timeout(self._body_timeout):
                    await reader.read(request)
            except TimeoutError:
                self.stats.rejected += 1
                return _refuse(408, error="body not received in time")
            except TooLarge:
                self.stats.rejected += 1
                return _refuse(413, error=f"payload over {self._max_body} bytes")
            except OverBudget:
                self.stats.rejected += 1
                self.stats.busy += 1
                return _refuse(503, error="too many unauthenticated bytes in flight; try again later")
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                self.stats.rejected += 1
                return _refuse(400, error="incomplete body")
            if not hmac.compare_digest(given, reader.signature):
                self.stats.rejected += 1
                return _refuse(401, error="missing or invalid X-Hub-Signature-256")
            body = reader.body()
        finally:
            reader.release()
        return self._authenticated(request, body)

    def _authenticated(self, request: web.Request, body: bytes) -> web.Response:
        event = request.headers.get("X-GitHub-Event", "")
        if not event:
            self.stats.rejected += 1
            return _reply(400, error="missing X-GitHub-Event header")
        if event == "ping":
            return _reply(200, msg="pong")
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if self._duplicate(delivery):
            self.stats.duplicates += 1
            return _reply(200, result="duplicate delivery")
        if event != "workflow_run":
            self.stats.ignored += 1
            return _reply(202, result="ignored", reason=f"event {event} is not relayed")
        room = self.queue.maxsize - self.queue.qsize() - len(self._unread) if self.queue.maxsize else 1
        if room <= 0:
            self._seen.pop(delivery, None)  # a redelivery must not count as a duplicate
            self.stats.rejected += 1
            self.stats.busy += 1
            log.warning("webhook queue full; delivery %s left to the reconciliation loop", delivery or "(no id)")
            return _reply(503, error="busy; try again later")
        self._hold(Delivery(event, delivery, body, asyncio.get_running_loop().time()))
        return web.Response(body=_ACCEPTED, status=202, content_type="application/json")

    # ------------------------------------------------------------------ reading, after the answer

    def _hold(self, delivery: Delivery) -> None:
        self._activity.touch(delivery.received_at)
        self._unread.append(delivery)
        if len(self._unread) > READ_BACKLOG:
            self.read_unread(READ_SLICE)
        if self._read_timer is None:
            self._read_timer = asyncio.get_running_loop().call_at(self._activity.lull_at(), self._read_in_lull)

    def _read_in_lull(self) -> None:
        self._read_timer = None
        if not self._unread:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        overdue_at = self._unread[0].received_at + READ_DELAY_MAX
        lull_at = self._activity.lull_at()
        if now < lull_at and now < overdue_at:
            # Still busy: whoever is connected is answered first.
            self._read_timer = loop.call_at(min(lull_at, overdue_at), self._read_in_lull)
            return
        self.read_unread(READ_SLICE)
        if self._unread:
            # A timer due now, not call_soon: it runs after the next poll's I/O callbacks, which touch
            # the activity when a connection came in meanwhile, so the next slice waits for it.
            self._read_timer = loop.call_at(now, self._read_in_lull)

    def read_unread(self, limit: int | None = None) -> None:
        """Read accepted deliveries now (``limit`` of them, or all) and queue their runs."""
        count = len(self._unread) if limit is None else min(limit, len(self._unread))
        for _ in range(count):
            self._read(self._unread.popleft())

    def _read(self, delivery: Delivery) -> None:
        found = read_run(delivery.body, self._workflow, max_depth=self._max_depth)
        if isinstance(found, Skipped):
            if found.rejected:
                self.stats.rejected += 1
                log.warning("webhook delivery %s dropped: %s", delivery.delivery_id or "(no id)", found.reason)
            else:
                self.stats.ignored += 1
                log.debug("webhook delivery %s ignored: %s", delivery.delivery_id or "(no id)", found.reason)
            return
        self._queue(found, delivery.delivery_id)

    def _queue(self, run: RunInfo, delivery_id: str) -> None:
        try:
            self.queue.put_nowait(run)
        except asyncio.QueueFull:
            self._seen.pop(delivery_id, None)  # a redelivery must not count as a duplicate
            self.stats.rejected += 1
            self.stats.busy += 1
            log.warning("webhook queue full; run %s left to the reconciliation loop", run.run_id)
            return
        self.stats.queued += 1

    async def until_read(self) -> None:
        """Wait until every accepted delivery has been read (its run queued or dropped)."""
        while self._unread:
            await asyncio.sleep(READ_QUIET)

    def close(self) -> None:
        """Stop the pending read (what was accepted and not read is left to the reconciliation loop)."""
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
