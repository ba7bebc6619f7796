"""``dragonfly-bot status``: the protocol's ``tools.migration_status``.

Exit codes (CI reads them): 0 all applied, 1 needs attention, 2 usage or
configuration error, 3 could not read the database or API, 4 an unexpected
error (a bug: one line on stderr, never 1). With ``--json`` every outcome is one
JSON object on stdout, errors as ``{"error": {"kind": ..., "message": ...}}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dragonfly_bot.core.environments import ENVIRONMENTS, Environment
from dragonfly_bot.core.status import StatusReport
from dragonfly_bot.errors import EXIT_INTERNAL, SourceUnavailable, UserFacingError, internal_error_line

if TYPE_CHECKING:
    from dragonfly_bot.settings import Settings

NAME = "status"
HELP = "Show applied, pending, failed and drifted migrations for dev or prod (read-only)."

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", choices=ENVIRONMENTS, help="environment (default: SUPABASE_MODE, else dev)")
    parser.add_argument("--db-url", help="read over a direct Postgres connection instead of REST")
    parser.add_argument("--migrations-dir", type=Path, help="folder of migration files (default supabase/migrations)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except SourceUnavailable as exc:
        return _fail(args, "unavailable", exc.message, exc.exit_code)
    except UserFacingError as exc:
        return _fail(args, "configuration", exc.message, exc.exit_code)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # a bug: its own exit code, so CI never reads it as "pending"
        log.debug("status failed", exc_info=True)
        return _fail(args, "internal", internal_error_line(exc), EXIT_INTERNAL)


def _fail(args: argparse.Namespace, kind: str, message: str, code: int) -> int:
    if getattr(args, "json", False):
        from dragonfly_bot.status.render_text import error_json

        print(json.dumps(error_json(kind, message)))
    print(f"error: {message}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from dragonfly_bot.status.render_text import render_json, render_text

    if args.db_url:
        # Over an explicit URL the run needs two settings, read without loading all of them (pydantic).
        from dragonfly_bot import early_settings

        settings = None
        env = args.env or early_settings.default_environment()
        migrations_dir = args.migrations_dir or early_settings.migrations_dir()
    else:
        from dragonfly_bot.settings import load_settings

        settings = load_settings()
        env = args.env or settings.supabase_mode
        migrations_dir = args.migrations_dir
    where, report = asyncio.run(_read(settings, env, args.db_url, migrations_dir))
    if args.json:
        print(json.dumps(render_json(env, where, report), indent=2))
    else:
        _print_text(render_text(env, where, report))
    return report.exit_code


async def _read(
    settings: Settings | None, env: Environment, db_url: str | None, migrations_dir: Path | None
) -> tuple[str, StatusReport]:
    from dragonfly_bot.compose import build_services

    # The checkout's own files, whatever MIGRATIONS_SOURCE says: that is what CI will apply.
    parts = build_services(settings, db_url=db_url, local_files=True, migrations_dir=migrations_dir)
    async with parts:
        return await parts.status.read(env)


def _print_text(text: str) -> None:
    # A Windows console may not encode the protocol's emoji; never crash on it.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding))
