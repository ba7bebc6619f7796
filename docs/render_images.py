"""Render the bot's key posts to PNGs in docs/images/, as Discord draws them.

    python docs/render_images.py            # needs Debian's `chromium` and a PostgreSQL (or the embedded one)

The real ``DragonflyBot`` runs in the console's offline virtual guild
(``dragonfly_bot.console.virtual_guild``, simcord); each post is produced the way the
bot produces it in production: ``/migrations`` typed by a member, a failing
``supabase migration up`` relayed from a (fake, local) GitHub run and then
fixed by a green run, a prod ``/hotfix declare``. simcord's preview page shows
the message and headless Chromium photographs it.

Data: scratch databases on the local server, dropped at the end; the GitHub
side is the tests' fake GitHub (tests/fakes/github_fake.py) serving a run
whose log is the real CLI output. Nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the bot and the tests' fakes

from dragonfly_bot.adapters.github import GitHubClient  # noqa: E402
from dragonfly_bot.adapters.localdb import find_server, migration_up, with_database  # noqa: E402
from dragonfly_bot.adapters.state.ledger import Ledger  # noqa: E402
from dragonfly_bot.adapters.state.outbox import SqliteOutbox  # noqa: E402
from dragonfly_bot.chat.app import DragonflyBot  # noqa: E402
from dragonfly_bot.chat.outbox_sender import Outbox  # noqa: E402
from dragonfly_bot.compose import build_services  # noqa: E402
from dragonfly_bot.console.database import create_platform  # noqa: E402
from dragonfly_bot.console.virtual_guild import VirtualGuild  # noqa: E402
from dragonfly_bot.core.ci_runs import RunInfo  # noqa: E402
from dragonfly_bot.relay.service import Relay  # noqa: E402
from dragonfly_bot.settings import Settings  # noqa: E402
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub, github_log  # noqa: E402

IMAGES = ROOT / "docs" / "images"
REPO_MIGRATIONS = ROOT / "supabase" / "migrations"
WIDTH = 1280
# The preview page's own chrome (toolbar, channel sidebar) around the message: cropped off.
TOOLBAR, SIDEBAR, MARGIN = 78, 256, 16
BAD_FILE = "20991209000002_add_customer_tier.sql"


@contextlib.contextmanager
def scratch_database(server_url: str, migrations: Path | None):
    """A fresh database with Supabase's roles, ``migrations`` applied by the Supabase CLI, dropped after."""
    name = f"dragonfly_docs_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    try:
        create_platform(url)
        if migrations is not None:
            result = migration_up(url, migrations)
            if result.returncode != 0:
                raise SystemExit(f"supabase migration up failed on {name}: {result.stderr[-500:]}")
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextlib.asynccontextmanager
async def team(work: Path, db_url: str, migrations: Path) -> AsyncIterator[VirtualGuild]:
    settings = Settings(_env_file=None, data_dir=work / "data", migrations_dir=migrations)
    services = build_services(settings, db_url=db_url, note="docs/render_images.py", local_files=True)
    bot = DragonflyBot(settings, services=services, serve_web=False)
    async with VirtualGuild.running(bot, you="dana") as guild:
        await bot.user.edit(username="Dragonfly")  # type: ignore[union-attr]  # simcord's default name is TestBot
        yield guild


