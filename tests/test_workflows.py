"""The GitHub workflows parse and say what the protocol asks for."""

from __future__ import annotations

import yaml

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from dragonfly_bot.core.ci_runs import RunInfo

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data


def test_migrations_workflow_triggers_and_concurrency():
    wf = _load("supabase-migrate.yml")
    assert wf["name"] == "Supabase Migrations"
    assert wf["on"]["push"] == {"branches": ["main"], "paths": ["supabase/migrations/**"]}
    assert wf["on"]["pull_request"]["paths"] == ["supabase/migrations/**"]
    assert wf["on"]["workflow_dispatch"]["inputs"]["environment"]["options"] == ["dev", "prod"]
    migrate = wf["jobs"]["migrate"]
    assert migrate["needs"] == "preflight"
    assert migrate["if"] == "github.event_name != 'pull_request'"
    assert migrate["concurrency"]["cancel-in-progress"] is False
    assert migrate["concurrency"]["group"].startswith("supabase-migrate-")
    assert "inputs.environment" in migrate["environment"]
    # Each secret sits behind its own condition, so a missing prod secret gives an empty URL (the job
    # stops), never the dev one; and it is named, so the runner is not sent every secret.
    assert migrate["env"]["DB_URL"] == (
        "${{ (inputs.environment || 'dev') == 'prod' && secrets.SUPABASE_PROD_DB_URL"
        " || (inputs.environment || 'dev') != 'prod' && secrets.SUPABASE_DEV_DB_URL || '' }}"
    )
    assert not any("secrets[" in str(value) for value in migrate["env"].values())


def test_every_action_is_pinned_to_a_commit_and_checkout_keeps_no_credentials():
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                if "uses" not in step:
                    continue
                ref = step["uses"].partition("@")[2]
                assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), (path.name, step["uses"])
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, path.name


def test_migrations_workflow_steps():
    wf = _load("supabase-migrate.yml")
    preflight = "\n".join(s.get("run", "") for s in wf["jobs"]["preflight"]["steps"])
    assert "dragonfly-bot guard" in preflight and "dragonfly-bot lint --github" in preflight
    steps = {s.get("id") or s.get("name"): s for s in wf["jobs"]["migrate"]["steps"]}
    migrate = steps["migrate"]["run"]
    assert "set -o pipefail" in migrate
    assert 'npx supabase migration up --db-url "$DB_URL" --yes 2>&1 | tee migrate.log' in migrate
    assert "--linked" not in (WORKFLOWS / "supabase-migrate.yml").read_text().replace("--linked flag", "")
    record = steps["Record the run in public.migration_runs"]
    assert record["if"].startswith("always()")
    assert record["run"].startswith("dragonfly-bot record-run migrate.log")
    installs = " ".join(s.get("run", "") for s in wf["jobs"]["migrate"]["steps"])
    assert "npm install" in installs and "pip install ." in installs


def test_run_name_tells_the_relay_the_environment():
    wf = _load("supabase-migrate.yml")
    # What GitHub renders for each trigger, read back the way the relay reads it.
    assert "'pre-flight'" in wf["run-name"] and "inputs.environment" in wf["run-name"]
    for rendered, env in (("dev", "dev"), ("prod", "prod"), ("pre-flight", "pre-flight")):
        run = RunInfo.from_api({"id": 1, "display_title": f"Supabase Migrations ({rendered})"}, "o/r")
        assert run.environment() == env


def test_tests_workflow_runs_ci_script():
    wf = _load("tests.yml")
    assert "push" in wf["on"] and "pull_request" in wf["on"]
    runs = [s.get("run") for s in wf["jobs"]["tests"]["steps"]]
    assert "bash .ci/run" in runs


def _images(workflow: dict) -> list[str]:
    """Every container image a workflow runs: job containers and services."""
    images = []
    for job in workflow["jobs"].values():
        container = job.get("container")
        if container is not None:
            images.append(container if isinstance(container, str) else container["image"])
        images += [service["image"] for service in (job.get("services") or {}).values()]
    return images


