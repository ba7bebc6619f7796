"""Dev vs prod: what a promotion would carry, and what prod has that dev lacks.

Pure: takes two StatusReports from the same status engine (one per
environment) and lines them up by version.
"""

from __future__ import annotations

from dataclasses import dataclass

from dragonfly_bot.core.next_run import NextRun
from dragonfly_bot.core.status import SUPABASE, MigrationStatus, State, StatusReport

# States meaning "this version is in the database" (whatever its file says).
APPLIED_STATES = frozenset({State.APPLIED, State.UNVERIFIABLE, State.MODIFIED, State.MISSING_LOCAL})


@dataclass(frozen=True)
class Comparison:
    # Applied in dev, not in prod, oldest first: what CI would apply to prod next.
    promotion: tuple[MigrationStatus, ...]
    # Applied in prod, not in dev: prod drifted ahead (hotfix, or applied from another branch).
    prod_only: tuple[MigrationStatus, ...]
    # Promotion entries older than prod's newest applied version: plain `migration up` refuses them.
    promotion_out_of_order: tuple[str, ...]
    # Versions whose last attempt failed in prod.
    failed_in_prod: tuple[MigrationStatus, ...]
    in_both: int
    dev_counts: dict[str, int]
    prod_counts: dict[str, int]
    # What the next `migration up` on prod does with these files: the promotion, or why it refuses.
    prod_next_run: NextRun | None = None

    @property
    def in_sync(self) -> bool:
        return not self.promotion and not self.prod_only and not self.failed_in_prod


def _applied(report: StatusReport) -> dict[str, MigrationStatus]:
    return {m.version: m for m in report.migrations if m.state in APPLIED_STATES}


def compare_reports(dev: StatusReport, prod: StatusReport) -> Comparison:
    dev_applied = _applied(dev)
    prod_applied = _applied(prod)
    promotion = tuple(dev_applied[v] for v in sorted(dev_applied.keys() - prod_applied.keys()))
    prod_only = tuple(prod_applied[v] for v in sorted(prod_applied.keys() - dev_applied.keys()))
    prod_supabase = [v for v, m in prod_applied.items() if m.source == SUPABASE]
    newest_prod = max(prod_supabase) if prod_supabase else None  # string order, as the CLI compares
    out_of_order = tuple(
        m.version for m in promotion if m.source == SUPABASE and newest_prod is not None and m.version < newest_prod
    )
    failed = tuple(m for m in prod.migrations if m.state is State.FAILED)
    return Comparison(
        promotion=promotion,
        prod_only=prod_only,
        promotion_out_of_order=out_of_order,
        failed_in_prod=failed,
        in_both=len(dev_applied.keys() & prod_applied.keys()),
        dev_counts=dev.counts,
        prod_counts=prod.counts,
        prod_next_run=prod.next_run,
    )
