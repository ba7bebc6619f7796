"""GitHub Actions runs of the migrations workflow, as plain data.

One parser (``RunInfo.from_api``) reads the ``workflow_run`` object, which
GitHub shapes the same way in webhook payloads and in the REST API, so the
webhook and the reconciliation loop describe a run identically.

Which database a run touched: the workflow names it in its ``run-name``
(``Supabase Migrations (dev)``, ``(prod)`` or ``(pre-flight)``), which
GitHub reports as ``display_title``. Older runs or other set-ups fall back to
the job names (``migrate (prod)``), then to the trigger: a push applies to
dev, a pull request only runs the pre-flight. A dispatch we cannot read is
``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dragonfly_bot.core.environments import ENVIRONMENTS

FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
SUCCESS = "success"
PREFLIGHT = "pre-flight"
UNKNOWN_ENV = "unknown"
# Runs whose result belongs in #alerts: the two databases (and a dispatch we
# could not read, rather than dropping it). Pull-request pre-flights report on
# the pull request itself.
ALERTED_ENVIRONMENTS = frozenset({*ENVIRONMENTS, UNKNOWN_ENV})

_ENV_IN_TITLE = re.compile(r"\((dev|prod|pre-flight)\)\s*$", re.IGNORECASE)


# Every key of a ``workflow_run`` object that RunInfo.from_api reads (of its ``repository``, only
# ``full_name``): a webhook body is parsed for these alone (dragonfly_bot/relay/webhook_payload.py).
WORKFLOW_RUN_FIELDS = frozenset(
    {
        "id",
        "repository",
        "run_attempt",
        "head_commit",
        "name",
        "path",
        "status",
        "conclusion",
        "event",
        "display_title",
        "head_sha",
        "head_branch",
        "actor",
        "triggering_actor",
        "html_url",
        "run_started_at",
        "created_at",
        "updated_at",
        "run_number",
    }
)


class BadRunPayload(ValueError):
    """The workflow_run object lacks a field we need; the text names it."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # GitHub always sends UTC; a zone-less time must not break arithmetic with an aware one.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _login(user: Any) -> str:
    return _text(user.get("login")) if isinstance(user, Mapping) else ""


@dataclass(frozen=True)
class RunInfo:
    """What the relay needs to know about one attempt of one workflow run."""

    repository: str
    run_id: int
    attempt: int
    workflow_name: str
    workflow_path: str
    status: str
    conclusion: str
    event: str
    display_title: str
    head_sha: str
    head_branch: str
    commit_message: str
    commit_author: str
    actor: str
    html_url: str
    started_at: datetime | None
    updated_at: datetime | None
    run_number: int = 0  # per workflow, increasing with each new run (re-runs keep theirs); 0: unknown
    created_at: datetime | None = None  # when the run (its first attempt) was created

    @classmethod
    def from_api(cls, run: Any, repository: str | None = None) -> RunInfo:
        """Read a ``workflow_run`` object (webhook or REST). Raises BadRunPayload."""
        if not isinstance(run, Mapping):
            raise BadRunPayload("workflow_run is not an object")
        run_id = run.get("id")
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            raise BadRunPayload("workflow_run.id is missing or not a number")
        own_repo = run.get("repository")
        repo = repository or (_text(own_repo.get("full_name")) if isinstance(own_repo, Mapping) else "")
        if not repo:
            raise BadRunPayload("repository.full_name is missing")
        attempt = run.get("run_attempt", 1)
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            attempt = 1
        head_commit = run.get("head_commit")
        commit = head_commit if isinstance(head_commit, Mapping) else {}
        commit_author = commit.get("author")
        author = commit_author if isinstance(commit_author, Mapping) else {}
        return cls(
            repository=repo,
            run_id=run_id,
            attempt=attempt,
            workflow_name=_text(run.get("name")),
            workflow_path=_text(run.get("path")),
            status=_text(run.get("status")),
            conclusion=_text(run.get("conclusion")),
            event=_text(run.get("event")),
            display_title=_text(run.get("display_title")),
            head_sha=_text(run.get("head_sha")) or _text(commit.get("id")),
            head_branch=_text(run.get("head_branch")),
            commit_message=_text(commit.get("message")),
            commit_author=_text(author.get("name")) or _text(author.get("username")),
            actor=_login(run.get("actor")) or _login(run.get("triggering_actor")),
            html_url=_text(run.get("html_url")),
            started_at=_time(run.get("run_started_at")) or _time(run.get("created_at")),
            updated_at=_time(run.get("updated_at")),
            run_number=_count(run.get("run_number")),
            created_at=_time(run.get("created_at")),
        )

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.repository, self.run_id, self.attempt)

    @property
    def order(self) -> RunOrder:
        return RunOrder(self.run_id, self.attempt, self.run_number, self.created_at)

    @property
    def failed(self) -> bool:
        return self.status == "completed" and self.conclusion in FAILED_CONCLUSIONS

    @property
    def succeeded(self) -> bool:
        return self.status == "completed" and self.conclusion == SUCCESS

    @property
    def short_sha(self) -> str:
        return self.head_sha[:7]

    @property
    def commit_title(self) -> str:
        return self.commit_message.split("\n", 1)[0].strip()

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.updated_at is None:
            return None
        seconds = (self.updated_at - self.started_at).total_seconds()
        return seconds if seconds >= 0 else None

    @property
    def attempt_url(self) -> str:
        """The link to this very attempt (the run page shows the latest one)."""
        if not self.html_url:
            return ""
        return f"{self.html_url.rstrip('/')}/attempts/{self.attempt}" if self.attempt > 1 else self.html_url

    def environment(self, job_names: Iterable[str] = ()) -> str:
        """dev, prod, pre-flight or unknown (see the module docstring)."""
        found = _ENV_IN_TITLE.search(self.display_title)
        if found:
            return found.group(1).lower()
        for name in job_names:
            found = _ENV_IN_TITLE.search(name or "")
            if found:
                return found.group(1).lower()
        if self.event == "push":
            return "dev"
        if self.event == "pull_request":
            return PREFLIGHT
        return UNKNOWN_ENV


