"""Reading the migrations workflow's runs, jobs and logs from GitHub's REST API.

PyGithub is synchronous, so every public method runs it in a worker thread
(``asyncio.to_thread``) and the bot's event loop never blocks. The API base
URL is a setting (GITHUB_API_URL), so GitHub Enterprise Server
(``https://HOST/api/v3``) and the tests' local server work the same way.

A job's log: ``GET /repos/{repo}/actions/jobs/{id}/logs`` answers 302 with a
short-lived (about a minute) pre-signed URL to a plain-text file. We take the
``Location`` (PyGithub does not follow it) and stream that file with httpx
*without* our token (the URL is already signed; the token must not travel to
blob storage). The bytes go straight through ``joblog.interesting_lines``
into the failure parser, so only a bounded window of lines and a short tail
are ever held, whatever the log's size.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from github import Auth, Github, GithubException, RateLimitExceededException
from github.GithubObject import NonCompletableGithubObject
from github.PaginatedList import PaginatedList
from github.Workflow import Workflow
from github.WorkflowJob import WorkflowJob

from dragonfly_bot.adapters.github_streams import (
    MAX_FILE_BYTES,
    MAX_LOG_BYTES,
    ArchiveTooLarge,
    CappedStream,
    GitHubUnavailable,
    LogReading,
    read_archive_folder,
    read_log,
)
from dragonfly_bot.core.ci_runs import RunInfo

__all__ = [
    "ArchiveTooLarge",
    "GitHubClient",
    "GitHubUnavailable",
    "JobInfo",
    "LogReading",
    "read_archive_folder",
    "read_log",
]

log = logging.getLogger(__name__)

RUNS_PER_PAGE = 100  # GitHub's maximum page size for workflow runs
MAX_WINDOW_RUNS = 2000  # runs read per reconciliation pass, at most (a bound, far above any real window)
MAX_ARCHIVE_BYTES = 256 << 20  # a repository tarball larger than this is refused
FAILED_JOB_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure", "cancelled"})


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    conclusion: str
    html_url: str
    failed_steps: tuple[str, ...]
    failed_step_numbers: tuple[int, ...] = ()  # GitHub's step numbers, for ``#step:N:1`` links

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED_JOB_CONCLUSIONS

    @property
    def step_url(self) -> str:
        """The link to the first failed step's log (the job's page when no step is known)."""
        if not self.html_url or not self.failed_step_numbers:
            return self.html_url
        return f"{self.html_url}#step:{self.failed_step_numbers[0]}:1"


def _unavailable(exc: Exception) -> GitHubUnavailable:
    """One GitHubUnavailable for any failure, keeping GitHub's status and rate-limit state."""
    if isinstance(exc, GithubException):
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        remaining = headers.get("x-ratelimit-remaining")
        rate_limited = isinstance(exc, RateLimitExceededException) or (
            exc.status in (403, 429) and (remaining == "0" or "retry-after" in headers)
        )
        reset = headers.get("x-ratelimit-reset")
        return GitHubUnavailable(
            _describe(exc),
            status=exc.status,
            rate_limited=rate_limited,
            reset=int(reset) if isinstance(reset, str) and reset.isdigit() else None,
        )
    if isinstance(exc, httpx.HTTPStatusError):
        return GitHubUnavailable(_describe(exc), status=exc.response.status_code)
    return GitHubUnavailable(_describe(exc))


def _describe(exc: Exception) -> str:
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"GitHub answered {exc.status}" + (f": {message}" if isinstance(message, str) else "")
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the log download answered {exc.response.status_code}"
    if isinstance(exc, (httpx.HTTPError, OSError)):  # requests' errors are OSErrors too
        return f"GitHub could not be reached ({type(exc).__name__})"
    return f"GitHub's answer could not be read ({type(exc).__name__})"


class _RawItem(NonCompletableGithubObject):
    """One list item as GitHub sent it (``raw_data``), without PyGithub's attribute parsing."""

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes) -> None:
        pass


