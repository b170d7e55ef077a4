"""What the API and the stream show of an order and of a fill (docs/api.md): decimals as plain strings, times as
ISO-8601 UTC text with every nanosecond digit (alphintra.formatting.iso_ns)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.formatting import iso_ns, plain


def order_view(order: Order) -> dict[str, Any]:
    data = order.to_dict()
    for key in list(data):  # to_dict writes str(Decimal), which can be "0E-9"
        raw = getattr(order, key, None)
        if isinstance(raw, Decimal):
            data[key] = plain(raw)
    data["fees"] = {asset: plain(amount) for asset, amount in order.fees.items()}
    data["leaves_quantity"] = plain(order.leaves_quantity)
    data["status"] = order.status.value
    data["created_at"] = iso_ns(order.created_at)
    data["updated_at"] = iso_ns(order.updated_at)
    data["expires_at"] = iso_ns(order.expires_at)
    return data


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


__all__ = ["fill_view", "order_view"]
