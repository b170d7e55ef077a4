"""Commands into the trading node: what a strategy, the CLI or the API asks for (imperative, not yet facts)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from alphintra.engine.core.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType
from alphintra.engine.core.frozen import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: OrderSide
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    display_quantity: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: str | None = None
    strategy: str | None = None
    account: str | None = None
    tags: tuple[str, ...] = field(default=())
    # Send a stop the last price has already reached (it triggers at once); refused with STOP_WOULD_TRIGGER if not.
    allow_immediate: bool = False

    def with_(self, **changes: object) -> OrderRequest:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class BracketRequest:
    """An entry with a take-profit limit and a stop-loss stop; the exits activate as the entry fills."""

    entry: OrderRequest
    take_profit: Decimal
    stop_loss: Decimal
    stop_loss_limit: Decimal | None = None  # a stop-limit loss leg when set


__all__ = ["BracketRequest", "OrderRequest"]
