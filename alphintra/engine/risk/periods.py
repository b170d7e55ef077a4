"""Periods per year and horizons: the one home for how bars of a timeframe annualise.

``periods_per_year(timeframe, calendar)``: crypto and FX trade around the clock (``"24x7"``: 365 days of 24 hours),
equities on 252 sessions of 6.5 hours (``"equity"``). Daily bars are 365 or 252 a year; intraday bars divide the
day (24x7) or the 390-minute session (equity); weekly bars are 365/7 (24x7) or 52 (equity); monthly bars are 12 in
both calendars. ``calendar_for`` picks the calendar from the instruments' asset classes, and ``horizon_label`` names
the horizon one bar (or ``n`` bars) of a timeframe covers, so a figure says what it is measured over.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from alphintra.engine.core.errors import ValidationError

Calendar = Literal["24x7", "equity"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_NAMES = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month"}
_DAY = 86_400
_ROUND_THE_CLOCK = frozenset({"crypto", "fx"})


def split_timeframe(timeframe: str) -> tuple[int, str]:
    """``"4h"`` -> (4, "h"); ``M`` is a month."""
    text = timeframe.strip() if isinstance(timeframe, str) else ""
    unit = text[-1:] if text else ""
    digits = text[:-1]
    if unit not in {*_UNITS, "M"} or not digits.isdigit() or int(digits) <= 0:
        raise ValidationError("timeframe", "must look like 1m, 5m, 1h, 4h, 1d, 1w or 1M", timeframe)
    return int(digits), unit


def timeframe_seconds(timeframe: str) -> int:
    """Length of a fixed-length bar in seconds (``1m`` = 60, ``4h`` = 14400, ``1w`` = 604800).

    Months have no fixed length, so ``1M`` is refused here; ``periods_per_year`` handles it on its own.
    """
    count, unit = split_timeframe(timeframe)
    if unit == "M":
        raise ValidationError("timeframe", "months have no fixed length in seconds", timeframe)
    return count * _UNITS[unit]


def periods_per_year(timeframe: str, calendar: Calendar = "24x7") -> float:
    """How many bars of ``timeframe`` make a year in ``calendar`` (see the module docstring)."""
    if calendar not in ("24x7", "equity"):
        raise ValidationError("calendar", "must be '24x7' or 'equity'", calendar)
    count, unit = split_timeframe(timeframe)
    if unit == "M":
        return 12.0 / count
    if unit == "w":
        return (365.0 / 7.0 if calendar == "24x7" else 52.0) / count
    seconds = count * _UNITS[unit]
    if calendar == "24x7":
        return 365.0 * _DAY / seconds
    if seconds >= _DAY:  # whole trading days however the timeframe is spelt ("1d", "24h", "86400s")
        return 252.0 * _DAY / seconds
    # Intraday equity bars: a 6.5-hour session (390 minutes) divided into bars, 252 sessions a year.
    return 252.0 * 390.0 * 60.0 / seconds


def calendar_for(asset_classes: Iterable[str]) -> Calendar:
    """``24x7`` when every instrument trades around the clock (crypto, FX), else ``equity`` (trading days); a
    mixed book is measured on the equity calendar, the one its closes all share."""
    classes = set(asset_classes)
    return "24x7" if classes and classes <= _ROUND_THE_CLOCK else "equity"


def horizon_label(timeframe: str, bars: int = 1) -> str:
    """``("1d", 1)`` -> ``"1 day"``; ``("1M", 1)`` -> ``"1 month"``; ``("4h", 2)`` -> ``"8 hours"``."""
    count, unit = split_timeframe(timeframe)
    total = count * bars
    return f"{total} {_NAMES[unit]}{'' if total == 1 else 's'}"


__all__ = ["Calendar", "calendar_for", "horizon_label", "periods_per_year", "split_timeframe", "timeframe_seconds"]
