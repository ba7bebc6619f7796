"""The ``dragonfly-bot`` console script: one subcommand per module in bot/commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.errors import UserFacingError, discard_output

# Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "bot.status.command",
    "bot.console.command",
    "bot.chat.run_command",
    "bot.relay.explain_command",
    "bot.preflight.lint_command",
    "bot.preflight.guard_command",
    "bot.relay.record_run_command",
]


def _chosen_module(argv: list[str]) -> str | None:
    """The module of the subcommand named in argv, so only it is imported.

    Importing every subcommand (discord, psycopg, pydantic...) costs ~0.4 s,
    too much for a pre-commit ``lint``. The module's NAME is its last part.
    """
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    for module_name in COMMAND_MODULES:
        if command is not None and module_name.rsplit(".", 1)[1] == command.replace("-", "_"):
            return module_name
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `dragonfly-bot status | head`: the reader has what it wanted
        return discard_output(sys.stdout)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
