"""Connection limits for the bot's web server: per address, in total, and in time.

Anyone on the internet can open connections to the webhook port. Without
limits, 400 trickling and 50 idle connections used up the file limit
(1,024) so that ``/healthz`` and valid webhooks got no answer. Here:

- ``header_timeout``: aiohttp's keep-alive timer, which also runs from the
  moment a connection opens, closes a connection that has not sent a whole
  request's headers in time, or sits idle between requests that long
  (aiohttp's default is an hour);
- ``per_ip`` and ``total``: connections past either cap are reset at once
  (no answer, no log line each; one summary line a minute at most), so the
  process never reaches its file limit and asyncio never logs a failing
  ``accept()``;
- ``lingering``: after refusing a body the server stops reading it soon.

The guard also keeps the server's :class:`~dragonfly_bot.core.activity.Activity` (a
connection opened, bytes arrived): the webhook reads what it accepted in the
lulls (``ACTIVITY_KEY`` on the app shares it with the routes).

Each open connection may hold up to ~0.3 MB of unread data (one 256 KB read
of asyncio's transport over aiohttp's 128 KB pause mark) outside the
webhook's budget, so ``total`` also bounds that memory (384 x 0.3 MB).

A reverse proxy in front (Fly's) shows one address for every client: the
per-address cap then acts as a second total cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from dragonfly_bot.core.activity import Activity

log = logging.getLogger(__name__)

REFUSED_LOG_INTERVAL = 60.0
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
# The app's Activity, set by dragonfly_bot.chat.web.create_web_app; the runner's guard touches it.
ACTIVITY_KEY = web.AppKey("server_activity", Activity)


@dataclass(frozen=True)
class ConnectionLimits:
    """What one web server allows (dragonfly_bot.settings: WEB_HEADER_TIMEOUT_SECONDS, WEB_MAX_CONNECTIONS[_PER_IP])."""

    header_timeout: float = 10.0
    per_ip: int = 256
    total: int = 384
    lingering: float = 0.25


class ConnectionGuard:
    """Counts open connections by peer address; refuses those over the caps."""

    def __init__(self, limits: ConnectionLimits, clock=time.monotonic, activity: Activity | None = None):
        self.limits = limits
        self.activity = activity or Activity()
        self.by_ip: Counter[str] = Counter()
        self.open = 0
        self.refused = 0
        self._clock = clock
        self._refused_since_log = 0
        self._logged_at = float("-inf")

    def admit(self, ip: str) -> bool:
        if self.open >= self.limits.total or self.by_ip[ip] >= self.limits.per_ip:
            self.refused += 1
            self._refused_since_log += 1
            now = self._clock()
            if now - self._logged_at >= REFUSED_LOG_INTERVAL:
                log.warning(
                    "web server refused %d connection(s) over its caps (%d per address, %d in all) since the last "
                    "such line (at most one a minute)",
                    self._refused_since_log,
                    self.limits.per_ip,
                    self.limits.total,
                )
                self._refused_since_log = 0
                self._logged_at = now
            return False
        self.open += 1
        self.by_ip[ip] += 1
        return True

    def leave(self, ip: str) -> None:
        self.open -= 1
        self.by_ip[ip] -= 1
        if self.by_ip[ip] <= 0:
            del self.by_ip[ip]


def _peer_ip(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)  # a Unix socket: one "address" for all


class _GuardedHandler(RequestHandler):
    """aiohttp's request handler, admitted by the guard first."""

    def __init__(self, manager: web.Server, *, connection_guard: ConnectionGuard, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._connection_guard = connection_guard
        self._guarded_ip: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ip = _peer_ip(transport)
        if not self._connection_guard.admit(ip):
            # RST, at once: nothing read, nothing answered, nothing logged per connection,
            # and no TIME_WAIT left on our side.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            abort = getattr(transport, "abort", transport.close)
            abort()
            return
        self._guarded_ip = ip
        self._connection_guard.activity.touch(self._loop.time())
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._connection_guard.activity.touch(self._loop.time())
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._guarded_ip is None:
            return  # refused in connection_made: aiohttp never saw it
        self._connection_guard.leave(self._guarded_ip)
        self._guarded_ip = None
        super().connection_lost(exc)


class _GuardedServer(web.Server):
    def __init__(self, *args: Any, connection_guard: ConnectionGuard, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.connection_guard = connection_guard

    def __call__(self) -> RequestHandler:
        return _GuardedHandler(self, loop=self._loop, connection_guard=self.connection_guard, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """An AppRunner whose connections pass a :class:`ConnectionGuard` and time out per ``limits``."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any):
        kwargs.setdefault("keepalive_timeout", limits.header_timeout)
        kwargs.setdefault("lingering_time", limits.lingering)
        super().__init__(app, **kwargs)
        self.guard = ConnectionGuard(limits, activity=app.get(ACTIVITY_KEY))

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app, freezes its router
        return _GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            connection_guard=self.guard,
            **plain._kwargs,
        )
