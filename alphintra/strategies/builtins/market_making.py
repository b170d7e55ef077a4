"""Market making: rest a bid and an ask around the mid, earn the spread, lean against the inventory.

Every bar the strategy cancels its quotes and posts new ones around the *mid* of the venue's order book (best bid
and best ask, once its own quotes are gone; the last price when the book has no two sides, as on the first bar):

* ``bid = mid x (1 - (half_spread_bps + skew) / 10^4)`` rounded down to the tick,
  ``ask = mid x (1 + (half_spread_bps - skew) / 10^4)`` rounded up, where
  ``skew = skew_bps x inventory / max_inventory``: the longer the position, the lower *both* quotes, so the ask
  is likelier to be hit than the bid and the inventory drifts back towards zero (the reverse when short);
* **size**: ``quantity`` base units per quote, or, left empty, ``quote_pct`` of the account's equity at the mid
  in whole lots (so the defaults fit any instrument and account: a fixed 1,000 units meant three million dollars
  of ETH per quote);
* **inventory limits**: no bid when buying one more quote would take the position beyond ``max_inventory`` (empty:
  five quotes), no ask when selling would take it beyond ``-max_inventory``;
* in a **spot** account the ask is at most the free base balance (a spot account cannot sell what it does not
  hold), so a flat book quotes the bid only;
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
from alphintra.strategies.builtins._common import WorkingOrders, instrument, qty_for_notional
from alphintra.strategies.registry import register

if TYPE_CHECKING:
    from alphintra.engine.core.instrument import Instrument

_BPS = Decimal(10_000)
QUOTES_HELD = 5  # the inventory limit, in quotes, when max_inventory is left empty


class MarketMakingParams(StrategyParams):
    half_spread_bps: Decimal = Field(Decimal(3), gt=0, le=1000, description="distance of each quote from the mid (bps)")
    quantity: Decimal | None = Field(
        None, gt=0, description="size of each quote in base units (empty: quote_pct of equity)"
    )
    quote_pct: Decimal = Field(
        Decimal(2), gt=0, le=100, description="size of each quote as % of equity at the mid, when quantity is empty"
    )
    max_inventory: Decimal | None = Field(
        None, gt=0, description=f"largest position either way in base units (empty: {QUOTES_HELD} quotes)"
    )
    skew_bps: Decimal = Field(
        Decimal(2), ge=0, le=1000, description="how far both quotes move per full max_inventory held (bps)"
    )
    post_only: bool = Field(True, description="quotes that would cross the book are refused instead of taking")

    @model_validator(mode="after")
    def _room_for_one_quote(self) -> MarketMakingParams:
        if self.quantity is not None and self.max_inventory is not None and self.quantity > self.max_inventory:
            raise ValueError(f"quantity ({self.quantity}) must not exceed max_inventory ({self.max_inventory})")
        return self


class Quotes(NamedTuple):
    bid: Decimal | None
    ask: Decimal | None


def quote_prices(
    mid: Decimal, inventory: Decimal, p: MarketMakingParams, inst: Instrument, quantity: Decimal | None = None
) -> Quotes:
    """The bid and ask for ``inventory`` around ``mid`` (None: that side would breach the inventory limit).

    ``quantity`` is the size of this bar's quotes; it defaults to ``p.quantity``, which must then be set.
    """
    size = p.quantity if quantity is None else quantity
    if size is None:
        raise ValueError("a quote size is needed: p.quantity is empty and none was given")
    limit = p.max_inventory if p.max_inventory is not None else QUOTES_HELD * size
    skew = p.skew_bps * inventory / limit
    bid = inst.round_price(mid * (1 - (p.half_spread_bps + skew) / _BPS), "down")
    ask = inst.round_price(mid * (1 + (p.half_spread_bps - skew) / _BPS), "up")
    if ask <= bid:
        ask = bid + inst.tick_size
    return Quotes(
        bid if bid > 0 and inventory + size <= limit else None,
        ask if inventory - size >= -limit else None,
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
        # A market without a book of its own (a bar fill model) has no sides: then the last price stands in.
        best_bid, best_ask = self.ctx.best_bid_ask(symbol)
        if best_bid is not None and best_ask is not None:
            return (best_bid + best_ask) / 2
        return self.price(symbol)

    def on_bar(self, bar: BarData) -> None:
        symbol = bar.symbol
        self.quotes.cancel(self, symbol)
        mid = self.book_mid(symbol)
        if mid is None:
            return
        size = self.p.quantity
        if size is None:
            size = qty_for_notional(self, symbol, self.equity * self.p.quote_pct / 100, mid)
            if size <= 0:
                self.signal("no_quote", float(mid), reason="quote_pct of equity is less than one lot")
                return
        inventory = self.position(symbol)
        inst = instrument(self, symbol)
        quotes = quote_prices(mid, inventory, self.p, inst, size)
        ask_size = size
        if not self.ctx.can_short():
            # A spot account sells only what it holds: the ask shrinks to the free base balance, none when flat
            # (else every flat bar's ask is refused for want of the asset).
            free = self.ctx.node.ledger.balance(self.ctx.account, inst.base).available
            ask_size = min(size, inst.round_qty(max(free, Decimal(0)), "down"))
        ask = quotes.ask if ask_size > 0 else None
        self.signal("quote", float(mid), inventory=str(inventory), bid=str(quotes.bid), ask=str(ask))
        if quotes.bid is not None:
            self.quotes.add(self.limit(symbol, OrderSide.BUY, size, quotes.bid, post_only=self.p.post_only))
        if ask is not None:
            self.quotes.add(self.limit(symbol, OrderSide.SELL, ask_size, ask, post_only=self.p.post_only))


__all__ = ["QUOTES_HELD", "MarketMaking", "MarketMakingParams", "Quotes", "quote_prices"]
