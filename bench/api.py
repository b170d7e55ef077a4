"""Order entry through a real daemon: sustained orders/s and p50/p99 latency from 1 and N concurrent clients.

python bench/api.py [--seconds 3] [--clients 1,16,64] [--batch 100] [--batch-clients 1,8] [--ws-clients 1,8]
                    [--window 64] [--settle 2] [--listing 10000] [--json]

Single REST orders, batches, the order-entry WebSocket, and one sequential EngineClient (the CLI's path); every
order is acknowledged only once the journal has fsync-ed it. Target (the plan's KPI): >= 10,000 orders/s
sustained with p99 < 10 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.api import run


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _by_thread(spent: dict[str, float]) -> str:
    # Threads are told apart only where the OS knows their names (Python 3.14 names them; before, all are "python").
    if len(spent) < 2:
        return ""
    return " (" + ", ".join(f"{name} {ms:.2f}" for name, ms in list(spent.items())[:4]) + ")"


def _line(name: str, r: dict[str, object]) -> str:
    return (
        f"{name:<8} clients {r['clients']:>3}  batch {r['batch']:>4}  {r['orders_per_sec']:>8,} orders/s  "
        f"p50 {r['p50_ms']:>8.3f} ms  p99 {r['p99_ms']:>8.3f} ms  ({r['orders']:,} orders in {r['seconds']} s)"
        + f"  daemon CPU {r['daemon_cpu_ms_per_order']:.3f} ms/order"
        + _by_thread(r["daemon_cpu_ms_by_thread"])
        + (f"  ERRORS {r['errors']}" if r["errors"] else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each scenario")
    parser.add_argument("--clients", type=_ints, default=(1, 16, 64), help="concurrent connections, e.g. 1,16,64")
    parser.add_argument("--batch", type=int, default=100, help="orders per batch request")
    parser.add_argument("--batch-clients", type=_ints, default=(1, 8), help="connections posting batches")
    parser.add_argument("--ws-clients", type=_ints, default=(1, 8), help="order-entry WebSocket connections")
    parser.add_argument("--window", type=int, default=64, help="unanswered orders per WebSocket connection")
    parser.add_argument("--settle", type=float, default=2.0, help="pause between scenarios (projection catch-up)")
    parser.add_argument("--client-seconds", type=float, default=1.0, help="EngineClient scenario; 0 skips it")
    parser.add_argument("--listing", type=int, default=10_000, help="orders per listing (0 skips that scenario)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = run(
        seconds=args.seconds,
        clients=args.clients,
        batch=args.batch,
        batch_clients=args.batch_clients,
        ws_clients=args.ws_clients,
        window=args.window,
        client_seconds=args.client_seconds,
        settle=args.settle,
        listing=args.listing,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["rest"]:
        print(_line("rest", r))
    for r in result["batch"]:
        print(_line("batch", r))
    for r in result["ws"]:
        print(_line("ws", r))
    if "client" in result:
        print(_line("client", result["client"]))
    if "listing" in result:
        print(_line("idle", result["idle"]))
        listing = result["listing"]
        print(
            _line("listing", listing)
            + f"\n         p99 {listing['p99_vs_idle']}x idle while {listing['listings']} listings of {args.listing:,} "
            f"orders ran (p50 {listing['listing_p50_ms']:.1f} ms each; target <= 2x)"
        )
    verdict = "met" if result["kpi_met_rest"] else "MISSED"
    print(
        f"KPI >= {result['target_orders_per_sec']:,} orders/s with p99 < {result['target_p99_ms']} ms on "
        f"{result['cpus']} CPUs: single orders {verdict}; any scenario {'met' if result['kpi_met_any'] else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
