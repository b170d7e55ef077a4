"""sma_cross over synthetic one-minute bars: alphintra vs backtesting.py and backtrader in the same run (see the
module it calls). The baselines come with the ``bench`` extra; one that is not installed is left out of the table."""

from __future__ import annotations

import argparse
import json

from alphintra.benchmarks.backtest import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true", help="skip the baselines (backtesting.py, backtrader)")
    parser.add_argument("--sweep", type=int, default=100, help="optimiser sweep size (0: skip)")
    parser.add_argument("--sweep-bars", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dense-bars", type=int, default=200_000, help="bars of the no-commission run (0: skip)")
    parser.add_argument("--dense-fast", type=int, default=10)
    parser.add_argument("--dense-slow", type=int, default=50)
    parser.add_argument(
        "--cluster",
        help="also sweep on this Dask scheduler (tcp://HOST:PORT), or 'local' for WORKERS worker processes here",
    )
    args = parser.parse_args()
    print(
        json.dumps(
            run(
                args.bars,
                repeat=args.repeat,
                baseline=not args.no_baseline,
                sweep_sets=args.sweep,
                sweep_bars=args.sweep_bars,
                workers=args.workers,
                dense_bars=args.dense_bars,
                dense_fast=args.dense_fast,
                dense_slow=args.dense_slow,
                cluster=args.cluster,
            ),
            indent=2,
        )
    )
