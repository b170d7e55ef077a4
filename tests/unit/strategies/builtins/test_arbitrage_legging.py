"""arbitrage round trips on crafted prices: the realised profit equals the hand computation after the four taker
fees, a leg that fills only in part has the excess of the other traded back (and alerted), the size is capped by
what each side has available, and a side that has run dry gets a rebalance suggestion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from alphintra.engine.core.instrument import Instrument
from alphintra.strategies.backtest import Backtest, BacktestConfig

D = Decimal
FEE = D("0.0005")
A, B = "BTC/USD", "BTC/USD.B"
INSTRUMENTS = (
    Instrument.create(A, tick_size="0.01", lot_size="0.0001"),
    Instrument.create(B, tick_size="0.01", lot_size="0.0001", base="BTCB", quote="USD"),
)
T0 = 1_700_000_000_000_000_000
HOUR = 3_600_000_000_000


def frame(prices: list[str], volume: float = 1000.0) -> pl.DataFrame:
    p = [float(x) for x in prices]
    return pl.DataFrame(
        {"time": [T0 + i * HOUR for i in range(len(p))], "open": p, "high": p, "low": p, "close": p, "volume": volume}
    ).with_columns(pl.col("time").cast(pl.Datetime("ns", "UTC")))


# B quotes 1 % over A for three hours (entry at the first close, filled at the second open), then the gap closes
# (exit at the fourth close, filled at the fifth open).
PATH_A = ["30000"] * 8
PATH_B = ["30300", "30300", "30300", "30000", "30000", "30000", "30000", "30000"]


def run(volume_b: float = 1000.0, deposit: dict[str, str] | None = None, **kw: Any) -> Backtest:
    params = {"notional": "10000", "min_edge": "0.001", **kw.pop("params", {})}
    config = BacktestConfig(
        "arbitrage", (A, B), "1h", params=params, fee=FEE, cash=D(50_000), instruments=INSTRUMENTS, **kw
    )
    bt = Backtest(config, {A: frame(PATH_A), B: frame(PATH_B, volume_b)})
    for asset, amount in (deposit or {}).items():  # inventory already on a venue
        bt.node.ledger.deposit("backtest", asset, amount)
    bt.result = bt.run()  # type: ignore[attr-defined]
    return bt


def signals(bt: Backtest, name: str) -> list[Any]:
    return [s for s in bt.ctx.signals if s.name == name]


def fills(bt: Backtest) -> list[tuple[str, str, Decimal, Decimal | None]]:
    return [(o.symbol, o.side.value, o.filled_quantity, o.average_price) for o in bt.node.orders.values()]


def test_a_round_trip_realises_the_hand_computed_edge_after_four_fees() -> None:
    bt = run()
    q = D("0.3300")  # 10,000 at the dearer 30,300, in lots of 0.0001
    entry = q * 30000 * (1 + FEE)  # the buy on A
    profit = q * 30300 * (1 - FEE) - entry + q * 30000 * (1 - FEE) - q * 30000 * (1 + FEE)
    assert fills(bt) == [
        (A, "BUY", q, D(30000)),
        (B, "SELL", q, D(30300)),
        (A, "SELL", q, D(30000)),
        (B, "BUY", q, D(30000)),
    ]
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit == D("79.1505")
    assert D(trip.data["committed"]) == q * 30000 and D(trip.data["edge"]) == (profit / (q * 30000)).quantize(D("1e-8"))
    assert bt.node.ledger.balance("backtest", "USD").total == D(50_000) + profit
    assert any(n.startswith("arbitrage round trip 1: realised 79.1505") for n in bt.result.notes)  # type: ignore[attr-defined]
    assert signals(bt, "leg_failed") == []


def test_a_leg_that_fills_in_part_has_the_excess_of_the_other_traded_back() -> None:
    # Venue B trades 0.1 BTC an hour: the sell fills 0.1 of 0.33 at each of the next two opens (30,300), then its
    # rest is cancelled (it had a whole bar and the timeout), and the 0.13 bought on A beyond it is sold back there.
    # The hedged 0.2 exits as the gap closes (its buy on B again 0.1 an hour, at 30,000).
    bt = run(volume_b=0.1, max_participation=D(1))
    q, part = D("0.3300"), D("0.2000")
    back = q - part
    assert fills(bt) == [
        (A, "BUY", q, D(30000)),
        (B, "SELL", part, D(30300)),
        (A, "SELL", back, D(30000)),
        (A, "SELL", part, D(30000)),
        (B, "BUY", part, D(30000)),
    ]
    (alert,) = signals(bt, "leg_failed")
    assert alert.data["risk_alert"]["rule"] == "arbitrage_legging" and alert.data["risk_alert"]["symbol"] == B
    assert (
        alert.data["risk_alert"]["severity"] == "WARNING" and "0.2000 of 0.3300" in alert.data["risk_alert"]["message"]
    )
    assert alert.data["unwind"] == [[A, "SELL", "0.1300"]]
    profit = (
        -q * 30000 * (1 + FEE)
        + part * 30300 * (1 - FEE)
        + back * 30000 * (1 - FEE)
        + part * 30000 * (1 - FEE)
        - part * 30000 * (1 + FEE)
    )
    (trip,) = signals(bt, "round_trip")
    assert D(trip.data["profit"]) == profit == D("44.07") and trip.data["unwinds"] == 1
    assert bt.node.ledger.balance("backtest", "USD").total == D(50_000) + profit
    assert bt.node.ledger.quantity("backtest", A) == bt.node.ledger.quantity("backtest", B) == 0


def test_the_size_is_what_the_selling_venue_holds_and_a_dry_side_gets_a_rebalance_suggestion() -> None:
    # A spot account cannot sell BTCB it does not hold: with 0.12 BTCB on venue B the trade is 0.12, not 0.33.
    bt = run(account_mode="spot", deposit={"BTCB": "0.12"})
    assert [f[:3] for f in fills(bt)[:2]] == [(A, "BUY", D("0.1200")), (B, "SELL", D("0.1200"))]
    assert signals(bt, "rebalance") == []
    # With none, nothing is traded and one suggestion says what to move where.
    dry = run(account_mode="spot")
    assert dry.node.orders == {}
    (hint,) = signals(dry, "rebalance")
    assert (hint.data["asset"], D(hint.data["amount"]), hint.data["to"], hint.data["source"]) == (
        "BTCB",
        D("0.33"),
        B,
        A,
    )
    assert hint.data["risk_alert"]["rule"] == "arbitrage_rebalance" and hint.data["risk_alert"]["severity"] == "INFO"


def test_the_size_is_what_the_buying_venue_can_pay_for() -> None:
    # Spot, with plenty of BTCB on venue B: 3.3 BTC wanted; 50,000 USD pays for 1.6658 with the fee.
    bt = run(params={"notional": "100000"}, account_mode="spot", deposit={"BTCB": "5"})
    q = D("1.6658")
    assert q * 30000 * (1 + FEE) <= 50_000 < (q + D("0.0001")) * 30000 * (1 + FEE)
    assert [f[:3] for f in fills(bt)[:2]] == [(A, "BUY", q), (B, "SELL", q)]


def test_in_a_margin_account_both_legs_fit_under_the_leverage_limit() -> None:
    # Both legs count in the gross exposure: 50,000 x 1 / ((30,000 + 30,300) x 1.0005) = 0.82879... BTC a leg.
    bt = run(params={"notional": "100000"})
    q = D("0.8287")
    assert [f[:3] for f in fills(bt)] == [(A, "BUY", q), (B, "SELL", q), (A, "SELL", q), (B, "BUY", q)]
    assert signals(bt, "leg_failed") == []
