"""Crash recovery: replaying an on-disk journal of N filled orders into a fresh node, next to the live run
that wrote it.

python bench/recovery.py [--orders 50000] [--repeat 3] [--json]

The daemon rebuilds its state at start by reading the whole journal back (``Journal.replay``) and replaying it
into a node (orders, reservations, fills), so restart time grows with the history. This prints what an order
costs to read and replay, what it cost live with the same journal (the baseline, same run; group fsync as in the
daemon), the share of the replay spent decoding order events, and the restart time that implies per million
orders.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import event_from_dict
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.storage.journal import Journal

GOOG = Instrument.create("GOOG", tick_size="0.01", lot_size="1", min_notional="10", taker_fee="0.001")
MINUTE = 60_000_000_000


def node(journal: Journal | None = None) -> TradingNode:
    registry = InstrumentRegistry((GOOG,))
    clock = TestClock(0)
    venue = SimulatedVenue(registry, FillModel(mode="bar"), now=clock.now_ns)
    return TradingNode(instruments=registry, venue=venue, clock=clock, journal=journal)


def bar(t: int) -> Bar:
    d = Decimal
    return Bar("GOOG", t * MINUTE, d("100"), d("100.5"), d("99.5"), d("100"), d("1000000"), (t + 1) * MINUTE - 1)


def live(orders: int, directory: Path) -> float:
    journal = Journal(directory, fsync="group", group_records=1_000_000, group_interval_ms=60_000)
    n = node(journal)
    n.open_account("main", cash={"USD": "1000000000", "GOOG": "10000000"})
    n.process_bar(bar(1))
    start = time.perf_counter()
    for i in range(orders):
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        n.submit(OrderRequest(account="main", symbol="GOOG", side=side, quantity=Decimal(1)))
        if i % 100 == 99:
            n.process_bar(bar(2 + i // 100))  # market orders fill at the next bar's open
    n.process_bar(bar(3 + orders // 100))
    journal.sync()
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed


def replay(directory: Path) -> tuple[float, list[dict[str, Any]]]:
    """Open the journal as the daemon does at start and replay every record into a fresh node."""
    start = time.perf_counter()
    journal = Journal(directory, fsync="group")
    _, stream = journal.replay()
    records = [rec.record for rec in stream]
    node().replay(records)
    elapsed = time.perf_counter() - start
    journal.close()
    return elapsed, records


def run(orders: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alphintra-recovery-") as tmp:
        live_s = min(live(orders, Path(tmp) / f"live-{i}") for i in range(repeat))
        replay_s, records = min((replay(Path(tmp) / "live-0") for _ in range(repeat)), key=lambda r: r[0])
    events = [r for r in records if str(r.get("type", "")).startswith("Order")]
    decode_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for record in events:
            event_from_dict(record)
        decode_s = min(decode_s, time.perf_counter() - start)
    fills = sum(1 for r in records if r.get("type") == "OrderFilled")
    assert fills == orders, f"{fills} fills for {orders} orders"
    return {
        "orders": orders,
        "records": len(records),
        "live_us_per_order": round(live_s / orders * 1e6, 1),
        "replay_us_per_order": round(replay_s / orders * 1e6, 1),
        "replay_over_live": round(replay_s / live_s, 2),
        "decode_share_of_replay": round(decode_s / replay_s, 2),
        "restart_s_per_million_orders": round(replay_s / orders * 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="passes of each side; the best counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.orders, args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        print(f"{key:32s} {value:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
