"""``POST /github/webhook``: authenticate, then hand the run to a queue.

Thin on purpose: it checks the ``X-Hub-Signature-256`` HMAC of the raw body
while the body arrives (bot/relay/webhook_body.py: bounded memory, one
process-wide budget for unchecked bytes) before looking at it, checks the
JSON's nesting without recursion, parses it, and answers at once (GitHub
waits 10 s and never retries on its own). The slow part (jobs, logs,
Discord) happens in the relay's queue worker. Redeliveries are dropped here
by ``X-GitHub-Delivery``; the ledger is what makes "one alert per run
attempt" hold across restarts.

Answers: 401 bad/missing signature (a missing or malformed header before a
byte of the body is read), 413 body over the cap, 408 body stalled, 400
malformed (no event header, not JSON, nested too deep, a workflow_run
without the fields we need), 200 ``ping`` and duplicate deliveries, 202
everything else (queued or ignored, the body says which), 503 if the queue
is full or too many unchecked bytes are in flight (the reconciliation loop
will find the run anyway).
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
from bot.core.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from bot.core.webhook_secret import secret_problem
from bot.relay.webhook_body import (
    MAX_BODY_BYTES,
    MEMORY_BODY_BYTES,
    OverBudget,
    SignedBodyReader,
    TooLarge,
    UnauthenticatedBytes,
    well_formed_signature,
)

log = logging.getLogger(__name__)

PATH = "/github/webhook"
SEEN_DELIVERIES = 10_000
BODY_TIMEOUT_SECONDS = 30.0  # a sender that stalls mid-body must not hold a handler forever


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
    """The aiohttp handler; ``queue`` receives the ``RunInfo`` (parsed once, here) for the relay."""

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
    ):
        problem = secret_problem(secret)
        if problem:
            raise ValueError(f"the webhook secret {problem}")
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)  # copied per request
        self._workflow = workflow
        self.queue = queue
        self._max_body = max_body
        self._memory_bytes = memory_bytes
        self.budget = budget or UnauthenticatedBytes()
        self._body_timeout = body_timeout
        self._max_depth = max_depth
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
        mac = self._mac.copy()
        mac.update(body)
        if not hmac.compare_digest(given, "sha256=" + mac.hexdigest()):
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
        if nests_deeper_than(body, self._max_depth):
            self.stats.rejected += 1
            return _reply(400, error=f"body nests deeper than {self._max_depth} levels")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
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
            self.stats.busy += 1
            log.warning("webhook queue full; run %s left to the reconciliation loop", run.run_id)
            return _reply(503, error="busy; try again later")
        self.stats.queued += 1
        return _reply(202, result="queued", run_id=run.run_id, attempt=run.attempt)

    def _ignored(self, reason: str) -> web.Response:
        self.stats.ignored += 1
        return _reply(202, result="ignored", reason=reason)
