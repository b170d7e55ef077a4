"""A backtest result as the API and ``--json`` show it (docs/api.md): times as ISO-8601 UTC text.

``BacktestResult.to_dict`` is the storage format of ``result.json`` (integer nanoseconds, read back by
``from_dict``); this view is what a person or another program reads. The ``*_ns`` integers of the run's span stay
beside their ISO twins for programs that compute with them.
"""

from __future__ import annotations

from typing import Any

from alphintra.formatting import iso_ns

_SPANS = (
    ("start_ns", "start"),
    ("end_ns", "end"),
    ("started_at_ns", "started_at"),
    ("completed_at_ns", "completed_at"),
)


def _points(points: list[list[Any]]) -> list[list[Any]]:
    return [[iso_ns(ts), value] for ts, value in points]


def _times(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return [{**row, **{k: iso_ns(row.get(k)) for k in keys if k in row}} for row in rows]


def result_view(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` is ``BacktestResult.to_dict()``; returns a copy with every time as ISO text."""
    out = dict(data)
    for ns_key, key in _SPANS:
        if ns_key in out:
            out[key] = iso_ns(out[ns_key])
    metrics = out.get("metrics")
    if isinstance(metrics, dict):
        out["metrics"] = {**metrics, **{k: iso_ns(metrics.get(k)) for k in ("start_ts", "end_ts") if k in metrics}}
    for key in ("equity", "drawdown"):
        out[key] = _points(out.get(key) or [])
    out["prices"] = [{**p, "points": _points(p.get("points") or [])} for p in out.get("prices") or []]
    out["trades"] = _times(out.get("trades") or [], "entry_ts", "exit_ts")
    out["fills"] = _times(out.get("fills") or [], "ts")
    out["halts"] = _times(out.get("halts") or [], "ts")
    return out


__all__ = ["result_view"]
