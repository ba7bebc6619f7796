"""What a webhook secret must be: the settings validator and the webhook both ask here."""

from __future__ import annotations

MIN_SECRET_CHARS = 16


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot sign webhooks (one line, without the secret), or None."""
    if not secret.strip():
        return "is only whitespace: set the secret configured on GitHub's webhook"
    if len(secret) < MIN_SECRET_CHARS:
        return (
            f"is shorter than {MIN_SECRET_CHARS} characters, which can be guessed: set a longer one here and on "
            "GitHub (python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return None
