"""``dragonfly-bot init``: adopt the bot in an existing Supabase repository.

Reads the migrations folder, the workflows and the database; computes every
file it would write first (bad input stops it here, with one line and nothing
written); then, unless ``--dry-run``, writes them all by renames. Run twice, the
second run finds nothing to change.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from dragonfly_bot import project_config
from dragonfly_bot.adopt.bundled import bot_migrations
from dragonfly_bot.adopt.scan import (
    MIGRATIONS,
    WORKFLOWS,
    DatabaseScan,
    RepoScan,
    scan_database,
    scan_repository,
    scan_rest,
)
from dragonfly_bot.adopt.schema import fit_migration
from dragonfly_bot.adopt.workflow import SUPABASE_CLI, new_workflow, patch_workflow
from dragonfly_bot.errors import UserFacingError

NAME = "init"
HELP = "Adopt dragonfly-bot in this repository: the bot's schema as new migrations, config, workflow (dry-run first)."
CONFIG = "dragonfly.toml"
STATUS_TOOL = Path("tools") / "migration_status.py"

SHIM = '''"""``python -m tools.migration_status``, as the migration protocol documents it: now
``dragonfly-bot status`` (written by ``dragonfly-bot init``). The old flags still work:
--env dev|prod and --json as before; --limit is accepted and ignored (status lists
every migration that needs attention, then a summary)."""

import sys
from importlib.metadata import entry_points

args = sys.argv[1:]
if "--limit" in args:
    at = args.index("--limit")
    del args[at : at + 2]
    print("note: --limit is no longer needed; dragonfly-bot status lists what needs attention", file=sys.stderr)
main = entry_points(group="console_scripts", name="dragonfly-bot")
if not main:
    sys.exit("error: dragonfly-bot is not installed here: pip install dragonfly-bot")
sys.exit(next(iter(main)).load()(["status", *args]))
'''


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="the database to read (default: SUPABASE_<ENV>_DB_URL)")
    parser.add_argument(
        "--env",
        choices=("dev", "prod"),
        default="dev",
        help="whose settings to read (REST URL and service-role key, else DB URL)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the files and the diff, write nothing")
    parser.add_argument("--yes", action="store_true", help="write without asking")
    parser.add_argument(
        "--replace-status-tool", action="store_true", help="replace an existing tools/migration_status.py"
    )
    parser.add_argument(
        "--bot-requirement",
        metavar="SPEC",
        help="what the workflow pip-installs (default: dragonfly-bot==<this version> from your package index; "
        "e.g. 'dragonfly-bot @ git+https://github.com/<owner>/dragonfly-bot@v<version>' if it is not published)",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)


def bot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dragonfly-bot")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
        return "0.2.0"


def next_versions(taken: list[str], now: str, count: int) -> list[str]:
    """``count`` 14-digit versions that sort (as strings, as the CLI compares) after every taken one."""
    newest = max(taken, default="")
    start = int(now)
    if now <= newest:
        # e.g. a future-dated 20271105: 20271105000001 sorts after it; a longer one: one more than it
        start = int(newest.ljust(14, "0")) + 1 if len(newest) <= 14 else int(newest) + 1
    return [str(start + i) for i in range(count)]


def plan(
    repo: RepoScan, database: DatabaseScan, now: datetime, *, replace_tool: bool, requirement: str | None = None
) -> tuple[dict[Path, str], list[str]]:
    """Every file to write (path -> text) and the steps left by hand."""
    requirement = requirement or f"dragonfly-bot=={bot_version()}"
    files: dict[Path, str] = {}
    todo = [(name, sql) for name, sql in bot_migrations() if name not in repo.adopted]
    versions = next_versions([*repo.versions, *database.history], now.strftime("%Y%m%d%H%M%S"), len(todo))
    for version, (name, sql) in zip(versions, todo, strict=True):
        short = name.split("_", 1)[1]
        header = (
            f"-- dragonfly-bot init: from {name} (dragonfly-bot {bot_version()})\n"
            "-- The bot's schema fitted to this database: the legacy tracker is read as it is and never\n"
            "-- altered; an existing v_migration_status keeps its columns first. Idempotent.\n\n"
        )
        files[repo.root / MIGRATIONS / f"{version}_dragonfly_{short}"] = header + fit_migration(sql, database.team)
    secrets = dict(repo.db_secrets)
    if "dev" in secrets and "prod" not in secrets:
        secrets["prod"] = secrets["dev"].replace("DEV", "PROD") if "DEV" in secrets["dev"] else "SUPABASE_PROD_DB_URL"
    secrets.setdefault("dev", "SUPABASE_DEV_DB_URL")
    secrets.setdefault("prod", "SUPABASE_PROD_DB_URL")
    workflow = repo.migrate_workflow or "supabase-migrate.yml"
    workflow_path = repo.root / WORKFLOWS / workflow
    if repo.migrate_workflow:
        text = workflow_path.read_text("utf-8")
        files[workflow_path] = patch_workflow(text, secrets, requirement)
    else:
        files[workflow_path] = new_workflow(secrets, requirement)
    config = repo.root / CONFIG
    if project_config.load(repo.root).source is None:  # the team's dragonfly.toml or [tool.dragonfly] is kept
        files[config] = (
            "# dragonfly-bot's settings for this repository (written by dragonfly-bot init).\n"
            f'[environments.dev]\ndb_url_secret = "{secrets["dev"]}"\n\n'
            f'[environments.prod]\ndb_url_secret = "{secrets["prod"]}"\n\n'
            f'[workflow]\nfile = "{(WORKFLOWS / workflow).as_posix()}"\nbot = "{requirement}"\n'
            f'supabase_cli = "{SUPABASE_CLI}"\n\n'
            '[lint]\nbaseline = "supabase/lint-baseline.json"\n'
        )
    steps = []
    if not repo.has_status_tool or replace_tool:
        files[repo.root / STATUS_TOOL] = SHIM
    else:
        steps.append(
            "tools/migration_status.py is yours and was kept: `dragonfly-bot status` is the bot's "
            "(--replace-status-tool swaps yours for a shim)"
        )
    steps += [
        f"add the GitHub secrets {secrets['dev']} and {secrets['prod']} (direct Postgres URLs) if they are missing",
        "create the Discord application and set DISCORD_TOKEN and the channel ids (README: Deploying)",
        "point a repository webhook (Workflow runs) at https://<bot>/github/webhook with GITHUB_WEBHOOK_SECRET",
        "v_migration_status is now read by service_role only: read it with the service-role key",
    ]
    if repo.clashes:
        steps.insert(0, f"versions shared by two files (the CLI applies only one): {', '.join(repo.clashes)}")
    return files, steps


class Baseline(NamedTuple):
    path: Path
    text: str
    findings: int


def lint_baseline(root: Path) -> Baseline | None:
    """The lint baseline of today's migrations, which the pre-flight then does not report; None when the
    config already has one (it is the team's record: kept)."""
    from dragonfly_bot.preflight.lint_service import LintRequest, baseline_text, run_lint

    config = project_config.load(root)
    if config.source is None:
        config = project_config.ProjectConfig(root)  # the config init writes: its baseline is the default
    path = config.path(config.lint.baseline)
    if path.exists():
        return None
    outcome = run_lint(LintRequest(paths=[MIGRATIONS.as_posix()], use_baseline=False, use_cache=False), config, root)
    return Baseline(path, baseline_text(outcome, config, root), len(outcome.findings))


def read_database(args: argparse.Namespace) -> DatabaseScan:
    """The environment's database, reached the way every command reaches it (the factory's one decision:
    --db-url, else REST with the service-role key, else the environment's DB URL)."""
    from dragonfly_bot.adapters.supabase.factory import backend_for
    from dragonfly_bot.settings import load_settings

    settings = load_settings()
    backend = backend_for(settings, args.env, db_url=args.db_url)
    if backend.kind == "postgres" and backend.db_url:
        return scan_database(backend.db_url)
    if backend.kind == "rest" and backend.project_url and backend.service_role_key:
        return scan_rest(backend.project_url, backend.service_role_key, timeout=settings.rest_timeout_seconds)
    upper = args.env.upper()
    raise UserFacingError(
        f"init reads the database: pass --db-url, or set SUPABASE_{upper}_URL and "
        f"SUPABASE_{upper}_SERVICE_ROLE_KEY (REST), or SUPABASE_{upper}_DB_URL"
    )


def _diff(path: Path, new: str, root: Path) -> str:
    old = path.read_text("utf-8") if path.exists() else ""
    name = path.relative_to(root).as_posix()
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}"))


