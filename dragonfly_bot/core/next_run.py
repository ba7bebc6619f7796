"""What the next plain ``supabase migration up`` will do, from a status report.

Pure. It follows the CLI's own rules (checked against Supabase CLI 3.1.0):

* every version in ``schema_migrations`` must have a local file, else the CLI refuses
  the whole run, with or without ``--include-all`` ("Remote migration versions not
  found in local migrations directory");
* an unapplied file older than the newest applied version (out of order, or a file
  only the legacy tracker knows) makes plain ``migration up`` refuse the whole run
  ("Found local migration files to be inserted before the last migration");
* otherwise the unapplied files run in file-name order, and a second file with an
  already recorded version stops the run with 23505 on ``schema_migrations_pkey``.

So one missing_local or out_of_order file blocks everyone's new migrations; the
files it holds back are relabelled ``blocked``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dragonfly_bot.core.status import SUPABASE, MigrationStatus, State, StatusReport

_IN_HISTORY = (State.APPLIED, State.UNVERIFIABLE, State.MODIFIED, State.MISSING_LOCAL)
_SHOWN = 10  # files named in the one-line summary


@dataclass(frozen=True)
class NextRun:
    outcome: str  # nothing | apply | refuse | fail
    apply: tuple[str, ...] = ()  # files plain `migration up` applies, in order (before a failure)
    blocked_by: tuple[str, ...] = ()  # what makes it refuse or stop
    reason: str | None = None
    fails_at: str | None = None
    with_include_all: tuple[str, ...] = ()  # what `--include-all` would apply instead, in order

    def summary(self) -> str:
        if self.outcome == "nothing":
            return "Next `migration up`: nothing to apply."
        if self.outcome == "apply":
            return f"Next `migration up`: applies {len(self.apply)} file(s) in this order: {_names(self.apply)}."
        if self.outcome == "fail":
            before = f"applies {_names(self.apply)}, then " if self.apply else ""
            return f"Next `migration up`: {before}fails at {self.fails_at}: {self.reason}."
        return f"Next `migration up`: refuses the whole run: {self.reason}."

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "apply": list(self.apply),
            "blocked_by": list(self.blocked_by),
            "reason": self.reason,
            "fails_at": self.fails_at,
            "with_include_all": list(self.with_include_all),
            "summary": self.summary(),
        }


def _names(files: tuple[str, ...]) -> str:
    shown = ", ".join(files[:_SHOWN])
    return shown + (f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else "")


def predict(migrations: tuple[MigrationStatus, ...]) -> NextRun:
    history = {m.version for m in migrations if m.source == SUPABASE and m.state in _IN_HISTORY}
    newest = max(history) if history else None  # string order, as the CLI compares
    missing = sorted(m.version for m in migrations if m.source == SUPABASE and m.state is State.MISSING_LOCAL)
    unapplied = sorted(
        (m for m in migrations if m.file and m.state not in _IN_HISTORY),
        key=lambda m: m.file or "",
    )
    if missing:
        return NextRun(
            "refuse",
            blocked_by=tuple(missing),
            reason=(
                f"{len(missing)} version(s) in schema_migrations have no file here ({_names(tuple(missing))}); "
                "the CLI refuses every run, even with --include-all, until the files are restored "
                "(pull them back into supabase/migrations) or the history is repaired from CI "
                "(`supabase migration repair --status reverted <version>`)"
            ),
        )
    late = tuple(m.file for m in unapplied if newest is not None and m.version < newest and m.file)
    if late:
        return NextRun(
            "refuse",
            blocked_by=late,
            reason=(
                f"{len(late)} unapplied file(s) are older than the newest applied version {newest} "
                f"({_names(late)}); apply them with the workflow's include_all dispatch (--include-all), "
                "or give them new timestamps"
            ),
            with_include_all=tuple(m.file for m in unapplied if m.file),
        )
    applied: list[str] = []
    seen = set(history)
    for m in unapplied:
        if m.version in seen:
            return NextRun(
                "fail",
                apply=tuple(applied),
                blocked_by=(m.file or m.version,),
                fails_at=m.file,
                reason=(
                    f"version {m.version} is already recorded (23505 on schema_migrations_pkey): "
                    "the CLI keeps one file per version; give this file a new timestamp"
                ),
            )
        seen.add(m.version)
        applied.append(m.file or m.version)
    return NextRun("apply", apply=tuple(applied)) if applied else NextRun("nothing")


def with_next_run(report: StatusReport) -> StatusReport:
    """The report with its ``next_run``, and the pending files the run will not reach shown as blocked."""
    run = predict(report.migrations)
    if run.outcome not in ("refuse", "fail"):
        return replace(report, next_run=run)
    reached = set(run.apply)
    note = (
        f"blocked: the next `migration up` stops at {run.fails_at}"
        if run.outcome == "fail"
        else f"blocked: the next `migration up` refuses the whole run because of {_names(run.blocked_by)}"
    )
    migrations = tuple(
        replace(m, state=State.BLOCKED, note=note)
        if m.state is State.PENDING and m.file not in reached and m.file not in run.blocked_by
        else m
        for m in report.migrations
    )
    return replace(report, migrations=migrations, next_run=run)
