"""A relay process for the kill -9 test: the real relay, outbox and discord.py HTTP path, on loopback.

``python -m tests.fakes.outbox_kill_driver DATA_DIR DISCORD_URL GITHUB_URL --runs N,N [--kill POINT:N] [--db-url URL]``
relays every run of the fake GitHub's window into the fake Discord, then exits 0
once every run is done and nothing is pending or held. ``--kill before-send:N``
(or ``after-send:N``) SIGKILLs this very process at the N-th such step of the
outbox, the way a crash or an OOM kill would.

``--webhook PORT_FILE``: the runs arrive as signed deliveries instead, on the
bot's web server and webhook (the port is written to PORT_FILE; the
reconciliation loop does not run), and go through the webhook's queue worker.
``--kill before-read:1`` dies when the webhook starts reading the deliveries it
has acknowledged.
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

from dragonfly_bot.adapters.github import GitHubClient
from dragonfly_bot.adapters.state.ledger import LEDGER_FILE, Ledger
from dragonfly_bot.adapters.state.outbox import OUTBOX_FILE, OutboxStore, SqliteOutbox
from dragonfly_bot.adapters.state.outbox_db import PostgresOutbox
from dragonfly_bot.chat.outbox_sender import Outbox
from dragonfly_bot.chat.poster import DiscordPoster
from dragonfly_bot.relay.service import ALERT_TAG, Relay, process_queue, reconcile
from tests.fakes.discord_fake import CHANNEL_ID
from tests.fakes.discord_fake import TOKEN as DISCORD_TOKEN
from tests.fakes.github_fake import REPO, TOKEN

LEASE_SECONDS = 1.0
WEBHOOK_SECRET = "kill-driver-webhook-secret"
DEADLINE_SECONDS = 90.0


async def main(args: argparse.Namespace) -> int:
    discord.http.Route.BASE = args.discord_url
    client = discord.Client(intents=discord.Intents.none())
    await client.login(DISCORD_TOKEN)
    data = Path(args.data_dir)
    ledger = Ledger(data / LEDGER_FILE, lease_seconds=LEASE_SECONDS)
    store: OutboxStore = SqliteOutbox(data / OUTBOX_FILE)
    if args.db_url:
        store = PostgresOutbox(args.db_url, role="service_role")
    outbox = Outbox(
        store,
        DiscordPoster(client, {"alerts": CHANNEL_ID}),
        lease_seconds=LEASE_SECONDS,
        nonce_window=args.nonce_window,
    )
    if args.kill:
        point, _, nth = args.kill.partition(":")
        seen = [0]

        def maybe_die(step: str, row) -> None:
            if step == point:
                seen[0] += 1
                if seen[0] == int(nth):
                    os.kill(os.getpid(), signal.SIGKILL)

        outbox.on_step = maybe_die
    github = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=args.github_url, retry=0)
    relay = Relay(
        client=github, ledger=ledger, outbox=outbox, workflow="supabase-migrate.yml", max_posts=5, per_seconds=2.0
    )
    runs = args.runs
    deadline = time.monotonic() + DEADLINE_SECONDS
    server = await _serve_webhook(args, relay) if args.webhook else None
    try:
        while time.monotonic() < deadline:
            if server is None:
                await reconcile(github, relay)
            else:
                await relay.flush_overflow()  # what reconcile does for held-back alerts
            await outbox.drain()
            done = sum(ledger.done((REPO, run_id, 1)) for run_id in runs)
            held = await store.held(ALERT_TAG)
            if done == len(runs) and not held and await store.pending_count() == 0:
                print(f"all {done} runs relayed", flush=True)
                return 0
            await asyncio.sleep(0.3)
        print("deadline passed", flush=True)
        return 1
    finally:
        if server is not None:
            await server.stop()
        github.close()
        await client.close()


async def _serve_webhook(args: argparse.Namespace, relay: Relay):
    from aiohttp import web

    from dragonfly_bot.chat.web import WebServer
    from dragonfly_bot.relay.webhook import PATH, GitHubWebhook

    queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
    hook = GitHubWebhook(WEBHOOK_SECRET, "supabase-migrate.yml", queue)
    if args.kill.startswith("before-read:"):
        read_unread = hook.read_unread

        def die_first(limit=None):
            os.kill(os.getpid(), signal.SIGKILL)
            read_unread(limit)

        hook.read_unread = die_first  # type: ignore[method-assign]
    app = web.Application()
    app.router.add_post(PATH, hook.handle)
    server = WebServer(app)
    await server.start("127.0.0.1", 0)
    asyncio.get_running_loop().create_task(process_queue(queue, relay))
    Path(args.webhook).write_text(str(server.port))
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("discord_url")
    parser.add_argument("github_url")
    parser.add_argument("--runs", type=lambda s: [int(x) for x in s.split(",")], required=True)
    parser.add_argument("--kill", default="")
    parser.add_argument("--nonce-window", type=float, default=120.0)
    parser.add_argument("--db-url", default="", help="keep the outbox in this database (OUTBOX_STORE=database)")
    parser.add_argument("--webhook", default="", help="serve the webhook and write its port to this file")
    sys.exit(asyncio.run(main(parser.parse_args())))
