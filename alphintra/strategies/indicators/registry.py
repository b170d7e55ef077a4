"""The indicators by name, so strategies, the CLI and the TUI chart can find them from a string.

``INDICATORS[name]`` gives both forms of one indicator and what they read and write; ``compute`` runs the
vectorised form over an OHLCV DataFrame, ``create`` builds the incremental form. Both take the same keyword
parameters (``period=...``), so a chart drawn with ``compute`` and a strategy fed with ``create`` agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import polars as pl

from alphintra.errors import ValidationError

from . import incremental as inc
from . import vectorised as vec
from ._base import Indicator


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator: its two forms, the bar fields both take (in order) and the outputs both give."""

    name: str
    vectorised: Callable[..., pl.Series | pl.DataFrame]
    incremental: type[Indicator[Any]]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    summary: str

    @property
    def single_input(self) -> bool:
        """True when the indicator reads one series, which a ``source`` parameter may choose."""
        return len(self.inputs) == 1


def _spec(
    name: str,
    vectorised: Callable[..., pl.Series | pl.DataFrame],
    incremental: type[Indicator[Any]],
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    summary: str,
) -> tuple[str, IndicatorSpec]:
    return name, IndicatorSpec(name, vectorised, incremental, inputs, outputs, summary)


_CLOSE = ("close",)
_HLC = ("high", "low", "close")

INDICATORS: Mapping[str, IndicatorSpec] = MappingProxyType(
    dict(
        [
            _spec("sma", vec.sma, inc.SMA, _CLOSE, ("sma",), "simple moving average"),
            _spec("ema", vec.ema, inc.EMA, _CLOSE, ("ema",), "exponential moving average (SMA seed)"),
            _spec("wma", vec.wma, inc.WMA, _CLOSE, ("wma",), "linearly weighted moving average"),
            _spec("rsi", vec.rsi, inc.RSI, _CLOSE, ("rsi",), "Wilder's relative strength index"),
            _spec("macd", vec.macd, inc.MACD, _CLOSE, ("macd", "signal", "histogram"), "MACD line, signal, histogram"),
            _spec(
                "bollinger",
                vec.bollinger,
                inc.BollingerBands,
                _CLOSE,
                ("middle", "upper", "lower", "percent_b", "bandwidth"),
                "Bollinger bands (population σ)",
            ),
            _spec("zscore", vec.zscore, inc.ZScore, _CLOSE, ("zscore",), "rolling z-score"),
            _spec("atr", vec.atr, inc.ATR, _HLC, ("atr",), "Wilder's average true range"),
            _spec(
                "adx", vec.adx, inc.ADX, _HLC, ("plus_di", "minus_di", "adx"), "directional movement (+DI, -DI, ADX)"
            ),
            _spec(
                "stochastic",
                vec.stochastic,
                inc.Stochastic,
                _HLC,
                ("fast_k", "fast_d", "slow_k", "slow_d"),
                "stochastic oscillator, fast and slow",
            ),
            _spec("obv", vec.obv, inc.OBV, ("close", "volume"), ("obv",), "on-balance volume"),
            _spec(
                "vwap",
                vec.vwap,
                inc.VWAP,
                ("high", "low", "close", "volume"),
                ("vwap",),
                "volume-weighted average price, cumulative or rolling",
            ),
            _spec(
                "donchian",
                vec.donchian,
                inc.Donchian,
                ("high", "low"),
                ("upper", "lower", "middle"),
                "Donchian channel",
            ),
        ]
    )
)


def lookup(name: str) -> IndicatorSpec:
    """The indicator called ``name`` (case-insensitive); ValidationError naming the known ones otherwise."""
    spec = INDICATORS.get(name.lower()) if isinstance(name, str) else None
    if spec is None:
        raise ValidationError("indicator", f"must be one of: {', '.join(sorted(INDICATORS))}", name)
    return spec


def _column(frame: pl.DataFrame, field: str, wanted: str) -> pl.Series:
    by_lower = {column.lower(): column for column in frame.columns}
    column = by_lower.get(wanted.lower())
    if column is None:
        raise ValidationError(field, f"needs a column {wanted!r} (columns: {', '.join(frame.columns)})", wanted)
    return frame[column]


def compute(name: str, frame: pl.DataFrame, **params: Any) -> pl.DataFrame:
    """Run indicator ``name`` over ``frame`` (columns open/high/low/close/volume in any letter case).

    Returns a DataFrame with one column per output, as many rows as ``frame``, null during warm-up. For a
    single-input indicator ``source="volume"`` (say) picks the column to read instead of close; for VWAP
    ``session`` may name a column of session keys.
    """
    spec = lookup(name)
    source = params.pop("source", None)
    if source is not None and not spec.single_input:
        raise ValidationError("source", f"only applies to single-input indicators, not {spec.name}", source)
    fields = (source,) if source is not None else spec.inputs
    series = [_column(frame, "source" if source is not None else field, field) for field in fields]
    if spec.name == "vwap" and isinstance(params.get("session"), str):
        params["session"] = _column(frame, "session", params["session"])
    result = spec.vectorised(*series, **params)
    if isinstance(result, pl.Series):
        return result.alias(spec.outputs[0]).to_frame()
    return result


def create(name: str, **params: Any) -> Indicator[Any]:
    """A fresh incremental indicator ``name`` with the same keyword parameters ``compute`` takes."""
    spec = lookup(name)
    if "source" in params and not spec.single_input:
        raise ValidationError("source", f"only applies to single-input indicators, not {spec.name}", params["source"])
    try:
        return spec.incremental(**params)
    except TypeError as exc:
        raise ValidationError("params", f"not accepted by {spec.name}: {exc}", sorted(params)) from None


__all__ = ["INDICATORS", "IndicatorSpec", "compute", "create", "lookup"]
