"""Market-data benchmark: `python bench/data.py [--rows N] [--symbols K] [--json]`.

Generates N one-minute bars over K symbols, ingests them into a fresh store, resamples to 1h and 1d and queries
one symbol-month, timing the same steps in pandas in the same run. See alphintra/benchmarks/data.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alphintra.benchmarks.data import MIN_RATIO, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    args = parser.parse_args()
    result = run(args.rows, args.symbols, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"market data: {result['rows']:,} 1m bars, {result['symbols']} symbols")
    for col in ("step", "rows", "alphintra rows/s", "pandas rows/s", "speedup", "target", f">= {MIN_RATIO:g}x"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for s in result["steps"]:
        target = s["target_rows_per_s"]
        met = s["meets_target"]
        table.add_row(
            s["step"],
            f"{s['rows']:,}",
            f"{s['alphintra_rows_per_s']:,}",
            "-" if s["pandas_rows_per_s"] is None else f"{s['pandas_rows_per_s']:,}",
            "-" if s["speedup"] is None else f"{s['speedup']:.1f}x",
            "-" if target is None else f"{target:,.0f} {'ok' if met else 'MISSED'}",
            "-" if s["meets_5x"] is None else ("yes" if s["meets_5x"] else "no"),
        )
    # Wide enough for full figures when the output is piped (rich assumes 80 columns then).
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    console.print(
        f"parquet encode alone: each side's encoder on the same parts and codec, into memory (a floor, no target). "
        f"pandas' ingest over our bare encoder, the best ingest ratio reachable on this encoder: "
        f"{result['ingest_ratio_ceiling']:.1f}x"
    )
    console.print(f"[dim]generation of the input took {result['generate_s']} s (not measured)[/dim]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
