"""One module per ``dragonfly-bot`` subcommand.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; ``bot.cli`` lists them in ``COMMAND_MODULES``.
"""
