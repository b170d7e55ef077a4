"""Clocks. Engine code never reads the wall clock itself: it asks the injected clock.

A backtest drives a :class:`TestClock` from the data (``advance_to(bar_time)``), which fires due timers in time
order; paper and live sessions use :class:`LiveClock`, whose timers the node's loop fires when their time comes.
Both share the timer queue, so a strategy's ``on_timer`` fires identically in every mode.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

NS_PER_SECOND = 1_000_000_000

TimerCallback = Callable[[str, int], None]


@dataclass(order=True)
class _Timer:
    due_ns: int
    seq: int
    name: str = field(compare=False)
    interval_ns: int | None = field(compare=False)
    callback: TimerCallback = field(compare=False)
    stop_ns: int | None = field(compare=False, default=None)
    cancelled: bool = field(compare=False, default=False)


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def set_timer(
        self,
        name: str,
        callback: TimerCallback,
        *,
        at_ns: int | None = None,
        interval_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None: ...

    def cancel_timer(self, name: str) -> None: ...

    def timer_names(self) -> list[str]: ...

    def next_due_ns(self) -> int | None: ...

    def fire_due(self, up_to_ns: int | None = None) -> int: ...


@runtime_checkable
class SteppedClock(Clock, Protocol):
    """A simulated clock: time moves only when told (a backtest's, a test's), firing the timers due on the way."""

    def advance_to(self, ts_ns: int) -> int: ...


class _TimerQueue:
    """Named one-shot or repeating timers ordered by due time, then by creation order."""

    def __init__(self) -> None:
        self._heap: list[_Timer] = []
        self._by_name: dict[str, _Timer] = {}
        self._seq = itertools.count()

    def set_timer(
        self,
        name: str,
        callback: TimerCallback,
        *,
        at_ns: int | None = None,
        interval_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        if interval_ns is not None and interval_ns <= 0:
            raise ValueError("interval_ns must be positive")
        if at_ns is None:
            if interval_ns is None:
                raise ValueError("a timer needs at_ns, interval_ns or both")
            at_ns = self.now_ns() + interval_ns
        self.cancel_timer(name)
        timer = _Timer(at_ns, next(self._seq), name, interval_ns, callback, stop_ns)
        self._by_name[name] = timer
        heapq.heappush(self._heap, timer)

    def cancel_timer(self, name: str) -> None:
        timer = self._by_name.pop(name, None)
        if timer is not None:
            timer.cancelled = True

    def timer_names(self) -> list[str]:
        return sorted(self._by_name)

    def next_due_ns(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due_ns if self._heap else None

    def _pop_due(self, up_to_ns: int) -> _Timer | None:
        due = self.next_due_ns()
        if due is None or due > up_to_ns:
            return None
        timer = heapq.heappop(self._heap)
        if timer.interval_ns is not None:
            nxt = timer.due_ns + timer.interval_ns
            if timer.stop_ns is None or nxt <= timer.stop_ns:
                again = _Timer(nxt, next(self._seq), timer.name, timer.interval_ns, timer.callback, timer.stop_ns)
                self._by_name[timer.name] = again
                heapq.heappush(self._heap, again)
            else:
                self._by_name.pop(timer.name, None)
        else:
            self._by_name.pop(timer.name, None)
        return timer

    def now_ns(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError


class TestClock(_TimerQueue):
    """A clock that moves only when told to; used by backtests and tests."""

    __test__ = False  # not a pytest test class

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance_to(self, ts_ns: int) -> int:
        """Move time forward to ``ts_ns``, firing every timer due on the way at its own due time."""
        if ts_ns < self._now:
            raise ValueError(f"time cannot go backwards: {ts_ns} < {self._now}")
        fired = 0
        while (timer := self._pop_due(ts_ns)) is not None:
            self._now = max(self._now, timer.due_ns)
            timer.callback(timer.name, timer.due_ns)
            fired += 1
        self._now = ts_ns
        return fired

    def fire_due(self, up_to_ns: int | None = None) -> int:
        return self.advance_to(self._now if up_to_ns is None else up_to_ns)


class LiveClock(_TimerQueue):
    """The wall clock (UTC nanoseconds); timers fire when the owner's loop calls :meth:`fire_due`."""

    def now_ns(self) -> int:
        return time.time_ns()

    def fire_due(self, up_to_ns: int | None = None) -> int:
        limit = self.now_ns() if up_to_ns is None else up_to_ns
        fired = 0
        while (timer := self._pop_due(limit)) is not None:
            timer.callback(timer.name, timer.due_ns)
            fired += 1
        return fired


__all__ = ["NS_PER_SECOND", "Clock", "LiveClock", "SteppedClock", "TestClock", "TimerCallback"]
