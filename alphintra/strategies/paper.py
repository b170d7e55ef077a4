"""Paper trading: the same strategy and the same node as a backtest, on the wall clock, fed by a replay of
stored bars at a chosen speed (live feeds come with the ccxt venue).

The venue runs in book mode with the liquidity ladder, so orders meet real depth; fills and timers carry
wall-clock time. ``speed`` is simulated seconds per wall-clock second: 60 plays a minute bar every second.
``sleep`` and ``monotonic`` are injectable so tests pace without waiting.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alphintra.engine.clock import Clock, LiveClock
from alphintra.errors import ValidationError
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.result import BacktestResult

if TYPE_CHECKING:
    import polars as pl


class Pacer:
    """Sleeps so that bar ``k`` is handled ``(close_k - close_0) / speed`` wall seconds after the first."""

    def __init__(
        self,
        speed: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not speed > 0:
            raise ValidationError("speed", "must be > 0 (simulated seconds per wall-clock second)", speed)
        self.speed = speed
        self._sleep = sleep
        self._monotonic = monotonic
        self._origin: tuple[float, int] | None = None
        self.slept = 0.0

    def __call__(self, data_ns: int) -> None:
        if self._origin is None:
            self._origin = (self._monotonic(), data_ns)
            return
        wall0, data0 = self._origin
        delay = wall0 + (data_ns - data0) / 1e9 / self.speed - self._monotonic()
        if delay > 0:
            self.slept += delay
            self._sleep(delay)


def run_paper(
    config: BacktestConfig,
    frames: Mapping[str, pl.DataFrame],
    *,
    speed: float = 60.0,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Callable[[int], None] | None = None,
    risk: Any | None = None,
) -> BacktestResult:
    paper_config = dataclasses.replace(config, fill_mode="book")
    pacer = Pacer(speed, sleep=sleep, monotonic=monotonic)
    session = Backtest(paper_config, frames, clock=clock or LiveClock(), pace=pacer, risk=risk)
    return session.run(progress)


__all__ = ["Pacer", "run_paper"]
