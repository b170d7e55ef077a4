"""The JSON report: ``BacktestResult.to_dict`` as strict JSON (no NaN), and back."""

from __future__ import annotations

import json
from pathlib import Path

from alphintra.errors import NotFoundError, ValidationError
from alphintra.strategies.result import BacktestResult


def to_json(result: BacktestResult, *, indent: int | None = 2) -> str:
    """Decimals are strings and timestamps integer nanoseconds (UTC), so no precision is lost in transit."""
    return json.dumps(result.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)


def from_json(text: str) -> BacktestResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("json", "must be valid JSON", f"line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValidationError("json", "must be an object", type(data).__name__)
    return BacktestResult.from_dict(data)


def load_result(path: Path) -> BacktestResult:
    """Read a ``result.json`` written by ``write_report``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"no report at {path}") from None
    return from_json(text)


__all__ = ["from_json", "load_result", "to_json"]
