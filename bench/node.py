"""The order cycle through a journaling trading node per filled order, beside the matching core's figures.

python bench/node.py [--orders 100000] [--batch 100] [--repeat 3] [--matching-orders 200000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.node import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="filled orders per pass (default 100,000)")
    parser.add_argument("--batch", type=int, default=100, help="orders per write+fsync in the batched pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes of each kind; the fastest counts")
    parser.add_argument("--matching-orders", type=int, default=200_000, help="matching bench flow; 0 skips it")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = run(args.orders, batch=args.batch, repeat=args.repeat, matching_orders=args.matching_orders)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    c, b = result["cycle"], result["batched"]
    print(
        f"node cycle  {result['orders']:>9,} filled orders  {c['orders_per_sec']:>10,} orders/s  "
        f"p50 {c['p50_us']:>7.2f} us  p99 {c['p99_us']:>7.2f} us  ({result['records_per_order']} journal records "
        f"per order, written per order, no fsync; budget p50 <= {result['budget_p50_us']} us: "
        f"{'met' if result['within_budget'] else 'MISSED'})"
    )
    print(
        f"node batch  {b['orders']:>9,} filled orders  {b['orders_per_sec']:>10,} orders/s  "
        f"({b['orders_per_cpu_sec']:>10,} per CPU-s)  one write + fsync per {b['batch']} orders"
    )
    if "matching" in result:
        m = result["matching"]
        print(
            f"matching    {m['orders']:>9,} orders  {m['orders_per_sec']:>10,} orders/s  "
            f"({m['orders_per_cpu_sec']:>10,} per CPU-s)  p50 {m['p50_us']:>7.2f} us  p99 {m['p99_us']:>7.2f} us"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
