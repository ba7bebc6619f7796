"""When a server last had something to do, so work that can wait is done in its lulls.

The web server touches it when a connection opens and when bytes arrive
(dragonfly_bot/chat/web_guard.py); the webhook reads the deliveries it accepted once
a lull begins (dragonfly_bot/relay/webhook.py), so every connection already waiting
is answered first. Times are the event loop's clock, passed in.
"""

from __future__ import annotations

# No connection opened and no byte arrived for this long: nobody is waiting for an answer.
# A burst on loopback or through a proxy keeps the server busier than that; a slice of
# deferred work (~0.5 ms) started just before the next burst delays it by no more than the slice.
SERVER_LULL_SECONDS = 0.002


class Activity:
    """The last moment something happened, and the moment a lull of ``lull`` seconds would begin."""

    def __init__(self, lull: float = SERVER_LULL_SECONDS):
        self.lull = lull
        self.last = float("-inf")

    def touch(self, now: float) -> None:
        self.last = now

    def lull_at(self) -> float:
        return self.last + self.lull
