"""Keeping the garbage collector's pauses out of a class's answers (used by ``byhand serve``).

CPython's full collection walks every tracked object while holding the GIL: the server's event loop and its
writer stop for all of it. ``byhand serve`` holds some 100,000 objects after start-up (modules, templates,
SQLAlchemy's tables) and, in a class, up to 8,192 exercises it keeps made (about 40 objects each). Under load
(``benchmarks/serve.py``, 200 students at 500 checks/s) CPython's default thresholds ran a full collection every
1–2 s, each one stopping every check in flight for 70–130 ms of CPU. So:

- what start-up made is collected once and frozen (:func:`gc.freeze`): no collection walks it again;
- young collections stay automatic (they are short: 14 ms at most under that load), with a first threshold of
  2,000 (CPython 3.13's) instead of 700, so fewer objects of the requests in flight are promoted;
- the automatic full collection is off. :class:`Collector` runs one at a quiet moment instead: at least
  :data:`EVERY` seconds after the last, when no request has been in flight for :data:`QUIET` seconds — or, if the
  server is never quiet, :data:`AT_MOST` seconds after the last one anyway, so cyclic garbage is always freed.
"""

from __future__ import annotations

import gc
import threading
import time

from starlette.types import ASGIApp, Receive, Scope, Send

YOUNG = (2000, 10)
"""The thresholds of generations 0 and 1 (CPython's: 700 and 10)."""
EVERY = 60.0
"""Seconds between full collections, at the least."""
QUIET = 0.25
"""A full collection waits until no request has been in flight for this long…"""
AT_MOST = 600.0
"""…but no longer than this after the last one."""


class Quiet:
    """ASGI middleware that knows how long the server has had no request in flight (read by :class:`Collector`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.busy = 0
        self.since = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.busy += 1  # the event loop's thread only: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.busy -= 1
            if self.busy == 0:
                self.since = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last request ended, 0 while one is in flight (read from another thread: a stale value
        costs at most one collection at a less quiet moment)."""
        return 0.0 if self.busy else time.monotonic() - self.since


class Collector:
    """Freeze what start-up made, turn CPython's automatic full collection off, and run full collections from a
    thread at quiet moments (see the module's doc). ``stop()`` gives the collector back to CPython's defaults."""

    def __init__(self, quiet: Quiet, every: float = EVERY, at_most: float = AT_MOST, tick: float = 0.05) -> None:
        self.quiet, self.every, self.at_most, self.tick = quiet, every, at_most, tick
        self.collections = 0
        self._old = gc.get_threshold()
        self._stop = threading.Event()
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG[0], YOUNG[1], 2**31 - 1)  # a full collection only when this collector runs one
        self.thread = threading.Thread(target=self._run, name="byhand-gc", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.tick):
            since = time.monotonic() - last
            if since >= self.at_most or (since >= self.every and self.quiet.quiet_for() >= QUIET):
                gc.collect()
                self.collections += 1
                last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        gc.set_threshold(*self._old)
        gc.unfreeze()
