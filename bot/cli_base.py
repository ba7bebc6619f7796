"""One module per ``dragonfly-bot`` subcommand.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; ``bot.cli`` lists them in ``COMMAND_MODULES``.
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
    """``python -m bot.cli_base.<name>``: one subcommand without loading the others.

    A ``UserFacingError`` is printed as one ``error:`` line and exits with its code (2; 3 when a
    source did not answer), as ``bot.cli`` does; output
    piped into a reader that went away (``| head``) ends quietly, as ``bot.cli`` does.
    """
    from bot.errors import UserFacingError, discard_output

    parser = argparse.ArgumentParser(prog=f"dragonfly-bot {name}", description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UserFacingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return discard_output(sys.stdout)
