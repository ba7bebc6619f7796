"""``dragonfly-bot status``: the protocol's ``tools.migration_status``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.compose import build_services
from bot.core.environments import ENVIRONMENTS, Environment
from bot.core.status import StatusReport
from bot.settings import load_settings
from bot.status.render_text import render_json, render_text

NAME = "status"
HELP = "Show applied, pending, failed and drifted migrations for dev or prod (read-only)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", choices=ENVIRONMENTS, help="environment (default: SUPABASE_MODE, else dev)")
    parser.add_argument("--db-url", help="read over a direct Postgres connection instead of REST")
    parser.add_argument("--migrations-dir", type=Path, help="folder of migration files (default supabase/migrations)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    env = args.env or settings.supabase_mode
    where, report = asyncio.run(_read(settings, env, args))
    if args.json:
        print(json.dumps(render_json(env, where, report), indent=2))
    else:
        _print_text(render_text(env, where, report))
    return report.exit_code


async def _read(settings, env: Environment, args: argparse.Namespace) -> tuple[str, StatusReport]:
    # The checkout's own files, whatever MIGRATIONS_SOURCE says: that is what CI will apply.
    parts = build_services(settings, db_url=args.db_url, local_files=True, migrations_dir=args.migrations_dir)
    async with parts:
        return await parts.status.read(env)


def _print_text(text: str) -> None:
    # A Windows console may not encode the protocol's emoji; never crash on it.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding))
