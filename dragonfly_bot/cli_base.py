"""One module per ``dragonfly-bot`` subcommand.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; ``dragonfly_bot.cli`` lists them in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def standalone_main(
    name: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: list[str] | None = None,
) -> int:
    """``python -m dragonfly_bot.preflight.<name>_command``: one subcommand without loading the others; its errors
    are reported as ``dragonfly_bot.cli`` reports them (``run_reporting_errors``)."""
    parser = argparse.ArgumentParser(prog=f"dragonfly-bot {name}", description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_reporting_errors(run, args)


def run_reporting_errors(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """A command's exit code, whatever happens: a ``UserFacingError`` is one ``error:`` line and its code
    (2; 3 when a source did not answer); Ctrl-C is 130; output piped into a reader that went away (``| head``)
    ends quietly; any other exception (a bug) is one line and exit 4, never a traceback (``-v`` logs it)."""
    import logging

    from dragonfly_bot.errors import EXIT_INTERNAL, UserFacingError, discard_output, internal_error_line

    try:
        return int(run(args) or 0)
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `dragonfly-bot status | head`: the reader has what it wanted
        return discard_output(sys.stdout)
    except Exception as exc:  # a bug: one line and its own code, never 1 ("needs attention")
        logging.getLogger("dragonfly_bot.cli").debug("%s failed", getattr(args, "command", "command"), exc_info=True)
        print(f"error: {internal_error_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
