"""How numbers and times are written for people and for other programs: the one home shared by the API views,
the command line and the terminal UI.

Pure functions with no I/O and no project imports (like alphintra.errors), so that every layer (engine core <-
storage <- daemon <- cli/tui) may use them.

- JSON carries decimals as plain strings (``"0.000000001"``, never ``"0E-9"``) and times as ISO-8601 UTC text.
  Engine times are nanoseconds since the epoch; the ISO text keeps all nine fraction digits, so that
  :func:`ns_from_iso` gives back the exact integer (orders and fills are ordered by it).
- Tables show amounts at the precision of their instrument or currency, with thousands separators.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")

# Places a currency is shown with in tables when no instrument says otherwise (ISO 4217 minor units; crypto
# assets at satoshi precision).
CURRENCY_PLACES: dict[str, int] = {"JPY": 0, "KRW": 0, "BTC": 8, "ETH": 8, "USDT": 2, "USDC": 2}
DEFAULT_PLACES = 2
# Our own context, never the thread's: ccxt's decimal_to_precision sets the thread's decimal context to
# ROUND_HALF_UP (and traps Underflow) for good once any venue call has run, which made ``1234.5 JPY`` show as
# ``1,235`` after a download in the same process.
_TABLE = Context(prec=64, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> str:
    """A decimal as plain text, never in exponent form: ``Decimal('0E-9')`` -> ``"0"``, ``1E+3`` -> ``"1000"``.

    Trailing zeros the value carries are kept (``"1.50"``): they are its precision. A zero loses its exponent.
    """
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    return format(value, "f")


def iso_ns(ns: int | None) -> str | None:
    """Engine nanoseconds as ISO-8601 UTC text with every digit kept, e.g. ``2024-05-01T12:00:00.000000123+00:00``.

    Whole seconds print without a fraction. None stays None.
    """
    if ns is None:
        return None
    seconds, frac = divmod(int(ns), _NS)
    text = _second_text(seconds)
    return f"{text}.{frac:09d}+00:00" if frac else f"{text}+00:00"


# A datetime and strftime per time cost ~2.5 us: every streamed order update prints three times, and so does every
# order of a listing. Times come in runs of the same second and day: each is printed once.
@functools.lru_cache(maxsize=4096)
def _second_text(seconds: int) -> str:
    day, second = divmod(seconds, 86_400)
    hour, second = divmod(second, 3_600)
    minute, second = divmod(second, 60)
    return f"{_date_text(day)}T{hour:02d}:{minute:02d}:{second:02d}"


@functools.lru_cache(maxsize=1024)
def _date_text(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


def iso_dt(moment: datetime | None) -> str | None:
    """A datetime as ISO-8601 UTC text in the same form as :func:`iso_ns` (naive means UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment.astimezone(UTC) - _EPOCH
    return iso_ns((delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1_000)


def ns_from_iso(text: str | int | None) -> int | None:
    """The inverse of :func:`iso_ns` (any ISO-8601 text with a zone, or none for UTC); an int passes through."""
    if text is None or isinstance(text, int):
        return text
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 time: {text!r}")
    head, frac, zone = match.groups()
    moment = datetime.fromisoformat(head.replace(" ", "T") + ("+00:00" if zone in (None, "Z") else zone))
    delta = moment - _EPOCH
    whole = (delta.days * 86_400 + delta.seconds) * _NS
    return whole + int((frac or "0").ljust(9, "0"))


def places_for(step: Decimal | None, default: int = DEFAULT_PLACES) -> int:
    """How many decimals an amount with this increment (tick or lot size) shows: 0.01 -> 2, 1 -> 0."""
    if step is None or not step.is_finite() or step.is_zero():
        return default
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else default


def currency_places(currency: str | None) -> int:
    return CURRENCY_PLACES.get((currency or "").upper(), DEFAULT_PLACES)


def amount(value: Decimal | int | float | str | None, places: int = DEFAULT_PLACES) -> str:
    """An amount for a table: rounded to ``places`` decimals (half-even, as the ledger rounds), with thousands
    separators: ``93346.72052322477`` -> ``93,346.72``. None is ``-``."""
    if value is None:
        return "-"
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(number)
    quantum = Decimal(1).scaleb(-places)
    digits = max(number.adjusted(), 0) + places + 2
    context = _TABLE if digits <= _TABLE.prec else _TABLE.copy()
    context.prec = max(context.prec, digits)
    return f"{number.quantize(quantum, context=context):,f}"


def money(value: Decimal | int | float | str | None, currency: str | None = None) -> str:
    """An amount of ``currency`` at that currency's precision: ``money(Decimal("90715.817092"), "USD")`` is
    ``90,715.82``."""
    return amount(value, currency_places(currency))


def percent(fraction: float | Decimal | None, places: int = 2) -> str:
    """A return or ratio given as a fraction, as a percentage: ``0.0123`` -> ``1.23 %``."""
    if fraction is None:
        return "-"
    return f"{float(fraction) * 100:,.{places}f} %"


def bar_price(value: float) -> float:
    """A bar price read from float storage, without the float's noise: ``104.57000000000001`` -> ``104.57``.

    Bars are stored as float64; 12 significant digits hold every price a venue quotes and drop the binary noise.
    """
    return float(f"{value:.12g}")


__all__ = [
    "CURRENCY_PLACES",
    "amount",
    "bar_price",
    "currency_places",
    "iso_dt",
    "iso_ns",
    "money",
    "ns_from_iso",
    "percent",
    "places_for",
    "plain",
]
