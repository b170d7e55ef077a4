"""The one vocabulary of bar timeframes, with their durations and calendar alignment.

Alignment rules (all in UTC):

* intraday and daily bars (``1m`` … ``1d``) start on multiples of their duration counted from the Unix epoch,
  which is midnight, so ``4h`` bars start at 00:00, 04:00, … and ``1d`` bars at 00:00;
* weekly bars start on Monday 00:00 (ISO weeks), the convention of most venues and of DuckDB's ``date_trunc``;
* monthly bars (``1M``, capital M as in ccxt) start at 00:00 on the first day of the calendar month.

A bar's ``time`` is always the start of its period.
"""

from __future__ import annotations

from dataclasses import dataclass

from alphintra.errors import ValidationError

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR
# 1970-01-01 was a Thursday; the first Monday is four days later.
WEEK_ORIGIN_NS = 4 * NS_PER_DAY


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A bar length: either a fixed duration in nanoseconds or a number of calendar months."""

    name: str
    nanos: int  # 0 for calendar months
    months: int = 0

    @property
    def is_calendar(self) -> bool:
        return self.months > 0

    @property
    def polars_every(self) -> str:
        """The interval string polars' ``truncate``/``group_by_dynamic`` understand."""
        if self.months:
            return f"{self.months}mo"
        if self.nanos % (7 * NS_PER_DAY) == 0:
            return f"{self.nanos // (7 * NS_PER_DAY)}w"
        if self.nanos % NS_PER_DAY == 0:
            return f"{self.nanos // NS_PER_DAY}d"
        if self.nanos % NS_PER_HOUR == 0:
            return f"{self.nanos // NS_PER_HOUR}h"
        return f"{self.nanos // NS_PER_MINUTE}m"

    @property
    def approx_nanos(self) -> int:
        """A duration usable for ordering and rough sizes (a month counts as 30.44 days)."""
        return self.nanos or int(self.months * 30.436875 * NS_PER_DAY)

    def floor_ns(self, t: int) -> int:
        """The start of the bar that contains instant ``t`` (ns since the epoch, UTC)."""
        if self.months:
            from datetime import UTC, datetime

            dt = datetime.fromtimestamp(t // NS_PER_SECOND, tz=UTC)
            index = (dt.year * 12 + dt.month - 1) // self.months * self.months
            start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
            return int(start.timestamp()) * NS_PER_SECOND
        origin = WEEK_ORIGIN_NS if self.nanos % (7 * NS_PER_DAY) == 0 else 0
        return (t - origin) // self.nanos * self.nanos + origin

    def is_aligned(self, t: int) -> bool:
        return self.floor_ns(t) == t

    def divides(self, coarser: Timeframe) -> bool:
        """Whether bars of this timeframe tile bars of ``coarser`` exactly (so they can be resampled into it)."""
        if coarser.months:
            if self.months:
                return coarser.months % self.months == 0
            # Months start at midnight, so any bar of a day or shorter that divides a day tiles a month.
            return NS_PER_DAY % self.nanos == 0
        if self.months:
            return False
        return coarser.nanos % self.nanos == 0 and coarser.nanos > self.nanos

    def __str__(self) -> str:
        return self.name


TIMEFRAMES: dict[str, Timeframe] = {
    tf.name: tf
    for tf in (
        Timeframe("1m", NS_PER_MINUTE),
        Timeframe("5m", 5 * NS_PER_MINUTE),
        Timeframe("15m", 15 * NS_PER_MINUTE),
        Timeframe("30m", 30 * NS_PER_MINUTE),
        Timeframe("1h", NS_PER_HOUR),
        Timeframe("4h", 4 * NS_PER_HOUR),
        Timeframe("1d", NS_PER_DAY),
        Timeframe("1w", 7 * NS_PER_DAY),
        Timeframe("1M", 0, months=1),
    )
}


def parse_timeframe(value: str | Timeframe, *, field: str = "timeframe") -> Timeframe:
    """``"1h"`` → the 1h timeframe; anything outside the vocabulary is a ValidationError naming the choices."""
    if isinstance(value, Timeframe):
        return value
    tf = TIMEFRAMES.get(value.strip())
    if tf is None:
        raise ValidationError(field, f"must be one of {', '.join(TIMEFRAMES)}", value)
    return tf


__all__ = [
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "TIMEFRAMES",
    "Timeframe",
    "parse_timeframe",
]
