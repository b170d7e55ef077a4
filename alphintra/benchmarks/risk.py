"""Pre-trade risk benchmark: the cost of ``RiskEngine.check`` per order with every limit on, beside the matching
engine's figures from the same run (the machine may be shared, so both are measured together).

The book: one account holding five symbols (two of them tagged and correlated), working orders on each, market
statistics for all, and every limit of the catalogue set (order size and notional, price band in % and ticks,
position qty/notional for the account and the strategy, gross/net exposure, leverage, daily loss, drawdown,
concentration per symbol and per tag, correlated exposure, volatility, ADV, order rates and open orders, the totals
across venues, and the venue's own order, position, exposure and open-order caps). The flow
is a seeded mix of limit and market orders, buys and sells, of sizes that pass every limit: the common path, and
the longest one, since a refusal stops at the first broken rule.

Each check is timed with ``perf_counter_ns`` (the figure includes the ~50-100 ns of the two clock reads). Checks
do not change the engine's state, so the same book serves the whole flow. The account refresh (what a fill or a
new bar costs the engine, outside the check) is timed separately.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType
from alphintra.engine.core.events import OrderInitialized
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.risk.limits import LimitSet
from alphintra.engine.risk.pretrade import MarketStats, RiskEngine
from alphintra.engine.venue.sim_driver import simulated_node

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
PRICES = {"AAA": "100", "BBB": "250", "CCC": "40", "DDD": "75", "EEE": "10"}

ALL_LIMITS = {
    "max_order_qty": 1_000,
    "max_order_notional": 50_000,
    "price_band_pct": 5,
    "price_band_ticks": 1_000,
    "max_position_qty": 5_000,
    "max_position_notional": 400_000,
    "max_gross_exposure": 2_000_000,
    "max_net_exposure": 2_000_000,
    "max_leverage": 3,
    "max_daily_loss": 50_000,
    "max_drawdown_pct": 20,
    "max_concentration_pct": 60,
    "max_tag_concentration_pct": 80,
    "max_correlated_exposure": 1_500_000,
    "correlation_threshold": "0.5",
    "max_volatility_pct": 200,
    "max_adv_pct": 10,
    "max_orders_per_second": 100_000,
    "max_orders_per_minute": 1_000_000,
    "max_open_orders": 10_000,
    "max_reject_rate_pct": 90,
    "max_total_position_qty": 10_000,
    "max_total_position_notional": 800_000,
    "max_total_gross_exposure": 4_000_000,
}
# The same caps set again for the node's one venue (a venue scope sums over every account there).
VENUE_LIMITS = ("max_order_qty", "max_position_qty", "max_gross_exposure", "max_net_exposure", "max_open_orders")


def build() -> tuple[TradingNode, RiskEngine]:
    """The node and engine of the benchmark, in the state described in the module doc."""
    insts = [
        Instrument.create(s, tick_size="0.01", lot_size="1", tags={"sector": "tech" if s in ("AAA", "BBB") else "x"})
        for s in SYMBOLS
    ]
    reg = InstrumentRegistry(insts)
    clock = TestClock(1_000_000_000_000)
    stats = MarketStats(
        volatility={s: 0.2 + 0.1 * i for i, s in enumerate(SYMBOLS)},
        adv={s: Decimal(1_000_000) for s in SYMBOLS},
        correlation={("AAA", "BBB"): 0.8, ("AAA", "CCC"): 0.2, ("BBB", "DDD"): 0.6},
    )
    risk = RiskEngine(stats=stats)
    node = simulated_node(reg, clock, risk=risk)
    node.open_account("main", cash={"USD": Decimal(1_000_000)})
    ts = clock.now_ns()
    for s in SYMBOLS:
        px = Decimal(PRICES[s])
        node.process_bar(Bar(s, ts, px, px, px, px, Decimal(10_000), ts + 1))
    for s in SYMBOLS:
        node.submit(OrderRequest(s, OrderSide.BUY, Decimal(200), strategy="bench"))
    ts += 10
    for s in SYMBOLS:
        px = Decimal(PRICES[s])
        bar = Bar(s, ts, px, px, px, px, Decimal(10_000), ts + 1)
        node.process_bar(bar)
        risk.on_bar(node, bar)
    for s in SYMBOLS:
        px = Decimal(PRICES[s]) * Decimal("0.98")
        node.submit(OrderRequest(s, OrderSide.BUY, Decimal(10), OrderType.LIMIT, price=px, strategy="bench"))
    limits = LimitSet.of(**ALL_LIMITS)  # type: ignore[arg-type]
    for name in VENUE_LIMITS:
        limits = limits.with_limit(name, str(ALL_LIMITS[name]), "venue", node.venue.name)
    risk.set_limits(limits)
    return node, risk


def generate_orders(count: int, seed: int = 7) -> list[OrderInitialized]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        symbol = rng.choice(SYMBOLS)
        ref = Decimal(PRICES[symbol])
        side = OrderSide.BUY if rng.random() < 0.7 else OrderSide.SELL
        qty = Decimal(rng.randint(1, 50))
        if rng.random() < 0.8:
            offset = Decimal(rng.randint(-200, 200)) / 10_000  # within 2 %
            price: Decimal | None = (ref * (1 + offset)).quantize(Decimal("0.01"))
            kind = OrderType.LIMIT
        else:
            price, kind = None, OrderType.MARKET
        out.append(
            OrderInitialized(
                f"B-{i}",
                0,
                account="main",
                symbol=symbol,
                side=side,
                order_type=kind,
                quantity=qty,
                price=price,
                strategy="bench",
            )
        )
    return out


def _percentile(sorted_ns: list[int], q: float) -> float:
    index = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return sorted_ns[index] / 1_000


def run(orders: int = 200_000, *, seed: int = 7, matching_orders: int = 200_000) -> dict[str, Any]:
    """Time the check on ``orders`` orders and run the matching benchmark on ``matching_orders`` (0: skip it)."""
    if orders <= 0 or matching_orders < 0:
        raise ValueError("orders must be > 0 and matching_orders >= 0")
    node, risk = build()
    flow = generate_orders(orders, seed)
    insts = {s: node.instruments.get(s) for s in SYMBOLS}
    check = risk.check
    clock = time.perf_counter_ns
    for init in flow[: min(2_000, orders)]:  # warm up: resolve the rules, fill the caches
        check(node, init, insts[init.symbol])
    latencies = []
    start = clock()
    for init in flow:
        t0 = clock()
        check(node, init, insts[init.symbol])
        latencies.append(clock() - t0)
    seconds = (clock() - start) / 1e9
    latencies.sort()
    refresh = []
    for _ in range(200):
        t0 = clock()
        risk._refresh(node, "main")  # what a fill or a new bar costs the engine, outside the check
        refresh.append(clock() - t0)
    refresh.sort()
    result: dict[str, Any] = {
        "orders": orders,
        "seed": seed,
        "limits_on": sorted(ALL_LIMITS),
        "checks_per_sec": round(orders / seconds) if seconds > 0 else None,
        "p50_us": round(_percentile(latencies, 0.50), 3),
        "p90_us": round(_percentile(latencies, 0.90), 3),
        "p99_us": round(_percentile(latencies, 0.99), 3),
        "refresh_p50_us": round(_percentile(refresh, 0.50), 3),
        "budget_p50_us": 5.0,
    }
    result["within_budget"] = result["p50_us"] <= result["budget_p50_us"]
    if matching_orders:
        from alphintra.benchmarks.matching import run as run_matching

        m = run_matching(matching_orders, reference_orders=min(matching_orders, 20_000), repeat=1)
        result["matching"] = {
            "orders": m["orders"],
            "orders_per_sec": m["orders_per_sec"],
            "p50_us": m["p50_us"],
            "p99_us": m["p99_us"],
        }
    return result


__all__ = ["ALL_LIMITS", "build", "generate_orders", "run"]
