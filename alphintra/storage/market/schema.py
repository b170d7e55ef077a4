"""Column layouts of the three market-data tables and the conversions every entry point shares.

The OHLCV table follows the plan's ``market_data`` (§6.2) with shorter price names: time, symbol, exchange,
timeframe, open, high, low, close, volume, quote_volume, trades_count.

Prices and volumes are float64 in the columnar store. Bars and prints are observations, not balances: float64
holds 15-16 significant digits, far beyond any venue's tick, and it is what vectorised analytics need. The engine
converts to Decimal on the instrument's tick grid at its boundary; balances never live here.

Times are ``Datetime("ns", "UTC")`` in frames and int nanoseconds since the epoch at the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl

TimeLike = int | datetime | date | str


class Kind(StrEnum):
    """The three tables of the store."""

    OHLCV = "ohlcv"
    TRADES = "trades"
    BOOK = "book_snapshots"


OHLCV_COLUMNS = (
    "time",
    "symbol",
    "exchange",
    "timeframe",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades_count",
)
TRADE_COLUMNS = ("time", "symbol", "exchange", "price", "quantity", "side", "trade_id")
BOOK_COLUMNS = ("time", "symbol", "exchange", "bids", "asks")
PRICE_COLUMNS = ("open", "high", "low", "close")
TRADE_SIDES = ("buy", "sell")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")


def ohlcv_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "time": pl.Datetime("ns", "UTC"),
        "symbol": pl.String(),
        "exchange": pl.String(),
        "timeframe": pl.String(),
        "open": pl.Float64(),
        "high": pl.Float64(),
        "low": pl.Float64(),
        "close": pl.Float64(),
        "volume": pl.Float64(),
        "quote_volume": pl.Float64(),
        "trades_count": pl.Int64(),
    }


def trade_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return {
        "time": pl.Datetime("ns", "UTC"),
        "symbol": pl.String(),
        "exchange": pl.String(),
        "price": pl.Float64(),
        "quantity": pl.Float64(),
        "side": pl.String(),
        "trade_id": pl.String(),
    }


def book_schema() -> dict[str, pl.DataType]:
    import polars as pl

    level = pl.List(pl.Struct({"price": pl.Float64(), "quantity": pl.Float64()}))
    return {
        "time": pl.Datetime("ns", "UTC"),
        "symbol": pl.String(),
        "exchange": pl.String(),
        "bids": level,
        "asks": level,
    }


def schema_for(kind: Kind) -> dict[str, pl.DataType]:
    return {Kind.OHLCV: ohlcv_schema, Kind.TRADES: trade_schema, Kind.BOOK: book_schema}[kind]()


def check_name(value: str, field: str, max_len: int) -> str:
    """Symbols and exchanges: non-empty, no spaces, at most the width of the plan's VARCHAR columns."""
    value = value.strip()
    if not value or not _NAME.match(value):
        raise ValidationError(field, "must start with a letter or digit and use only letters, digits and ._:/-", value)
    if len(value) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters", value)
    return value


def check_symbol(value: str) -> str:
    return check_name(value, "symbol", 20)


def check_exchange(value: str) -> str:
    return check_name(value, "exchange", 50)


@dataclass(frozen=True, slots=True)
class DatasetKey:
    """One series in the store: a symbol on an exchange, plus the timeframe for bars ('' for trades and books)."""

    kind: Kind
    exchange: str
    symbol: str
    timeframe: str = ""

    def label(self) -> str:
        tail = f" {self.timeframe}" if self.timeframe else ""
        return f"{self.kind.value} {self.exchange}:{self.symbol}{tail}"


def to_ns(value: TimeLike, field: str = "time") -> int:
    """Nanoseconds since the epoch (UTC) from an int (already ns), a datetime (naive means UTC), a date or ISO text."""
    if isinstance(value, bool):
        raise ValidationError(field, "must be a time", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                field, "must be an ISO date or time such as 2024-01-31 or 2024-01-31T12:00", value
            ) from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(value, date):
        return to_ns(datetime(value.year, value.month, value.day, tzinfo=UTC), field)
    raise ValidationError(field, "must be a time", value)


def from_ns(value: int) -> datetime:
    """A timezone-aware UTC datetime (microsecond precision, as Python's datetime allows)."""
    return datetime.fromtimestamp(value // 1_000_000_000, tz=UTC).replace(microsecond=(value % 1_000_000_000) // 1000)


__all__ = [
    "BOOK_COLUMNS",
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "TRADE_COLUMNS",
    "TRADE_SIDES",
    "DatasetKey",
    "Kind",
    "TimeLike",
    "book_schema",
    "check_exchange",
    "check_symbol",
    "from_ns",
    "ohlcv_schema",
    "schema_for",
    "to_ns",
    "trade_schema",
]
