"""/hotfix typed into `dragonfly-bot console` (a subprocess) against a real migrated database."""

from __future__ import annotations

from pathlib import Path

from dragonfly_bot.adapters.localdb import migration_up
from tests.fakes.helpers import RecordingPoster, run_console
from tests.fakes.hotfix_support import copy_migrations, make_service, migrate


def console(lines: list[str], *, db_url: str, tmp: Path, migrations: Path, user_id: int, name: str) -> str:
    result = run_console(
        ["--db-url", db_url, "--user", name, "--files-dir", str(tmp / "files")],
        "\n".join(lines) + "\n",
        HOTFIX_ROLE_ID="10",
        DEVOPS_LEAD_ROLE_ID="20",
        OWNER_IDS=f"[{user_id}]",  # the console user's id
        DATA_DIR=str(tmp / "data"),
        MIGRATIONS_DIR=str(migrations),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-5000:]
    return result.stdout + result.stderr


async def test_dev_and_prod_lifecycle_typed_in_the_console(scratch_db, tmp_path):
    migrate(scratch_db)
    migrations = copy_migrations(tmp_path / "migrations")
    (migrations / "20251224000000_orders_idx.sql").write_text(
        "create table if not exists public.orders (id int, created_at timestamptz);\n"
        "create index if not exists orders_idx on public.orders (created_at);\n"
    )
    first = console(
        [
            '/hotfix declare env:dev summary:"@everyone orders are slow" '
            'sql:"create index orders_idx on orders (created_at);"',
            '/hotfix declare env:prod summary:"stuck lock in prod"',
            "/press Approve HF-0002",  # the button on the #alerts post; the declarer may not approve
            "/hotfix link HF-0001 20251224000000_orders_idx.sql",
            '/hotfix resolve HF-0001 review:"the index was dropped by a bad deploy"',
            "/hotfix show HF-9999",
            "/hotfix declare env:staging summary:x",
            "/hotfix export format:csv",
        ],
        db_url=scratch_db.url,
        tmp=tmp_path,
        migrations=migrations,
        user_id=1,
        name="dana",
    )
    assert "[#alerts]" in first and "🚨 Hotfix HF-0001 declared in dev" in first
    assert "@everyone orders are slow" in first and "If You Must Hotfix" in first
    assert "Declared HF-0001 (dev)" in first
    # The console draws mentions as Discord does: the virtual guild's DevOps-lead role by name.
    assert "@devops-lead: prod hotfix HF-0002 needs your approval" in first and "[Approve HF-0002]" in first
    assert "you declared HF-0002; another DevOps lead must approve it" in first
    assert "🔗 HF-0001: migration linked" in first and "every statement declared" in first
    assert "HF-0001 is migration_linked: it can be resolved once its migration is applied in dev (synced)" in first
    assert "there is no hotfix HF-9999" in first
    assert "error: env must be one of: dev, prod (got 'staging')" in first
    export = next((tmp_path / "files").glob("hotfixes-*.csv")).read_text()
    assert "HF-0001,dev,migration_linked" in export and "HF-0002,prod,awaiting_approval" in export

    # CI applies the migration; the bot's follow-up loop (here: one tick) marks HF-0001 synced.
    assert migration_up(scratch_db.url, migrations).returncode == 0
    assert (
        await make_service(scratch_db.url, tmp_path / "data", RecordingPoster(), migrations_dir=migrations).tick()
    ).synced == 1

    second = console(
        [
            "/hotfix approve HF-0002",
            '/hotfix resolve HF-0001 review:"the index was dropped by a bad deploy"',
            "/hotfix show HF-0001",
            "/hotfix list state:resolved",
        ],
        db_url=scratch_db.url,
        tmp=tmp_path,
        migrations=migrations,
        user_id=2,
        name="lou",
    )
    # Each console session is a fresh virtual guild: the #alerts posts of the first session are
    # gone. The updates to them stay in the outbox, to be retried (one line each, no traceback).
    assert "You approved HF-0002" in second and "HF-0001 is resolved" in second
    assert "not delivered (channel" in second and "Traceback" not in second
    timeline = second.split("/hotfix show HF-0001", 1)[1]
    for kind in ("declared by dana", "migration_linked by dana", "synced", "resolved by lou"):
        assert kind in timeline
    assert "HF-0001 · dev · 🏁 resolved · dana" in second
