"""Objectives for the optimiser tests, importable by spawned worker processes (they must be top-level)."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from alphintra.strategies.result import BacktestResult

H = 3_600 * 10**9


def score_objective(params: dict[str, Any], offset: int) -> dict[str, Any]:
    if params["fast"] == 13:
        raise RuntimeError("unlucky parameter")
    return {"score": params["fast"] * 2 + params["x"] + offset, "pid": os.getpid(), "none": None}


def tied_objective(params: dict[str, Any]) -> dict[str, Any]:
    return {"score": 1.0 if params["a"] in (2, 3) else 0.0}


def tied_objective_ab(params: dict[str, Any]) -> dict[str, Any]:
    """Fails for a set where fast is not below slow: a check must have refused it before it runs."""
    if params["fast"] >= params["slow"]:
        raise ValueError("an invalid set reached the objective")
    return {"score": params["slow"] - params["fast"]}


def window_objective(params: dict[str, Any], start_ns: int, end_ns: int, base: int) -> BacktestResult:
    """Equity grows by ``a * trend`` per hour, where the trend's sign depends on the window: the best ``a``
    changes from window to window. Only bars with start_ns <= ts < end_ns are produced."""
    trend = (start_ns // H) % 7 - 3
    slope = params["a"] * trend
    equity = [(ts, Decimal(base + slope * k)) for k, ts in enumerate(range(start_ns, end_ns, H))]
    return BacktestResult.build(
        run_id=f"wf-{start_ns}-{params['a']}",
        strategy="toy",
        params=params,
        symbols=["X"],
        timeframe="1h",
        start_ns=start_ns,
        end_ns=end_ns,
        equity=equity,
    )


def failing_objective(params: dict[str, Any], start_ns: int, end_ns: int) -> dict[str, Any]:
    raise ValueError(f"no data for {params}")


def dying_objective(params: dict[str, Any]) -> dict[str, Any]:
    """Kills its worker outright, as an out-of-memory kill or a native crash would."""
    os._exit(3)
