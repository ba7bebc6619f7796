"""The bot's aiohttp server: health and readiness (cogs add their own routes).

``create_web_app`` runs before extensions load so a cog's ``cog_load`` can
call ``bot.web_app.router.add_routes(...)``; ``WebServer.start`` runs after
all extensions are loaded (aiohttp freezes the router when it starts).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from dragonfly_bot.adapters.state.files import STATE_PROBLEMS, StateProblems
from dragonfly_bot.chat.web_guard import ACTIVITY_KEY, ConnectionLimits, GuardedAppRunner
from dragonfly_bot.core.activity import Activity
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.settings import Settings

log = logging.getLogger(__name__)

# What request.read() takes on any route (aiohttp answers 413 above it). The webhook reads
# its own body, streaming and signature-checked (dragonfly_bot/relay/webhook_body.py), up to its own cap.
MAX_BODY_BYTES = 1024 * 1024
READY_CACHE_SECONDS = 5.0
# Connections the kernel may hold before we accept them. aiohttp's default (128) is
# under a burst of 200 webhook deliveries: the overflow waits for a SYN retransmit (1 s).
LISTEN_BACKLOG = 1024


class ObservedBot(Protocol):
    gateway_state: str
    started_at: float

    @property
    def latency(self) -> float: ...

    def is_ready(self) -> bool: ...

    async def probe_status_source(self) -> str | None:
        """None when the default environment's status source answers, else why not."""


@dataclass
class _Cached:
    at: float
    status: int
    body: dict


class Readiness:
    """``/readyz``'s answer, cached for a few seconds so probes cannot hammer the source."""

    def __init__(
        self,
        bot: ObservedBot,
        ttl: float = READY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        problems: StateProblems = STATE_PROBLEMS,
    ):
        self._bot = bot
        self._ttl = ttl
        self._clock = clock
        self._problems = problems
        self._cached: _Cached | None = None

    async def check(self) -> tuple[int, dict]:
        now = self._clock()
        if self._cached is not None and now - self._cached.at < self._ttl:
            return self._cached.status, self._cached.body
        status, body = await self._evaluate()
        damaged = self._problems.items()
        if damaged:
            # The bot went on with fresh state files: still ready, but say what was lost.
            body = {**body, "state_problems": [problem.line for problem in damaged]}
        self._cached = _Cached(now, status, body)
        return status, body

    async def _evaluate(self) -> tuple[int, dict]:
        if self._bot.gateway_state != "connected":
            return 503, {"ready": False, "reason": f"Discord gateway is {self._bot.gateway_state}"}
        if not self._bot.is_ready():
            return 503, {"ready": False, "reason": "Discord gateway is connected but not ready yet"}
        try:
            problem = await self._bot.probe_status_source()
        except Exception as exc:  # the probe must never take the endpoint down
            log.warning("readiness probe failed unexpectedly: %s", type(exc).__name__)
            problem = f"status source check failed ({type(exc).__name__})"
        if problem:
            return 503, {"ready": False, "reason": problem}
        return 200, {"ready": True}


BOT_KEY = web.AppKey[ObservedBot]("bot")
READINESS_KEY = web.AppKey("readiness", Readiness)


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    latency = getattr(bot, "latency", float("nan"))
    return web.json_response(
        {
            "status": "alive",
            "gateway": bot.gateway_state,
            "latency_ms": round(latency * 1000) if math.isfinite(latency) else None,
            "uptime_seconds": round(time.monotonic() - bot.started_at, 1),
        }
    )


async def readyz(request: web.Request) -> web.Response:
    status, body = await request.app[READINESS_KEY].check()
    return web.json_response(body, status=status)


def create_web_app(bot: ObservedBot) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[BOT_KEY] = bot
    app[READINESS_KEY] = Readiness(bot)
    app[ACTIVITY_KEY] = Activity()  # touched by the server's connections, read by the webhook
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=settings.web_header_timeout_seconds,
        per_ip=settings.web_max_connections_per_ip,
        total=settings.web_max_connections,
    )


class WebServer:
    """Runs an Application inside the bot's own event loop, its connections capped (dragonfly_bot/chat/web_guard.py)."""

    def __init__(self, app: web.Application, limits: ConnectionLimits | None = None):
        self._app = app
        self._limits = limits or ConnectionLimits()
        self._runner: GuardedAppRunner | None = None
        self.port: int | None = None

    @property
    def runner(self) -> GuardedAppRunner | None:
        return self._runner

    async def start(self, host: str, port: int) -> None:
        self._runner = GuardedAppRunner(self._app, self._limits, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=LISTEN_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise UserFacingError(
                f"the web server cannot listen on {host}:{port} ({exc.strerror or exc}): another process "
                "may be using that port; set WEB_PORT (and WEB_HOST) to a free one"
            ) from None
        sockets = getattr(site._server, "sockets", None) or []  # the real port when 0 was asked
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("web server listening on %s:%s", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
