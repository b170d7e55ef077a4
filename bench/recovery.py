"""Crash recovery: restarting from an on-disk journal of N filled orders, with snapshots and by full replay, next to
the live run that wrote it.

python bench/recovery.py [--orders 50000] [--repeat 3] [--snapshot-every 10000] [--retention 5000] [--json]

The live run trades as the daemon does: one journal write and sync per batch (here 100 orders and a bar), finished
orders beyond the newest ``--retention`` leave memory, and every ``--snapshot-every`` records a snapshot of the
node is captured (on the engine thread in the daemon: ``snapshot_capture_ms``) and written (on a worker thread in
the daemon: ``snapshot_write_ms``). A restart then restores the newest snapshot and replays the records after it
(``restart_with_snapshot_s``). The run ends just short of its next snapshot (the last snapshot is taken before the
final ``--snapshot-every`` records), so the restart replays the longest tail a crash can leave: the worst case.
Wall and CPU (``_cpu_s``) seconds are both printed: on a shared machine the wall figure includes waiting for a core.
The full replay reads every record into a fresh node (memory kept bounded by the same retention) -- what a
restart cost before snapshots: ``replay_us_per_order``, ``restart_full_replay_s``, and
``restart_s_per_million_orders`` (extrapolated). Also printed: what an order cost live with the same journal,
and the share of the full replay spent decoding order events.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.engine._node_snapshot import capture
from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import event_from_dict
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.sim_driver import simulated_node
from alphintra.storage.journal import Journal

GOOG = Instrument.create("GOOG", tick_size="0.01", lot_size="1", min_notional="10", taker_fee="0.001")
MINUTE = 60_000_000_000
SEGMENT_BYTES = 16 * 1024 * 1024  # as the daemon opens its journal (bounds what a restart scans)
FOREVER = 10**30  # retention by count only: the bench's clock is the bars'
_DECODE_SAMPLE = 200_000


def node(journal: Journal | None = None) -> TradingNode:
    registry = InstrumentRegistry((GOOG,))
    clock = TestClock(0)
    return simulated_node(registry, clock, FillModel(mode="bar"), journal=journal)


def bar(t: int) -> Bar:
    d = Decimal
    return Bar("GOOG", t * MINUTE, d("100"), d("100.5"), d("99.5"), d("100"), d("1000000"), (t + 1) * MINUTE - 1)


def live(orders: int, directory: Path, every: int, keep: int) -> dict[str, float]:
    journal = Journal(
        directory, fsync="group", group_records=1_000_000, group_interval_ms=60_000, segment_bytes=SEGMENT_BYTES
    )
    n = node(journal)
    n.open_account("main", cash={"USD": "1000000000", "GOOG": "10000000"})
    n.process_bar(bar(1))
    capture_s = write_s = 0.0
    snapshots = 0
    last = 0
    # About five journal records per filled order: stop snapshotting so the tail after the last one is ~``every``.
    no_snapshots_after = max(orders - every // 5, 0)
    start = time.perf_counter()
    for i in range(orders):
        side = OrderSide.BUY if i % 2 else OrderSide.SELL
        n.submit(OrderRequest(account="main", symbol="GOOG", side=side, quantity=Decimal(1)))
        if i % 100 == 99:
            n.process_bar(bar(2 + i // 100))  # market orders fill at the next bar's open
            journal.sync()  # the daemon's batch: one write and fsync, then the answers
            n.forget_finished(keep=keep, max_age_ns=FOREVER)
            if journal.last_seq - last >= every and i < no_snapshots_after:
                t0 = time.perf_counter()
                captured = capture(n)
                t1 = time.perf_counter()
                journal.write_snapshot({"node": captured.to_state()}, journal.last_seq)
                capture_s += t1 - t0
                write_s += time.perf_counter() - t1
                snapshots += 1
                last = journal.last_seq
    n.process_bar(bar(3 + orders // 100))
    journal.sync()
    elapsed = time.perf_counter() - start
    journal.close()
    return {"live_s": elapsed, "capture_s": capture_s, "write_s": write_s, "snapshots": snapshots}


def _retained(
    records: Iterator[Any], fresh: TradingNode, keep: int, counts: dict[str, int], sample: list[dict[str, Any]]
) -> Iterator[Any]:
    """Feed records to a replay, letting old finished orders go every 100,000 records (bounded memory); keep a
    sample of order events for the decoding figure."""
    for i, rec in enumerate(records, 1):
        record = rec.record
        kind = str(record.get("type", ""))
        if kind.startswith("Order"):
            counts["events"] += 1
            if len(sample) < _DECODE_SAMPLE:
                sample.append(record)
        if kind == "OrderFilled":
            counts["fills"] += 1
        counts["records"] = i
        yield record
        if i % 100_000 == 0:
            fresh.forget_finished(keep=keep, max_age_ns=FOREVER)


def restart_full(directory: Path, keep: int) -> tuple[float, float, dict[str, int], list[dict[str, Any]]]:
    """Open the journal and replay every record into a fresh node (what a restart did before snapshots)."""
    counts = {"records": 0, "events": 0, "fills": 0}
    sample: list[dict[str, Any]] = []
    start, cpu = time.perf_counter(), time.process_time()
    journal = Journal(directory, fsync="group", segment_bytes=SEGMENT_BYTES)
    fresh = node()
    fresh.replay(_retained(journal.read(1), fresh, keep, counts, sample))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    journal.close()
    return elapsed, cpu, counts, sample


def restart_with_snapshot(directory: Path) -> tuple[float, float, int, int]:
    """Open the journal as the daemon does at start: the newest snapshot, then the records after it."""
    start, cpu = time.perf_counter(), time.process_time()
    journal = Journal(directory, fsync="group", segment_bytes=SEGMENT_BYTES)
    snapshot, tail = journal.replay()
    fresh = node()
    if snapshot is not None:
        fresh.restore_state(snapshot.state["node"])
    replayed = fresh.replay(rec.record for rec in tail)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    journal.close()
    return elapsed, cpu, replayed, len(fresh.orders)


def run(orders: int, repeat: int, every: int, keep: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alphintra-recovery-") as tmp:
        lives = [live(orders, Path(tmp) / f"live-{i}", every, keep) for i in range(repeat)]
        best = min(lives, key=lambda r: r["live_s"])
        directory = Path(tmp) / "live-0"
        snap_s, snap_cpu, tail_records, in_memory = min(
            (restart_with_snapshot(directory) for _ in range(repeat)), key=lambda r: r[0]
        )
        replay_s, replay_cpu, counts, sample = min(
            (restart_full(directory, keep) for _ in range(repeat)), key=lambda r: r[0]
        )
    decode_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for record in sample:
            event_from_dict(record)
        decode_s = min(decode_s, time.perf_counter() - start)
    decode_full_s = decode_s / max(len(sample), 1) * counts["events"]
    assert counts["fills"] == orders, f"{counts['fills']} fills for {orders} orders"
    live_s = best["live_s"]
    snapshots = int(lives[0]["snapshots"])
    return {
        "orders": orders,
        "records": counts["records"],
        "live_us_per_order": round(live_s / orders * 1e6, 1),
        "replay_us_per_order": round(replay_s / orders * 1e6, 1),
        "replay_over_live": round(replay_s / live_s, 2),
        "decode_share_of_replay": round(decode_full_s / replay_s, 2),
        "restart_s_per_million_orders": round(replay_s / orders * 1e6, 1),
        "restart_full_replay_s": round(replay_s, 2),
        "restart_full_replay_cpu_s": round(replay_cpu, 2),
        "restart_with_snapshot_s": round(snap_s, 2),
        "restart_with_snapshot_cpu_s": round(snap_cpu, 2),
        "records_after_snapshot": tail_records,
        "orders_in_memory_after_restart": in_memory,
        "snapshot_every": every,
        "snapshots_written": snapshots,
        "snapshot_capture_ms": round(lives[0]["capture_s"] / max(snapshots, 1) * 1e3, 1),
        "snapshot_write_ms": round(lives[0]["write_s"] / max(snapshots, 1) * 1e3, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="passes of each side; the best counts")
    parser.add_argument("--snapshot-every", type=int, default=10_000, help="journal records between snapshots")
    parser.add_argument("--retention", type=int, default=1_000, help="finished orders kept in memory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.orders, args.repeat, args.snapshot_every, args.retention)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        print(f"{key:32s} {value:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
