"""What an order of the trading node may lock and spend: its reservation price, the ledger lock, the reduce-only
rule, and the capacity the simulated venue asks for before each fill.

These are the funding rules of :class:`~alphintra.engine.node.TradingNode`, kept apart from its command and
event flow; they read the node but never journal or emit (the node journals the locks, see
``TradingNode._reserve_and_record``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from alphintra.engine.core.enums import OrderSide, OrderType, RejectReason
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.events import OrderInitialized
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import Ledger
from alphintra.engine.core.ledger_types import AccountMode, Reservation
from alphintra.engine.core.orders import Order

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode

_BPS = Decimal(10_000)
_ZERO = Decimal(0)
# The ledger's refusals that mean "the account cannot fund this order" (an order rejection, not an engine error).
_UNFUNDED = (RejectReason.INSUFFICIENT_BALANCE.value, "LEVERAGE_LIMIT", "NO_MARK")


def reservation_price(node: TradingNode, init: OrderInitialized, inst: Instrument) -> Decimal | None:
    """The price a new order's lock is computed at (None for a sell, which locks the base quantity)."""
    if init.side is not OrderSide.BUY:
        return None
    model = node.venue.model
    # A margin reservation locks nothing and is only checked against the leverage limit: check it at the
    # market, not at the protective collar (the venue caps the fill to what the limit allows).
    collar = model.mode == "book" and node.ledger.account_mode(init.account) is AccountMode.SPOT
    if init.order_type in (OrderType.LIMIT, OrderType.ICEBERG, OrderType.STOP_LIMIT) and init.price is not None:
        return init.price
    if init.order_type in (OrderType.STOP, OrderType.TRAILING_STOP) and init.stop_price is not None:
        if collar:
            # Once triggered it is a market order that may walk the book up to the collar.
            return inst.round_price(init.stop_price * (1 + model.market_collar_bps / _BPS), "up")
        return init.stop_price
    ref = node.last_price(init.symbol)
    if ref is None:
        raise OrderRejectedError(
            "price",
            "a market buy needs a reference price; no market data has been seen for the symbol",
            init.symbol,
            reason=RejectReason.NO_LIQUIDITY,
        )
    if collar:
        return inst.round_price(ref * (1 + model.market_collar_bps / _BPS), "up")
    return ref


def reserve(
    ledger: Ledger,
    account: str,
    order_id: str,
    inst: Instrument,
    side: OrderSide,
    qty: Decimal,
    price: Decimal | None,
) -> Reservation:
    """Lock funds in the ledger; a funds or margin refusal becomes an ``OrderRejectedError`` (INSUFFICIENT_BALANCE)."""
    try:
        return ledger.reserve(account, order_id, inst, side, qty, price)
    except ValidationError as exc:
        # Funds and margin refusals are order rejections (the caller carries on), not engine errors.
        if getattr(exc, "reason", None) in _UNFUNDED:
            raise OrderRejectedError(exc.field, exc.rule, exc.value, reason=RejectReason.INSUFFICIENT_BALANCE) from None
        raise


def check_reduce_only(ledger: Ledger, init: OrderInitialized) -> None:
    """Refuse a reduce-only order that would not shrink the position, or would go past it."""
    held = ledger.quantity(init.account, init.symbol)
    reduces = (held > 0 and init.side is OrderSide.SELL) or (held < 0 and init.side is OrderSide.BUY)
    if not reduces or init.quantity > abs(held):
        raise OrderRejectedError(
            "quantity",
            f"reduce-only order must not exceed the position {held}",
            init.quantity,
            reason=RejectReason.INVALID_QUANTITY,
        )


def capacity(node: TradingNode, key: str, price: Decimal) -> Decimal | None:
    """How much of a venue order the account can still pay for at ``price``.

    Spot: the available funds (plus what the order itself locks). Margin: the largest quantity whose fill keeps
    gross exposure within equity x leverage after the fee (reducing exposure is always allowed); with ``q`` the
    position, ``E`` the equity at ``price``, ``X`` the other exposure, ``L`` the leverage and ``f`` the fee rate,
    a buy may reach ``(L*E - X - q*p) / (p*(1 + L*f))`` and a sell ``(L*E - X + q*p) / (p*(1 + L*f))``.
    """
    order = node.orders.get(node.emulator.order_for_key(key))
    if order is None:
        return None
    inst = node.instruments.get(order.symbol)
    ledger = node.ledger
    fee_rate = max(inst.taker_fee, inst.maker_fee, _ZERO)
    if ledger.account_mode(order.account) is not AccountMode.SPOT:
        return _margin_capacity(ledger, order, price, fee_rate)
    res = ledger.reservation(order.id)
    locked = res.locked if res is not None else _ZERO
    if order.side is OrderSide.BUY:
        funds = ledger.balance(order.account, inst.quote).available + locked
        return funds / (price * (1 + fee_rate))
    return ledger.balance(order.account, inst.base).available + locked


def _margin_capacity(ledger: Ledger, order: Order, price: Decimal, fee_rate: Decimal) -> Decimal | None:
    leverage = ledger.account_leverage(order.account)
    q = ledger.quantity(order.account, order.symbol)
    marked = ledger.mark(order.symbol)
    mark = price if marked is None else marked
    valuation = ledger.valuation(order.account)
    if valuation.unpriced:
        return None
    equity = valuation.equity + q * (price - mark)
    other = valuation.exposure - abs(q) * mark
    denom = price * (1 + leverage * fee_rate)
    if order.side is OrderSide.BUY:
        return max(-q, (leverage * equity - other - q * price) / denom, _ZERO)
    return max(q, (leverage * equity - other + q * price) / denom, _ZERO)


__all__ = ["capacity", "check_reduce_only", "reservation_price", "reserve"]
