"""``POST /github/webhook``: authenticate, then hand the run to a queue.

Thin on purpose: it reads at most 25 MB (GitHub's cap), checks the
``X-Hub-Signature-256`` HMAC of the raw body before looking at it, parses
the JSON, and answers at once (GitHub waits 10 s and never retries on its
own). The slow part (jobs, logs, Discord) happens in the relay's queue
worker. Redeliveries are dropped here by ``X-GitHub-Delivery``; the ledger
is what makes "one alert per run attempt" hold across restarts.

Answers: 401 bad/missing signature, 413 body over 25 MB, 408 body stalled, 400 malformed
(no event header, not JSON, a workflow_run without the fields we need),
200 ``ping`` and duplicate deliveries, 202 everything else (queued or
ignored, the body says which), 503 if the queue is full (the reconciliation
loop will find the run anyway).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from bot.core.ci_runs import FAILED_CONCLUSIONS, SUCCESS, BadRunPayload, RunInfo, is_migrations_workflow

log = logging.getLogger(__name__)

PATH = "/github/webhook"
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
_READ_CHUNK = 256 * 1024
SEEN_DELIVERIES = 10_000
BODY_TIMEOUT_SECONDS = 30.0  # a sender that stalls mid-body must not hold a handler forever


@dataclass
class WebhookStats:
    received: int = 0
    queued: int = 0
    ignored: int = 0
    duplicates: int = 0
    rejected: int = 0


def signature_for(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _reply(status: int, **body) -> web.Response:
    return web.json_response(body, status=status)


class _TooLarge(Exception):
    pass


async def _read_capped(request: web.Request, limit: int) -> bytes:
    # Read the stream ourselves: the app's client_max_size would give a
    # generic error page, and a chunked body has no Content-Length to check.
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_READ_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)


def _buffered_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body when aiohttp has already received all of it, else None.

    The common case (a GitHub payload is tens of KB and arrives with its
    headers): no read loop and no timer. A body that ended early (the
    parser set an exception) or is still arriving takes the timed path.
    """
    content = request.content
    if not content.is_eof() or content.exception() is not None:
        return None
    body = content.read_nowait()
    if len(body) > limit:
        raise _TooLarge
    return body


class GitHubWebhook:
    """The aiohttp handler; ``queue`` receives the ``RunInfo`` (parsed once, here) for the relay."""

    def __init__(
        self,
        secret: str,
        workflow: str,
        queue: asyncio.Queue,
        *,
        max_body: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ):
        if not secret:
            raise ValueError("a webhook secret is required")
        self._secret = secret.encode()
        self._workflow = workflow
        self.queue = queue
        self._max_body = max_body
        self._body_timeout = body_timeout
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.stats = WebhookStats()

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
            return _reply(413, error=f"payload over {self._max_body} bytes")
        try:
            body = _buffered_body(request, self._max_body)
            if body is None:
                async with asyncio.timeout(self._body_timeout):
                    body = await _read_capped(request, self._max_body)
        except TimeoutError:
            self.stats.rejected += 1
            return _reply(408, error="body not received in time")
        except _TooLarge:
            self.stats.rejected += 1
            return _reply(413, error=f"payload over {self._max_body} bytes")
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            self.stats.rejected += 1
            return _reply(400, error="incomplete body")

        given = request.headers.get("X-Hub-Signature-256", "")
        if not given or not hmac.compare_digest(given.encode(), signature_for(self._secret, body).encode()):
            self.stats.rejected += 1
            return _reply(401, error="missing or invalid X-Hub-Signature-256")

        event = request.headers.get("X-GitHub-Event", "")
        if not event:
            self.stats.rejected += 1
            return _reply(400, error="missing X-GitHub-Event header")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            self.stats.rejected += 1
            return _reply(400, error="body is not JSON")
        if not isinstance(payload, dict):
            self.stats.rejected += 1
            return _reply(400, error="body is not a JSON object")

        if event == "ping":
            return _reply(200, msg="pong")
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if self._duplicate(delivery):
            self.stats.duplicates += 1
            return _reply(200, result="duplicate delivery")
        if event != "workflow_run":
            return self._ignored(f"event {event} is not relayed")
        if payload.get("action") != "completed":
            return self._ignored("run not completed")
        repository = payload.get("repository")
        full_name = repository.get("full_name") if isinstance(repository, dict) else None
        try:
            run = RunInfo.from_api(payload.get("workflow_run"), full_name if isinstance(full_name, str) else None)
        except BadRunPayload as exc:
            self.stats.rejected += 1
            return _reply(400, error=str(exc))
        if not is_migrations_workflow(run, self._workflow):
            return self._ignored("not the migrations workflow")
        if run.conclusion not in FAILED_CONCLUSIONS and run.conclusion != SUCCESS:
            return self._ignored(f"conclusion {run.conclusion or 'none'} is not relayed")
        try:
            self.queue.put_nowait(run)
        except asyncio.QueueFull:
            self._seen.pop(delivery, None)  # a redelivery must not count as a duplicate
            self.stats.rejected += 1
            log.warning("webhook queue full; run %s left to the reconciliation loop", run.run_id)
            return _reply(503, error="busy; try again later")
        self.stats.queued += 1
        return _reply(202, result="queued", run_id=run.run_id, attempt=run.attempt)

    def _ignored(self, reason: str) -> web.Response:
        self.stats.ignored += 1
        return _reply(202, result="ignored", reason=reason)
