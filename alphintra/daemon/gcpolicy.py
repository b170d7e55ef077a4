"""The daemon's garbage collection: full collections that grow with the heap, kept off the order path.

CPython's full (generation 2) collection walks every object it tracks, and it stops every thread while it does. A
daemon's heap grows with the orders it holds (each with its events): with a few thousand resting orders a full
collection came every 2-3 s and paused the process 84-173 ms, which is exactly what the slowest orders of a single
client waited for (bench/api.py; the pauses grew with the heap).

The policy: once the engine has started, and after every full collection, the objects that survived are frozen
(``gc.freeze``): the collector no longer walks them, so the next full collection walks only what came since.
Reference counting still frees a frozen object the moment nothing refers to it; what freezing delays is finding
reference cycles among frozen objects. So once in a while (``reclaim_every_s``), when the engine has been idle for
a moment, everything is thawed and collected once, then frozen again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable

RECLAIM_EVERY_S = 600.0
CHECK_EVERY_S = 1.0


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


class HeapPolicy:
    """Freeze what survives full collections; thaw and collect everything every ``reclaim_every_s`` when idle."""

    def __init__(
        self,
        *,
        idle: Callable[[], bool] = lambda: True,
        reclaim_every_s: float = RECLAIM_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._idle = idle
        self._clock = clock
        self.reclaim_every_s = reclaim_every_s
        self._next_reclaim = clock() + reclaim_every_s
        self._full = _full_collections()
        self.freezes = 0
        self.reclaims = 0

    def start(self) -> None:
        """After the engine started (its replayed state is the bulk of the heap): collect once, freeze."""
        gc.collect()
        self._freeze()

    def tick(self) -> None:
        """Every ``CHECK_EVERY_S``: freeze the survivors of a full collection that ran since; reclaim when due."""
        if _full_collections() != self._full:
            self._freeze()
        now = self._clock()
        if now >= self._next_reclaim and self._idle():
            self._next_reclaim = now + self.reclaim_every_s
            gc.unfreeze()
            gc.collect()
            self.reclaims += 1
            self._freeze()

    def stop(self) -> None:
        """Give every frozen object back to the collector (a host stopped inside a longer-lived process)."""
        gc.unfreeze()

    def _freeze(self) -> None:
        gc.freeze()
        self._full = _full_collections()
        self.freezes += 1


def policy_for(host: object) -> HeapPolicy:
    """The policy for a daemon's host: it reclaims after the engine ran no command for a second (a host that
    cannot say is taken as idle)."""
    idle_for = getattr(host, "idle_for", None)
    if idle_for is None:
        return HeapPolicy()
    return HeapPolicy(idle=lambda: bool(idle_for(1.0)))


async def keep(policy: HeapPolicy, stop: asyncio.Event, every_s: float = CHECK_EVERY_S) -> None:
    """Run ``policy`` on the daemon's event loop until ``stop`` is set."""
    policy.start()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            policy.tick()
    finally:
        policy.stop()


__all__ = ["HeapPolicy", "keep", "policy_for"]
