"""Request and response models of the trading API (pydantic at the boundary; money travels as decimal strings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from alphintra.daemon.fields import Flag, PositiveMoney, TimestampNs
from alphintra.engine.core.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType

Money = PositiveMoney  # every amount an order carries is > 0


class _In(BaseModel):
    # Unknown fields are refused (a typo must not be ignored); ints and flags are strict (``"5"`` is not 5, ``1``
    # is not true) so the server accepts exactly what the OpenAPI document says.
    model_config = ConfigDict(extra="forbid")


class AlgoSpec(_In):
    kind: Literal["twap", "vwap"]
    duration_s: StrictInt = Field(gt=0, le=7 * 86400, description="how long the algorithm works the order")
    slices: StrictInt = Field(default=10, ge=1, le=10_000)
    limit_price: Money | None = Field(default=None, description="price guard: no slice beyond it")


class OrderLeg(_In):
    """One order's terms: the body of a plain order, and the second leg of an OCO pair."""

    symbol: str = Field(min_length=1, max_length=40)
    side: OrderSide
    quantity: Money
    type: OrderType = OrderType.MARKET
    price: Money | None = None
    stop_price: Money | None = None
    trailing_offset: Money | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    display_quantity: Money | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at_ns: TimestampNs | None = Field(
        default=None, description="nanoseconds since the epoch (GTD orders), at most 2**63-1"
    )
    post_only: Flag = False
    reduce_only: Flag = False
    allow_immediate: Flag = Field(
        default=False,
        description="send a stop the last price has already reached (it triggers at once); "
        "refused with STOP_WOULD_TRIGGER otherwise",
    )
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64)
    strategy: str | None = Field(default=None, max_length=255)


class OrderCreate(OrderLeg):
    # the account to trade in (default: the first account configured on the symbol's venue)
    account: str | None = Field(default=None, min_length=1, max_length=64)
    # the venue of a symbol listed on several (default: the account's venue)
    venue: str | None = Field(default=None, min_length=1, max_length=64)
    take_profit: Money | None = None
    stop_loss: Money | None = None
    # A leg, not another OrderCreate: a self-referencing body let a client nest orders without bound.
    oco_with: OrderLeg | None = None
    algo: AlgoSpec | None = None


class OrderModify(_In):
    quantity: Money | None = None
    price: Money | None = None
    stop_price: Money | None = None


class BatchCreate(_In):
    orders: list[OrderCreate] = Field(min_length=1, max_length=1000)


class CancelAll(_In):
    symbol: str | None = None
    strategy: str | None = None


class PriceTick(_In):
    symbol: str = Field(min_length=1, max_length=40)
    price: Money


class OrderOut(BaseModel):
    id: str
    client_order_id: str | None
    account: str
    strategy: str | None
    symbol: str
    side: str
    order_type: str
    quantity: str
    price: str | None
    stop_price: str | None
    time_in_force: str
    status: str
    filled_quantity: str
    leaves_quantity: str
    average_price: str | None
    fees: dict[str, str]
    created_at: str
    updated_at: str
    expires_at: str | None
    parent_order_id: str | None
    contingency_type: str
    linked_order_ids: list[str]
    reject_reason: str | None
    status_message: str
    display_quantity: str | None = None
    trailing_offset: str | None = None
    trailing_offset_type: str | None = None
    post_only: bool = False
    reduce_only: bool = False
    triggered_price: str | None = None
    venue: str | None = None  # the venue the order's instrument trades on


class TradeOut(BaseModel):
    id: str
    order_id: str
    account: str
    strategy: str | None
    symbol: str
    side: str
    quantity: str
    price: str
    fee: str
    fee_asset: str
    timestamp: str
    trade_type: str


class BatchItem(BaseModel):
    order: OrderOut | None = None
    error: dict[str, str | None] | None = None


class BatchOut(BaseModel):
    results: list[BatchItem]


class CancelAllOut(BaseModel):
    canceled: list[str]  # orders, the canceled algorithms' working children included
    canceled_algos: list[str] = []
