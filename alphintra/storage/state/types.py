"""Column types that keep money exact and time zone-aware on every backend.

SQLAlchemy's ``Numeric`` on SQLite stores a REAL (binary float), so ``12345678901234.123456789012345678`` comes
back with its last digits changed. :class:`ExactDecimal` is ``NUMERIC(38, 18)`` on PostgreSQL and a canonical
decimal string on SQLite, and refuses floats and values that would not fit, so both backends keep every digit.

SQLite has no time zone type either; :class:`UTCDateTime` stores UTC there and hands back aware UTC datetimes
on every backend. Timestamps enter as aware datetimes or as the engine's int nanoseconds since the epoch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from alphintra.errors import ValidationError

PRECISION = 38
SCALE = 18
_INTEGER_DIGITS = PRECISION - SCALE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# normalize() and quantize() round to the context's precision (28 digits by default): far too few for 38.
WIDE = Context(prec=100)

# JSONB on PostgreSQL (indexable, as in the plan's schema), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def canonical_decimal(value: Decimal) -> Decimal:
    """The shortest exact form: ``0.300000000000000000`` -> ``0.3``, ``1E+2`` -> ``100``.

    PostgreSQL returns every NUMERIC(38, 18) with 18 places; normalising makes both backends print alike.
    """
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=WIDE)
    return value.normalize(WIDE)


def to_decimal(value: object, field: str) -> Decimal:
    """Accept Decimal, int or a decimal string; refuse float (it is already inexact) and what cannot be stored."""
    if isinstance(value, bool | float):
        raise ValidationError(field, "must be a Decimal, int or decimal string, not float", value)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(field, "must be a decimal number", value) from None
    else:
        raise ValidationError(field, "must be a Decimal, int or decimal string", value)
    if not dec.is_finite():
        raise ValidationError(field, "must be a finite number", value)
    _sign, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if exponent >= -SCALE and len(digits) + exponent <= _INTEGER_DIGITS:
        # Fits as written (normalising only drops trailing zeros: fewer places, the same integer digits).
        return dec
    _sign, digits, exponent = dec.normalize(WIDE).as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if exponent < -SCALE:
        raise ValidationError(field, f"has more than {SCALE} decimal places", value)
    integer_digits = len(digits) + exponent
    if integer_digits > _INTEGER_DIGITS:
        raise ValidationError(field, f"has more than {_INTEGER_DIGITS} digits before the decimal point", value)
    return dec


def to_utc(value: object, field: str) -> datetime:
    """An aware UTC datetime from an aware datetime or int nanoseconds; naive datetimes are ambiguous."""
    if isinstance(value, bool):
        raise ValidationError(field, "must be a timezone-aware datetime or int nanoseconds", value)
    if isinstance(value, int):
        # Microseconds are what both backends keep; the journal keeps the nanoseconds.
        return _EPOCH + timedelta(microseconds=value // 1000)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValidationError(field, "must be timezone-aware (naive datetimes are ambiguous)", value)
        return value.astimezone(UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, "must be an ISO-8601 timestamp with offset", value) from None
        return to_utc(parsed, field)
    raise ValidationError(field, "must be a timezone-aware datetime or int nanoseconds", value)


def to_ns(value: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact: integer arithmetic, no float)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(38, 18) on PostgreSQL, a decimal string on SQLite; Decimal in, canonical Decimal out."""

    impl = Numeric(PRECISION, SCALE)
    cache_ok = True

    def __init__(self, field: str = "decimal") -> None:
        super().__init__()
        self.field = field

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # 60 chars hold 38 digits, sign, point and the leading "0." of small values.
            return dialect.type_descriptor(String(60))
        return dialect.type_descriptor(Numeric(PRECISION, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        dec = to_decimal(value, self.field)
        if dialect.name == "sqlite":
            # Canonical text on the way in makes reading back a plain Decimal(text): no normalising per row.
            return format(canonical_decimal(dec), "f")
        return dec

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Decimal(value)
        return canonical_decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """TIMESTAMP WITH TIME ZONE; SQLite keeps naive UTC, and every backend returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def __init__(self, field: str = "timestamp") -> None:
        super().__init__()
        self.field = field

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        aware = to_utc(value, self.field)
        if dialect.name == "sqlite":
            return aware.replace(tzinfo=None)
        return aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_default(obj: Any) -> Any:
    """Decimals inside JSON documents (backtest results, configs) become strings, never floats."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def json_dumps(obj: Any) -> str:
    return json.dumps(obj, default=json_default, separators=(",", ":"))


__all__ = [
    "PRECISION",
    "SCALE",
    "WIDE",
    "ExactDecimal",
    "JSONType",
    "UTCDateTime",
    "canonical_decimal",
    "json_default",
    "json_dumps",
    "to_decimal",
    "to_ns",
    "to_utc",
]