@dataclass(frozen=True)
class RunOrder:
    """What places one attempt of a run among the others of its workflow (stored with open alerts)."""

    run_id: int
    attempt: int
    run_number: int = 0
    created_at: datetime | None = None

    def newer_than(self, other: RunOrder) -> bool:
        """A later run, or a later attempt of the same run.

        The run number when both have one (GitHub counts a workflow's runs up), else
        when each run was created, else the run id (GitHub hands them out increasing).
        """
        if self.run_id == other.run_id:
            return self.attempt > other.attempt
        if self.run_number and other.run_number and self.run_number != other.run_number:
            return self.run_number > other.run_number
        if self.created_at is not None and other.created_at is not None and self.created_at != other.created_at:
            return self.created_at > other.created_at
        return self.run_id > other.run_id


def is_migrations_workflow(run: RunInfo, configured: str) -> bool:
    """Whether ``run`` belongs to the workflow MIGRATIONS_WORKFLOW names.

    The setting may be a file name (``supabase-migrate.yml``), a path
    (``.github/workflows/supabase-migrate.yml``) or the display name
    (``Supabase Migrations``); the comparison ignores case.
    """
    wanted = configured.strip().lower()
    if not wanted:
        return False
    if wanted.endswith((".yml", ".yaml")):
        # Reusable/dynamic workflows report "path@ref"; keep the path.
        path = run.workflow_path.lower().split("@", 1)[0]
        return path == wanted or path.rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]
    return run.workflow_name.strip().lower() == wanted


@dataclass(frozen=True)
class CiAlert:
    """Everything one #alerts post about a failed run says (rendered by render/discord_alerts)."""

    run: RunInfo
    environment: str
    failure: Any | None  # dragonfly_bot.core.failures.Failure, or None when the log showed no error
    failed_jobs: tuple[str, ...] = ()
    failed_steps: tuple[str, ...] = ()
    step_url: str = ""  # the failed job's failed step (GitHub's #step:N:1 anchor), else the job
    log_tail: tuple[str, ...] = ()  # the end of the failed job's log, cleaned
    note: str = ""  # why the log could not be read, when it could not
    mention_user_id: int | None = None  # Discord id of the run's actor, when mapped
    # A newer green run of the environment already seen when this failure came in: the
    # alert is posted as already superseded by it (no ping, never an open alert).
    superseded_by: RunInfo | None = None
