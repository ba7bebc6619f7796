"""The CI relay: a finished migrations run in, exactly one #alerts post out.

``Relay.handle`` is the one path for both the webhook's queue worker and the
reconciliation loop. For a failed run it claims the run attempt in the
ledger, reads the failed job's log through the GitHub client, classifies it
with the one parser (``dragonfly_bot.core.failures``), and enqueues the alert in the
bot's outbox (or an edit of the alert of an earlier attempt of the same run).
For a successful run it enqueues the "fixed by <sha>" edit of every open
alert of the environment from an older run, and one reply. A failure that
arrives after a newer green run of its environment is posted as already
superseded (no ping) and is never an open alert. Nothing here talks to Discord: the
outbox sends, exactly once, across crashes (``dragonfly_bot.chat.outbox_sender``).

Every outbox key names its event (``ci-alert:<repo>:<run>:<attempt>``,
``ci-fixed:<repo>:<env>:<run>:<attempt>``), so a run handled again after a
crash (its ledger claim's lease ran out) enqueues nothing new.

Serialised per (repository, environment), so a failure and the success right
after it, or two attempts of one run, can never interleave. Posting is
rate-limited from the outbox itself (so the limit survives a restart): past
``max_posts`` new alerts in ``per_seconds``, alerts are *held* rows, folded
into one summary post when the window reopens (``flush_overflow``, run by
the reconciliation loop and at shutdown, so held rows survive a kill).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from dragonfly_bot.adapters.github import GitHubUnavailable
from dragonfly_bot.adapters.state.ledger import Ledger, OpenAlert
from dragonfly_bot.adapters.state.outbox import OutboxRow
from dragonfly_bot.chat.outbox_message import post
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.core.ci_runs import ALERTED_ENVIRONMENTS, UNKNOWN_ENV, CiAlert, RunInfo, is_migrations_workflow
from dragonfly_bot.core.failures import NEEDS_OTHER_FILES, enrich
from dragonfly_bot.core.redact import redact
from dragonfly_bot.relay.render_discord import render_alert, render_burst_summary, render_fixed, render_fixed_reply

log = logging.getLogger(__name__)

MAX_JOB_LOGS = 3  # failed jobs whose logs are read, at most
ALERT_TAG = "ci-alert"  # outbox tag of new alerts: what the rate limit counts and what is held


# Held alerts one burst summary names; 20 lines of about 150 characters fit an embed description.
SUMMARY_ROWS = 20


def alert_key(run: RunInfo) -> str:
    return f"ci-alert:{run.repository}:{run.run_id}:{run.attempt}"


def alert_message(alert: CiAlert) -> dict:
    """The neutral outbox message of one alert (rendered by the one renderer)."""
    rendered = render_alert(alert)
    files = [(rendered.excerpt[0], rendered.excerpt[1].decode())] if rendered.excerpt else []
    users = [alert.mention_user_id] if alert.mention_user_id is not None else []
    return post(content=rendered.content, embeds=[rendered.embed], mention_users=users, files=files)


class Relay:
    def __init__(
        self,
        *,
        client,
        ledger: Ledger,
        outbox: Outbox,
        workflow: str,
        discord_users: Mapping[str, int] | None = None,
        migrations_dir: str = "supabase/migrations",
        max_posts: int = 5,
        per_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        self.ledger = ledger
        self.outbox = outbox
        self.workflow = workflow
        self.discord_users = {k.lower(): v for k, v in (discord_users or {}).items()}
        self.migrations_dir = PurePosixPath(str(migrations_dir).replace("\\", "/"))
        self.max_posts = max_posts
        self.per_seconds = per_seconds
        self._clock = clock
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._limit_lock = asyncio.Lock()
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
            try:
                if run.failed:
                    outcome, alert, key = await self._relay_failure(run, environment, jobs)
                else:
                    outcome, alert, key = await self._relay_success(run, environment)
            except BaseException:
                # Not handled: let the next webhook or loop pass try again.
                self.ledger.release(run.key)
                raise
            self.ledger.complete(run.key, alert=alert, post_key=key)
            return outcome

    # ------------------------------------------------------------------ failures

    async def _relay_failure(self, run: RunInfo, environment: str, jobs) -> tuple[str, CiAlert | None, str | None]:
        alert = await self._build_alert(run, environment, jobs)
        # A newer green run of the environment was seen first (a late delivery, an old run
        # re-run): the failure is posted as already superseded by it, pings nobody, and is
        # never an open alert for a green run to fix.
        green = self.ledger.newest_green(run.repository, environment)
        if green is not None and green.order.newer_than(run.order):
            alert = dataclasses.replace(alert, superseded_by=green, mention_user_id=None)
        message = alert_message(alert)
        key = alert_key(run)
        earlier = self.ledger.post_for_run(run.repository, run.run_id, run.attempt)
        # The domain data first: a burst summary folding this row reads it from the ledger.
        self.ledger.note_alert(run.key, alert, key)
        if earlier is not None:
            # Edit the earlier attempt's alert; if it was deleted, a fresh alert beats none.
            await self.outbox.enqueue(key, "alerts", message, edit_of=earlier[1], if_gone="send")
            outcome = "edited"
        else:
            async with self._limit_lock:
                held = not await self._may_post()
                await self.outbox.enqueue(key, "alerts", message, tag=ALERT_TAG, held=held)
            if held:
                self._schedule_flush()
                return "summarised", alert, key
            outcome = "posted"
        if alert.superseded_by is not None:
            return f"{outcome} as superseded", alert, key
        self.ledger.set_open_alert(
            run.repository,
            environment,
            OpenAlert(
                run_id=run.run_id,
                attempt=run.attempt,
                head_sha=run.head_sha,
                post_key=key,
                run_number=run.run_number,
                created_at=run.created_at,
            ),
        )
        return outcome, alert, key

    async def _may_post(self) -> bool:
        since = self._clock() - self.per_seconds
        return await self.outbox.store.count_since(ALERT_TAG, since) < self.max_posts

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
            step_url=next((job.step_url for job in failed_jobs if job.step_url), ""),
            log_tail=tuple(tail),
            note=note,
            mention_user_id=user,
        )

    async def _enrich(self, failure, run: RunInfo):
        """Add the statement's line and full text from the file at the run's commit, and for a missing object
        the folder's other files (which one creates it, in what order: the hint `explain` gives)."""
        path = str(self.migrations_dir / failure.file)
        ref = run.head_sha or "HEAD"
        try:
            text = await self.client.file_text(path, ref)
        except GitHubUnavailable as exc:
            log.info("run %s: %s not read (%s); alert without line numbers", run.run_id, path, exc)
            return failure
        if text is None:
            return failure
        others = await self._folder(run, ref) if failure.category in NEEDS_OTHER_FILES else None
        return enrich(failure, text, others)

    async def _folder(self, run: RunInfo, ref: str) -> dict[str, str] | None:
        """The migrations folder at the run's commit (one archive download); None when it cannot be read."""
        try:
            files = await self.client.archive_files(ref, str(self.migrations_dir))
        except GitHubUnavailable as exc:
            log.info("run %s: migrations folder not read (%s); the hint reads the failing file only", run.run_id, exc)
            return None
        return {name: data.decode("utf-8", "replace") for name, data in files.items() if name.endswith(".sql")}

    def _schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_later(), name="ci-alert-burst-summary")

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.per_seconds)
            await self.flush_overflow()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not enqueue the burst summary")

    async def flush_overflow(self, *, force: bool = False) -> int:
        """Fold the held alerts into one summary post once the window reopens (``force``: now).

        Returns how many alerts the summary stands for.
        """
        held = await self.outbox.store.held(ALERT_TAG)
        if not held:
            return 0
        async with self._limit_lock:
            if not force and not await self._may_post():
                self._schedule_flush()
                return 0
            # One summary per SUMMARY_ROWS held alerts, so every run stays named in a post that fits
            # Discord's embed limit; each summary's key is its first row's, stable across a crash.
            total = 0
            while held:
                key = f"ci-burst:{held[0].key}"
                folded = await self.outbox.store.fold(
                    ALERT_TAG, key, "alerts", self._summary_message, limit=SUMMARY_ROWS
                )
                total += len(folded)
                held = await self.outbox.store.held(ALERT_TAG) if folded else []
        return total

    def _summary_message(self, rows: list[OutboxRow]) -> dict:
        alerts = [a for a in (self.ledger.alert_of_post(row.key) for row in rows) if a is not None]
        return post(embeds=[render_burst_summary(alerts)])

    async def close(self) -> None:
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush_task
        # Held alerts are durable rows; fold them now so the summary goes out first thing.
        await self.flush_overflow(force=True)

    # ------------------------------------------------------------------ successes

    async def _relay_success(self, run: RunInfo, environment: str) -> tuple[str, CiAlert | None, str | None]:
        self.ledger.note_green(run.repository, environment, run)
        open_alerts = self.ledger.open_alerts(run.repository, environment)
        if not open_alerts:
            return "green", None, None
        fixed_now = [a for a in open_alerts if run.order.newer_than(a.order)]
        if not fixed_now:
            return "green (older than the open alert)", None, None
        # Every open alert older than this run is fixed by it (red A, red B, green: both).
        # Each edit is keyed by the alert it fixes: two green runs racing fix it once. All
        # are enqueued before any alert is closed, so a crash in between retries instead of
        # losing an edit; the newest is closed last, so the one reply's key stays the same.
        fixed_keys = []
        for open_alert in fixed_now:
            failed = self.ledger.alert_of((run.repository, open_alert.run_id, open_alert.attempt))
            original: dict = {"title": "❌ migration run failed"}
            if failed is not None:
                original = dict(render_alert(failed).embed.to_dict())
            fixed = f"ci-fixed:{run.repository}:{environment}:{open_alert.run_id}:{open_alert.attempt}"
            await self.outbox.enqueue(
                fixed, "alerts", post(embeds=[render_fixed(original, run)]), edit_of=open_alert.post_key
            )
            fixed_keys.append(fixed)
        newest = fixed_now[-1]
        await self.outbox.enqueue(
            f"{fixed_keys[-1]}:reply",
            "alerts",
            post(content=render_fixed_reply(environment, run, len(fixed_now))),
            reply_to=newest.post_key,
        )
        closed = [self.ledger.close_open_alert(run.repository, environment, a.run_id) for a in fixed_now]
        if not any(closed):
            return "green", None, None
        return "fixed", None, fixed_keys[-1]


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


