"""triangular on crafted prices: a cycle's realised profit equals the hand computation after three taker fees, to
the last unit; a leg that fills only in part, or not at all, is unwound back to the starting asset and alerted."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import polars as pl
import pytest

from alphintra.engine.core.instrument import Instrument
from alphintra.errors import ValidationError
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import StrategyError
from alphintra.strategies.builtins.triangular import cycles

D = Decimal
FEE = D("0.001")
BU, EU, EB = "BTC/USDT", "ETH/USDT", "ETH/BTC"
INSTRUMENTS = (
    Instrument.create(BU, tick_size="0.01", lot_size="0.00001", min_notional="5"),
    Instrument.create(EU, tick_size="0.01", lot_size="0.0001", min_notional="5"),
    Instrument.create(EB, tick_size="0.00001", lot_size="0.0001", min_notional="0.0001"),
)
T0 = 1_700_000_000_000_000_000
HOUR = 3_600_000_000_000


def bars(prices: dict[str, str], n: int = 6, volume: dict[str, float] | None = None) -> dict[str, pl.DataFrame]:
    """Flat hourly bars at the crafted prices (every fill is at its symbol's price)."""
    out = {}
    for symbol, price in prices.items():
        p, v = float(price), (volume or {}).get(symbol, 1000.0)
        out[symbol] = pl.DataFrame(
            {"time": [T0 + i * HOUR for i in range(n)], "open": p, "high": p, "low": p, "close": p, "volume": v}
        ).with_columns(pl.col("time").cast(pl.Datetime("ns", "UTC")))
    return out


def run(prices: dict[str, str], **kw: Any) -> Backtest:
    volume = kw.pop("volume", None)
    params = {"notional": "1000", "max_trips": 1, **kw.pop("params", {})}
    config = BacktestConfig(
        "triangular",
        (BU, EU, EB),
        "1h",
        params=params,
        fee=FEE,
        cash=D(10_000),
        instruments=INSTRUMENTS,
        account_mode="spot",
        **kw,
    )
    bt = Backtest(config, bars(prices, volume=volume))
    bt.result = bt.run()  # type: ignore[attr-defined]
    return bt


def lots(value: Decimal, lot: str) -> Decimal:
    return (value / D(lot)).to_integral_value(rounding=ROUND_DOWN) * D(lot)


def balances(bt: Backtest) -> dict[str, Decimal]:
    return {a: b.total for a, b in bt.node.ledger.balances("backtest").items() if b.total}


def signals(bt: Backtest, name: str) -> list[Any]:
    return [s for s in bt.ctx.signals if s.name == name]


def test_a_cheap_cross_rate_is_gone_round_and_the_profit_is_the_hand_computation() -> None:
    # ETH is cheap in BTC (0.065 against 2000 / 30000 = 0.0667): USDT -> BTC -> ETH -> USDT.
    bt = run({BU: "30000", EU: "2000", EB: "0.065"})
    q1 = lots(D(1000) / (D(30000) * (1 + FEE)), "0.00001")  # BTC bought with at most 1000 USDT, fee on top
    cost = q1 * 30000 * (1 + FEE)
    q2 = lots(q1 / (D("0.065") * (1 + FEE)), "0.0001")  # ETH the BTC buys, fee in BTC on top
    dust = q1 - q2 * D("0.065") * (1 + FEE)
    proceeds = q2 * 2000 * (1 - FEE)  # the ETH sold for USDT, fee out
    profit = proceeds - cost
    assert (q1, q2, profit, dust) == (D("0.03330"), D("0.5117"), D("22.3776"), D("0.0000062395"))
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit and D(trip.data["committed"]) == cost
    assert D(trip.data["edge"]) == (profit / cost).quantize(D("1e-8"))
    assert trip.data["unwinds"] == 0 and {a: D(v) for a, v in trip.data["left"].items()} == {"BTC": dust}
    assert balances(bt) == {"USDT": D(10_000) + profit, "BTC": dust}
    assert [(o.symbol, o.side.value, o.filled_quantity) for o in bt.node.orders.values()] == [
        (BU, "BUY", q1),
        (EB, "BUY", q2),
        (EU, "SELL", q2),
    ]
    assert any("realised 22.3776" in n and "USDT" in n for n in bt.result.notes)  # type: ignore[attr-defined]


def test_a_dear_cross_rate_is_gone_round_the_other_way() -> None:
    # ETH is dear in BTC (0.0685): USDT -> ETH -> BTC -> USDT.
    bt = run({BU: "30000", EU: "2000", EB: "0.0685"})
    q1 = lots(D(1000) / (D(2000) * (1 + FEE)), "0.0001")
    cost = q1 * 2000 * (1 + FEE)
    btc = q1 * D("0.0685") * (1 - FEE)  # ETH sold for BTC
    q3 = lots(btc, "0.00001")
    profit = q3 * 30000 * (1 - FEE) - cost
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit > 0
    assert balances(bt) == {"USDT": D(10_000) + profit, "BTC": btc - q3}
    assert [o.symbol for o in bt.node.orders.values()] == [EU, EB, BU]


def test_an_edge_the_fees_eat_is_not_traded() -> None:
    # 0.0666 against 0.06667 implied: 0.1 % before fees, three fees of 0.1 % make it a loss.
    bt = run({BU: "30000", EU: "2000", EB: "0.0666"})
    assert bt.node.orders == {} and signals(bt, "round_trip") == []
    assert balances(bt) == {"USDT": D(10_000)}


def test_a_leg_that_fills_in_part_is_unwound_back_to_the_start_and_alerted() -> None:
    # ETH/BTC trades 0.2 ETH per bar at most: the second leg (an immediate-or-cancel limit for 0.5117) fills 0.2000
    # and its rest is cancelled; the 0.2 ETH and the BTC left go back to USDT at market through their USDT pairs.
    bt = run({BU: "30000", EU: "2000", EB: "0.065"}, volume={EB: 0.2}, max_participation=D(1))
    q1 = D("0.03330")
    cost = q1 * 30000 * (1 + FEE)
    eth = D("0.2000")
    btc = q1 - eth * D("0.065") * (1 + FEE)
    btc_back = lots(btc, "0.00001")
    profit = eth * 2000 * (1 - FEE) + btc_back * 30000 * (1 - FEE) - cost
    (alert,) = signals(bt, "leg_failed")
    assert alert.data["risk_alert"]["rule"] == "arbitrage_legging" and alert.data["risk_alert"]["symbol"] == EB
    assert alert.data["unwind"] == [[BU, "SELL", str(btc_back)], [EU, "SELL", "0.2000"]]
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit and trip.data["unwinds"] == 2 and trip.data["completed"] is False
    assert balances(bt) == {"USDT": D(10_000) + profit, "BTC": btc - btc_back}
    assert any("2 unwinding order(s)" in n for n in bt.result.notes)  # type: ignore[attr-defined]


def test_a_leg_that_does_not_fill_at_all_is_unwound_at_the_cost_of_two_fees() -> None:
    bt = run({BU: "30000", EU: "2000", EB: "0.065"}, volume={EB: 0.0}, max_participation=D(1))
    q1 = D("0.03330")
    profit = q1 * 30000 * (1 - FEE) - q1 * 30000 * (1 + FEE)
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit == D("-1.998")
    assert balances(bt) == {"USDT": D(10_000) + profit}
    assert len(signals(bt, "leg_failed")) == 1


def test_three_pairs_that_are_no_triangle_are_refused() -> None:
    sol = Instrument.create("SOL/USDT", tick_size="0.01", lot_size="0.001")
    with pytest.raises(ValidationError, match="three pairs over three assets"):
        cycles([INSTRUMENTS[0], INSTRUMENTS[1], sol], None)
    with pytest.raises(ValidationError, match="start"):
        cycles(list(INSTRUMENTS), "SOL")
    start, ways = cycles(list(INSTRUMENTS), None)
    assert start == "USDT"
    assert [[(h.symbol, h.side.value) for h in way] for way in ways] == [
        [(BU, "BUY"), (EB, "BUY"), (EU, "SELL")],
        [(EU, "BUY"), (EB, "SELL"), (BU, "SELL")],
    ]
    config = BacktestConfig("triangular", (BU, EU, "SOL/USDT"), "1h", instruments=(*INSTRUMENTS[:2], sol))
    with pytest.raises(StrategyError, match="three pairs"):
        Backtest(config, bars({BU: "30000", EU: "2000", "SOL/USDT": "100"})).run()
