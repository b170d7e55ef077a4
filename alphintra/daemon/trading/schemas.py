"""Request and response models of the trading API (pydantic at the boundary; money travels as decimal strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alphintra.engine.core.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType

Money = Decimal


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlgoSpec(_In):
    kind: Literal["twap", "vwap"]
    duration_s: int = Field(gt=0, le=7 * 86400, description="how long the algorithm works the order")
    slices: int = Field(default=10, ge=1, le=10_000)
    limit_price: Money | None = Field(default=None, gt=0, description="price guard: no slice beyond it")


class OrderCreate(_In):
    symbol: str = Field(min_length=1, max_length=40)
    side: OrderSide
    quantity: Money = Field(gt=0)
    type: OrderType = OrderType.MARKET
    price: Money | None = Field(default=None, gt=0)
    stop_price: Money | None = Field(default=None, gt=0)
    trailing_offset: Money | None = Field(default=None, gt=0)
    trailing_offset_type: TrailingOffsetType | None = None
    display_quantity: Money | None = Field(default=None, gt=0)
    time_in_force: TimeInForce = TimeInForce.GTC
    expires_at_ns: int | None = Field(default=None, gt=0)
    post_only: bool = False
    reduce_only: bool = False
    allow_immediate: bool = Field(
        default=False,
        description="send a stop the last price has already reached (it triggers at once); "
        "refused with STOP_WOULD_TRIGGER otherwise",
    )
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64)
    strategy: str | None = Field(default=None, max_length=255)
    take_profit: Money | None = Field(default=None, gt=0)
    stop_loss: Money | None = Field(default=None, gt=0)
    oco_with: OrderCreate | None = None
    algo: AlgoSpec | None = None


class OrderModify(_In):
    quantity: Money | None = Field(default=None, gt=0)
    price: Money | None = Field(default=None, gt=0)
    stop_price: Money | None = Field(default=None, gt=0)


class BatchCreate(_In):
    orders: list[OrderCreate] = Field(min_length=1, max_length=1000)


class CancelAll(_In):
    symbol: str | None = None
    strategy: str | None = None


class PriceTick(_In):
    symbol: str
    price: Money = Field(gt=0)


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
    created_at: int
    updated_at: int
    expires_at: int | None
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
    timestamp: int
    trade_type: str


class BatchItem(BaseModel):
    order: OrderOut | None = None
    error: dict[str, str | None] | None = None


class BatchOut(BaseModel):
    results: list[BatchItem]


class CancelAllOut(BaseModel):
    canceled: list[str]