def run(args: argparse.Namespace) -> int:
    root = args.root.resolve()
    now = datetime.now(UTC)
    repo = scan_repository(root, now.strftime("%Y%m%d"))
    files, steps = plan(
        repo, read_database(args), now, replace_tool=args.replace_status_tool, requirement=args.bot_requirement
    )
    recorded = lint_baseline(root)
    if recorded is not None:
        files[recorded.path] = recorded.text
    changed = {p: t for p, t in files.items() if not p.exists() or p.read_text("utf-8") != t}
    if not changed:
        print("✅ Nothing to change: dragonfly-bot is already adopted here.")
        return 0
    future = [v for v in repo.future if not any(name.startswith(v + "_") for name in repo.adopted.values())]
    if future:
        print(f"ℹ️ future-dated versions {', '.join(future)}: the bot's files are numbered after them")
    if repo.status_view_files:
        print(
            f"ℹ️ your status view comes from {', '.join(repo.status_view_files)}: kept as it is; a new migration "
            "keeps its columns first and adds the bot's after them"
        )
    if args.dry_run:
        for path, text in changed.items():
            if recorded is not None and path == recorded.path:  # JSON of every finding: its size says enough
                print(f"+++ b/{path.relative_to(root).as_posix()} (the lint baseline: {recorded.findings} findings)")
                continue
            print(_diff(path, text, root), end="")
        print(f"(dry run: {len(changed)} file(s) would be written; nothing was)")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserFacingError("init writes files: run it with --dry-run first, then --yes")
        if input(f"Write {len(changed)} file(s)? [y/N] ").strip().lower() != "y":
            return 2
    staged = []
    try:
        for path, text in changed.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.dragonfly-init")
            temp.write_text(text, "utf-8")
            staged.append((temp, path))
    except OSError as exc:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise UserFacingError(f"init could not write {exc.filename}: {exc.strerror}; nothing was changed") from None
    for temp, path in staged:
        os.replace(temp, path)
    for _, path in staged:
        print(f"✍️ wrote {path.relative_to(root).as_posix()}")
    if recorded is not None and recorded.path in changed:
        print(
            f"📋 the lint baseline records the {recorded.findings} findings of today's files: the pre-flight is green, "
            "and a new file with a problem is red (each one fixed drops out: `dragonfly-bot lint` says so)"
        )
    print("Left by hand:")
    for step in steps:
        print(f"  - {step}")
    print("Then push: CI applies the new migrations, and `dragonfly-bot status` should exit 0.")
    return 0
