"""The migrations workflow init writes, or the minimal patch to a team's own. Pure text."""

from __future__ import annotations

import re

MARK = "# dragonfly-bot init"
SUPABASE_CLI = "3.1.0"
CLI = f"npx --yes supabase@{SUPABASE_CLI}"
MIGRATION_UP = re.compile(r"(?:npx\s+(?:--yes\s+)?supabase(?:@[\w.]+)?|supabase)\s+migration\s+up")


def install_step(indent: str, bot_requirement: str) -> list[str]:
    return [
        f"{indent}- name: Install dragonfly-bot  {MARK}",
        f'{indent}  run: pip install "{bot_requirement}"',
        f"{indent}- name: Pre-flight checks  {MARK}",
        f"{indent}  run: dragonfly-bot guard --github && dragonfly-bot lint --github",
    ]


def record_step(indent: str, env: str, secret: str) -> list[str]:
    return [
        f"{indent}- name: Record the run for dragonfly-bot  {MARK}",
        f"{indent}  if: always()",
        f"{indent}  env:",
        f"{indent}    DB_URL: ${{{{ secrets.{secret} }}}}",
        f"{indent}  run: dragonfly-bot record-run migrate.log --env {env}",
    ]


def patch_workflow(text: str, secrets: dict[str, str], bot_requirement: str) -> str:
    """The team's workflow with the bot's steps around each of its ``migration up`` steps (dev's, prod's);
    unchanged when patched. ``secrets``: env -> the secret that holds its database URL."""
    if MARK in text:
        return text
    lines = text.splitlines()
    found = [i for i, line in enumerate(lines) if MIGRATION_UP.search(line)]
    for at in reversed(found):  # from the bottom, so earlier positions stay where they are
        start = next(i for i in range(at, -1, -1) if lines[i].lstrip().startswith("- "))
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        end = at + 1
        while end < len(lines) and (not lines[end].strip() or _depth(lines[end]) > len(indent)):
            end += 1
        step = _piped(lines[start:end])
        env = _environment(lines, start, end)
        named = re.search(r"secrets\.(\w+)", "\n".join(step))
        secret = named.group(1) if named else secrets[env]
        lines[start:end] = [*install_step(indent, bot_requirement), *step, *record_step(indent, env, secret)]
    return "\n".join(lines) + "\n" if found else text


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def _piped(step: list[str]) -> list[str]:
    """The ``migration up`` step with the pinned CLI, its output kept for record-run, and ``pipefail`` so that
    ``| tee`` never hides a failed apply (GitHub's default shell has none)."""
    step = list(step)
    block = next((i for i, line in enumerate(step) if re.search(r"\brun:\s*[|>][-+]?\s*$", line)), None)
    for i, line in enumerate(step):
        if MIGRATION_UP.search(line):
            fixed = MIGRATION_UP.sub(f"{CLI} migration up", line)
            if "tee migrate.log" not in fixed:
                fixed = fixed.rstrip() + " 2>&1 | tee migrate.log"
            if block is None and "run: " in fixed:
                fixed = fixed.replace("run: ", "run: set -o pipefail; ", 1)
            step[i] = fixed
    if block is not None and block + 1 < len(step):
        body = next((line for line in step[block + 1 :] if line.strip()), step[block + 1])
        step.insert(block + 1, " " * _depth(body) + "set -o pipefail")
    return step


def _environment(lines: list[str], step_start: int, step_end: int) -> str:
    """dev or prod: what the step and its job say (the job's name, ``environment:``, the secrets read)."""
    job = step_start
    while job > 0 and not re.match(r"^  [\w-]+:\s*$", lines[job]):  # the job's key, two spaces in
        job -= 1
    return "prod" if re.search(r"prod", "\n".join(lines[job:step_end]), re.IGNORECASE) else "dev"


# What this repository's own workflow (.github/workflows/supabase-migrate.yml) pins; tests/adopt checks they match.
ACTIONS = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
    "setup-node": "actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0",
    "setup-python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
}
# The replay's scratch server: Supabase's own image (every extension a project can enable), pinned by digest.
SUPABASE_POSTGRES = (
    "supabase/postgres:15.8.1.085@sha256:af083ef64d0408c8f098ee6f5c364a59b26f36fbc0f3a334a62c5c1d57362e9b"
)
# The pre-flight step's script, word for word this repository's: static checks of the changed files, then the
# replay on the service's scratch database, from the target (pushes, dispatches), else the committed snapshot
# supabase/schema.sql (pull requests: no secrets), else file 0001.
PREFLIGHT_SCRIPT = """dragonfly-bot guard --github
# pg_dump of the target's major version: the service image's own (the runner's is another major).
printf '#!/bin/sh\\nexec docker exec -i -e PGPASSWORD -e PGCONNECT_TIMEOUT "%s" pg_dump "$@"\\n' \\
  "$PG_CONTAINER" > "$RUNNER_TEMP/pg_dump"
chmod +x "$RUNNER_TEMP/pg_dump"
export DRAGONFLY_PG_DUMP="$RUNNER_TEMP/pg_dump"
replay=(--replay --db-url "$SCRATCH_URL")
if [ -n "$BASE_DB_URL" ]; then
  replay+=(--base-db "$BASE_DB_URL")
elif [ -f supabase/schema.sql ]; then
  replay+=(--base-schema supabase/schema.sql)
fi
base=""
if [ "$EVENT" = "pull_request" ]; then base="origin/$BASE_REF"; fi
if [ "$EVENT" = "push" ]; then base="$BEFORE"; fi
if [ -n "$base" ] && git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
  dragonfly-bot lint --github "${replay[@]}" --changed-since "$base"
else
  dragonfly-bot lint --github "${replay[@]}"
fi
"""


