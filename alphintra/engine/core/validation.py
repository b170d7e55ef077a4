"""Static validation of an order request against its instrument: the checks that need no balance and no book.

``validate_order`` returns ``None`` or the first ``Rejection`` (a stable ``RejectReason`` code, the field, a
message naming the rule); ``check_order`` raises it as ``OrderRejectedError``. The checks run in a fixed order
(symbol, quantity, price, stop, trailing offset, iceberg, time in force, post-only, notional) so the same request
always gets the same answer. With ``allow_immediate=False`` a stop (stop-limit, trailing stop's start) that the
reference price has already reached is refused (``STOP_WOULD_TRIGGER``), as exchanges do: a buy stop at or below the
market, or a sell stop at or above it, would trigger on the next price and act as a market order. Balances, risk
limits and post-only crossing are checked later, by the risk engine and the venue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from alphintra.engine.core.enums import OrderSide, OrderType, RejectReason, TimeInForce, TrailingOffsetType
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.events import OrderRejected
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry

R = RejectReason
_HUNDRED = Decimal(100)
_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG})
_NEEDS_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_MAY_HAVE_STOP = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
_MAY_POST_ONLY = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG})


class OrderSpec(Protocol):
    """The terms validation looks at; ``OrderInitialized`` and ``Order`` both satisfy it."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> OrderSide: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def stop_price(self) -> Decimal | None: ...
    @property
    def trailing_offset(self) -> Decimal | None: ...
    @property
    def trailing_offset_type(self) -> TrailingOffsetType | None: ...
    @property
    def display_quantity(self) -> Decimal | None: ...
    @property
    def post_only(self) -> bool: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def expires_at(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    field: str
    message: str
    value: object = None

    def to_error(self) -> OrderRejectedError:
        return OrderRejectedError(self.field, self.message, self.value, reason=self.reason.value)

    def to_event(self, order_id: str, ts: int) -> OrderRejected:
        return OrderRejected(order_id, ts, reason=self.reason, message=f"{self.field}: {self.message}")


def _check_qty(inst: Instrument, field: str, qty: Decimal) -> Rejection | None:
    if qty <= 0:
        return Rejection(R.INVALID_QUANTITY, field, "must be > 0", qty)
    if qty < inst.min_qty:
        return Rejection(R.QTY_BELOW_MIN, field, f"must be >= min_qty {inst.min_qty}", qty)
    try:
        inst.qty_to_lots(qty, field)
    except ValidationError:
        return Rejection(R.QTY_NOT_LOT_MULTIPLE, field, f"must be a multiple of lot_size {inst.lot_size}", qty)
    return None


def _check_price(inst: Instrument, field: str, price: Decimal) -> Rejection | None:
    if price <= 0:
        return Rejection(R.INVALID_PRICE, field, "must be > 0", price)
    try:
        inst.price_to_ticks(price, field)
    except ValidationError:
        return Rejection(R.PRICE_OFF_TICK, field, f"must be a multiple of tick_size {inst.tick_size}", price)
    return None


def _check_not_triggered(side: OrderSide, stop: Decimal, last: Decimal) -> Rejection | None:
    # The emulator triggers a buy stop when the price reaches it from below (>=), a sell stop from above (<=).
    reached = stop <= last if side is OrderSide.BUY else stop >= last
    if not reached:
        return None
    where = "at or below" if side is OrderSide.BUY else "at or above"
    return Rejection(
        R.STOP_WOULD_TRIGGER,
        "stop_price",
        f"a {side.value.lower()} stop {where} the last price {last} would trigger at once"
        " (allow_immediate sends it anyway)",
        stop,
    )


def validate_against(
    order: OrderSpec,
    instrument: Instrument,
    now_ns: int,
    *,
    reference_price: Decimal | None = None,
    allow_immediate: bool = True,
) -> Rejection | None:
    """Check ``order`` against ``instrument``. ``reference_price`` (e.g. the last trade) lets a market order's
    notional be checked; without it only priced orders are checked against ``min_notional``. Without
    ``allow_immediate`` a stop the reference price has already reached is refused."""
    kind = order.order_type
    problem = _check_qty(instrument, "quantity", order.quantity)
    if problem:
        return problem

    if kind in _NEEDS_PRICE:
        if order.price is None:
            return Rejection(R.MISSING_PRICE, "price", f"is required for a {kind} order")
        problem = _check_price(instrument, "price", order.price)
        if problem:
            return problem
    elif order.price is not None:
        return Rejection(R.PRICE_NOT_ALLOWED, "price", f"must not be set for a {kind} order", order.price)

    if kind in _NEEDS_STOP and order.stop_price is None:
        return Rejection(R.MISSING_STOP_PRICE, "stop_price", f"is required for a {kind} order")
    if order.stop_price is not None:
        if kind not in _MAY_HAVE_STOP:
            return Rejection(
                R.STOP_PRICE_NOT_ALLOWED, "stop_price", f"must not be set for a {kind} order", order.stop_price
            )
        problem = _check_price(instrument, "stop_price", order.stop_price)
        if problem:
            return problem
        if not allow_immediate and reference_price is not None:
            problem = _check_not_triggered(order.side, order.stop_price, reference_price)
            if problem:
                return problem

    if kind is OrderType.TRAILING_STOP:
        offset, offset_type = order.trailing_offset, order.trailing_offset_type
        if offset is None or offset_type is None:
            return Rejection(
                R.MISSING_TRAILING_OFFSET, "trailing_offset", "a trailing stop needs trailing_offset and its type"
            )
        if offset <= 0:
            return Rejection(R.INVALID_TRAILING_OFFSET, "trailing_offset", "must be > 0", offset)
        if offset_type is TrailingOffsetType.PERCENT and offset >= _HUNDRED:
            return Rejection(R.INVALID_TRAILING_OFFSET, "trailing_offset", "a percent offset must be < 100", offset)
        if offset_type is TrailingOffsetType.PRICE and _check_price(instrument, "trailing_offset", offset):
            return Rejection(
                R.INVALID_TRAILING_OFFSET,
                "trailing_offset",
                f"a price offset must be a multiple of tick_size {instrument.tick_size}",
                offset,
            )
    elif order.trailing_offset is not None:
        return Rejection(
            R.INVALID_TRAILING_OFFSET, "trailing_offset", f"must not be set for a {kind} order", order.trailing_offset
        )

    if kind is OrderType.ICEBERG:
        display = order.display_quantity
        if display is None:
            return Rejection(R.MISSING_DISPLAY_QTY, "display_quantity", "is required for an ICEBERG order")
        problem = _check_qty(instrument, "display_quantity", display)
        if problem:
            return problem
        if display > order.quantity:
            return Rejection(
                R.INVALID_DISPLAY_QTY, "display_quantity", f"must be <= quantity {order.quantity}", display
            )
    elif order.display_quantity is not None:
        return Rejection(
            R.INVALID_DISPLAY_QTY, "display_quantity", f"must not be set for a {kind} order", order.display_quantity
        )

    tif = order.time_in_force
    if tif is TimeInForce.GTD:
        if order.expires_at is None:
            return Rejection(R.MISSING_EXPIRY, "expires_at", "is required for a GTD order")
        if order.expires_at <= now_ns:
            return Rejection(R.EXPIRY_IN_PAST, "expires_at", f"must be after now ({now_ns} ns)", order.expires_at)
        if kind is OrderType.MARKET:
            return Rejection(R.INVALID_TIME_IN_FORCE, "time_in_force", "a MARKET order cannot be GTD", tif)
    elif order.expires_at is not None:
        return Rejection(R.EXPIRY_NOT_ALLOWED, "expires_at", f"is only allowed with GTD, not {tif}", order.expires_at)

    if order.post_only:
        if kind not in _MAY_POST_ONLY:
            return Rejection(R.INVALID_POST_ONLY, "post_only", f"is not allowed for a {kind} order", True)
        if tif in (TimeInForce.IOC, TimeInForce.FOK):
            return Rejection(R.INVALID_POST_ONLY, "post_only", f"cannot be combined with {tif}", True)

    notional_price = order.price if order.price is not None else order.stop_price
    if notional_price is None:
        notional_price = reference_price
    if notional_price is not None and instrument.min_notional > 0:
        notional = instrument.notional(order.quantity, notional_price)
        if notional < instrument.min_notional:
            return Rejection(
                R.NOTIONAL_BELOW_MIN,
                "quantity",
                f"notional {notional} is below min_notional {instrument.min_notional} {instrument.quote}",
                notional,
            )
    return None


def validate_order(
    order: OrderSpec,
    instruments: InstrumentRegistry,
    now_ns: int,
    *,
    reference_price: Decimal | None = None,
    allow_immediate: bool = True,
) -> Rejection | None:
    """The first rule ``order`` breaks, or ``None``; an unknown symbol is a rejection, not an exception."""
    instrument = instruments.find(order.symbol)
    if instrument is None:
        return Rejection(R.UNKNOWN_SYMBOL, "symbol", "is not a known instrument", order.symbol)
    return validate_against(order, instrument, now_ns, reference_price=reference_price, allow_immediate=allow_immediate)


def check_order(
    order: OrderSpec,
    instruments: InstrumentRegistry,
    now_ns: int,
    *,
    reference_price: Decimal | None = None,
    allow_immediate: bool = True,
) -> Instrument:
    """Like ``validate_order`` but raises ``OrderRejectedError``; returns the instrument on success."""
    rejection = validate_order(
        order, instruments, now_ns, reference_price=reference_price, allow_immediate=allow_immediate
    )
    if rejection is not None:
        raise rejection.to_error()
    return instruments.get(order.symbol)


__all__ = ["OrderSpec", "Rejection", "check_order", "validate_against", "validate_order"]
