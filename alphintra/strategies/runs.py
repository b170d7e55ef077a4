"""Past backtest runs: the rows recorded in ``strategy_executions`` and the saved reports. One home for the
CLI (`alphintra backtest list|show`) and the daemon (`/api/v1/backtests`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.errors import NotFoundError

if TYPE_CHECKING:
    from alphintra.storage.state import StateStore
    from alphintra.strategies.result import BacktestResult


def new_run_id(strategy: str, started_ns: int, seed: int) -> str:
    """``<strategy>-<start, unix seconds>-<seed>-<6 hex>``: readable, sorted by start within a strategy, and unique
    although two runs may start in the same second with the same seed (the random tail; the report writer also
    claims its directory exclusively, so a repeat never overwrites another run's reports)."""
    return f"{strategy}-{started_ns // 1_000_000_000}-{seed}-{secrets.token_hex(3)}"


def list_runs(store: StateStore, *, limit: int = 20, strategy: str | None = None) -> list[dict[str, Any]]:
    """Newest first, with their headline metrics."""
    rows = []
    for ex in store.list_executions(execution_type="backtest", limit=limit if strategy is None else 10 * limit):
        cfg = ex.config or {}
        if strategy and cfg.get("strategy") != strategy:
            continue
        m = (ex.results or {}).get("metrics", {})
        rows.append(
            {
                "id": cfg.get("run_id"),
                "strategy": cfg.get("strategy"),
                "symbols": ",".join(cfg.get("symbols", [])),
                "timeframe": cfg.get("timeframe"),
                "total_return": m.get("total_return"),
                "sharpe": m.get("sharpe"),
                "max_drawdown": m.get("max_drawdown"),
                "trades": m.get("num_trades"),
                "completed_at": ex.completed_at,
            }
        )
    return rows[:limit]


def load_run(reports: Path, run_id: str) -> BacktestResult:
    from alphintra.strategies.report import load_result, report_dir

    path = report_dir(run_id, reports) / "result.json"
    if not path.exists():
        raise NotFoundError(f"no saved run {run_id!r} (looked in {path.parent})")
    return load_result(path)


__all__ = ["list_runs", "load_run", "new_run_id"]