def test_every_container_image_is_pinned_by_digest():
    """A tag can be pushed again with another image; a digest cannot (zizmor's unpinned-images)."""
    seen = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for image in _images(_load(path.name)):
            name, _, digest = image.partition("@sha256:")
            assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest), (path.name, image)
            assert ":" in name, (path.name, image)  # the tag stays beside it, for the reader
            seen.append(name)
    assert "postgres:15.17-bookworm" in seen  # the test suite's server: the targets' major (15)


def test_manual_dispatch_can_include_out_of_order_files():
    """The out-of-order hint (and /migrations compare) point at `--include-all` on a manual dispatch: the workflow,
    CI being the only writer, must offer it, off by default and never on push."""
    wf = _load("supabase-migrate.yml")
    include_all = wf["on"]["workflow_dispatch"]["inputs"]["include_all"]
    assert include_all["type"] == "boolean" and include_all["default"] is False
    migrate = wf["jobs"]["migrate"]
    assert migrate["env"]["INCLUDE_ALL"] == "${{ inputs.include_all || false }}"
    run = {s.get("id"): s for s in migrate["steps"]}["migrate"]["run"]
    assert 'if [ "$INCLUDE_ALL" = "true" ]; then' in run
    assert 'npx supabase migration up --db-url "$DB_URL" --yes --include-all 2>&1 | tee migrate.log' in run


def test_out_of_order_hint_names_the_workflow_input():
    from dragonfly_bot.core.failures import Failure
    from dragonfly_bot.core.fixes import hint_for

    hint = hint_for(Failure(category="out_of_order", message="m", files=("20250101000000_a.sql",)))
    assert "include_all" in hint and "Supabase Migrations" in hint


SUPABASE_POSTGRES = "supabase/postgres:15.8.1.085@sha256:"


def test_preflight_replays_from_the_target_schema_on_the_supabase_image():
    """The scratch server is Supabase's own image pinned by digest; the replay starts from the target database on
    pushes and dispatches, else from the committed snapshot (pull requests), else from file 0001."""
    wf = _load("supabase-migrate.yml")
    preflight = wf["jobs"]["preflight"]
    image = preflight["services"]["postgres"]["image"]
    assert image.startswith(SUPABASE_POSTGRES) and len(image.partition("@sha256:")[2]) == 64
    step = {s.get("id"): s for s in preflight["steps"]}["preflight"]
    run = step["run"]
    assert "docker run" not in run  # the service, not an unpinned postgres:15
    assert 'replay+=(--base-db "$BASE_DB_URL")' in run
    assert "replay+=(--base-schema supabase/schema.sql)" in run
    assert run.index("--base-db") < run.index("--base-schema")
    assert 'dragonfly-bot lint --github "${replay[@]}" --changed-since "$base"' in run
    assert 'export DRAGONFLY_PG_DUMP="$RUNNER_TEMP/pg_dump"' in run  # the image's pg_dump: the target's major
    # The same guarded choice of secret as the migrate job (never the dev URL for prod), and none for pull
    # requests: the step runs the branch's own code.
    assert step["env"]["BASE_DB_URL"] == (
        "${{ github.event_name != 'pull_request' && ("
        " (inputs.environment || 'dev') == 'prod' && secrets.SUPABASE_PROD_DB_URL"
        " || (inputs.environment || 'dev') != 'prod' && secrets.SUPABASE_DEV_DB_URL) || '' }}"
    )
    assert "secrets" not in str(step["env"]["SCRATCH_URL"])


def test_snapshot_is_refreshed_after_a_green_apply_to_dev_and_committed():
    wf = _load("supabase-migrate.yml")
    job = wf["jobs"]["snapshot"]
    assert job["needs"] == "migrate" and job["environment"] == "dev"
    assert "== 'dev'" in job["if"] and "github.event_name != 'pull_request'" in job["if"]
    assert "refs/heads/main" in job["if"]
    assert job["permissions"] == {"contents": "write"}  # only this job may push
    assert wf["permissions"] == {"contents": "read"}
    assert job["env"]["DB_URL"] == "${{ secrets.SUPABASE_DEV_DB_URL }}"
    assert job["env"]["POSTGRES_IMAGE"] == wf["jobs"]["preflight"]["services"]["postgres"]["image"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'dragonfly-bot schema-snapshot --db-url "$DB_URL" --out supabase/schema.sql' in runs
    assert "git push -q origin HEAD:main" in runs and "git diff --cached --quiet" in runs
