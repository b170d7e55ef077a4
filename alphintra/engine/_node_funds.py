"""What an order of the trading node may lock and spend: its reservation price, the ledger lock, the reduce-only
rule, and the capacity the simulated venue asks for before each fill.

These are the funding rules of :class:`~alphintra.engine.node.TradingNode`, kept apart from its command and
event flow; they read the node but never journal or emit (the node journals the locks, see
``reserve_and_record``).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import TYPE_CHECKING

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType, RejectReason
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.events import OrderInitialized
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import Ledger
from alphintra.engine.core.ledger_types import AccountMode, Reservation
from alphintra.engine.core.orders import Order
from alphintra.engine.node_records import MarginCall, Released, Reserved

if TYPE_CHECKING:
    from alphintra.engine.node_api import NodeServices

# The tag of the orders a margin call places (they close the positions of an account below its maintenance margin).
MARGIN_CALL = "margin-call"
_BPS = Decimal(10_000)
_ZERO = Decimal(0)
# The ledger's refusals that mean "the account cannot fund this order" (an order rejection, not an engine error).
_UNFUNDED = (RejectReason.INSUFFICIENT_BALANCE.value, "LEVERAGE_LIMIT", "NO_MARK")


def reservation_price(node: NodeServices, init: OrderInitialized, inst: Instrument) -> Decimal | None:
    """The price a new order's lock is computed at (None for a sell, which locks the base quantity)."""
    if init.side is not OrderSide.BUY:
        return None
    collar_bps = node.venue_for(init.symbol).capabilities.market_collar_bps
    # A margin reservation locks nothing and is only checked against the leverage limit: check it at the
    # market, not at the protective collar (the venue caps the fill to what the limit allows).
    collar = None if node.ledger.account_mode(init.account) is not AccountMode.SPOT else collar_bps
    if init.order_type in (OrderType.LIMIT, OrderType.ICEBERG, OrderType.STOP_LIMIT) and init.price is not None:
        return init.price
    if init.order_type in (OrderType.STOP, OrderType.TRAILING_STOP) and init.stop_price is not None:
        if collar is not None:
            # Once triggered it is a market order that may walk the book up to the collar.
            return inst.round_price(init.stop_price * (1 + collar / _BPS), "up")
        return init.stop_price
    ref = node.last_price(init.symbol)
    if ref is None:
        raise OrderRejectedError(
            "price",
            "a market buy needs a reference price; no market data has been seen for the symbol",
            init.symbol,
            reason=RejectReason.NO_LIQUIDITY,
        )
    if collar is not None:
        return inst.round_price(ref * (1 + collar / _BPS), "up")
    return ref


def reserve(
    ledger: Ledger,
    account: str,
    order_id: str,
    inst: Instrument,
    side: OrderSide,
    qty: Decimal,
    price: Decimal | None,
) -> None:
    """Lock funds in the ledger; a funds or margin refusal becomes an ``OrderRejectedError`` (INSUFFICIENT_BALANCE)."""
    try:
        ledger.lock(account, order_id, inst, side, qty, price)
    except ValidationError as exc:
        # Funds and margin refusals are order rejections (the caller carries on), not engine errors.
        if exc.reason in _UNFUNDED:
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


def capacity(node: NodeServices, key: str, price: Decimal) -> Decimal | None:
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
    equity, exposure, unpriced = ledger.exposure(order.account)
    if unpriced:
        return None
    equity = equity + q * (price - mark)
    other = exposure - abs(q) * mark
    denom = price * (1 + leverage * fee_rate)
    if order.side is OrderSide.BUY:
        return max(-q, (leverage * equity - other - q * price) / denom, _ZERO)
    return max(q, (leverage * equity - other + q * price) / denom, _ZERO)


def margin_call(node: NodeServices) -> list[Order]:
    """:meth:`TradingNode.check_margin` (see there): cancel and close the accounts below maintenance margin."""
    placed: list[Order] = []
    ledger = node.ledger
    for account in ledger.accounts():
        if ledger.account_mode(account) is not AccountMode.MARGIN:
            continue
        if any(o.account == account and MARGIN_CALL in o.tags for o in node.working.values()):
            continue  # already being closed
        shortfall = ledger.maintenance_shortfall(account)
        if shortfall is None:
            continue
        equity, requirement = shortfall
        now = node.clock.now_ns()
        node.record(MarginCall(account, equity, requirement, now))
        node.cancel_all(account=account, reason="margin call")
        for symbol, position in ledger.positions(account).items():
            if position.quantity == 0:
                continue
            side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
            request = OrderRequest(
                account=account,
                symbol=symbol,
                side=side,
                quantity=abs(position.quantity),
                reduce_only=True,
                tags=(MARGIN_CALL,),
            )
            with contextlib.suppress(OrderRejectedError):  # e.g. no price yet: the next check tries again
                placed.append(node.submit(request))
    return placed


def reserve_and_record(
    node: NodeServices,
    account: str,
    order_id: str,
    inst: Instrument,
    side: OrderSide,
    qty: Decimal,
    price: Decimal | None,
    *,
    replacing: Reservation | None = None,
) -> Reservation:
    """Lock funds for a working order and journal the lock; raises (journaling nothing) when it cannot be funded.

    ``replacing`` is the order's current lock, swapped for the new one: released first (its funds count
    towards the new lock) and put back unchanged if the new lock is refused.
    """
    if replacing is None:
        reserve(node.ledger, account, order_id, inst, side, qty, price)
    else:
        node.ledger.release(order_id)
        try:
            reserve(node.ledger, account, order_id, inst, side, qty, price)
        except Exception:
            reserve(node.ledger, account, order_id, inst, side, replacing.remaining, replacing.price)
            raise
        node.record(Released(order_id))
    res = node.ledger.reservation(order_id)
    assert res is not None  # just locked
    record_reserved(node, res)
    return res


def record_reserved(node: NodeServices, res: Reservation) -> None:
    """Journal a lock (the one place a ``Reserved`` record is built; :meth:`TradingNode.replay` reads it back)."""
    node.record(Reserved(res.order_id, res.account_id, res.symbol, res.side, res.remaining, res.price))


__all__ = [
    "MARGIN_CALL",
    "capacity",
    "check_reduce_only",
    "margin_call",
    "record_reserved",
    "reservation_price",
    "reserve",
    "reserve_and_record",
]