async def photograph(guild: VirtualGuild, channel: str, message, name: str, height: int) -> Path:
    """One message of ``#channel`` through simcord's preview, photographed by headless Chromium."""
    target = IMAGES / f"{name}.png"
    preview = guild.env.preview(
        guild.channels[channel], viewers=[guild.you], layout="message", display="fixed", width=WIDTH, height=height
    )
    async with preview:
        await preview.show(message)
        # Started with asyncio, not subprocess.run: the preview server lives on this event loop.
        chromium = await asyncio.create_subprocess_exec(
            "chromium",
            "--headless",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--screenshot={target}",
            f"--window-size={WIDTH},{height}",
            "--virtual-time-budget=10000",
            preview.url,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await chromium.wait() != 0 or not target.is_file():
            raise SystemExit(f"chromium could not photograph {name}")
    crop_to_message(target)
    print(f"wrote {target.relative_to(ROOT)}")
    return target


def crop_to_message(path: Path) -> None:
    """Keep the message column only: below the page's toolbar, trimmed to what is not plain background."""
    from PIL import Image, ImageChops

    with Image.open(path) as shot:
        column = shot.convert("RGB").crop((SIDEBAR, 0, shot.width, shot.height))
    colour = column.getpixel((column.width - 1, column.height - 1))
    background = Image.new("RGB", column.size, colour)
    # The toolbar ends at the first plain-background row below it (its height varies with the banner it shows).
    top = next(
        (y for y in range(TOOLBAR // 2, column.height) if _plain(column, y, colour)),
        TOOLBAR,
    )
    box = ImageChops.difference(column.crop((0, top, column.width, column.height)), background).getbbox()
    if box is not None:
        column = column.crop(
            (0, top + max(0, box[1] - MARGIN), min(column.width, box[2] + MARGIN), top + box[3] + MARGIN)
        )
    column.save(path, optimize=True)


def _plain(image, y: int, colour) -> bool:
    return all(image.getpixel((x, y)) == colour for x in range(0, image.width, 7))


async def migrations_posts(work: Path, server_url: str) -> None:
    folder = work / "migrations"
    shutil.copytree(REPO_MIGRATIONS, folder)
    with scratch_database(server_url, folder) as url:
        async with team(work / "status", url, folder) as guild:
            healthy = await guild.slash("migrations", env="dev")
            await photograph(guild, "engineering", healthy.response.message, "migrations-healthy", 1600)
            # Two files merged but not yet applied, and one whose applied copy was edited since.
            (folder / "20991210000000_add_invoice_status.sql").write_text(
                "alter table public.invoices add column if not exists status text;\n"
            )
            (folder / "20991210000100_index_invoice_status.sql").write_text(
                "create index if not exists invoices_status on public.invoices (status);\n"
            )
            attention = await guild.slash("migrations", env="dev")
            await photograph(guild, "engineering", attention.response.message, "migrations-attention", 1600)


async def ci_posts(work: Path, server_url: str) -> None:
    folder = work / "ci-migrations"
    shutil.copytree(REPO_MIGRATIONS, folder)
    (folder / "20991209000001_customers.sql").write_text("create table public.customers (id bigint);\n")
    (folder / BAD_FILE).write_text(
        "-- the tier every customer starts on\ncreate table public.customers (id bigint, tier text default 'free');\n"
    )
    with scratch_database(server_url, None) as url:
        failed = migration_up(url, folder)  # the real CLI output CI would log: 42P07
        github = await FakeGitHub().start()
        client = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=github.url, retry=0)
        try:
            async with team(work / "ci", url, folder) as guild:
                outbox = Outbox(SqliteOutbox(work / "ci-outbox.sqlite3"), guild.env.bot.poster)  # type: ignore[attr-defined]
                relay = Relay(
                    client=client,
                    ledger=Ledger(work / "ci-ledger.sqlite3"),
                    outbox=outbox,
                    workflow="supabase-migrate.yml",
                )
                payload = github.add_run(701, log=github_log(failed.stdout + failed.stderr))
                github.files[(f"supabase/migrations/{BAD_FILE}", payload["head_sha"])] = (folder / BAD_FILE).read_text()
                await relay.handle(RunInfo.from_api(payload))
                await outbox.drain()
                await guild.env.settle()
                alert = guild.history("alerts")[-1]
                await photograph(guild, "alerts", alert, "ci-failure-alert", 1600)
                green = github.add_run(
                    702, conclusion="success", sha="c0ffee" + "0" * 34, message="fix: idempotent tier"
                )
                await relay.handle(RunInfo.from_api(green))
                await outbox.drain()
                await guild.env.settle()
                fixed = next(m for m in guild.history("alerts") if m.id == alert.id)
                await photograph(guild, "alerts", fixed, "ci-failure-fixed", 1600)
        finally:
            client.close()
            await github.stop()


async def hotfix_post(work: Path, server_url: str) -> None:
    folder = work / "hotfix-migrations"
    shutil.copytree(REPO_MIGRATIONS, folder)
    with scratch_database(server_url, folder) as url:
        async with team(work / "hotfix", url, folder) as guild:
            await guild.slash("hotfix declare", env="prod", summary="checkout times out: a lock on orders")
            await guild.env.settle()
            post = next(m for m in reversed(guild.history("alerts")) if m.components)
            await photograph(guild, "alerts", post, "hotfix-prod-awaiting-approval", 1600)


async def main() -> int:
    if shutil.which("chromium") is None:
        print("error: chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    server = find_server()
    with tempfile.TemporaryDirectory(prefix="dragonfly-docs-") as tmp:
        work = Path(tmp)
        await migrations_posts(work, server.url)
        await ci_posts(work, server.url)
        await hotfix_post(work, server.url)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
