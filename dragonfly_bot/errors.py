"""The one error type whose message is meant for the person at the keyboard,
and what to do when that person's pipe closes (``dragonfly-bot status | head``)."""

import os

# What a shell reports for a command stopped by SIGPIPE (128 + 13).
EXIT_OUTPUT_CLOSED = 141
# An unexpected error (a bug) in any command: never 1, which status and lint use for "needs attention".
EXIT_INTERNAL = 4


class UserFacingError(Exception):
    """Something the user can fix: the message says what is wrong and what to do.

    The CLI prints it on one line and exits 2; the bot's central error handler
    sends it as an ephemeral reply. Never put secrets in the message.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SourceUnavailable(UserFacingError):
    """A database or API we read from did not answer usefully (down, bad key, view missing)."""

    exit_code = 3


def internal_error_line(exc: BaseException) -> str:
    """One line for an unexpected error: its type and (redacted) message, and what to do."""
    from dragonfly_bot.core.redact import redact

    said = " ".join(redact(str(exc)).split())[:300]
    return f"internal error ({type(exc).__name__}: {said}); run with -v for the traceback and report it"


def discard_output(stream) -> int:
    """The reader of ``stream`` went away: send whatever is still buffered nowhere, so
    neither the next write nor the flush at exit raises again. Returns EXIT_OUTPUT_CLOSED."""
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return EXIT_OUTPUT_CLOSED  # not a file (a test's StringIO): nothing buffered for a descriptor
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
    return EXIT_OUTPUT_CLOSED
