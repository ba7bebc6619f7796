"""What a signed ``workflow_run`` delivery asks of the relay, read after it was acknowledged.

GitHub only needs to know the delivery arrived; reading its JSON is the
relay's business, so it happens off the acknowledgement path (see
bot/relay/webhook.py), once a burst of deliveries has been answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.core.ci_runs import FAILED_CONCLUSIONS, SUCCESS, BadRunPayload, RunInfo, is_migrations_workflow


@dataclass(frozen=True)
class Delivery:
    """An authenticated delivery waiting to be read."""

    event: str
    delivery_id: str
    body: bytes
    received_at: float  # the event loop's clock


@dataclass(frozen=True)
class Skipped:
    """Not for the relay: ``rejected`` when the payload is broken, else merely ignored."""

    reason: str
    rejected: bool = False


def read_run(body: bytes, workflow: str) -> RunInfo | Skipped:
    """The completed migrations run a ``workflow_run`` body describes, or why there is none."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Skipped("body is not JSON", rejected=True)
    if not isinstance(payload, dict):
        return Skipped("body is not a JSON object", rejected=True)
    if payload.get("action") != "completed":
        return Skipped("run not completed")
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    try:
        run = RunInfo.from_api(payload.get("workflow_run"), full_name if isinstance(full_name, str) else None)
    except BadRunPayload as exc:
        return Skipped(str(exc), rejected=True)
    if not is_migrations_workflow(run, workflow):
        return Skipped("not the migrations workflow")
    if run.conclusion not in FAILED_CONCLUSIONS and run.conclusion != SUCCESS:
        return Skipped(f"conclusion {run.conclusion or 'none'} is not relayed")
    return run
