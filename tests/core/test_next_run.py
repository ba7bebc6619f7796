"""The prediction of the next `migration up`, checked against the real Supabase CLI."""

from __future__ import annotations

import re
import shutil

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.core.status import State, compute_status
from dragonfly_bot.status.service import collect_status, read_local_migrations
from tests.conftest import REPO_MIGRATIONS
from tests.core.test_status_engine import applied, local


def test_apply_in_file_order_and_nothing_when_done():
    files = [local("20250102000000_b.sql"), local("20250101000000_a.sql"), local("20250103000000_c.sql")]
    report = compute_status(files, [applied("20250101000000")])
    assert report.next_run.outcome == "apply"
    assert report.next_run.apply == ("20250102000000_b.sql", "20250103000000_c.sql")
    assert "applies 2 file(s) in this order" in report.next_run.summary()
    done = compute_status(files[:2], [applied("20250101000000"), applied("20250102000000")])
    assert done.next_run.outcome == "nothing" and done.exit_code == 0


def test_one_late_or_missing_file_blocks_everyone_and_include_all_is_named():
    files = [local("20250101000000_a.sql"), local("20250102000000_late.sql"), local("20250104000000_new.sql")]
    report = compute_status(files, [applied("20250101000000"), applied("20250103000000")])
    run = report.next_run
    # 20250103000000 has no file: missing_local comes first, and --include-all does not help
    assert run.outcome == "refuse" and run.blocked_by == ("20250103000000",)
    assert "even with --include-all" in run.reason and "20250103000000" in run.reason
    files.insert(2, local("20250103000000_back.sql"))
    report = compute_status(files, [applied("20250101000000"), applied("20250103000000")])
    run = report.next_run
    assert run.outcome == "refuse" and "--include-all" in run.reason
    assert run.with_include_all == ("20250102000000_late.sql", "20250104000000_new.sql")
    blocked = next(m for m in report.migrations if m.version == "20250104000000")
    assert blocked.state is State.BLOCKED and "late" in blocked.note


def test_a_second_file_with_a_recorded_version_stops_the_run_there():
    files = [local("20250101000000_a.sql"), local("20250102000000_b.sql"), local("20250102000000_c.sql")]
    files.append(local("20250105000000_d.sql"))
    run = compute_status(files, [applied("20250101000000")]).next_run
    assert run.outcome == "fail" and run.apply == ("20250102000000_b.sql",)
    assert run.fails_at == "20250102000000_c.sql" and "23505" in run.reason


APPLYING = re.compile(r"Applying migration (\S+)\.\.\.")


async def test_the_prediction_is_what_the_cli_then_does(scratch_db, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(REPO_MIGRATIONS, folder)  # the bot's view, to read the history through
    for name in ("0001_old.sql", "20250101_day.sql", "20250101120000_a.sql", "20980101000000_after_the_bots.sql"):
        (folder / name).write_text("select 1;\n")
    assert migration_up(scratch_db.url, folder).returncode == 0
    for name in ("20980103000000_b.sql", "20980102000000_c.sql", "20990101000000_z.sql"):
        (folder / name).write_text("select 1;\n")
    report = await collect_status(PostgresStatusSource(scratch_db.url), read_local_migrations(folder))
    assert report.next_run.outcome == "apply"
    done = migration_up(scratch_db.url, folder)
    assert done.returncode == 0 and tuple(APPLYING.findall(done.stderr + done.stdout)) == report.next_run.apply
    (folder / "20250101125000_late.sql").write_text("select 1;\n")
    (folder / "21000101000000_new.sql").write_text("select 1;\n")
    report = await collect_status(PostgresStatusSource(scratch_db.url), read_local_migrations(folder))
    assert report.next_run.outcome == "refuse"
    refused = migration_up(scratch_db.url, folder)
    assert refused.returncode != 0 and "--include-all" in refused.stderr + refused.stdout
    forced = migration_up(scratch_db.url, folder, include_all=True)
    assert tuple(APPLYING.findall(forced.stderr + forced.stdout)) == report.next_run.with_include_all
