"""The order domain's vocabulary.

Every enum is a ``StrEnum`` whose value equals its name, so a member serialises as plain text (JSON, the journal,
SQL columns) and ``OrderSide("BUY")`` parses it back.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


@unique
class OrderType(StrEnum):
    """What the order asks for; the venue core natively matches MARKET and LIMIT, the rest are emulated above it."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"
    ICEBERG = "ICEBERG"


@unique
class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"


@unique
class OrderStatus(StrEnum):
    NEW = "NEW"
    PENDING_SUBMIT = "PENDING_SUBMIT"
    ACCEPTED = "ACCEPTED"
    TRIGGERED = "TRIGGERED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_open(self) -> bool:
        """Working at (or on its way to) the venue: it may still fill."""
        return self in _OPEN


# The terminal statuses; the order path's hot spots test membership here directly instead of through
# ``is_terminal``.
TERMINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_OPEN = frozenset(
    {
        OrderStatus.PENDING_SUBMIT,
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
    }
)


@unique
class LiquiditySide(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


@unique
class TrailingOffsetType(StrEnum):
    """``PRICE``: the offset is an absolute price distance; ``PERCENT``: a percentage of the reference price."""

    PRICE = "PRICE"
    PERCENT = "PERCENT"


@unique
class ContingencyType(StrEnum):
    """How an order is linked to others.

    ``OCO``: one cancels the other(s). ``OTO``: one triggers the other(s) (the children are submitted when the
    parent fills). ``BRACKET``: an entry that, once filled, submits a take-profit and a stop-loss linked as OCO.
    """

    NONE = "NONE"
    OCO = "OCO"
    OTO = "OTO"
    BRACKET = "BRACKET"


@unique
class SelfTradeMode(StrEnum):
    """What the matching engine does when an incoming order would trade with a resting order of the same account.

    ``CANCEL_RESTING`` (the default) removes the resting order(s) and keeps matching the incoming one: the newest
    instruction reflects the account's current intent, so the stale quote goes (Binance calls this EXPIRE_MAKER).
    ``CANCEL_TAKER`` cancels the rest of the incoming order (fills already made stand). ``CANCEL_BOTH`` does both.
    ``ALLOW`` lets the account trade with itself (only for simulations where accounts mean nothing).
    """

    CANCEL_RESTING = "CANCEL_RESTING"
    CANCEL_TAKER = "CANCEL_TAKER"
    CANCEL_BOTH = "CANCEL_BOTH"
    ALLOW = "ALLOW"


@unique
class RejectReason(StrEnum):
    """Stable machine-readable codes of an order rejection (the message carries the human detail)."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    QTY_BELOW_MIN = "QTY_BELOW_MIN"
    QTY_NOT_LOT_MULTIPLE = "QTY_NOT_LOT_MULTIPLE"
    INVALID_PRICE = "INVALID_PRICE"
    PRICE_OFF_TICK = "PRICE_OFF_TICK"
    PRICE_NOT_ALLOWED = "PRICE_NOT_ALLOWED"
    NOTIONAL_BELOW_MIN = "NOTIONAL_BELOW_MIN"
    MISSING_PRICE = "MISSING_PRICE"
    MISSING_STOP_PRICE = "MISSING_STOP_PRICE"
    STOP_WOULD_TRIGGER = "STOP_WOULD_TRIGGER"
    STOP_PRICE_NOT_ALLOWED = "STOP_PRICE_NOT_ALLOWED"
    MISSING_TRAILING_OFFSET = "MISSING_TRAILING_OFFSET"
    INVALID_TRAILING_OFFSET = "INVALID_TRAILING_OFFSET"
    MISSING_DISPLAY_QTY = "MISSING_DISPLAY_QTY"
    INVALID_DISPLAY_QTY = "INVALID_DISPLAY_QTY"
    MISSING_EXPIRY = "MISSING_EXPIRY"
    EXPIRY_IN_PAST = "EXPIRY_IN_PAST"
    EXPIRY_NOT_ALLOWED = "EXPIRY_NOT_ALLOWED"
    INVALID_TIME_IN_FORCE = "INVALID_TIME_IN_FORCE"
    INVALID_POST_ONLY = "INVALID_POST_ONLY"
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    POST_ONLY_WOULD_TRADE = "POST_ONLY_WOULD_TRADE"
    FOK_NOT_FILLABLE = "FOK_NOT_FILLABLE"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    SELF_TRADE = "SELF_TRADE"
    RISK_LIMIT = "RISK_LIMIT"
    HALTED = "HALTED"
    VENUE_REJECTED = "VENUE_REJECTED"


__all__ = [
    "TERMINAL_STATUSES",
    "ContingencyType",
    "LiquiditySide",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "RejectReason",
    "SelfTradeMode",
    "TimeInForce",
    "TrailingOffsetType",
]
