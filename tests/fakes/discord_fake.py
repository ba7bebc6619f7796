"""A local Discord REST API for the outbox's kill -9 test (aiohttp on 127.0.0.1).

Enough of Discord for discord.py's real HTTP path: log in (``/users/@me``,
``/oauth2/applications/@me``), fetch a text channel, create a message (JSON or
multipart with ``payload_json``), edit one, read a channel's history (newest
first, ``after``/``limit`` as Discord pages it; without nonces, as Discord's
history has none). A message created with ``enforce_nonce`` and a nonce seen
within ``nonce_window`` seconds gives back the existing message, as Discord
does. Faults are scheduled per create request number: ``fail_with[n] = 500``
(the message IS created, then 500 is answered: the worst case), ``429`` (not
created; ``retry_after`` in the body, as discord.py reads it); ``kill_on[n]``
SIGKILLs ``kill_pid`` in the middle of request n (after the message exists,
before the answer), or ``kill_after_429[n]`` while discord.py sleeps on a 429.
discord.py is pointed here with ``discord.http.Route.BASE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from discord.utils import time_snowflake

GUILD_ID = 7_000_000_000_000_001
BOT_ID = 7_000_000_000_000_002
CHANNEL_ID = 7_000_000_000_000_003
TOKEN = "fake-discord-token"
_counter = itertools.count(1)


def _json(data, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py compares the header as a whole (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def snowflake() -> int:
    """A real snowflake for now (discord.py turns history's after=datetime into one)."""
    return time_snowflake(datetime.now(UTC)) + next(_counter) % 4096


@dataclass
class FakeDiscord:
    nonce_window: float = 120.0
    messages: dict[int, dict] = field(default_factory=dict)
    creates: int = 0  # create-message requests received
    fail_with: dict[int, int] = field(default_factory=dict)
    kill_on: set[int] = field(default_factory=set)
    kill_after_429: set[int] = field(default_factory=set)
    kill_pid: int | None = None
    edits: list[tuple[int, dict]] = field(default_factory=list)
    _nonces: dict[str, tuple[float, int]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    # ------------------------------------------------------------------ payloads

    def _user(self) -> dict:
        return {"id": str(BOT_ID), "username": "dragonfly", "discriminator": "0", "avatar": None, "bot": True}

    def _message(self, message_id: int, body: dict) -> dict:
        return {
            "id": str(message_id),
            "channel_id": str(CHANNEL_ID),
            "guild_id": str(GUILD_ID),
            "author": self._user(),
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }

    # ------------------------------------------------------------------ routes

    async def me(self, request: web.Request) -> web.Response:
        return _json(self._user())

    async def application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(BOT_ID),
                "name": "dragonfly",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self._user(),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def channel(self, request: web.Request) -> web.Response:
        if int(request.match_info["channel"]) != CHANNEL_ID:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        return _json(
            {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "alerts",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        self.creates += 1
        number = self.creates
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body = json.loads(str(form["payload_json"]))
        else:
            body = await request.json()
        fault = self.fail_with.get(number)
        if fault == 429:
            if number in self.kill_after_429:
                asyncio.get_running_loop().call_later(0.2, self._kill)
            return _json({"message": "You are being rate limited.", "retry_after": 1.0, "global": False}, status=429)
        nonce = body.get("nonce")
        now = time.monotonic()
        seen = self._nonces.get(nonce) if nonce and body.get("enforce_nonce") else None
        if seen is not None and now - seen[0] < self.nonce_window:
            data = self.messages[seen[1]]
        else:
            message_id = snowflake()
            data = self._message(message_id, body)
            self.messages[message_id] = data
            if nonce:
                self._nonces[nonce] = (now, message_id)
        if number in self.kill_on:
            self._kill()
            await asyncio.sleep(5)  # the caller is gone; nobody reads this answer
        if fault:
            return _json({"message": "Internal Server Error", "code": 0}, status=fault)
        return _json({**data, "nonce": nonce})

    async def edit(self, request: web.Request) -> web.Response:
        message_id = int(request.match_info["message"])
        if message_id not in self.messages:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        body = await request.json()
        self.edits.append((message_id, body))
        data = self.messages[message_id]
        data.update({k: body[k] for k in ("content", "embeds", "components") if k in body})
        return _json(data)

    async def history(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 50))
        found = sorted((m for i, m in self.messages.items() if i > after), key=lambda m: int(m["id"]))[:limit]
        return _json(list(reversed(found)))  # newest first, as Discord answers

    def _kill(self) -> None:
        if self.kill_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.kill_pid, signal.SIGKILL)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_get("/api/v10/channels/{channel}", self.channel)
        app.router.add_post("/api/v10/channels/{channel}/messages", self.create)
        app.router.add_get("/api/v10/channels/{channel}/messages", self.history)
        app.router.add_patch("/api/v10/channels/{channel}/messages/{message}", self.edit)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/v10"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ reading back

    def texts(self) -> list[str]:
        """Every created message as text (content, embed titles, descriptions, fields)."""
        out = []
        for message in self.messages.values():
            parts = [message.get("content") or ""]
            for embed in message.get("embeds") or []:
                parts += [embed.get("title") or "", embed.get("description") or ""]
                parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields") or []]
            out.append("\n".join(parts))
        return out


async def run_killable(module: str, discord: FakeDiscord, *args: str, timeout: float) -> int:
    """Run a kill driver (``python -m module args``) that ``discord`` may kill -9 mid-request; its exit
    code (0, or -9 when killed), or its output's tail as the failure when it ended any other way."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    discord.kill_pid = process.pid
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        raise
    if process.returncode not in (0, -9):
        raise AssertionError(output.decode(errors="replace")[-3000:])
    return process.returncode
