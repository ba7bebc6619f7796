"""What ``dragonfly-bot init`` reads: the team's repository and its database."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dragonfly_bot.adopt.schema import Column, TeamSchema
from dragonfly_bot.core.versions import parse_file_name
from dragonfly_bot.errors import SourceUnavailable, UserFacingError

MIGRATIONS = Path("supabase") / "migrations"
WORKFLOWS = Path(".github") / "workflows"
SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
INIT_HEADER = re.compile(r"^-- dragonfly-bot init: from (\S+\.sql)", re.MULTILINE)


@dataclass(frozen=True)
class RepoScan:
    root: Path
    versions: tuple[str, ...]  # every migration version in the folder, sorted as strings
    clashes: tuple[str, ...]  # versions two files share
    future: tuple[str, ...]  # versions dated after today (they push new files after them)
    status_view_files: tuple[str, ...]  # files creating v_migration_status
    adopted: dict[str, str]  # bot file -> the team file init wrote from it earlier
    workflows: dict[str, tuple[str, ...]]  # workflow file -> secret names it uses
    migrate_workflow: str | None  # the workflow running `migration up`, if any
    has_status_tool: bool
    db_secrets: dict[str, str] = field(default_factory=dict)  # env -> secret name holding its DB URL


def scan_repository(root: Path, today: str) -> RepoScan:
    """``today`` is YYYYMMDD (UTC): versions after it count as future-dated."""
    if not (root / ".git").exists():
        raise UserFacingError(f"{root} is not a git repository: run `dragonfly-bot init` at your repository's root")
    folder = root / MIGRATIONS
    if not folder.is_dir():
        raise UserFacingError(f"{folder} does not exist: init adopts a repository that has supabase/migrations")
    versions, views, adopted = [], [], {}
    for path in sorted(folder.glob("*.sql")):
        parsed = parse_file_name(path.name)
        if parsed is None:
            continue
        versions.append(parsed.version)
        text = path.read_text("utf-8", errors="replace")
        header = INIT_HEADER.search(text)
        if header:
            adopted[header.group(1)] = path.name
        elif re.search(r"\bview\s+(?:public\.)?v_migration_status\b", text, re.IGNORECASE):
            views.append(path.name)
    counts = Counter(versions)
    workflows: dict[str, tuple[str, ...]] = {}
    migrate: str | None = None
    db_secrets: dict[str, str] = {}
    for path in sorted((root / WORKFLOWS).glob("*.y*ml")) if (root / WORKFLOWS).is_dir() else []:
        text = path.read_text("utf-8", errors="replace")
        workflows[path.name] = tuple(dict.fromkeys(SECRET.findall(text)))
        for line in text.splitlines():
            if "migration up" in line and migrate in (None, path.name):
                migrate = path.name
                for secret in SECRET.findall(line):
                    env = "prod" if "PROD" in secret.upper() else "dev"
                    db_secrets.setdefault(env, secret)
    return RepoScan(
        root=root,
        versions=tuple(sorted(versions)),
        clashes=tuple(sorted(v for v, n in counts.items() if n > 1)),
        future=tuple(sorted(v for v in counts if v[:8] > today and len(v) >= 8)),
        status_view_files=tuple(views),
        adopted=adopted,
        workflows=workflows,
        migrate_workflow=migrate,
        has_status_tool=(root / "tools" / "migration_status.py").is_file(),
        db_secrets=db_secrets,
    )


TRACKER_COLUMNS = (
    "select a.attname from pg_attribute a where a.attrelid = to_regclass('public.dragonfly_migrations') "
    "and a.attnum > 0 and not a.attisdropped order by a.attnum"
)
VIEW_COLUMNS = (
    "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
    "where a.attrelid = to_regclass('public.v_migration_status') and a.attnum > 0 and not a.attisdropped "
    "order by a.attnum"
)
HISTORY = (
    "select version from supabase_migrations.schema_migrations "
    "where to_regclass('supabase_migrations.schema_migrations') is not null"
)


@dataclass(frozen=True)
class DatabaseScan:
    team: TeamSchema
    history: tuple[str, ...]  # versions in schema_migrations


def scan_database(db_url: str) -> DatabaseScan:
    """The tracker's and the view's real columns, and the recorded versions (read only)."""
    import psycopg

    from dragonfly_bot.adapters.supabase.base import check_db_url, hide_password

    check_db_url(db_url)
    try:
        with psycopg.connect(db_url, connect_timeout=10) as conn:
            conn.execute("set transaction read only")
            tracker = [r[0] for r in conn.execute(TRACKER_COLUMNS)]
            view = [Column(r[0], r[1]) for r in conn.execute(VIEW_COLUMNS)]
            has_history = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
            history = [r[0] for r in conn.execute(HISTORY)] if has_history and has_history[0] else []
    except psycopg.Error as exc:
        reason = hide_password(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, db_url)
        raise SourceUnavailable(f"init could not read the database: {reason}; check --db-url") from None
    team = TeamSchema(tuple(tracker) or None, tuple(view) or None)
    return DatabaseScan(team, tuple(sorted(history)))


def scan_rest(project_url: str, service_role_key: str, *, timeout: float = 10.0) -> DatabaseScan:
    """The same facts over PostgREST (the protocol's read path): the columns from the OpenAPI description,
    the recorded versions from ``v_migration_status`` itself (``supabase_migrations`` is not exposed)."""
    import asyncio

    return asyncio.run(_scan_rest(project_url, service_role_key, timeout))


async def _scan_rest(project_url: str, key: str, timeout: float) -> DatabaseScan:
    import httpx

    from dragonfly_bot.adapters.supabase.base import VIEW
    from dragonfly_bot.adapters.supabase.rest import RestStatusSource

    async with httpx.AsyncClient() as client:
        source = RestStatusSource(client, project_url, key, timeout=timeout, retries=1)
        described = await source.describe()
        if described is None:
            raise SourceUnavailable(
                f"{project_url.rstrip('/')}/rest/v1/ gave no OpenAPI description, which init reads the columns "
                "from: check the project URL and the service-role key, or pass --db-url"
            )
        view = described.get(VIEW)
        history = sorted({row.version for row in await source.fetch_rows()}) if view else []
    tracker = tuple(described.get("dragonfly_migrations") or ()) or None
    columns = tuple(Column(name, kind) for name, kind in view.items()) if view else None
    return DatabaseScan(TeamSchema(tracker, columns or None), tuple(history))
