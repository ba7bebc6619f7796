"""The one error type whose message is meant for the person at the keyboard."""


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
