"""Market making: rest a bid and an ask around the mid, earn the spread, lean against the inventory.

Every bar the strategy cancels its quotes and posts new ones around the *mid* of the venue's order book (best bid
and best ask, once its own quotes are gone; the last price when the book has no two sides, as on the first bar):

* ``bid = mid x (1 - (half_spread_bps + skew) / 10^4)`` rounded down to the tick,
  ``ask = mid x (1 + (half_spread_bps - skew) / 10^4)`` rounded up, where
  ``skew = skew_bps x inventory / max_inventory``: the longer the position, the lower *both* quotes, so the ask
  is likelier to be hit than the bid and the inventory drifts back towards zero (the reverse when short);
* **inventory limits**: no bid when buying ``quantity`` more would take the position beyond ``max_inventory``,
  no ask when selling would take it beyond ``-max_inventory``;
* quotes are post-only (``post_only``) so that they never pay the taker fee: one the book would cross is refused by
  the venue, and the next bar quotes again.

Meant for ``fill_mode = "book"``, where the simulated venue keeps a book with a background liquidity ladder and
quotes fill when the replayed price trades through them; in bar mode the quotes are resting limits on the bar path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, cast

from pydantic import Field, model_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import WorkingOrders, instrument
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    from alphintra.engine.core.instrument import Instrument

_BPS = Decimal(10_000)


class MarketMakingParams(StrategyParams):
    half_spread_bps: Decimal = Field(Decimal(3), gt=0, le=1000, description="distance of each quote from the mid (bps)")
    quantity: Decimal = Field(Decimal(1000), gt=0, description="size of each quote")
    max_inventory: Decimal = Field(Decimal(5000), gt=0, description="largest position either way")
    skew_bps: Decimal = Field(
        Decimal(2), ge=0, le=1000, description="how far both quotes move per full max_inventory held (bps)"
    )
    post_only: bool = Field(True, description="quotes that would cross the book are refused instead of taking")

    @model_validator(mode="after")
    def _room_for_one_quote(self) -> MarketMakingParams:
        if self.quantity > self.max_inventory:
            raise ValueError(f"quantity ({self.quantity}) must not exceed max_inventory ({self.max_inventory})")
        return self


class Quotes(NamedTuple):
    bid: Decimal | None
    ask: Decimal | None


def quote_prices(mid: Decimal, inventory: Decimal, p: MarketMakingParams, inst: Instrument) -> Quotes:
    """The bid and ask for ``inventory`` around ``mid`` (None: that side would breach the inventory limit)."""
    skew = p.skew_bps * inventory / p.max_inventory
    bid = inst.round_price(mid * (1 - (p.half_spread_bps + skew) / _BPS), "down")
    ask = inst.round_price(mid * (1 + (p.half_spread_bps - skew) / _BPS), "up")
    if ask <= bid:
        ask = bid + inst.tick_size
    return Quotes(
        bid if bid > 0 and inventory + p.quantity <= p.max_inventory else None,
        ask if inventory - p.quantity >= -p.max_inventory else None,
    )


@register
class MarketMaking(Strategy):
    name = "market_making"
    description = "Market making: bid and ask around the book's mid, skewed by inventory, re-quoted every bar"
    Params = MarketMakingParams

    @property
    def p(self) -> MarketMakingParams:
        return cast(MarketMakingParams, self.params)

    def on_start(self) -> None:
        self.quotes = WorkingOrders()

    def book_mid(self, symbol: str) -> Decimal | None:
        """Mid of the venue's best bid and ask, or the last price when the book lacks a side."""
        # A live exchange venue may not keep a book of its own: then the last price stands in for the mid.
        depth = getattr(self.ctx.node.venue, "depth", None)
        if depth is not None:
            book = depth(symbol, 1)
            if book["bids"] and book["asks"]:
                best_bid: Decimal = book["bids"][0][0]
                best_ask: Decimal = book["asks"][0][0]
                return (best_bid + best_ask) / 2
        return self.price(symbol)

    def on_bar(self, bar: BarData) -> None:
        symbol = bar.symbol
        self.quotes.cancel(self, symbol)
        mid = self.book_mid(symbol)
        if mid is None:
            return
        inventory = self.position(symbol)
        quotes = quote_prices(mid, inventory, self.p, instrument(self, symbol))
        self.signal("quote", float(mid), inventory=str(inventory), bid=str(quotes.bid), ask=str(quotes.ask))
        if quotes.bid is not None:
            self.quotes.add(self.limit(symbol, OrderSide.BUY, self.p.quantity, quotes.bid, post_only=self.p.post_only))
        if quotes.ask is not None:
            self.quotes.add(self.limit(symbol, OrderSide.SELL, self.p.quantity, quotes.ask, post_only=self.p.post_only))


__all__ = ["MarketMaking", "MarketMakingParams", "Quotes", "quote_prices"]
