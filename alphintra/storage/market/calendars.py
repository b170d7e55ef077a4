"""Exchange calendars (``exchange_calendars``: XNYS, XLON, XTKS ...) for the data checks of exchange-traded symbols.

A stock trades in sessions: no bar on a weekend, a holiday or outside the opening hours is missing. The sessions
come from the ``exchange_calendars`` package (the optional ``calendars`` extra), loaded only when a calendar is
asked for; the sessions of one calendar over one span are computed once per process.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import TYPE_CHECKING, Any

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

_NS_PER_DAY = 86_400 * 1_000_000_000


def _module() -> Any:
    try:
        import exchange_calendars
    except ImportError:
        raise ValidationError(
            "calendar", "needs the exchange_calendars package: pip install 'alphintra[calendars]'"
        ) from None
    return exchange_calendars


@cache
def calendar_names() -> frozenset[str]:
    return frozenset(_module().get_calendar_names(include_aliases=True))


def check_calendar(name: str, *, field: str = "calendar") -> str:
    """``name`` when it is an exchange calendar (XNYS, XLON ...); ValidationError naming ``field`` otherwise."""
    if name not in calendar_names():
        raise ValidationError(
            field, "must be an exchange calendar such as XNYS, XLON or XTKS (exchange_calendars)", name
        )
    return name


@cache
def _sessions(name: str, first_year: int, last_year: int) -> pl.DataFrame:
    import polars as pl

    with warnings.catch_warnings():
        # The package builds its calendars with a pandas call that pandas deprecates; nothing for us to act on.
        warnings.simplefilter("ignore")
        cal = _module().get_calendar(
            name, start=f"{max(first_year, 1990)}-01-01", end=f"{last_year}-12-31", side="left"
        )
        schedule = cal.schedule
    return pl.DataFrame(
        {
            "_date": [d.date() for d in schedule.index],
            "_open": [int(t.value) for t in schedule["open"]],
            "_close": [int(t.value) for t in schedule["close"]],
        }
    ).with_columns(
        pl.col("_open").cast(pl.Datetime("ns", "UTC")),
        pl.col("_close").cast(pl.Datetime("ns", "UTC")),
    )


def sessions(name: str, first_ns: int, last_ns: int) -> pl.DataFrame:
    """The sessions of calendar ``name`` covering the years of ``first_ns`` .. ``last_ns``: columns ``_date``
    (the session's date), ``_open`` and ``_close`` (UTC)."""
    from datetime import UTC, datetime

    check_calendar(name)
    first = datetime.fromtimestamp(first_ns // 1_000_000_000, tz=UTC).year
    last = datetime.fromtimestamp(last_ns // 1_000_000_000, tz=UTC).year
    return _sessions(name, first, last)


def in_session(times: pl.DataFrame, column: str, name: str, bar_ns: int) -> pl.Series:
    """For each time in ``times[column]``: does a bar starting then belong to a session of ``name``? A daily (or
    longer) bar needs its date to be a session; a shorter one must start within a session's opening hours."""
    import polars as pl

    if times.height == 0:
        return pl.Series(column, [], dtype=pl.Boolean)
    stamps = times[column].cast(pl.Int64)
    table = sessions(name, int(stamps.min()), int(stamps.max()))  # type: ignore[arg-type]
    if bar_ns >= _NS_PER_DAY:
        return times[column].dt.date().is_in(table["_date"].implode())
    probe = times.select(pl.col(column).alias("_t")).with_row_index("_k").sort("_t")
    joined = probe.join_asof(table.sort("_open"), left_on="_t", right_on="_open", strategy="backward")
    inside = joined.with_columns((pl.col("_close").is_not_null() & (pl.col("_t") < pl.col("_close"))).alias("_in"))
    return inside.sort("_k")["_in"]


def session_days(times: np.ndarray, name: str, intraday: bool) -> np.ndarray:
    """For sorted bar start times (ns, UTC): the date of the session of ``name`` each bar belongs to, as the ns of
    that date's UTC midnight, or -1 for a bar outside every session. An intraday bar belongs to the session whose
    opening hours (open inclusive, close exclusive, as the exchange keeps them in its own time zone, early closes
    included) contain its start; a daily bar to the session of its date."""
    import numpy as np
    import polars as pl

    if len(times) == 0:
        return np.empty(0, dtype=np.int64)
    table = sessions(name, int(times[0]), int(times[-1]))
    days = np.asarray(table["_date"].cast(pl.Datetime("ns")).to_physical().to_numpy(), dtype=np.int64)
    if not intraday:
        own = times - times % _NS_PER_DAY
        return np.where(np.isin(own, days), own, -1)
    opens = np.asarray(table["_open"].to_physical().to_numpy(), dtype=np.int64)
    closes = np.asarray(table["_close"].to_physical().to_numpy(), dtype=np.int64)
    index = np.searchsorted(opens, times, side="right") - 1  # the last session opened at or before each bar
    safe = np.maximum(index, 0)
    inside = (index >= 0) & (times < closes[safe])
    return np.where(inside, days[safe], -1)


__all__ = ["calendar_names", "check_calendar", "in_session", "session_days", "sessions"]
