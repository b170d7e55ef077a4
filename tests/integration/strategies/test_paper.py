from __future__ import annotations

from decimal import Decimal

from alphintra.engine.core.enums import OrderSide
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.paper import Pacer, ReplayClock, run_paper


class FakeWall:
    """A wall clock that moves only when slept on, so pacing is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def test_pacer_spaces_bars_by_speed() -> None:
    wall = FakeWall()
    pacer = Pacer(120.0, sleep=wall.sleep, monotonic=wall.monotonic)
    minute = 60_000_000_000
    for k in range(5):
        pacer(k * minute)
    assert wall.sleeps == [0.5, 0.5, 0.5, 0.5]  # one minute bar per half second at 120x


def test_paper_session_trades_through_the_book_and_keeps_equity_exact() -> None:
    df = generate_bars(["SYN"], periods=400, timeframe="1m", seed=5).select(
        "time", "open", "high", "low", "close", "volume"
    )
    config = BacktestConfig(
        "sma_cross",
        ("SYN",),
        "1m",
        params={"fast": 5, "slow": 20},
        cash=Decimal(100_000),
        fee=Decimal("0.001"),
        fill_mode="book",
    )
    wall = FakeWall()
    result = run_paper(config, {"SYN": df}, speed=600.0, sleep=wall.sleep, monotonic=wall.monotonic)
    assert result.mode == "paper"
    # The replay clock runs from the first bar's open to the last bar's close: 400 minutes at 600x.
    assert abs(sum(wall.sleeps) - 400 * 60 / 600) < 1e-6
    assert result.fills, "the strategy traded"
    assert all(f.liquidity is not None for f in result.fills)
    cash, qty = Decimal(100_000), Decimal(0)
    for f in result.fills:
        signed = f.qty if f.side is OrderSide.BUY else -f.qty
        cash -= signed * f.price + f.fee
        qty += signed
    last_close = result.prices[0].points[-1][1]
    assert result.equity[-1][1] == cash + qty * last_close


def test_paper_replay_fills_are_the_backtests_on_the_bars_own_times() -> None:
    """The issue's divergence: the replay used the wall clock and forced book fills; now it is the same run."""
    df = generate_bars(["SYN"], periods=400, timeframe="1m", seed=5).select(
        "time", "open", "high", "low", "close", "volume"
    )
    config = BacktestConfig("sma_cross", ("SYN",), "1m", params={"fast": 2, "slow": 4}, cash=Decimal(100_000))
    backtest = Backtest(config, {"SYN": df}).run()
    wall = FakeWall()
    paper = run_paper(config, {"SYN": df}, speed=60.0, sleep=wall.sleep, monotonic=wall.monotonic)
    assert paper.mode == "paper" and backtest.mode == "backtest"
    assert len(backtest.fills) > 10
    key = [(f.ts, f.side, f.qty, f.price, f.fee) for f in backtest.fills]
    assert [(f.ts, f.side, f.qty, f.price, f.fee) for f in paper.fills] == key
    assert paper.equity == backtest.equity
    first_open = int(df["time"][0].timestamp()) * 1_000_000_000
    assert all(first_open < f.ts <= first_open + 400 * 60 * 1_000_000_000 for f in paper.fills)
    assert abs(sum(wall.sleeps) - 400.0) < 1e-6  # one minute bar per wall second at 60x


def test_replay_clock_paces_only_when_time_moves_forward() -> None:
    wall = FakeWall()
    clock = ReplayClock(Pacer(30.0, sleep=wall.sleep, monotonic=wall.monotonic))
    minute = 60_000_000_000
    fired: list[int] = []
    clock.set_timer("t", lambda name, ts: fired.append(ts), at_ns=minute + 5)
    clock.advance_to(minute)
    clock.advance_to(minute)  # no time passes: no wait
    clock.advance_to(3 * minute)
    assert wall.sleeps == [4.0] and clock.now_ns() == 3 * minute and fired == [minute + 5]
