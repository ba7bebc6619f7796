"""Every log line goes through the one redactor (issue 14: one redactor on every path out)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from dragonfly_bot.logs import configure_logging

PASSWORD = "pw-" + "7f3a9c1e5b"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"


def test_a_secret_in_a_message_its_arguments_or_a_traceback_is_redacted(capsys):
    configure_logging(logging.DEBUG, "%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("bot.test_logs")
    try:
        raise RuntimeError(f"connect to postgresql://app:{PASSWORD}@db.example.com:5432/postgres failed")
    except RuntimeError:
        log.exception("reading %s", f"key {STRIPE}")
    err = capsys.readouterr().err
    assert "ERROR bot.test_logs: reading key [REDACTED]" in err and "Traceback" in err
    assert PASSWORD not in err and STRIPE not in err and "postgresql://app:[REDACTED]@db.example.com" in err


def test_the_cli_s_debug_log_of_a_failed_connection_keeps_the_password_out():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_"))}
    done = subprocess.run(
        [sys.executable, "-m", "dragonfly_bot.cli", "-v", "status", "--db-url", f"postgresql://app:{PASSWORD}@127.0.0.1:1/x"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3 and "DEBUG" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
