"""The asyncio loop a ccxt venue runs its network I/O on, in a thread of its own.

The trading node is single-threaded and must not wait for a network round trip: commands are scheduled here and
return at once; what the exchange answers comes back to the node's thread through the ``post`` function the venue
was given. Queries the node must wait for (reconciliation) block on :meth:`LoopThread.call` with a time limit.

Every ccxt call runs inside :func:`decimal.localcontext`: ccxt's number formatting sets the running context's
rounding to ROUND_HALF_UP, which must not leak into anything else that rounds on the same thread or task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import decimal
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from alphintra.osthread import name_os_thread

T = TypeVar("T")


async def isolated(call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()`` in a decimal context of its own (see the module)."""
    with decimal.localcontext():
        return await call()


async def close_client(client: Any) -> None:
    """Close a ccxt client, then cancel what it leaves running on this loop (its throttler, waiting watchers)."""
    if client is not None:
        await client.close()
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


class LoopThread:
    """An event loop in a daemon thread; :meth:`spawn` schedules a coroutine, :meth:`call` waits for one."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        name_os_thread()
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait for it; raises ``TimeoutError`` after ``timeout`` seconds (and
        cancels it)."""
        future = self.spawn(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def in_loop(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self, timeout: float = 5.0) -> None:
        if not self.loop.is_running():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


__all__ = ["LoopThread", "close_client", "isolated"]
