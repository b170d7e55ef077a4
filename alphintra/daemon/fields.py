"""Field types for the API's request bodies: what a money amount, a quantity or a timestamp may look like.

Every rule here is also what the OpenAPI document says (``json_schema``), so a client generated from the document
and the server agree on what is valid. Values that break a rule are refused with 422 naming the field, before any
handler runs: an amount such as ``"1E+999999999"`` used to reach the engine and fail there with
``decimal.Overflow`` (500), and ``expires_at_ns = 10**30`` was accepted and then broke the SQL projection.

Money and quantities travel as plain decimal strings (the project's rule: never a float): digits, an optional
fraction, no sign, no exponent, at most ``MONEY_INT_DIGITS`` integer and ``MONEY_FRAC_DIGITS`` fraction digits.
Timestamps are nanoseconds since the epoch between 1970 and the largest signed 64-bit value (2262-04-11), the
range the journal and the projection's INTEGER columns hold.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, WithJsonSchema
from pydantic_core import PydanticCustomError

MONEY_INT_DIGITS = 20
MONEY_FRAC_DIGITS = 18
MONEY_PATTERN = rf"^(0|[1-9][0-9]{{0,{MONEY_INT_DIGITS - 1}}})(\.[0-9]{{1,{MONEY_FRAC_DIGITS}}})?$"
# The same, zero excluded (a lookahead, so the document can say it as well as the server).
POSITIVE_MONEY_PATTERN = r"^(?!0(\.0+)?$)" + MONEY_PATTERN[1:]
_MONEY = re.compile(MONEY_PATTERN)
_POSITIVE_MONEY = re.compile(POSITIVE_MONEY_PATTERN)
_DIGITS = f"at most {MONEY_INT_DIGITS} digits before the point and {MONEY_FRAC_DIGITS} after"
MONEY_RULE = f'must be a plain decimal string such as "12.5" (no sign, exponent or leading zeros; {_DIGITS})'
POSITIVE_MONEY_RULE = (
    f'must be a plain decimal string greater than zero, such as "12.5" (no sign, exponent or leading zeros; {_DIGITS})'
)
_MAX_LENGTH = MONEY_INT_DIGITS + MONEY_FRAC_DIGITS + 1
MAX_TIMESTAMP_NS = 2**63 - 1  # 2262-04-11T23:47:16.854775807Z: what a signed 64-bit column holds


def _money(value: Any, pattern: re.Pattern[str], code: str, rule: str) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():  # already parsed (a model built in Python)
        value = format(value, "f")
    if not isinstance(value, str) or len(value) > _MAX_LENGTH or pattern.match(value) is None:
        raise PydanticCustomError(code, rule)
    return Decimal(value)


def parse_money(value: Any) -> Decimal:
    """A plain decimal string (>= 0) to a Decimal; anything else raises the pydantic error naming the rule."""
    return _money(value, _MONEY, "money", MONEY_RULE)


def parse_positive_money(value: Any) -> Decimal:
    """:func:`parse_money`, zero refused."""
    return _money(value, _POSITIVE_MONEY, "positive_money", POSITIVE_MONEY_RULE)


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "maxLength": _MAX_LENGTH}),
]
PositiveMoney = Annotated[
    Decimal,
    BeforeValidator(parse_positive_money),
    WithJsonSchema({"type": "string", "pattern": POSITIVE_MONEY_PATTERN, "maxLength": _MAX_LENGTH}),
]
TimestampNs = Annotated[StrictInt, Field(gt=0, le=MAX_TIMESTAMP_NS)]
Flag = StrictBool


__all__ = [
    "MAX_TIMESTAMP_NS",
    "MONEY_PATTERN",
    "MONEY_RULE",
    "POSITIVE_MONEY_PATTERN",
    "POSITIVE_MONEY_RULE",
    "Flag",
    "Money",
    "PositiveMoney",
    "TimestampNs",
    "parse_money",
    "parse_positive_money",
]
