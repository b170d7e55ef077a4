"""What the API and the stream show of an order and of a fill (docs/api.md): decimals as plain strings, times as
ISO-8601 UTC text with every nanosecond digit (alphintra.formatting.iso_ns)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.formatting import iso_ns, plain

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode


def order_view(order: Order, node: TradingNode | None = None) -> dict[str, Any]:
    """The API's view of ``order``; with ``node``, the venue it trades on (its instrument's) too."""
    data = order.to_dict(plain)
    data["created_at"] = iso_ns(order.created_at)
    data["updated_at"] = iso_ns(order.updated_at)
    data["expires_at"] = iso_ns(order.expires_at)
    data["venue"] = None if node is None else node.venue_for(order.symbol).name
    return data


# The order view's fields that the projection's orders table has no column for: the projector keeps them in the
# row's ``params`` so an archived order (retention) is served in the live view's shape. Defaults for rows
# projected before they were kept.
ORDER_EXTRAS: dict[str, Any] = {
    "contingency_type": "NONE",
    "display_quantity": None,
    "filled_notional": "0",
    "linked_order_ids": [],
    "reject_reason": None,
    "status_before_cancel": None,
    "tags": [],
    "trade_ids": [],
    "trailing_offset": None,
    "trailing_offset_type": None,
    "triggered_price": None,
    "venue_order_id": None,
    "venue": None,
}


def order_extras(view: dict[str, Any]) -> dict[str, Any]:
    """The :data:`ORDER_EXTRAS` of an :func:`order_view`."""
    return {key: view.get(key, default) for key, default in ORDER_EXTRAS.items()}


def order_extras_of(order: Order) -> dict[str, Any]:
    """``order_extras(order_view(order))`` without building the whole view: the projector writes it for every order
    event. The same keys in the same order (the stored JSON text follows it)."""
    return {
        "contingency_type": order.contingency_type.value,
        "display_quantity": _plain(order.display_quantity),
        "filled_notional": plain(order.filled_notional),
        "linked_order_ids": list(order.linked_order_ids),
        "reject_reason": None if order.reject_reason is None else order.reject_reason.value,
        "status_before_cancel": None if order.status_before_cancel is None else order.status_before_cancel.value,
        "tags": list(order.tags),
        "trade_ids": list(order.trade_ids),
        "trailing_offset": _plain(order.trailing_offset),
        "trailing_offset_type": None if order.trailing_offset_type is None else order.trailing_offset_type.value,
        "triggered_price": _plain(order.triggered_price),
        "venue_order_id": order.venue_order_id,
        "venue": None,
    }


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def fill_view(event: OrderFilled, order: Order) -> dict[str, Any]:
    return {
        "id": event.trade_id,
        "order_id": event.order_id,
        "account": event.account,
        "strategy": order.strategy,
        "symbol": event.symbol,
        "side": event.side.value,
        "quantity": plain(event.last_qty),
        "price": plain(event.last_px),
        "fee": plain(event.fee),
        "fee_asset": event.fee_asset,
        "timestamp": iso_ns(event.ts),
        "trade_type": event.liquidity_side.value,
    }


__all__ = ["ORDER_EXTRAS", "fill_view", "order_extras", "order_extras_of", "order_view"]
