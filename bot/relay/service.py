"""The CI relay: a finished migrations run in, at most one #alerts post out.

``Relay.handle`` is the one path for both the webhook's queue worker and the
reconciliation loop. For a failed run it claims the run attempt in the
ledger, reads the failed job's log through the GitHub client, classifies it
with the one parser (``bot.core.failures``), renders the alert and posts it
(or edits the alert of an earlier attempt of the same run). For a successful
run it marks the environment's open alert "fixed by <sha>" and replies once.

Serialised per (repository, environment), so a failure and the success right
after it, or two attempts of one run, can never interleave. Posting is
rate-limited: past ``max_posts`` alerts in ``per_seconds``, failures are
gathered into one summary post when the window reopens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from bot.adapters.github import GitHubUnavailable
from bot.adapters.state.ledger import Ledger, OpenAlert
from bot.chat.channels import ChannelPoster, PostRef
from bot.core.ci_runs import ALERTED_ENVIRONMENTS, UNKNOWN_ENV, CiAlert, RunInfo, is_migrations_workflow
from bot.core.failures import enrich
from bot.core.redact import redact
from bot.relay.render_discord import render_alert, render_burst_summary, render_fixed, render_fixed_reply

log = logging.getLogger(__name__)

MAX_JOB_LOGS = 3  # failed jobs whose logs are read, at most


class PostLimiter:
    """At most ``max_posts`` new alerts per sliding ``per_seconds`` window."""

    def __init__(self, max_posts: int = 5, per_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_posts = max_posts
        self.per_seconds = per_seconds
        self._clock = clock
        self._times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.per_seconds:
            self._times.popleft()

    def try_acquire(self) -> bool:
        now = self._clock()
        self._trim(now)
        if len(self._times) >= self.max_posts:
            return False
        self._times.append(now)
        return True

    def seconds_until_free(self) -> float:
        now = self._clock()
        self._trim(now)
        if len(self._times) < self.max_posts:
            return 0.0
        return max(0.0, self.per_seconds - (now - self._times[0]))


class Relay:
    def __init__(
        self,
        *,
        client,
        ledger: Ledger,
        poster: ChannelPoster,
        workflow: str,
        discord_users: Mapping[str, int] | None = None,
        migrations_dir: str = "supabase/migrations",
        limiter: PostLimiter | None = None,
    ):
        self.client = client
        self.ledger = ledger
        self.poster = poster
        self.workflow = workflow
        self.discord_users = {k.lower(): v for k, v in (discord_users or {}).items()}
        self.migrations_dir = PurePosixPath(str(migrations_dir).replace("\\", "/"))
        self.limiter = limiter or PostLimiter()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._overflow: list[CiAlert] = []
        self._flush_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ entry point

    async def handle(self, run: RunInfo) -> str:
        """Relay one completed run; returns what happened (for logs and tests)."""
        if not is_migrations_workflow(run, self.workflow):
            return "ignored: not the migrations workflow"
        if not (run.failed or run.succeeded):
            return f"ignored: {run.status}/{run.conclusion or 'no conclusion'}"
        jobs = None
        environment = run.environment()
        if environment == UNKNOWN_ENV and run.failed:
            jobs = await self.client.jobs(run.run_id, run.attempt)
            environment = run.environment(job.name for job in jobs)
        if environment not in ALERTED_ENVIRONMENTS:
            return f"ignored: {environment} run"
        lock = self._locks.setdefault((run.repository, environment), asyncio.Lock())
        async with lock:
            if not self.ledger.claim(run.key, environment=environment, conclusion=run.conclusion):
                return "duplicate"
            summary: str | None  # a green run without an open alert has none
            try:
                if run.failed:
                    outcome, ref, summary = await self._relay_failure(run, environment, jobs)
                else:
                    outcome, ref, summary = await self._relay_success(run, environment)
            except BaseException:
                # Not handled: let the next webhook or loop pass try again.
                self.ledger.release(run.key)
                raise
            self.ledger.complete(run.key, ref=ref, summary=summary)
            return outcome

    # ------------------------------------------------------------------ failures

    async def _relay_failure(self, run: RunInfo, environment: str, jobs) -> tuple[str, PostRef | None, str]:
        alert = await self._build_alert(run, environment, jobs)
        rendered = render_alert(alert)
        summary = json.dumps(rendered.embed.to_dict())
        ref = await self._edit_earlier_attempt(run, rendered)
        outcome = "edited"
        if ref is None:
            if not self.limiter.try_acquire():
                self._overflow.append(alert)
                self._schedule_flush()
                return "summarised", None, summary
            ref = await self.poster.send(
                "alerts",
                content=rendered.content,
                embeds=[rendered.embed],
                files=rendered.files(),
                allowed_mentions=rendered.allowed_mentions,
            )
            outcome = "posted"
        self.ledger.set_open_alert(
            run.repository,
            environment,
            OpenAlert(run_id=run.run_id, attempt=run.attempt, head_sha=run.head_sha, ref=ref),
        )
        return outcome, ref, summary

    async def _edit_earlier_attempt(self, run: RunInfo, rendered) -> PostRef | None:
        """Edit the alert an earlier attempt of this run posted; None when there is none to edit."""
        earlier = self.ledger.alert_for_run(run.repository, run.run_id)
        if earlier is None:
            return None
        try:
            await self.poster.edit(earlier[1], content=rendered.content, embeds=[rendered.embed])
        except Exception as exc:
            # Deleted, most likely: a fresh alert is better than none.
            log.warning("run %s: earlier alert not editable (%s); posting anew", run.run_id, type(exc).__name__)
            return None
        return earlier[1]

    async def _build_alert(self, run: RunInfo, environment: str, jobs) -> CiAlert:
        note = ""
        failure = None
        tail: list[str] = []
        failed_jobs: list = []
        try:
            if jobs is None:
                jobs = await self.client.jobs(run.run_id, run.attempt)
            failed_jobs = [job for job in jobs if job.failed]
            for job in failed_jobs[:MAX_JOB_LOGS]:
                reading = await self.client.job_log(job.id)
                tail = tail or reading.tail
                if reading.failure is not None:
                    failure, tail = reading.failure, reading.tail
                    break
        except GitHubUnavailable as exc:
            # Still alert: a red run with a link beats silence.
            note = f"the job log could not be read ({exc})"
            log.warning("run %s: %s", run.run_id, note)
        if failure is not None and failure.file:
            failure = await self._enrich(failure, run)
        user = self.discord_users.get(run.actor.lower()) if run.actor else None
        return CiAlert(
            run=run,
            environment=environment,
            failure=failure,
            failed_jobs=tuple(job.name for job in failed_jobs),
            failed_steps=tuple(step for job in failed_jobs for step in job.failed_steps),
            log_tail=tuple(tail),
            note=note,
            mention_user_id=user,
        )

    async def _enrich(self, failure, run: RunInfo):
        """Add the statement's line and full text from the file at the run's commit."""
        path = str(self.migrations_dir / failure.file)
        try:
            text = await self.client.file_text(path, run.head_sha or "HEAD")
        except GitHubUnavailable as exc:
            log.info("run %s: %s not read (%s); alert without line numbers", run.run_id, path, exc)
            return failure
        return enrich(failure, text) if text is not None else failure

    def _schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_later(), name="ci-alert-burst-summary")

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.limiter.seconds_until_free())
            await self.flush_overflow()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not post the burst summary")

    async def flush_overflow(self) -> None:
        """Post the one summary standing for the alerts the limiter held back."""
        held, self._overflow = self._overflow, []
        if held:
            await self.poster.send("alerts", embeds=[render_burst_summary(held)])

    async def close(self) -> None:
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush_task
        # Nothing held back is lost on shutdown: say it now.
        await self.flush_overflow()

    # ------------------------------------------------------------------ successes

    async def _relay_success(self, run: RunInfo, environment: str) -> tuple[str, PostRef | None, str | None]:
        open_alert = self.ledger.open_alert(run.repository, environment)
        if open_alert is None:
            return "green", None, None
        if (run.run_id, run.attempt) <= (open_alert.run_id, open_alert.attempt):
            return "green (older than the open alert)", None, None
        if not self.ledger.close_open_alert(run.repository, environment, open_alert.run_id):
            return "green", None, None
        original = self._alert_embed(run.repository, open_alert)
        try:
            await self.poster.edit(open_alert.ref, embeds=[render_fixed(original, run)])
            await self.poster.reply(open_alert.ref, content=render_fixed_reply(environment, run))
        except Exception as exc:
            # Most likely the alert was deleted. Retrying would fail the same way on every
            # loop pass, so the environment is simply considered green.
            log.warning("run %s: could not mark the %s alert fixed (%s)", run.run_id, environment, type(exc).__name__)
            return "green (alert not editable)", None, None
        return "fixed", None, None

    def _alert_embed(self, repository: str, open_alert: OpenAlert) -> dict:
        stored = self.ledger.summary_of((repository, open_alert.run_id, open_alert.attempt))
        try:
            return json.loads(stored) if stored else {"title": "❌ migration run failed"}
        except ValueError:
            return {"title": "❌ migration run failed"}


async def process_queue(queue: asyncio.Queue, relay: Relay) -> None:
    """The webhook's worker: relay queued runs one by one, forever; one bad run never stops it."""
    while True:
        run = await queue.get()
        try:
            outcome = await relay.handle(run)
            log.info("run %s attempt %s: %s", run.run_id, run.attempt, outcome)
        except asyncio.CancelledError:
            raise
        except GitHubUnavailable as exc:
            log.warning("run %s left for the reconciliation loop: %s", run.run_id, exc)
        except Exception as exc:
            log.error("run %s not relayed: %s", run.run_id, redact(f"{type(exc).__name__}: {exc}"))
        finally:
            queue.task_done()


async def reconcile(client, relay: Relay, *, limit: int = 20, max_age_seconds: float = 6 * 3600) -> list[str]:
    """List recent runs and relay those the ledger has not seen, oldest first."""
    runs = await client.recent_runs(limit)
    now = time.time()
    outcomes = []
    for run in reversed(runs):
        if relay.ledger.seen(run.key):
            continue
        # A first start must not replay weeks of history into #alerts.
        if run.updated_at is not None and now - run.updated_at.timestamp() > max_age_seconds:
            continue
        try:
            outcomes.append(await relay.handle(run))
        except GitHubUnavailable as exc:
            log.warning("run %s not relayed this pass: %s", run.run_id, exc)
        except Exception as exc:
            # Discord down, say: the claim was released, the next pass retries; other runs go on.
            log.error("run %s not relayed this pass: %s", run.run_id, redact(f"{type(exc).__name__}: {exc}"))
    return outcomes
