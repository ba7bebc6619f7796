"""supabase/config.toml is one the pinned CLI accepts, next to the repository's migrations."""

from __future__ import annotations

import shutil
import subprocess

from dragonfly_bot.adapters.localdb import PROJECT_ROOT, supabase_cli


def test_cli_reads_the_repository_config(tmp_path, scratch_db):
    shutil.copytree(PROJECT_ROOT / "supabase", tmp_path / "supabase", ignore=shutil.ignore_patterns(".temp"))
    result = subprocess.run(
        [*supabase_cli(), "migration", "list", "--db-url", scratch_db.url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    for path in (PROJECT_ROOT / "supabase" / "migrations").glob("*.sql"):
        assert path.name.split("_", 1)[0] in result.stdout
    assert 'project_id = "dragonfly"' in (PROJECT_ROOT / "supabase" / "config.toml").read_text()
