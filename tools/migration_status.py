"""``python -m tools.migration_status``: the entry the protocol documents.

A thin call into ``dragonfly-bot status`` with the same flags.
"""

import sys

from dragonfly_bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["status", *sys.argv[1:]]))
