"""Real sample data shipped as package data (see PROVENANCE.md), with how each file is stored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SampleFile:
    file: str
    symbol: str
    exchange: str
    timeframe: str
    currency: str
    rows: int
    snap: bool = False  # True when the file labels bars by their last day rather than their start


SAMPLES: tuple[SampleFile, ...] = (
    SampleFile("GOOG.csv", "GOOG", "NASDAQ", "1d", "USD", 2148),
    SampleFile("EURUSD.csv", "EUR/USD", "FX", "1h", "USD", 5000),
    SampleFile("BTCUSD.csv", "BTC/USD", "BITSTAMP", "1M", "USD", 156, snap=True),
)

__all__ = ["SAMPLES", "SampleFile"]
