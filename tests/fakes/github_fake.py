"""A local GitHub REST API for the relay's tests (aiohttp on 127.0.0.1).

Serves the shapes GitHub documents for: get a workflow, list a workflow's
runs, get a run / a run attempt, list jobs for a run attempt (with steps),
download job logs (302 to a short-lived plain-text URL on the same server,
as GitHub does), get repository contents, get a repository (default branch),
get a commit with the SHA media type (ETag / If-None-Match → 304) and
download a repository archive (302 to a codeload-like URL serving a .tar.gz
with GitHub's ``owner-repo-sha7/`` top folder). ``push()`` makes commits. The bot's client reaches it
through GITHUB_API_URL, like GitHub Enterprise Server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

REPO = "octo-org/dragonfly"
WORKFLOW_ID = 4242
WORKFLOW_PATH = ".github/workflows/supabase-migrate.yml"
TOKEN = "ghp_" + "T0k3nForTheFakeGitHubApi0123456789"

_ids = itertools.count(900_000)

_ANSI_RED = "\x1b[31m"
_ANSI_RESET = "\x1b[0m"


def github_log(cli_output: str, *, prelude: list[str] | None = None, start: datetime | None = None) -> bytes:
    """Wrap CLI output the way GitHub serves a job log: timestamps, ##[group], ANSI, \\r\\n."""
    t = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    lines = [
        "##[group]Run actions/checkout@v4",
        "Syncing repository: octo-org/dragonfly",
        "##[endgroup]",
        *(prelude or []),
        "##[group]Run set -o pipefail",
        "\x1b[36;1mset -o pipefail\x1b[0m",
        '\x1b[36;1mnpx supabase migration up --db-url "$DB_URL" --yes 2>&1 | tee migrate.log\x1b[0m',
        "shell: /usr/bin/bash -e {0}",
        "##[endgroup]",
    ]
    for line in cli_output.splitlines():
        lines.append(f"{_ANSI_RED}{line}{_ANSI_RESET}" if line.startswith("ERROR") else line)
    lines.append("##[error]Process completed with exit code 1.")
    out = []
    for i, line in enumerate(lines):
        stamp = (t + timedelta(milliseconds=137 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
        out.append(f"{stamp} {line}\r\n")
    return "".join(out).encode()


@dataclass
class FakeGitHub:
    repo: str = REPO
    runs: dict[tuple[int, int], dict] = field(default_factory=dict)
    jobs: dict[tuple[int, int], list[dict]] = field(default_factory=dict)
    logs: dict[int, bytes] = field(default_factory=dict)
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, ref) -> text
    requests: list[str] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)  # (path, status answered)
    blob_auth_headers: list[str | None] = field(default_factory=list)
    fail_logs_with: int | None = None  # answer the job-logs endpoint with this status
    # Branches and commits: branch -> head SHA, SHA -> {path: text} (the whole tree).
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, str]] = field(default_factory=dict)
    archive_auth_headers: list[str | None] = field(default_factory=list)
    # Answer the repository, commit and tarball endpoints with this status ("rate" = rate limit used up).
    fail_repo_with: int | str | None = None
    prefix: str = ""  # "/api/v3" serves it the way GitHub Enterprise Server does
    url: str = ""  # the API base URL (GITHUB_API_URL)
    pages_served: int = 0  # pages of the workflow-runs list answered
    _runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ data

    def run_payload(
        self,
        run_id: int,
        attempt: int = 1,
        *,
        conclusion: str = "failure",
        env: str = "dev",
        sha: str = "",
        actor: str = "octocat",
        message: str = "feat: add customer tier column\n\nlonger body",
        minutes_ago: float = 5,
    ) -> dict:
        sha = sha or f"{run_id:07d}{attempt}".ljust(40, "a")
        updated = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        started = updated - timedelta(seconds=83)
        base = self.url or "https://api.github.com"
        api_run = f"{base}/repos/{self.repo}/actions/runs/{run_id}"
        user = {"login": actor, "id": 1, "type": "User", "url": f"{base}/users/{actor}"}
        return {
            "id": run_id,
            "name": "Supabase Migrations",
            "node_id": "WFR_x",
            "head_branch": "main",
            "head_sha": sha,
            "path": WORKFLOW_PATH,
            "display_title": f"Supabase Migrations ({env})",
            "run_number": run_id,  # increasing, as GitHub counts a workflow's runs
            "event": "push" if env == "dev" else "workflow_dispatch",
            "status": "completed",
            "conclusion": conclusion,
            "workflow_id": WORKFLOW_ID,
            "url": api_run,
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run_id}",
            "created_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_attempt": attempt,
            "actor": user,
            "triggering_actor": user,
            "jobs_url": f"{api_run}/jobs",
            "logs_url": f"{api_run}/logs",
            "workflow_url": f"{base}/repos/{self.repo}/actions/workflows/{WORKFLOW_ID}",
            "head_commit": {
                "id": sha,
                "tree_id": "t",
                "message": message,
                "timestamp": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "author": {"name": "Octo Cat", "email": "octocat@example.com"},
                "committer": {"name": "Octo Cat", "email": "octocat@example.com"},
            },
            "repository": {"id": 1, "full_name": self.repo, "name": self.repo.split("/")[1]},
            "pull_requests": [],
        }

    def add_run(self, run_id: int, attempt: int = 1, *, log: bytes | None = None, env: str = "dev", **kwargs) -> dict:
        """A completed run with one job (pre-flight ok, migrate failed at 'Apply migrations' when failed)."""
        run = self.run_payload(run_id, attempt, env=env, **kwargs)
        self.runs[(run_id, attempt)] = run
        failed = run["conclusion"] != "success"
        job_id = next(_ids)
        steps = [
            {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1},
            {
                "name": "Apply migrations",
                "status": "completed",
                "conclusion": "failure" if failed else "success",
                "number": 2,
            },
            {
                "name": "Record the run in public.migration_runs",
                "status": "completed",
                "conclusion": "success",
                "number": 3,
            },
        ]
        self.jobs[(run_id, attempt)] = [
            self._job(
                next(_ids),
                run,
                "pre-flight",
                "success",
                [{"name": "Pre-flight checks", "status": "completed", "conclusion": "success", "number": 1}],
            ),
            self._job(job_id, run, f"migrate ({env})", "failure" if failed else "success", steps),
        ]
        if log is not None:
            self.logs[job_id] = log
        return run

    def _job(self, job_id: int, run: dict, name: str, conclusion: str, steps: list[dict]) -> dict:
        base = self.url
        return {
            "id": job_id,
            "run_id": run["id"],
            "run_attempt": run["run_attempt"],
            "run_url": run["url"],
            "node_id": "CR_x",
            "head_sha": run["head_sha"],
            "url": f"{base}/repos/{self.repo}/actions/jobs/{job_id}",
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run['id']}/job/{job_id}",
            "status": "completed",
            "conclusion": conclusion,
            "started_at": run["run_started_at"],
            "completed_at": run["updated_at"],
            "name": name,
            "steps": steps,
            "check_run_url": f"{base}/repos/{self.repo}/check-runs/{job_id}",
            "labels": ["ubuntu-latest"],
            "workflow_name": "Supabase Migrations",
            "head_branch": "main",
        }

    def push(self, changes: dict[str, str | None], branch: str = "main") -> str:
        """A new commit on ``branch``: paths to new text (None deletes). Returns its SHA."""
        tree = dict(self.commits.get(self.branches.get(branch, ""), {}))
        for path, text in changes.items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text
        sha = hashlib.sha1(f"{len(self.commits)}:{sorted(tree.items())}".encode()).hexdigest()
        self.commits[sha] = tree
        self.branches[branch] = sha
        return sha

    def api_requests(self, kind: str) -> list[str]:
        """The recorded requests of one kind: "commit", "tarball", "archive" (the download) or "repo"."""
        marks = {"commit": "/commits/", "tarball": "/tarball/", "archive": "/_codeload/"}
        if kind == "repo":
            return [r for r in self.requests if r.rstrip("/").endswith(f"/repos/{self.repo}")]
        return [r for r in self.requests if marks[kind] in r]

    def _tarball(self, sha: str) -> bytes:
        top = f"{self.repo.replace('/', '-')}-{sha[:7]}"
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as archive:
            # GitHub's archives start with a pax header carrying the commit id.
            archive.pax_headers = {"comment": sha}
            folders = {top}
            for path in sorted(self.commits[sha]):
                parts = path.split("/")
                for i in range(1, len(parts)):
                    folders.add(f"{top}/{'/'.join(parts[:i])}")
            for folder in sorted(folders):
                info = tarfile.TarInfo(folder + "/")
                info.type = tarfile.DIRTYPE
                info.mode = 0o775
                archive.addfile(info)
            for path, text in sorted(self.commits[sha].items()):
                data = text.encode()
                info = tarfile.TarInfo(f"{top}/{path}")
                info.size = len(data)
                info.mode = 0o664
                archive.addfile(info, io.BytesIO(data))
        return out.getvalue()

    # ------------------------------------------------------------------ server

    def _check_repo(self, request: web.Request) -> None:
        self._check_auth(request)
        if self.fail_repo_with == "rate":
            raise web.HTTPForbidden(
                text='{"message": "API rate limit exceeded for installation ID 1.", '
                '"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}',
                content_type="application/json",
                headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1764100800"},
            )
        if isinstance(self.fail_repo_with, int):
            raise _status_error(self.fail_repo_with)
        if f"{request.match_info['owner']}/{request.match_info['name']}" != self.repo:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")

    async def get_repo(self, request: web.Request) -> web.Response:
        self._check_repo(request)
        return web.json_response(
            {
                "id": 1,
                "name": self.repo.split("/")[1],
                "full_name": self.repo,
                "private": True,
                "default_branch": self.default_branch,
                "url": f"{self.url}/repos/{self.repo}",
                "html_url": f"https://github.com/{self.repo}",
            }
        )

    async def get_commit(self, request: web.Request) -> web.Response:
        self._check_repo(request)
        ref = request.match_info["ref"]
        sha = self.branches.get(ref) or (ref if ref in self.commits else None)
        if sha is None:
            return web.json_response({"message": f"No commit found for SHA: {ref}"}, status=422)
        etag = f'"{sha}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        if request.headers.get("Accept") == "application/vnd.github.sha":
            return web.Response(text=sha, headers={"ETag": etag}, content_type="application/vnd.github.sha")
        body = {"sha": sha, "url": f"{self.url}/repos/{self.repo}/commits/{sha}"}
        return web.json_response(body, headers={"ETag": etag})

    async def tarball(self, request: web.Request) -> web.Response:
        self._check_repo(request)
        ref = request.match_info["ref"]
        sha = self.branches.get(ref) or (ref if ref in self.commits else None)
        if sha is None:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        raise web.HTTPFound(f"{self.url}/_codeload/{self.repo}/legacy.tar.gz/{sha}")

    async def codeload(self, request: web.Request) -> web.StreamResponse:
        self.archive_auth_headers.append(request.headers.get("Authorization"))
        data = self._tarball(request.match_info["sha"])
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/x-gzip",
                "Content-Disposition": f"attachment; filename={self.repo.replace('/', '-')}.tar.gz",
            }
        )
        await response.prepare(request)
        for i in range(0, len(data), 1 << 14):
            await response.write(data[i : i + (1 << 14)])
        await response.write_eof()
        return response

    def _check_auth(self, request: web.Request) -> None:
        if (
            request.headers.get("Authorization") != f"token {TOKEN}"
            and request.headers.get("Authorization") != f"Bearer {TOKEN}"
        ):
            raise web.HTTPUnauthorized(text='{"message": "Bad credentials"}', content_type="application/json")

    @web.middleware
    async def _record(self, request: web.Request, handler):
        self.requests.append(f"{request.method} {request.path_qs}")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.statuses.append((request.path, exc.status))
            raise
        self.statuses.append((request.path, response.status))
        return response

    def _workflow(self) -> dict:
        return {
            "id": WORKFLOW_ID,
            "node_id": "W_x",
            "name": "Supabase Migrations",
            "path": WORKFLOW_PATH,
            "state": "active",
            "url": f"{self.url}/repos/{self.repo}/actions/workflows/{WORKFLOW_ID}",
            "html_url": f"https://github.com/{self.repo}/blob/main/{WORKFLOW_PATH}",
            "badge_url": f"https://github.com/{self.repo}/workflows/x/badge.svg",
            "created_at": "2025-12-09T00:00:00Z",
            "updated_at": "2025-12-09T00:00:00Z",
        }

    async def get_workflow(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        if request.match_info["wf"] not in (str(WORKFLOW_ID), WORKFLOW_PATH.rsplit("/", 1)[-1]):
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        return web.json_response(self._workflow())

    async def list_workflows(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        return web.json_response({"total_count": 1, "workflows": [self._workflow()]})

    def _latest(self) -> list[dict]:
        latest: dict[int, dict] = {}
        for (run_id, attempt), run in self.runs.items():
            if run_id not in latest or attempt > latest[run_id]["run_attempt"]:
                latest[run_id] = run
        return sorted(latest.values(), key=lambda r: r["id"], reverse=True)

    async def list_runs(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        runs = self._latest()
        status = request.query.get("status")
        if status:
            runs = [r for r in runs if r["status"] == status or r["conclusion"] == status]
        created = request.query.get("created", "")
        if created.startswith(">="):  # the only form the bot sends: created=>=YYYY-MM-DDTHH:MM:SSZ
            runs = [r for r in runs if r["created_at"] >= created[2:]]
        # GitHub's paging: per_page at most 100, pages from 1, a Link header with rel="next"/"last".
        per_page = min(int(request.query.get("per_page", 30)), 100)
        page = int(request.query.get("page", 1))
        chunk = runs[(page - 1) * per_page : page * per_page]
        self.pages_served += 1
        last = max(1, -(-len(runs) // per_page))
        links = []
        if page < last:
            links.append(f'<{request.url.update_query(page=page + 1)}>; rel="next"')
            links.append(f'<{request.url.update_query(page=last)}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        return web.json_response({"total_count": len(runs), "workflow_runs": chunk}, headers=headers)

    async def get_run(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        run_id = int(request.match_info["run_id"])
        attempt = request.match_info.get("attempt")
        if attempt is None:
            found = next((r for r in self._latest() if r["id"] == run_id), None)
        else:
            found = self.runs.get((run_id, int(attempt)))
        if found is None:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        return web.json_response(found)

    async def list_jobs(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        key = (int(request.match_info["run_id"]), int(request.match_info["attempt"]))
        jobs = self.jobs.get(key, [])
        return web.json_response({"total_count": len(jobs), "jobs": jobs})

    async def job_logs(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        if self.fail_logs_with:
            return web.json_response({"message": "Server Error"}, status=self.fail_logs_with)
        job_id = int(request.match_info["job_id"])
        if job_id not in self.logs:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        raise web.HTTPFound(f"{self.url}/_blob/job-logs/{job_id}.txt?sv=2025&sig=signedsignature")

    async def blob(self, request: web.Request) -> web.StreamResponse:
        self.blob_auth_headers.append(request.headers.get("Authorization"))
        data = self.logs[int(request.match_info["job_id"])]
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        await response.prepare(request)
        for i in range(0, len(data), 1 << 16):
            await response.write(data[i : i + (1 << 16)])
        await response.write_eof()
        return response

    async def contents(self, request: web.Request) -> web.Response:
        self._check_auth(request)
        path = request.match_info["path"]
        ref = request.query.get("ref", "main")
        text = self.files.get((path, ref))
        if text is None:
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
        raw = text.encode()
        return web.json_response(
            {
                "type": "file",
                "encoding": "base64",
                "size": len(raw),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.b64encode(raw).decode(),
                "sha": "blobsha",
                "url": f"{self.url}/repos/{self.repo}/contents/{path}?ref={ref}",
            }
        )

    async def start(self) -> FakeGitHub:
        app = web.Application(middlewares=[self._record])
        r = f"{self.prefix}/repos/{{owner}}/{{name}}"
        app.router.add_get(f"{r}/actions/workflows", self.list_workflows)
        app.router.add_get(f"{r}/actions/workflows/{{wf}}", self.get_workflow)
        app.router.add_get(f"{r}/actions/workflows/{{wf}}/runs", self.list_runs)
        app.router.add_get(f"{r}/actions/runs/{{run_id}}", self.get_run)
        app.router.add_get(f"{r}/actions/runs/{{run_id}}/attempts/{{attempt}}", self.get_run)
        app.router.add_get(f"{r}/actions/runs/{{run_id}}/attempts/{{attempt}}/jobs", self.list_jobs)
        app.router.add_get(f"{r}/actions/jobs/{{job_id}}/logs", self.job_logs)
        app.router.add_get(f"{r}/contents/{{path:.+}}", self.contents)
        app.router.add_get(f"{self.prefix}/_blob/job-logs/{{job_id}}.txt", self.blob)
        app.router.add_get(r, self.get_repo)
        app.router.add_get(f"{r}/commits/{{ref}}", self.get_commit)
        app.router.add_get(f"{r}/tarball/{{ref}}", self.tarball)
        app.router.add_get(f"{self.prefix}/_codeload/{{owner}}/{{name}}/legacy.tar.gz/{{sha}}", self.codeload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{self.prefix}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _status_error(status: int) -> web.HTTPException:
    message = {401: "Bad credentials", 404: "Not Found"}.get(status, "Server Error")
    kinds = {
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        500: web.HTTPInternalServerError,
        502: web.HTTPBadGateway,
        503: web.HTTPServiceUnavailable,
    }
    return kinds[status](text=f'{{"message": "{message}"}}', content_type="application/json")


def signed_headers(secret: str, body: bytes, event: str, delivery: str) -> dict[str, str]:
    from dragonfly_bot.relay.webhook import signature_for

    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature_for(secret.encode(), body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
    }
