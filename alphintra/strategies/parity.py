"""Backtest = paper parity: the same bars through a backtest and through a paper replay, fill for fill.

Both runs use the configuration's fill model, fees and account; the replay shows the strategy every bar on the
bars' own times and feeds its indicators bar by bar, as a live session would. Identical fills (time, side,
quantity, price, fee) are the expected result; the first fill where the two part is what to look at otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alphintra.formatting import iso_ns, plain
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.paper import run_paper
from alphintra.strategies.result import Fill

if TYPE_CHECKING:
    import polars as pl

# What two runs must agree on for a fill to be the same fill (order ids are per run and may differ).
FillKey = tuple[int, str, str, Any, Any, Any]


def fill_key(fill: Fill) -> FillKey:
    return (fill.ts, fill.symbol, fill.side.value, fill.qty, fill.price, fill.fee)


def fill_view(fill: Fill) -> dict[str, Any]:
    return {
        "time": iso_ns(fill.ts),
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": plain(fill.qty),
        "price": plain(fill.price),
        "fee": plain(fill.fee),
    }


@dataclass(frozen=True)
class ParityReport:
    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    bars: int
    currency: str
    backtest: list[Fill]
    paper: list[Fill]

    @property
    def first_difference(self) -> int | None:
        """The index of the first fill where the runs part (one run may simply have more fills); None if none."""
        for i, (a, b) in enumerate(zip(self.backtest, self.paper, strict=False)):
            if fill_key(a) != fill_key(b):
                return i
        if len(self.backtest) != len(self.paper):
            return min(len(self.backtest), len(self.paper))
        return None

    @property
    def identical(self) -> bool:
        return self.first_difference is None

    def summary(self) -> str:
        first = self.first_difference
        if first is None:
            return f"identical: {len(self.backtest)} fills"
        return (
            f"different: first at fill {first + 1} (backtest {len(self.backtest)} fills, paper replay "
            f"{len(self.paper)} fills)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "bars": self.bars,
            "identical": self.identical,
            "first_difference": self.first_difference,
            "summary": self.summary(),
            "backtest": [fill_view(f) for f in self.backtest],
            "paper": [fill_view(f) for f in self.paper],
        }


def check_parity(
    config: BacktestConfig, frames: Mapping[str, pl.DataFrame], *, speed: float = float("inf")
) -> ParityReport:
    """Run ``config`` over ``frames`` as a backtest and as a paper replay (unpaced by default) and compare fills."""
    backtest = Backtest(config, frames).run()
    paper = run_paper(config, frames, speed=speed)
    return ParityReport(
        strategy=config.strategy,
        symbols=tuple(config.symbols),
        timeframe=config.timeframe,
        bars=sum(df.height for df in frames.values()),
        currency=backtest.currency,
        backtest=list(backtest.fills),
        paper=list(paper.fills),
    )


__all__ = ["ParityReport", "check_parity", "fill_key", "fill_view"]
