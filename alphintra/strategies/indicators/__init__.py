"""Technical indicators in two forms that give the same numbers.

* ``vectorised``: functions over polars Series for research, charts and warm-up (``sma(close, 20)``);
* ``incremental``: small O(1)-per-update classes for live sessions and event-driven backtests
  (``SMA(20).update(price)``, ``None`` until warmed up).

Definitions and warm-up follow TA-Lib (documented on each vectorised function, with the few deliberate
departures). ``INDICATORS`` maps a name to both forms; ``compute`` and ``create`` use it.
"""

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
from .registry import INDICATORS, IndicatorSpec, compute, create, lookup
from .vectorised import adx, atr, bollinger, donchian, ema, macd, obv, rsi, sma, stochastic, vwap, wma, zscore

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
