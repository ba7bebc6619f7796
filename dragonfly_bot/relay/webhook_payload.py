"""What a signed ``workflow_run`` delivery asks of the relay, read after it was acknowledged.

GitHub only needs to know the delivery arrived; reading its JSON is the
relay's business, so it happens off the acknowledgement path (see
dragonfly_bot/relay/webhook.py), once a burst of deliveries has been answered.

A GitHub payload is ~20 KB, of which the relay needs a few fields: the usual
body is parsed for those alone (pydantic's JSON parser skips the rest, ~3x
cheaper than ``json.loads``). A body that does not fit that shape (not an
object, a field of an unexpected type, invalid UTF-8, nested too deep...)
is read the lenient way, with ``json.loads``, which decides what it means;
both ways give the same answer. ``json.loads`` recurses once per level, so
the lenient way first refuses a body nested deeper than ``max_depth``
(dragonfly_bot/core/json_depth.py, no recursion); the quick parser bounds its own
depth (pydantic-core, 200 levels).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from dragonfly_bot.core.ci_runs import (
    FAILED_CONCLUSIONS,
    SUCCESS,
    WORKFLOW_RUN_FIELDS,
    BadRunPayload,
    RunInfo,
    is_migrations_workflow,
)
from dragonfly_bot.core.json_depth import MAX_JSON_DEPTH, nests_deeper_than


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


@dataclass(frozen=True)
class Fields:
    """The parts of a payload the relay reads: ``action``, the ``workflow_run`` object, ``repository.full_name``."""

    action: Any
    workflow_run: Any
    full_name: Any


class _Repository(BaseModel):
    full_name: Any = None


# Any: the value as json.loads gives it (from_api checks the types); a repository object that is not
# one fails validation, and the body is read the lenient way.
_Run = create_model(  # type: ignore[call-overload]
    "_Run",
    **dict.fromkeys(WORKFLOW_RUN_FIELDS - {"repository"}, (Any, None)),
    repository=(_Repository | None, None),
)


class _Payload(BaseModel):
    action: Any = None
    workflow_run: _Run | None = None  # type: ignore[valid-type]
    repository: _Repository | None = None


def quick_fields(body: bytes) -> Fields | None:
    """The fields of a body shaped like GitHub's, the rest skipped unparsed; None for any other body."""
    try:
        payload = _Payload.model_validate_json(body)
    except ValidationError:
        return None
    run = payload.workflow_run
    workflow_run = None
    if run is not None:
        workflow_run = dict(run.__dict__)  # the fields' values, as a mapping for RunInfo.from_api
        if run.repository is not None:
            workflow_run["repository"] = dict(run.repository.__dict__)
    full_name = payload.repository.full_name if payload.repository is not None else None
    return Fields(payload.action, workflow_run, full_name)


def lenient_fields(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Fields | Skipped:
    """The same fields, from ``json.loads`` of the whole body (any shape), or why there are none."""
    if nests_deeper_than(body, max_depth):
        return Skipped(f"body nests deeper than {max_depth} levels", rejected=True)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Skipped("body is not JSON", rejected=True)
    if not isinstance(payload, dict):
        return Skipped("body is not a JSON object", rejected=True)
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    return Fields(payload.get("action"), payload.get("workflow_run"), full_name)


def read_run(body: bytes, workflow: str, *, max_depth: int = MAX_JSON_DEPTH) -> RunInfo | Skipped:
    """The completed migrations run a ``workflow_run`` body describes, or why there is none."""
    fields = quick_fields(body) or lenient_fields(body, max_depth)
    if isinstance(fields, Skipped):
        return fields
    if fields.action != "completed":
        return Skipped("run not completed")
    full_name = fields.full_name
    try:
        run = RunInfo.from_api(fields.workflow_run, full_name if isinstance(full_name, str) else None)
    except BadRunPayload as exc:
        return Skipped(str(exc), rejected=True)
    if not is_migrations_workflow(run, workflow):
        return Skipped("not the migrations workflow")
    if run.conclusion not in FAILED_CONCLUSIONS and run.conclusion != SUCCESS:
        return Skipped(f"conclusion {run.conclusion or 'none'} is not relayed")
    return run