# How the relay tells the environment from the run's name (dragonfly_bot/core/ci_runs.py): "pre-flight" for a pull
# request.
RUN_ENVIRONMENT = "github.event_name == 'pull_request' && 'pre-flight' || inputs.environment || 'dev'"


def _secret_choice(prod: str, dev: str, indent: str) -> str:
    """prod's secret for prod, dev's otherwise, each behind its own condition: a missing prod secret gives an
    empty URL (the job stops), never the dev one."""
    return (
        f"{indent}${{{{ (inputs.environment || 'dev') == 'prod' && secrets.{prod}\n"
        f"{indent}|| (inputs.environment || 'dev') != 'prod' && secrets.{dev} || '' }}}}"
    )


def _indented(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.splitlines())


def new_workflow(secrets: dict[str, str], bot_requirement: str) -> str:
    """A complete supabase-migrate.yml: the pre-flight (static checks and the replay from the target's schema)
    on every pull request and before every apply; push to main applies dev; a manual dispatch dev or prod."""
    dev, prod = secrets.get("dev", "SUPABASE_DEV_DB_URL"), secrets.get("prod", "SUPABASE_PROD_DB_URL")
    checkout, node, python = ACTIONS["checkout"], ACTIONS["setup-node"], ACTIONS["setup-python"]
    return f"""{MARK}: the protocol's workflow (CI is the only writer).
name: Supabase Migrations
run-name: "Supabase Migrations (${{{{ {RUN_ENVIRONMENT} }}}})"
on:
  push:
    branches: [main]
    paths: ["supabase/migrations/**"]
  pull_request:
    paths: ["supabase/migrations/**"]
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [dev, prod]
        default: dev
permissions:
  contents: read
jobs:
  preflight:
    name: pre-flight
    runs-on: ubuntu-latest
    timeout-minutes: 20
    services:
      # The replay's scratch server: Supabase's own Postgres image (vector, pg_jsonschema, http, pgmq...),
      # pinned by digest; keep its major version the target's (its pg_dump reads the target).
      postgres:
        image: {SUPABASE_POSTGRES}
        env:
          POSTGRES_PASSWORD: postgres # a throw-away container on the runner, reached on loopback only
        ports:
          - 5432:5432
        options: >-
          --health-cmd "pg_isready -h 127.0.0.1 -U postgres"
          --health-interval 5s --health-timeout 5s --health-retries 30
    steps:
      - uses: {checkout}
        with:
          fetch-depth: 0 # lint --changed-since needs the history
          persist-credentials: false
      - uses: {node}
        with:
          node-version: "24"
      - uses: {python}
        with:
          python-version: "3.11"
      # The replay runs `supabase` from PATH: the pinned CLI, as the migrate job runs it (no package.json needed).
      - name: Install dragonfly-bot and put the pinned Supabase CLI on PATH  {MARK}
        run: |
          pip install "{bot_requirement}"
          mkdir -p "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\\nexec {CLI} "$@"\\n' > "$RUNNER_TEMP/bin/supabase"
          chmod +x "$RUNNER_TEMP/bin/supabase"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
      # Pull requests never get the URL: this step runs the branch's files. Refs and URLs come in
      # through env, never spliced into the script.
      - name: Pre-flight checks
        id: preflight
        env:
          EVENT: ${{{{ github.event_name }}}}
          BASE_REF: ${{{{ github.base_ref }}}}
          BEFORE: ${{{{ github.event.before }}}}
          BASE_DB_URL: >-
            ${{{{ github.event_name != 'pull_request' && (
            (inputs.environment || 'dev') == 'prod' && secrets.{prod}
            || (inputs.environment || 'dev') != 'prod' && secrets.{dev}) || '' }}}}
          SCRATCH_URL: postgresql://supabase_admin:postgres@127.0.0.1:5432/postgres
          PG_CONTAINER: ${{{{ job.services.postgres.id }}}}
        run: |
{_indented(PREFLIGHT_SCRIPT, "          ")}
  migrate:
    name: "migrate (${{{{ inputs.environment || 'dev' }}}})"
    needs: preflight
    if: github.event_name != 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 30
    environment: ${{{{ inputs.environment || 'dev' }}}}
    concurrency:
      group: supabase-migrate-${{{{ inputs.environment || 'dev' }}}}
      cancel-in-progress: false
    env:
      TARGET_ENV: ${{{{ inputs.environment || 'dev' }}}}
      DB_URL: >-
{_secret_choice(prod, dev, "        ")}
    steps:
      - uses: {checkout}
        with:
          persist-credentials: false
      - uses: {node}
        with:
          node-version: "24"
      - uses: {python}
        with:
          python-version: "3.11"
      - name: Install dragonfly-bot  {MARK}
        run: pip install "{bot_requirement}"
      - name: Check the database URL is configured
        run: |
          if [ -z "$DB_URL" ]; then
            echo "::error::the database URL secret for $TARGET_ENV is not set"
            exit 1
          fi
      - name: Apply migrations
        id: migrate
        run: set -o pipefail; {CLI} migration up --db-url "$DB_URL" --yes 2>&1 | tee migrate.log
      - name: Record the run for dragonfly-bot  {MARK}
        if: always() && steps.migrate.outcome != 'skipped'
        run: dragonfly-bot record-run migrate.log --env "$TARGET_ENV" --outcome "${{{{ steps.migrate.outcome }}}}"
"""