class GitHubClient:
    """The migrations workflow of one repository."""

    def __init__(
        self,
        token: str,
        repository: str,
        workflow: str = "",
        *,
        api_url: str = "https://api.github.com",
        timeout: float = 30,
        retry: int = 2,
        max_log_bytes: int = MAX_LOG_BYTES,
    ):
        self.repository = repository
        self.workflow = workflow
        self.max_log_bytes = max_log_bytes
        self._timeout = timeout
        self._github = Github(
            auth=Auth.Token(token),
            base_url=api_url.rstrip("/"),
            timeout=int(timeout),
            retry=retry,
            per_page=50,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,  # no request until one is needed (get_repo would fetch the repository)
        )
        self._repo = self._github.get_repo(repository)
        self._workflow_obj: Workflow | None = None

    def close(self) -> None:
        self._github.close()

    # -- sync parts, run in a thread -------------------------------------

    def _workflow(self):
        if self._workflow_obj is None:
            wanted = self.workflow.strip()
            if wanted.lower().endswith((".yml", ".yaml")):
                self._workflow_obj = self._repo.get_workflow(wanted.rsplit("/", 1)[-1])
            else:
                for candidate in self._repo.get_workflows():
                    if candidate.name.strip().lower() == wanted.lower():
                        self._workflow_obj = candidate
                        break
                else:
                    raise GitHubUnavailable(f"no workflow named {wanted!r} in {self.repository}")
        return self._workflow_obj

    def _runs_since(self, since: datetime) -> list[RunInfo]:
        # PyGithub's paging (it follows GitHub's Link: rel="next" headers); the items stay
        # raw JSON, since a WorkflowRun's raw_data would fetch every run again.
        created = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pages = PaginatedList(
            _RawItem,
            self._github.requester,
            f"{self._workflow().url}/runs",
            {"status": "completed", "created": f">={created}", "per_page": RUNS_PER_PAGE},
            list_item="workflow_runs",
        )
        found = []
        for item in pages:
            found.append(RunInfo.from_api(item.raw_data, self.repository))
            if len(found) >= MAX_WINDOW_RUNS:
                log.warning(
                    "more than %d runs since %s: the oldest are left for later passes", MAX_WINDOW_RUNS, created
                )
                break
        return found

    def _run(self, run_id: int, attempt: int | None) -> RunInfo:
        url = f"{self._repo.url}/actions/runs/{run_id}"
        if attempt:
            url += f"/attempts/{attempt}"
        _, data = self._github.requester.requestJsonAndCheck("GET", url)
        return RunInfo.from_api(data, self.repository)

    def _jobs(self, run_id: int, attempt: int) -> list[JobInfo]:
        url = f"{self._repo.url}/actions/runs/{run_id}/attempts/{attempt}/jobs"
        jobs = PaginatedList(WorkflowJob, self._github.requester, url, None, list_item="jobs")
        found = []
        for job in jobs:
            # The list already carries each job's steps (job.raw_data would re-fetch the job).
            failed = [step for step in job.steps or [] if step.conclusion in FAILED_JOB_CONCLUSIONS]
            steps = tuple(step.name or "" for step in failed)
            numbers = tuple(step.number for step in failed if isinstance(step.number, int))
            found.append(
                JobInfo(
                    id=job.id,
                    name=job.name or "",
                    conclusion=job.conclusion or "",
                    html_url=job.html_url or "",
                    failed_steps=steps,
                    failed_step_numbers=numbers,
                )
            )
        return found

    def _stream_redirect(self, api_url: str, consume):
        """GET an API URL that answers 302 (job logs, archives) and stream the target with ``consume``.

        The target is a short-lived signed URL on another host (blob storage,
        codeload): it is fetched *without* our token, which must not leave the API host.
        """
        headers, _ = self._github.requester.requestBlobAndCheck("GET", api_url)
        location = headers.get("location")
        if not location:
            raise GitHubUnavailable("GitHub gave no download location")
        with (
            httpx.Client(timeout=self._timeout, follow_redirects=True) as http,
            http.stream("GET", location) as response,
        ):
            response.raise_for_status()
            return consume(response.iter_bytes(64 << 10))

    def _job_log(self, job_id: int) -> LogReading:
        return self._stream_redirect(
            f"{self._repo.url}/actions/jobs/{job_id}/logs",
            lambda chunks: read_log(chunks, max_bytes=self.max_log_bytes),
        )

    def _default_branch(self) -> str:
        _, data = self._github.requester.requestJsonAndCheck("GET", self._repo.url)
        branch = data.get("default_branch") if isinstance(data, dict) else None
        if not isinstance(branch, str) or not branch:
            raise GitHubUnavailable(f"GitHub did not say which branch of {self.repository} is the default")
        return branch

    def _branch_head(self, branch: str, etag: str | None) -> tuple[str | None, str | None]:
        # GitHub's documented way to poll a ref: the SHA media type with the last ETag;
        # an unchanged head answers 304, which does not count against the rate limit.
        headers = {"Accept": "application/vnd.github.sha"}
        if etag:
            headers["If-None-Match"] = etag
        url = f"{self._repo.url}/commits/{quote(branch, safe='')}"
        status, response_headers, body = self._github.requester.requestJson("GET", url, headers=headers)
        response_headers = {k.lower(): v for k, v in response_headers.items()}
        if status == 304:
            return None, etag
        if status >= 400:
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                data = {}
            raise self._github.requester.createException(
                status, response_headers, data if isinstance(data, dict) else {}
            )
        sha = (body or "").strip()
        if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha.lower()):
            raise GitHubUnavailable(f"GitHub's answer for branch {branch} was not a commit SHA")
        return sha, response_headers.get("etag")

    def _archive_files(self, sha: str, folder: str, max_bytes: int, max_file_bytes: int) -> dict[str, bytes]:
        def consume(chunks):
            stream = CappedStream(chunks, max_bytes)
            too_large = ArchiveTooLarge(
                f"the archive of {self.repository}@{sha[:7]} is larger than {max_bytes >> 20} MB"
            )
            try:
                found = read_archive_folder(stream, folder, max_file_bytes=max_file_bytes)
            except GitHubUnavailable:
                if stream.truncated:  # cut at the cap, so the tar stream ended early
                    raise too_large from None
                raise
            if stream.truncated:
                raise too_large
            return found

        return self._stream_redirect(f"{self._repo.url}/tarball/{sha}", consume)

    def _file_text(self, path: str, ref: str) -> str | None:
        try:
            content = self._repo.get_contents(path, ref=ref)
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(content, list):  # a folder
            return None
        return content.decoded_content.decode("utf-8", errors="replace")

    # -- async API --------------------------------------------------------

    async def _call(self, func, *args):
        try:
            return await asyncio.to_thread(func, *args)
        except GitHubUnavailable:
            raise
        except Exception as exc:  # PyGithub, requests and httpx errors, odd answers
            log.debug("GitHub call %s failed", getattr(func, "__name__", func), exc_info=True)
            raise _unavailable(exc) from None

    async def runs_since(self, since: datetime) -> list[RunInfo]:
        """Every completed run of the migrations workflow created since ``since``, all pages (newest first)."""
        return await self._call(self._runs_since, since)

    async def run(self, run_id: int, attempt: int | None = None) -> RunInfo:
        return await self._call(self._run, run_id, attempt)

    async def jobs(self, run_id: int, attempt: int) -> list[JobInfo]:
        """The jobs of that attempt, with the names of their failed steps."""
        return await self._call(self._jobs, run_id, attempt)

    async def job_log(self, job_id: int) -> LogReading:
        return await self._call(self._job_log, job_id)

    async def file_text(self, path: str, ref: str) -> str | None:
        """A file of the repository at ``ref`` (the failing migration), None when absent."""
        return await self._call(self._file_text, path, ref)

    async def default_branch(self) -> str:
        """The repository's default branch (one request)."""
        return await self._call(self._default_branch)

    async def branch_head(self, branch: str, etag: str | None = None) -> tuple[str | None, str | None]:
        """(head SHA, ETag) of ``branch``; (None, etag) when unchanged since ``etag`` (a 304)."""
        return await self._call(self._branch_head, branch, etag)

    async def archive_files(
        self, sha: str, folder: str, *, max_bytes: int = MAX_ARCHIVE_BYTES, max_file_bytes: int = MAX_FILE_BYTES
    ) -> dict[str, bytes]:
        """The files directly in ``folder`` at commit ``sha``, by name, from the repository's tarball."""
        return await self._call(self._archive_files, sha, folder, max_bytes, max_file_bytes)
