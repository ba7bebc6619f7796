"""The pure pieces of `dragonfly-bot init`: versions, the schema fitting, the workflow text."""

from __future__ import annotations

import pytest
import yaml

from dragonfly_bot.adopt.bundled import bot_migrations
from dragonfly_bot.adopt.command import next_versions
from dragonfly_bot.adopt.schema import Column, TeamSchema, fit_migration, tracker_select
from dragonfly_bot.adopt.workflow import new_workflow, patch_workflow
from dragonfly_bot.errors import UserFacingError
from tests.fakes.team_project import TEAM_WORKFLOW


def test_new_versions_sort_after_every_existing_one_as_strings():
    assert next_versions(["0001", "20251210120000"], "20261202061300", 2) == ["20261202061300", "20261202061301"]
    # a future-dated 8-digit version: 20271105000001 sorts after "20271105"
    assert next_versions(["0001", "20271105"], "20261202061300", 2) == ["20271105000001", "20271105000002"]
    assert next_versions(["20990101000000"], "20261202061300", 1) == ["20990101000001"]
    made = next_versions(["20271105", "2027110600"], "20261202061300", 3)
    assert all(v > "2027110600" for v in made) and sorted(made) == made


def test_the_bots_migrations_are_read_from_one_place():
    names = [name for name, _ in bot_migrations()]
    assert "20251209000000_migration_status_view.sql" in names and names == sorted(names)


def view_sql() -> str:
    return dict(bot_migrations())["20251209000000_migration_status_view.sql"]


def test_a_tracker_in_the_bots_shape_and_no_view_keep_the_file_as_it_is():
    fitted = fit_migration(view_sql(), TeamSchema(tracker=("version", "name", "applied_at", "applied_by")))
    assert "revoke all on public.dragonfly_migrations" not in fitted  # the team's table: never altered
    assert "from public.dragonfly_migrations l" in fitted  # read as it is
    untouched = fit_migration(view_sql(), TeamSchema())
    assert "alter table public.dragonfly_migrations enable row level security" in untouched


def test_the_teams_view_columns_come_first_with_their_types():
    team = TeamSchema(
        tracker=("id", "migration_filename", "applied_at"),
        view=(Column("source", "text"), Column("version", "character varying(20)"), Column("success", "boolean")),
    )
    fitted = fit_migration(view_sql(), team)
    select = fitted.split("create or replace view public.v_migration_status as\nselect\n", 1)[1]
    first = [line.strip().rstrip(",") for line in select.splitlines()[:4]]
    assert first == [
        "bot.source::text as source",
        "bot.version::character varying(20) as version",
        "(bot.status = 'applied')::boolean as success",
        "bot.name",
    ]
    assert "split_part(migration_filename, '_', 1) as version" in fitted


def test_shapes_init_does_not_understand_are_one_line():
    with pytest.raises(UserFacingError, match="migration_filename"):
        tracker_select(("id", "file", "ran_at"))
    with pytest.raises(UserFacingError, match="checksum"):
        fit_migration(view_sql(), TeamSchema(view=(Column("version", "text"), Column("checksum", "integer"))))


PINNED_CHECKOUT = (
    "3d3c42e5aac5ba805825da76410c181273ba90b1"  # v7.0.1: the team's v4 is a node20 action actionlint flags
)
TEAM_SECRETS = {"dev": "SUPABASE_DB_URL_DEV", "prod": "SUPABASE_DB_URL_PROD"}
TWO_JOBS = """name: Supabase Migrations
on:
  push:
    branches: [main]
jobs:
  migrate-dev:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Apply migrations
        run: npx supabase migration up --db-url "${{ secrets.SUPABASE_DB_URL_DEV }}"
  migrate-production:
    needs: migrate-dev
    runs-on: ubuntu-latest
    environment: production
    steps:
      - uses: actions/checkout@v4
      - name: Apply migrations
        env:
          URL: ${{ secrets.PROD_DATABASE }}
        run: |
          echo "applying to prod"
          supabase migration up --db-url "$URL"
"""


def test_every_migration_up_is_patched_with_its_environment_and_a_block_gets_pipefail(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    patched = patch_workflow(TWO_JOBS, TEAM_SECRETS, "dragonfly-bot==0.2.0")
    assert patch_workflow(patched, TEAM_SECRETS, "dragonfly-bot==0.2.0") == patched
    jobs = yaml.safe_load(patched)["jobs"]
    for job, env, secret in (
        ("migrate-dev", "dev", "SUPABASE_DB_URL_DEV"),
        ("migrate-production", "prod", "PROD_DATABASE"),
    ):
        steps = jobs[job]["steps"]
        assert [s.get("name") for s in steps][1:3] == [
            "Install dragonfly-bot",
            "Pre-flight checks",
        ]
        assert steps[-1]["run"] == f"dragonfly-bot record-run migrate.log --env {env}"
        assert steps[-1]["env"]["DB_URL"] == "${{ secrets." + secret + " }}"
        apply = next(s for s in steps if s.get("name") == "Apply migrations")["run"]
        assert "npx --yes supabase@3.1.0 migration up" in apply and "| tee migrate.log" in apply
        assert apply.startswith("set -o pipefail")  # else `| tee` turns a failed apply green
    # the block's script really fails when the CLI does
    script = jobs["migrate-production"]["steps"][-2]["run"].replace("npx --yes supabase@3.1.0", "false")
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True)
    assert done.returncode != 0
    actionlint = Path(sys.executable).with_name("actionlint")
    (tmp_path / "w.yml").write_text(patched.replace("actions/checkout@v4", "actions/checkout@" + PINNED_CHECKOUT))
    lint = subprocess.run([str(actionlint), str(tmp_path / "w.yml")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_workflow_patch_is_minimal_and_idempotent():
    patched = patch_workflow(TEAM_WORKFLOW, TEAM_SECRETS, "dragonfly-bot==0.2.0")
    assert patch_workflow(patched, TEAM_SECRETS, "dragonfly-bot==0.2.0") == patched
    steps = yaml.safe_load(patched)["jobs"]["migrate-dev"]["steps"]
    names = [s.get("name", s.get("uses")) for s in steps]
    assert names[0] == "actions/checkout@v4" and names[-1].startswith("Record the run")
    migrate = next(s for s in steps if s.get("name") == "Apply migrations")
    assert "npx --yes supabase@3.1.0 migration up" in migrate["run"] and "tee migrate.log" in migrate["run"]
    assert steps[-1]["env"]["DB_URL"] == "${{ secrets.SUPABASE_DB_URL_DEV }}"
    fresh = yaml.safe_load(new_workflow({"dev": "DEV_URL", "prod": "PROD_URL"}, "dragonfly-bot==0.2.0"))
    run = " ".join(str(s.get("run", "")) for s in fresh["jobs"]["migrate"]["steps"])
    assert "npx --yes supabase@3.1.0 migration up" in run and "record-run" in run and "npm install" not in run
    assert "secrets.PROD_URL" in fresh["jobs"]["migrate"]["env"]["DB_URL"]
