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


def patch_workflow(text: str, env: str, secret: str, bot_requirement: str) -> str:
    """The team's workflow with the bot's steps around its ``migration up`` step; unchanged when patched."""
    if MARK in text:
        return text
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if MIGRATION_UP.search(line)), None)
    if at is None:
        return text
    start = next(i for i in range(at, -1, -1) if lines[i].lstrip().startswith("- "))
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > len(indent)):
        end += 1
    step = lines[start:end]
    for i, line in enumerate(step):
        if MIGRATION_UP.search(line):
            # the pinned CLI (no package.json needed); its output kept for record-run
            fixed = MIGRATION_UP.sub(f"{CLI} migration up", line)
            if "tee migrate.log" not in fixed:
                fixed = fixed.rstrip() + " 2>&1 | tee migrate.log"
            step[i] = fixed.replace("run: ", "run: set -o pipefail; ", 1) if "run: " in fixed else fixed
    out = [*lines[:start], *install_step(indent, bot_requirement), *step, *record_step(indent, env, secret)]
    return "\n".join([*out, *lines[end:]]) + "\n"


def new_workflow(secrets: dict[str, str], bot_requirement: str) -> str:
    """A complete supabase-migrate.yml: push to main applies dev; a manual dispatch applies dev or prod."""
    dev, prod = secrets.get("dev", "SUPABASE_DEV_DB_URL"), secrets.get("prod", "SUPABASE_PROD_DB_URL")
    return f"""{MARK}: the protocol's workflow (CI is the only writer).
name: Supabase Migrations
run-name: "Supabase Migrations (${{{{ inputs.environment || 'dev' }}}})"
on:
  push:
    branches: [main]
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
  migrate:
    runs-on: ubuntu-latest
    environment: ${{{{ inputs.environment || 'dev' }}}}
    concurrency:
      group: supabase-migrate-${{{{ inputs.environment || 'dev' }}}}
      cancel-in-progress: false
    env:
      DB_URL: ${{{{ (inputs.environment || 'dev') == 'prod' && secrets.{prod} || secrets.{dev} }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - uses: actions/setup-node@v4
        with:
          node-version: "20"
{chr(10).join(install_step("      ", bot_requirement))}
      - name: Apply migrations
        run: set -o pipefail; {CLI} migration up --db-url "$DB_URL" --yes 2>&1 | tee migrate.log
      - name: Record the run for dragonfly-bot  {MARK}
        if: always()
        run: dragonfly-bot record-run migrate.log --env ${{{{ inputs.environment || 'dev' }}}}
"""
