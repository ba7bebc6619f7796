"""``dragonfly-bot status``: the protocol's ``tools.migration_status``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.settings import ENVIRONMENTS, load_settings
from bot.status.render_text import render_json, render_text
from bot.status.service import status_for

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
    source, report = asyncio.run(status_for(settings, env, db_url=args.db_url, migrations_dir=args.migrations_dir))
    if args.json:
        print(json.dumps(render_json(env, source.description, report), indent=2))
    else:
        _print_text(render_text(env, source.description, report))
    return report.exit_code


def _print_text(text: str) -> None:
    # A Windows console may not encode the protocol's emoji; never crash on it.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, errors="replace").decode(encoding))
