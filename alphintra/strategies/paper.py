"""Paper replay: the same strategy, node, fill model, fees and account as a backtest, fed stored bars one by one
at a chosen speed (live feeds come with the ccxt venue).

The replay runs on the bars' own times (a :class:`ReplayClock` paced against the wall clock), so its fills are
the backtest's fills: ``backtest parity`` checks exactly that. ``speed`` is simulated seconds per wall-clock
second: 60 plays a minute bar every second. ``sleep`` and ``monotonic`` are injectable so tests pace without
waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alphintra.engine.clock import TestClock
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


class ReplayClock(TestClock):
    """The clock of a paper replay: it reads the bars' own times, like a backtest's, but moving it forward waits
    until the wall clock has caught up at the replay's speed (the :class:`Pacer`). Fills, timers and trades carry
    data time, never the wall clock, so a replay is comparable fill for fill with the backtest of the same bars."""

    def __init__(self, pacer: Pacer, start_ns: int = 0) -> None:
        super().__init__(start_ns)
        self.pacer = pacer

    def advance_to(self, ts_ns: int) -> int:
        if ts_ns > self.now_ns():
            self.pacer(ts_ns)
        return super().advance_to(ts_ns)


def paper_session(
    config: BacktestConfig,
    frames: Mapping[str, pl.DataFrame],
    *,
    speed: float = 60.0,
    clock: ReplayClock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    risk: Any | None = None,
) -> Backtest:
    """A paper replay of ``frames``, ready to run: the strategy is shown every bar on a :class:`ReplayClock` and
    its indicators are fed bar by bar, with the configuration's own fill model, fees and account, so it trades
    exactly as the backtest of ``config`` does."""
    replay_clock = clock or ReplayClock(Pacer(speed, sleep=sleep, monotonic=monotonic))
    return Backtest(config, frames, clock=replay_clock, risk=risk, replay=True)


def run_paper(
    config: BacktestConfig,
    frames: Mapping[str, pl.DataFrame],
    *,
    speed: float = 60.0,
    clock: ReplayClock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Callable[[int], None] | None = None,
    risk: Any | None = None,
) -> BacktestResult:
    session = paper_session(config, frames, speed=speed, clock=clock, sleep=sleep, monotonic=monotonic, risk=risk)
    return session.run(progress)


__all__ = ["Pacer", "ReplayClock", "paper_session", "run_paper"]
