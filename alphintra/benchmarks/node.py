"""Order-cycle benchmark: one filled order through a journaling trading node, beside the matching core's figures
from the same run (the machine may be shared, so both are measured together).

The cycle is what the daemon's engine thread does for an order that fills at once: ``TradingNode.submit`` (request
-> validation -> pre-trade risk -> funds lock -> route) -> the simulated venue accepts it and matches it against a
resting ladder in its matching engine -> fill -> ledger -> the order's journal records (``OrderInitialized``,
``Reserved``, ``OrderSubmitted``, ``OrderAccepted``, ``OrderFilled``) built and handed to the journal sink. The
sink is the daemon's own (:class:`~alphintra.daemon.trading.durability.BatchJournal` over a group-policy
:class:`~alphintra.storage.journal.Journal`): records gather during a batch and reach the file in one
``append_many`` (encode, checksum, one ``write``) per batch.

Two figures, both honest about the fsync:

* ``cycle``: every order is its own batch, timed from ``submit`` to its records written to the file (encode,
  checksum and one ``write`` system call into the page cache) -- *without* the fsync. That is the engine's cost of
  an order: p50/p99 per filled order.
* ``batched``: orders in batches of ``batch`` (as the daemon batches concurrent commands), one write **and one
  fsync** per batch; orders/s over the whole run, wall and CPU. The daemon answers a caller only after that fsync,
  so this is the rate at which a single engine thread can acknowledge durable orders on this disk.

Orders alternate buy and sell market orders of one lot against a ladder deep enough never to run dry, so every
order fills once, completely, and the account stays flat. The risk engine is the daemon's (``RiskEngine()``, its
circuit breakers and the limits it starts with).
"""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from alphintra.benchmarks.matching import _figures, _percentile
from alphintra.benchmarks.matching import run as run_matching
from alphintra.daemon.trading.durability import BatchJournal
from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.risk.pretrade import RiskEngine
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import simulated_node
from alphintra.storage.journal import Journal

SYMBOL = "GOOG"
BUDGET_P50_US = 25.0


def build(directory: Path) -> tuple[TradingNode, BatchJournal, Journal]:
    """A book-mode node on a journal in ``directory``, funded, with a deep ladder around 100 (see the module doc)."""
    inst = Instrument.create(SYMBOL, tick_size="0.01", lot_size="1", min_notional="10", taker_fee="0.001")
    clock = TestClock(1_000_000_000_000)
    journal = Journal(directory, fsync="group", group_records=1_000_000, group_interval_ms=60_000)
    sink = BatchJournal(journal)
    # Each level holds ~10^9 lots: the ladder outlasts any run, so every market order fills once, at the touch.
    liquidity = LiquidityModel(levels=2, spread_bps=Decimal(5), level_notional=Decimal(10) ** 11)
    node = simulated_node(
        InstrumentRegistry((inst,)),
        clock,
        FillModel(mode="book"),
        liquidity=liquidity,
        journal=sink,
        risk=RiskEngine(),
    )
    node.open_account("main", cash={"USD": Decimal(10) ** 12, SYMBOL: Decimal(10) ** 9})
    px = Decimal(100)
    ts = clock.now_ns()
    node.process_bar(Bar(SYMBOL, ts, px, px, px, px, Decimal(10) ** 6, ts + 59_999_999_999))
    sink.sync()
    return node, sink, journal


def _requests(count: int) -> list[OrderRequest]:
    one = Decimal(1)
    return [OrderRequest(SYMBOL, OrderSide.BUY if i % 2 else OrderSide.SELL, one, account="main") for i in range(count)]


def _cycle(node: TradingNode, sink: BatchJournal, requests: list[OrderRequest]) -> list[int]:
    """Per order: submit through to its records written (no fsync); returns the nanoseconds of each."""
    submit, write = node.submit, sink.write
    clock = time.perf_counter_ns
    latencies: list[int] = []
    record = latencies.append
    for request in requests:
        t0 = clock()
        submit(request)
        write()
        record(clock() - t0)
    return latencies


def _batched(node: TradingNode, sink: BatchJournal, requests: list[OrderRequest], batch: int) -> tuple[float, float]:
    """All orders in batches of ``batch``, one write and one fsync per batch; (wall s, CPU s)."""
    submit, sync = node.submit, sink.sync
    cpu0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, len(requests), batch):
        for request in requests[start : start + batch]:
            submit(request)
        sync()
    return time.perf_counter() - t0, time.process_time() - cpu0


def run(orders: int = 100_000, *, batch: int = 100, repeat: int = 3, matching_orders: int = 200_000) -> dict[str, Any]:
    """Run the benchmark and return its figures (see the module doc)."""
    if orders <= 0 or batch <= 0 or repeat <= 0:
        raise ValueError("orders, batch and repeat must be > 0")
    requests = _requests(orders)
    best_cycle: list[int] | None = None
    best_batched: tuple[float, float] | None = None
    records = 0
    with tempfile.TemporaryDirectory(prefix="alphintra-node-bench-") as tmp:
        for i in range(repeat):
            node, sink, journal = build(Path(tmp) / f"cycle-{i}")
            try:
                first = journal.last_seq
                latencies = _cycle(node, sink, requests)
                records = journal.last_seq - first
                filled = sum(1 for o in node.orders.values() if o.status is OrderStatus.FILLED)
                if filled != orders:
                    raise AssertionError(f"{filled} of {orders} orders filled")
            finally:
                journal.close()
            if best_cycle is None or sum(latencies) < sum(best_cycle):
                best_cycle = latencies
            node, sink, journal = build(Path(tmp) / f"batched-{i}")
            try:
                measured = _batched(node, sink, requests, batch)
            finally:
                journal.close()
            if best_batched is None or measured[0] < best_batched[0]:
                best_batched = measured
    assert best_cycle is not None and best_batched is not None
    ordered = sorted(best_cycle)
    cycle_s = sum(best_cycle) / 1e9
    result: dict[str, Any] = {
        "orders": orders,
        "repeat": repeat,
        "records_per_order": round(records / orders, 2),
        "cycle": {
            "fsync": "none (records written to the page cache per order)",
            "p50_us": round(_percentile(ordered, 0.50), 2),
            "p99_us": round(_percentile(ordered, 0.99), 2),
            "max_us": round(ordered[-1] / 1000.0, 2),
            "orders_per_sec": round(orders / cycle_s) if cycle_s > 0 else 0,
        },
        "batched": {"fsync": f"one write and one fsync per {batch} orders", "batch": batch}
        | _figures(orders, best_batched[0], best_batched[1], None),
        "budget_p50_us": BUDGET_P50_US,
    }
    result["within_budget"] = result["cycle"]["p50_us"] <= BUDGET_P50_US
    if matching_orders > 0:
        core = run_matching(matching_orders, reference_orders=min(matching_orders, 20_000), repeat=repeat)
        result["matching"] = core["engine"]
    return result


__all__ = ["BUDGET_P50_US", "build", "run"]
