"""Pre-trade risk check cost per order with every limit on, beside the matching engine's figures from the same run.

python bench/risk.py [--orders 200000] [--matching-orders 200000] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.risk import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="orders checked (default 200,000)")
    parser.add_argument("--matching-orders", type=int, default=200_000, help="matching bench flow; 0 skips it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = run(args.orders, seed=args.seed, matching_orders=args.matching_orders)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"risk check  {result['orders']:>9,} orders  {result['checks_per_sec']:>10,} checks/s  "
        f"p50 {result['p50_us']:>7.2f} us  p99 {result['p99_us']:>7.2f} us  "
        f"({len(result['limits_on'])} limits on; budget p50 <= {result['budget_p50_us']} us: "
        f"{'met' if result['within_budget'] else 'MISSED'})"
    )
    print(f"refresh     account figures after a fill or bar: p50 {result['refresh_p50_us']:.2f} us")
    if "matching" in result:
        m = result["matching"]
        print(
            f"matching    {m['orders']:>9,} orders  {m['orders_per_sec']:>10,} orders/s  "
            f"p50 {m['p50_us']:>7.2f} us  p99 {m['p99_us']:>7.2f} us"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
