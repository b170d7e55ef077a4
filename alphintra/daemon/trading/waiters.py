"""How the engine thread answers its callers: a thread waiting on a ``concurrent.futures.Future``, or a handler on
an event loop (:class:`AsyncWaiter`), whose results are handed over with one loop wake-up per batch, not per call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class AsyncWaiter:
    """A caller on an event loop."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


Waiter = Future[Any] | AsyncWaiter
# One queued command and who waits for it.
Command = tuple[Callable[[], Any], Waiter]
# A command's outcome for its waiter: (waiter, value, failure).
Outcome = tuple[Waiter, Any, BaseException | None]


def _settle_async(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, failure in items:
        if fut.done():  # the caller gave up (timeout, disconnect)
            continue
        if failure is None:
            fut.set_result(value)
        else:
            fut.set_exception(failure)


def answer(results: list[Outcome]) -> None:
    """Hand every outcome to its waiter; event-loop waiters of one loop are settled together."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for fut, value, failure in results:
        if isinstance(fut, AsyncWaiter):
            by_loop.setdefault(fut.loop, []).append((fut.future, value, failure))
        elif failure is None:
            fut.set_result(value)
        else:
            fut.set_exception(failure)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle_async, items)


__all__ = ["AsyncWaiter", "Command", "Outcome", "Waiter", "answer"]
