"""ML: training time and the serving path's per-bar latency (features + trees) beside plain lightgbm, same run."""

from __future__ import annotations

import argparse
import json

from alphintra.benchmarks.ml import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=20_000, help="training bars (1m, synthetic)")
    parser.add_argument("--serve-bars", type=int, default=5_000, help="bars served one at a time")
    parser.add_argument("--features", default="core", help="feature set")
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()
    result = run(args.bars, feature_set=args.features, trees=args.trees, serve_bars=args.serve_bars)
    print(json.dumps(result, indent=2))
