"""Matching engine vs a naive reference book on the same seeded order flow.

python bench/matching.py [--orders 1000000] [--reference-orders 200000] [--seed 42] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from alphintra.benchmarks.matching import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the flow (default 1,000,000)")
    parser.add_argument("--reference-orders", type=int, default=200_000, help="prefix replayed by the naive book")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="throughput passes per book; the best counts")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    result = run(args.orders, seed=args.seed, reference_orders=args.reference_orders, repeat=args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name in ("engine", "reference"):
        figures = result[name]
        print(
            f"{name:<10} {figures['orders']:>9,} orders  {figures['orders_per_sec']:>10,} orders/s  "
            f"({figures['orders_per_cpu_sec']:>10,} per CPU-s)  "
            f"p50 {figures['p50_us']:>7.2f} us  p99 {figures['p99_us']:>7.2f} us"
        )
    print(
        f"speed-up   {result['speedup']}x wall, {result['speedup_cpu']}x CPU "
        f"(same {result['reference']['orders']:,}-order prefix, same trades)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
