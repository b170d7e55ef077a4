"""Several backtest runs side by side: one row per run with its headline figures.

One home for ``backtest run --strategy-list`` (fresh runs on the same data) and ``backtest compare`` (stored runs).
Rows carry exact values (Decimal money, float ratios); the CLI formats them for a table or writes them as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphintra.strategies.result import BacktestResult

# The table's columns: (key, heading, kind) with kind "pct" (a fraction shown as a percentage), "money" (at the
# run's currency precision), "ratio" or "int"/"text".
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("strategy", "strategy", "text"),
    ("total_return", "return", "pct"),
    ("annual_return", "annual", "pct"),
    ("sharpe", "sharpe", "ratio"),
    ("max_drawdown", "max dd", "pct"),
    ("num_trades", "trades", "int"),
    ("win_rate", "win rate", "pct"),
    ("end_equity", "end equity", "money"),
    ("fees", "fees", "money"),
)
# Only in the JSON rows (the table keeps to what fits a terminal).
EXTRA = ("sortino", "calmar", "profit_factor", "net_profit", "exposure")


def comparison_rows(results: Sequence[BacktestResult]) -> list[dict[str, Any]]:
    """One row per run, in the given order: what it ran on and its headline metrics."""
    rows = []
    for r in results:
        m = r.metrics
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "strategy": r.strategy,
            "params": dict(r.params),
            "symbols": list(r.symbols),
            "timeframe": r.timeframe,
            "start_ns": r.start_ns,
            "end_ns": r.end_ns,
            "currency": r.currency,
        }
        for key in (*(c[0] for c in COLUMNS), *EXTRA):
            if key not in row:
                row[key] = getattr(m, key)
        rows.append(row)
    return rows


def data_differences(results: Sequence[BacktestResult]) -> list[str]:
    """What differs in the data the runs covered (symbols, bar size, period): empty when they are comparable."""
    from alphintra.strategies.report._format import fmt_ts

    aspects = {
        "symbols": [", ".join(r.symbols) for r in results],
        "timeframe": [r.timeframe for r in results],
        "period": [f"{fmt_ts(r.start_ns)} → {fmt_ts(r.end_ns)}" for r in results],
    }
    return [f"{name}: {' | '.join(dict.fromkeys(values))}" for name, values in aspects.items() if len(set(values)) > 1]


def run_listed(index: int, configs: Sequence[Any], frames: Any) -> tuple[BacktestResult, dict[str, list[Any]]]:
    """``--strategy-list``'s run of ``configs[index]`` over ``frames``: its result and the indicators its report
    draws. A top-level, pure function (it writes nothing: reports are written by the caller), so it can run in a
    worker process or on a Dask cluster, and run again there after a worker died."""
    from alphintra.strategies.backtest import Backtest
    from alphintra.strategies.report.interactive import strategy_indicators

    backtest = Backtest(configs[index], frames)
    result = backtest.run()
    return result, strategy_indicators(backtest.ctx.lines.by_symbol)


__all__ = ["COLUMNS", "EXTRA", "comparison_rows", "data_differences", "run_listed"]