async def reconcile(client, relay: Relay, *, max_age_seconds: float = 6 * 3600) -> list[str]:
    """Relay every completed run of the window that the ledger has not finished, oldest first.

    Every page of the window is read (a burst of 40 runs is more than one page).
    A run claimed but never finished (its holder died) is not done: ``handle``
    takes it again once the claim's lease has run out. Held-back alerts are
    folded into their summary when the rate limit allows.
    """
    # A first start must not replay weeks of history into #alerts.
    since = datetime.now(UTC) - timedelta(seconds=max_age_seconds)
    runs = await client.runs_since(since)
    outcomes = []
    for run in sorted(runs, key=lambda r: (r.run_id, r.attempt)):
        if relay.ledger.done(run.key):
            continue
        if run.updated_at is not None and run.updated_at < since:
            continue
        try:
            outcomes.append(await relay.handle(run))
        except GitHubUnavailable as exc:
            log.warning("run %s not relayed this pass: %s", run.run_id, exc)
        except Exception as exc:
            # Discord down, say: the claim was released, the next pass retries; other runs go on.
            log.error("run %s not relayed this pass: %s", run.run_id, redact(f"{type(exc).__name__}: {exc}"))
    try:
        await relay.flush_overflow()
    except Exception as exc:
        log.error("held-back alerts not summarised this pass: %s", redact(f"{type(exc).__name__}: {exc}"))
    return outcomes
