"""The server's own full garbage collections (byhand.web.pauses): at a quiet moment, never while a request is in
flight unless the server has had no quiet moment for ``at_most`` seconds; cyclic garbage is still freed."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Callable
from typing import Any

from byhand.web.pauses import Collector, Quiet


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it


def old_garbage() -> weakref.ref[Node]:
    """A cycle that lives through a young collection (so it sits in the oldest generation), then is dropped."""
    n = Node()
    gc.collect(1)
    return weakref.ref(n)


async def wait_for(ok: Callable[[], bool], seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if ok():
            return True
        await asyncio.sleep(0.02)
    return ok()


def served(quiet: Quiet) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_msg: Any) -> None:
        pass

    return quiet({"type": "http", "path": "/", "method": "GET", "headers": []}, receive, send)


def app_for(gate: asyncio.Event) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_start_up_is_frozen_and_the_automatic_full_collection_is_off_until_stopped() -> None:
    before = gc.get_threshold()
    c = Collector(Quiet(app_for(asyncio.Event())), every=3600, at_most=3600)
    try:
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold()[2] >= 2**30
    finally:
        c.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_full_collection_waits_while_a_request_is_in_flight_then_runs_when_quiet() -> None:
    async def main() -> None:
        gate = asyncio.Event()
        quiet = Quiet(app_for(gate))
        c = Collector(quiet, every=0.05, at_most=3600, tick=0.01)
        try:
            task = asyncio.ensure_future(served(quiet))
            await asyncio.sleep(0.05)
            ref = old_garbage()
            await asyncio.sleep(0.5)
            assert quiet.busy == 1 and c.collections == 0 and ref() is not None  # in flight: no full collection
            gate.set()
            await task
            assert await wait_for(lambda: c.collections >= 1)
            assert ref() is None  # the cycle was freed
        finally:
            c.stop()

    asyncio.run(main())


def test_a_server_that_is_never_quiet_still_collects_after_at_most_seconds() -> None:
    async def main() -> None:
        gate = asyncio.Event()
        quiet = Quiet(app_for(gate))
        c = Collector(quiet, every=0.05, at_most=0.5, tick=0.01)
        try:
            task = asyncio.ensure_future(served(quiet))
            await asyncio.sleep(0.05)
            ref = old_garbage()
            assert await wait_for(lambda: ref() is None)
            assert quiet.busy == 1 and c.collections >= 1
            gate.set()
            await task
        finally:
            c.stop()

    asyncio.run(main())
