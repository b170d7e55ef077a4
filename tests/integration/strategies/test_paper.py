from __future__ import annotations

from decimal import Decimal

from alphintra.engine.core.enums import OrderSide
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import BacktestConfig
from alphintra.strategies.paper import Pacer, run_paper


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
        "sma_cross", ("SYN",), "1m", params={"fast": 5, "slow": 20}, cash=Decimal(100_000), fee=Decimal("0.001")
    )
    wall = FakeWall()
    result = run_paper(config, {"SYN": df}, speed=600.0, sleep=wall.sleep, monotonic=wall.monotonic)
    assert result.mode == "paper"
    assert abs(sum(wall.sleeps) - 399 * 60 / 600) < 1e-6
    assert result.fills, "the strategy traded"
    assert all(f.liquidity is not None for f in result.fills)
    cash, qty = Decimal(100_000), Decimal(0)
    for f in result.fills:
        signed = f.qty if f.side is OrderSide.BUY else -f.qty
        cash -= signed * f.price + f.fee
        qty += signed
    last_close = result.prices[0].points[-1][1]
    assert result.equity[-1][1] == cash + qty * last_close
