"""The ``dragonfly-bot`` console script: one subcommand per module in bot/commands."""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import logging
import sys

from dragonfly_bot.cli_base import run_reporting_errors
from dragonfly_bot.logs import configure_logging

# Subcommand name -> its module, in the order ``--help`` lists them.
COMMANDS = {
    "status": "dragonfly_bot.status.command",
    "console": "dragonfly_bot.console.command",
    "run": "dragonfly_bot.chat.run_command",
    "explain": "dragonfly_bot.relay.explain_command",
    "lint": "dragonfly_bot.preflight.lint_command",
    "guard": "dragonfly_bot.preflight.guard_command",
    "schema-snapshot": "dragonfly_bot.preflight.snapshot_command",
    "record-run": "dragonfly_bot.relay.record_run_command",
    "init": "dragonfly_bot.adopt.command",
}
COMMAND_MODULES = list(COMMANDS.values())
# Commands that do one job and end; the long-running ones (console, run) are not among them.
ONE_SHOT = frozenset(COMMANDS) - {"console", "run"}


def _chosen_module(argv: list[str]) -> str | None:
    """The module of the subcommand named in argv, so only it is imported.

    Importing every subcommand (discord, psycopg, pydantic...) costs ~0.4 s,
    too much for a pre-commit ``lint`` or a CI ``status``. Each module's NAME is its key here.
    """
    command = _command(argv)
    return COMMANDS.get(command) if command is not None else None


def _command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


class _Parser(argparse.ArgumentParser):
    """With ``--json`` in the arguments, a usage error is one JSON object on stdout too (exit 2)."""

    json_errors = False

    def error(self, message: str):
        if self.json_errors:
            import json

            from dragonfly_bot.status.render_text import error_json

            print(json.dumps(error_json("usage", f"{self.prog}: {message}")))
        super().error(message)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    _Parser.json_errors = argv is not None and "--json" in argv
    parser = _Parser(
        prog="dragonfly-bot",
        description="Chat-ops for Dragonfly's database migration protocol.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    chosen = _chosen_module(argv) if argv is not None else None
    for module_name in [chosen] if chosen else COMMAND_MODULES:
        module = importlib.import_module(module_name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING, "%(levelname)s %(name)s: %(message)s")
    return run_reporting_errors(args.handler, args)


def run_from_shell(argv: list[str] | None = None) -> None:
    """The console script (and ``python -m dragonfly_bot.cli``, and the tools/migration_status shim that ``init``
    writes, which passes its own arguments): one command, then the process ends."""
    argv = sys.argv[1:] if argv is None else argv
    command = _command(argv)
    if command in ONE_SHOT:
        # What a one-shot command made dies with the process: freezing it at exit spares the collector's
        # final full pass over it (190 ms after linting a 300-file history).
        atexit.register(gc.freeze)
    if command == "lint":
        # Its parse trees are acyclic and freed by reference counting; with the collector off, not even
        # the pass over what lint_migrations made while it paused the collector runs (67 ms on 300 files).
        gc.disable()
    sys.exit(main(argv))


if __name__ == "__main__":  # pragma: no cover
    run_from_shell()
