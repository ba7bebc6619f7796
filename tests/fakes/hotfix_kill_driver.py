"""A hotfix process for the kill -9 test: the real service, outbox and discord.py HTTP path, on loopback.

``python -m tests.fakes.hotfix_kill_driver DATA_DIR DISCORD_URL DB_URL --summary TEXT [--declare]
[--approve] [--kill POINT:N]``: ``--declare`` declares a prod hotfix (as dana), ``--approve``
approves the hotfix with that summary (as lou); then one follow-up tick and the outbox is drained
until nothing is pending, and the process exits 0. ``--kill after-store:1`` SIGKILLs the process
right after the store took the declaration (before any post was queued); ``before-send:N``,
``after-send:N``, ``after-mark:N`` at the N-th such step of the outbox, as a crash would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import discord

from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.adapters.state.outbox import OUTBOX_FILE, SqliteOutbox
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.chat.poster import DiscordPoster
from dragonfly_bot.core.hotfix import Actor
from dragonfly_bot.hotfix.service import HotfixService
from dragonfly_bot.status.service import FolderFiles
from tests.fakes.discord_fake import CHANNEL_ID
from tests.fakes.discord_fake import TOKEN as DISCORD_TOKEN

LEAD_ROLE = 4242
DANA = Actor("111", "dana", can_declare=True)
LOU = Actor("333", "lou", is_lead=True)
DEADLINE_SECONDS = 60.0


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillAfterStore(PostgresHotfixStore):
    async def declare(self, new):  # type: ignore[no-untyped-def]
        stored = await super().declare(new)
        die()
        return stored


async def main(args: argparse.Namespace) -> int:
    discord.http.Route.BASE = args.discord_url
    client = discord.Client(intents=discord.Intents.none())
    await client.login(DISCORD_TOKEN)
    data = Path(args.data_dir)
    point, _, nth = args.kill.partition(":")
    store_type = KillAfterStore if point == "after-store" else PostgresHotfixStore
    store = store_type(args.db_url, role="service_role")
    outbox = Outbox(SqliteOutbox(data / OUTBOX_FILE), DiscordPoster(client, {"alerts": CHANNEL_ID}), lease_seconds=1.0)
    if point and point != "after-store":
        seen = [0]

        def maybe_die(step: str, row) -> None:  # type: ignore[no-untyped-def]
            if step == point:
                seen[0] += 1
                if seen[0] == int(nth):
                    die()

        outbox.on_step = maybe_die

    async def no_status(env: str):  # type: ignore[no-untyped-def]
        raise AssertionError("not read in this test")

    service = HotfixService(
        store,
        HotfixJournal(data),
        outbox,
        read_status=no_status,
        migration_files=FolderFiles(data / "no-migrations"),
        lead_role_id=LEAD_ROLE,
    )
    try:
        if args.declare:
            await service.declare(DANA, "prod", args.summary, "select pg_cancel_backend(7);")
        if args.approve:
            [hotfix] = [h for h in await store.list() if h.summary == args.summary]
            await service.approve(LOU, hotfix.code)
        await service.republish()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            await outbox.drain()
            if await outbox.store.pending_count() == 0:
                print("nothing pending", flush=True)
                return 0
            await asyncio.sleep(0.3)
        print("deadline passed", flush=True)
        return 1
    finally:
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("discord_url")
    parser.add_argument("db_url")
    parser.add_argument("--summary", required=True)
    parser.add_argument("--declare", action="store_true")
    parser.add_argument("--approve", action="store_true")
    parser.add_argument("--kill", default="")
    sys.exit(asyncio.run(main(parser.parse_args())))
