"""`backtest parity` through the real entry point: a backtest and a paper replay of the same bars fill alike."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from alphintra.engine.core.enums import OrderSide
from alphintra.strategies.parity import ParityReport
from alphintra.strategies.result import Fill


def test_parity_of_goog_daily_sma_cross_is_identical(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli("backtest", "parity", "sma_cross", "-s", "GOOG", "--fills", "0")
    assert result.code == 0, result.err
    assert result.out == (
        "parity of sma_cross on GOOG 1d (2,148 bars): backtest vs paper replay\nidentical: 94 fills\n"
    )
    shown = run_cli("backtest", "parity", "sma_cross", "-s", "GOOG", "--timerange", "-20050101", "--json")
    data = json.loads(shown.out)
    assert shown.code == 0 and data["identical"] is True and data["first_difference"] is None
    assert data["paper"] == data["backtest"]
    assert data["backtest"][0] == {
        "time": "2004-11-17T00:00:00+00:00",
        "symbol": "GOOG",
        "side": "SELL",
        "quantity": "578",
        "price": "169.02",
        "fee": "97.69356",
    }


def test_parity_of_minute_bar_dca_and_grid_is_identical(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    generated = run_cli("data", "generate", "-s", "SYN", "-p", "3000", "-t", "1m", "--seed", "3")
    assert generated.code == 0, generated.err
    runs = {
        # dca on a clock timer (every half hour, data time), with dip boosts; grid re-arming limit orders
        "dca": ("-p", "amount=5000", "-p", "interval_hours=0.5", "-p", "dip_pct=0.001"),
        "grid": ("-p", "spacing=0.001", "-p", "recenter=true"),
    }
    counts = {}
    for strategy, params in runs.items():
        result = run_cli("backtest", "parity", strategy, "-s", "SYN", "-t", "1m", *params, "--json")
        assert result.code == 0, result.err
        data = json.loads(result.out)
        assert data["identical"] is True and data["paper"] == data["backtest"]
        assert data["summary"] == f"identical: {len(data['backtest'])} fills"
        # Data time, never the wall clock: every fill falls on the generated day.
        assert all(f["time"].startswith("2024-01-0") for f in data["paper"])
        counts[strategy] = len(data["paper"])
    assert counts == {"dca": 17, "grid": 857}
    # The matching engine with its liquidity ladder replays alike too.
    book = run_cli("backtest", "parity", "sma_cross", "-s", "SYN", "-t", "1m", "--fill", "book", "--fills", "0")
    assert book.code == 0 and book.out.splitlines()[-1] == "identical: 1710 fills"
    bad = run_cli("backtest", "parity", "sma_cross", "-s", "SYN", "-t", "1m", "--fill", "tick")
    assert bad.code == 2 and "--fill: must be bar or book" in bad.err


def _fill(ts: int, price: str) -> Fill:
    return Fill(ts, "o", "GOOG", OrderSide.BUY, Decimal("2"), Decimal(price), Decimal("0.10"))


def test_parity_report_names_the_first_fill_where_the_runs_part() -> None:
    same = [_fill(1, "10.00"), _fill(2, "11.00")]
    report = ParityReport("sma_cross", ("GOOG",), "1d", 3, "USD", same, [*same[:1], _fill(2, "11.01")])
    assert report.first_difference == 1 and not report.identical
    assert report.summary() == "different: first at fill 2 (backtest 2 fills, paper replay 2 fills)"
    longer = ParityReport("sma_cross", ("GOOG",), "1d", 3, "USD", same, [*same, _fill(3, "12.00")])
    assert longer.first_difference == 2
    assert longer.to_dict()["paper"][2]["price"] == "12.00"
    assert ParityReport("sma_cross", ("GOOG",), "1d", 3, "USD", same, list(same)).summary() == "identical: 2 fills"


# Trades only when it has seen every bar up front (a backtest's wake()); a replay, like a live session, never
# shows it the future, so the two runs part at the first fill.
FORESIGHT = """
from alphintra.strategies.base import Strategy


class Foresight(Strategy):
    name = "foresight"

    def on_start(self):
        self.bars_ahead = None

    def wake(self, symbol, bars):
        self.bars_ahead = bars.height
        return None

    def on_bar(self, bar):
        self.target_percent(bar.symbol, 1 if self.bars_ahead else 0)
"""


def test_parity_highlights_the_first_difference_and_exits_1(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    folder = isolated_home / "strategies"
    folder.mkdir(parents=True)
    (folder / "foresight.py").write_text(FORESIGHT)
    result = run_cli("backtest", "parity", "foresight", "-s", "GOOG", "--timerange", "-20041001", "--fills", "1")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[-1] == "different: first at fill 1 (backtest 3 fills, paper replay 0 fills)"
    assert any("backtest" in line and "2004-08-20" in line and "BUY" in line for line in lines)
    data = json.loads(
        run_cli("backtest", "parity", "foresight", "-s", "GOOG", "--timerange", "-20041001", "--json").out
    )
    assert data["first_difference"] == 0 and data["paper"] == [] and len(data["backtest"]) == 3
