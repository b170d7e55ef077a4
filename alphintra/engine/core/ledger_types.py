"""Value types, errors and number helpers of the portfolio ledger (see ``ledger.py`` for the rules).

Kept apart from the ledger itself so the views and errors can be imported by risk checks, the daemon's API
schemas and the TUI without pulling in the mutation logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from enum import StrEnum
from typing import Protocol

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.frozen import quick_init
from alphintra.engine.core.instrument import to_decimal as instrument_to_decimal

# Balance arithmetic runs in this context: 64 significant digits and a trap on Inexact, so a cash flow is either
# exact or refused -- conservation of every asset then holds to the last digit, not "to within rounding".
EXACT = Context(
    prec=64,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
# Average entry prices and valuations involve quotients (cost / quantity, 1 / price) that cannot be exact; they are
# reporting figures that never feed back into balances, so they are rounded here instead.
REPORT = Context(prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)
ONE = Decimal(1)

INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
LEVERAGE_LIMIT = "LEVERAGE_LIMIT"
NO_MARK = "NO_MARK"


class AccountMode(StrEnum):
    """``SPOT``: no balance may go negative. ``MARGIN``: balances may go negative (a loan) within a leverage limit."""

    SPOT = "SPOT"
    MARGIN = "MARGIN"


class InstrumentLike(Protocol):
    """What the ledger needs to know of an instrument; ``engine.core.instrument.Instrument`` satisfies it."""

    @property
    def symbol(self) -> str: ...

    @property
    def base(self) -> str: ...

    @property
    def quote(self) -> str: ...

    @property
    def taker_fee(self) -> Decimal: ...


def fmt(amount: Decimal) -> str:
    """An amount for a message: no exponent, no trailing zeros (6006.0000 -> 6006)."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class InsufficientBalance(ValidationError):
    """An operation would spend more of ``asset`` than the account has available; nothing was changed."""

    def __init__(self, account_id: str, asset: str, required: Decimal, available: Decimal) -> None:
        self.account_id = account_id
        self.asset = asset
        self.required = required
        self.available = available
        super().__init__(
            f"balances.{asset}",
            f"account {account_id!r} needs {fmt(required)} {asset} but has {fmt(available)} {asset} available",
            reason=INSUFFICIENT_BALANCE,
        )


class LeverageExceeded(ValidationError):
    """A margin operation would raise gross exposure above equity x leverage; nothing was changed."""

    def __init__(self, account_id: str, exposure: Decimal, equity: Decimal, leverage: Decimal) -> None:
        self.account_id = account_id
        self.exposure = exposure
        self.equity = equity
        self.leverage = leverage
        super().__init__(
            "leverage",
            f"account {account_id!r}: exposure {fmt(exposure)} would exceed equity {fmt(equity)}"
            f" x leverage {fmt(leverage)}",
            reason=LEVERAGE_LIMIT,
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of one account. ``available = total - locked``; ``total < 0`` only in margin mode (a loan)."""

    asset: str
    total: Decimal
    locked: Decimal

    @property
    def available(self) -> Decimal:
        return self.total - self.locked


@dataclass(frozen=True, slots=True)
class Position:
    """The trading position of one account in one symbol (quantity is signed: negative is short).

    ``realised_pnl`` is gross of fees, in the quote asset; ``fees`` lists what the fills of this symbol paid, per
    fee asset. ``unrealised_pnl``/``market_value`` are ``None`` until a mark price is known.
    """

    symbol: str
    base: str
    quote: str
    quantity: Decimal
    average_price: Decimal
    realised_pnl: Decimal
    fees: Mapping[str, Decimal] = field(default_factory=dict)
    mark: Decimal | None = None

    @property
    def fees_paid(self) -> Decimal:
        """Fees paid in the quote asset (the common case)."""
        return self.fees.get(self.quote, ZERO)

    @property
    def market_value(self) -> Decimal | None:
        return None if self.mark is None else REPORT.multiply(self.quantity, self.mark)

    @property
    def unrealised_pnl(self) -> Decimal | None:
        if self.mark is None:
            return None
        return REPORT.multiply(self.quantity, REPORT.subtract(self.mark, self.average_price))


@dataclass(frozen=True, slots=True)
class Reservation:
    """Funds locked for one working order.

    A BUY locks quote = remaining quantity x limit price x (1 + taker fee); a SELL locks base = remaining quantity.
    In margin mode nothing is locked (``locked == 0``): the order is checked against the leverage limit instead.
    """

    order_id: str
    account_id: str
    symbol: str
    side: OrderSide
    asset: str
    price: Decimal | None
    fee_rate: Decimal
    remaining: Decimal
    locked: Decimal


@dataclass(frozen=True, slots=True)
class FillResult:
    """What one fill did: the realised PnL it booked and the position and reservation after it."""

    realised_pnl: Decimal
    position: Position
    reservation: Reservation | None


@dataclass(frozen=True, slots=True)
class Valuation:
    """An account marked to market, in its valuation currency.

    ``equity = cash + positions_value``, where ``cash`` is the balance of the valuation currency and
    ``positions_value`` values every other asset's total at the latest mark. ``exposure`` is the gross value of
    those other assets (shorts count positive). Assets with a balance but no price are listed in ``unpriced`` and
    left out of every sum.
    """

    account_id: str
    currency: str
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    exposure: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal
    unpriced: tuple[str, ...]


def to_decimal(name: str, value: object, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    """Read an amount from the caller (exact types only, see ``instrument.to_decimal``) and check its sign."""
    # The engine's own calls pass Decimals: skip the type dispatch for them (every reservation and fill asks).
    number = value if value.__class__ is Decimal else instrument_to_decimal(name, value)
    if positive and number <= 0:
        raise ValidationError(name, "must be > 0", value)
    if non_negative and number < 0:
        raise ValidationError(name, "must be >= 0", value)
    return number


def normalise_side(side: object) -> OrderSide:
    """Accept an ``OrderSide`` or its text in any case."""
    if side.__class__ is OrderSide:
        return side
    raw = getattr(side, "value", side)
    if isinstance(raw, str) and raw.upper() in OrderSide.__members__:
        return OrderSide(raw.upper())
    raise ValidationError("side", "must be BUY or SELL", side)


__all__ = [
    "EXACT",
    "INSUFFICIENT_BALANCE",
    "LEVERAGE_LIMIT",
    "NO_MARK",
    "ONE",
    "REPORT",
    "ZERO",
    "AccountMode",
    "Balance",
    "FillResult",
    "InstrumentLike",
    "InsufficientBalance",
    "LeverageExceeded",
    "Position",
    "Reservation",
    "Valuation",
    "fmt",
    "normalise_side",
    "to_decimal",
]
