"""Technical indicators in two forms that give the same numbers.

* ``vectorised``: functions over polars Series for research, charts and warm-up (``sma(close, 20)``);
* ``incremental``: small O(1)-per-update classes for live sessions and event-driven backtests
  (``SMA(20).update(price)``, ``None`` until warmed up).

Definitions and warm-up follow TA-Lib (documented on each vectorised function, with the few deliberate
departures). ``INDICATORS`` maps a name to both forms; ``compute`` and ``create`` use it. The
incremental classes import without polars; the vectorised functions and the registry load it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import Indicator
from .incremental import (
    ADX,
    ATR,
    EMA,
    MACD,
    OBV,
    RSI,
    SMA,
    VWAP,
    WMA,
    ADXValue,
    BollingerBands,
    BollingerValue,
    Donchian,
    DonchianValue,
    MACDValue,
    Stochastic,
    StochasticValue,
    ZScore,
)

if TYPE_CHECKING:
    from .registry import INDICATORS, IndicatorSpec, compute, create, lookup
    from .vectorised import adx, atr, bollinger, donchian, ema, macd, obv, rsi, sma, stochastic, vwap, wma, zscore

# The vectorised form and the registry need polars (about a second to import on a busy machine); a live
# strategy that only uses the incremental classes, or a CLI module imported for shell completion, should not
# pay for it. They load on first use.
_LAZY = {
    **dict.fromkeys(("INDICATORS", "IndicatorSpec", "compute", "create", "lookup"), "registry"),
    **dict.fromkeys(
        (
            "adx",
            "atr",
            "bollinger",
            "donchian",
            "ema",
            "macd",
            "obv",
            "rsi",
            "sma",
            "stochastic",
            "vwap",
            "wma",
            "zscore",
        ),
        "vectorised",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "INDICATORS",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "ADXValue",
    "BollingerBands",
    "BollingerValue",
    "Donchian",
    "DonchianValue",
    "Indicator",
    "IndicatorSpec",
    "MACDValue",
    "Stochastic",
    "StochasticValue",
    "ZScore",
    "adx",
    "atr",
    "bollinger",
    "compute",
    "create",
    "donchian",
    "ema",
    "lookup",
    "macd",
    "obv",
    "rsi",
    "sma",
    "stochastic",
    "vwap",
    "wma",
    "zscore",
]
