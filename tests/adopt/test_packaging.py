"""The built wheel, installed in a fresh virtual environment, runs on its own (issue 10, item 5).

One slow test: build the wheel from this checkout, install it (without
dependencies) into a new venv whose dependencies come from the test
environment's site-packages (a plain path in a .pth file: the editable install
of this checkout there is not picked up), then run ``--help``, ``init --dry-run``
and ``status`` from it in a team's repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile

from dragonfly_bot.adapters.localdb import PROJECT_ROOT
from tests.fakes.team_project import build_team_database, write_team_repo

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_", "GITHUB_", "PYTHON"))}


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=CLEAN_ENV, timeout=300, **kwargs)


def test_the_wheel_installs_and_runs_in_a_fresh_venv(scratch_db, tmp_path):
    wheels = tmp_path / "wheels"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
        str(PROJECT_ROOT),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("dragonfly_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"dragonfly_bot"}  # no generic `tools` package claimed in site-packages
    assert {
        f"dragonfly_bot/_migrations/{p.name}" for p in (PROJECT_ROOT / "supabase" / "migrations").glob("*.sql")
    } <= set(names)  # init's source of the bot's own migrations, one copy of the SQL

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    installed = run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel))
    assert installed.returncode == 0, installed.stderr
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    with open(os.path.join(site, "_test_dependencies.pth"), "w") as pth:
        pth.write(sysconfig.get_paths()["purelib"] + "\n")
    cli = str(env_dir / "bin" / "dragonfly-bot")

    team = write_team_repo(tmp_path / "team")
    build_team_database(scratch_db.url, team)
    where = run(str(python), "-c", "import dragonfly_bot; print(dragonfly_bot.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(env_dir)), where.stdout  # the wheel's code, not this checkout
    shadow = run(str(python), "-c", "import tools", cwd=tmp_path)
    assert shadow.returncode != 0  # the distribution does not claim a top-level tools package

    helped = run(cli, "--help", cwd=team)
    assert helped.returncode == 0 and "init" in helped.stdout and "status" in helped.stdout
    dry = run(cli, "init", "--db-url", scratch_db.url, "--dry-run", cwd=team)
    assert dry.returncode == 0, dry.stderr
    assert "_dragonfly_migration_status_view.sql" in dry.stdout and "nothing was" in dry.stdout
    status = run(cli, "status", "--db-url", scratch_db.url, "--json", cwd=team)
    assert status.returncode == 0, status.stdout + status.stderr


def test_a_git_url_at_a_tag_builds_the_same_distribution(tmp_path):
    """`pip install "dragonfly-bot @ git+https://…@v0.2.0"`, as docs/ADOPTING.md says, with a local repository
    standing in for GitHub: pip clones it at the tag and builds the wheel from the clone."""
    source = tmp_path / "source.git"
    cloned = run("git", "clone", "-q", "--bare", str(PROJECT_ROOT), str(source))
    assert cloned.returncode == 0, cloned.stderr
    head = run("git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD").stdout.strip()
    tagged = run("git", "-C", str(source), "tag", "-f", "v0.2.0-test", head)
    assert tagged.returncode == 0, tagged.stderr
    wheels = tmp_path / "wheels"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
        f"git+file://{source}@v0.2.0-test",  # pip 23 refuses the "name @ git+file:" form; over https it takes both
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("dragonfly_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/", 1)[0] for n in names if ".dist-info" not in n.split("/", 1)[0]} == {"dragonfly_bot"}
    migrations = {p.name for p in (PROJECT_ROOT / "supabase" / "migrations").glob("*.sql")}
    assert {n.rsplit("/", 1)[-1] for n in names if n.startswith("dragonfly_bot/_migrations/")} == migrations
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dragonfly-bot = dragonfly_bot.cli:run_from_shell" in entry
