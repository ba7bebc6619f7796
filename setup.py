"""Only what pyproject.toml cannot say: the wheel carries the bot's migrations as package data
(dragonfly_bot/_migrations), copied from supabase/migrations at build time, so `dragonfly-bot init` reads
the same files an installed bot has, with one copy of the SQL in the repository."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithMigrations(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "dragonfly_bot" / "_migrations"
        target.mkdir(parents=True, exist_ok=True)
        for sql in sorted(Path("supabase", "migrations").glob("*.sql")):
            shutil.copyfile(sql, target / sql.name)


setup(cmdclass={"build_py": BuildWithMigrations})
