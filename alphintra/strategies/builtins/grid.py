"""Grid trading: resting limit orders on a ladder of price levels, bought low and sold one level higher.

Levels sit at fixed spacing around a reference price (the first bar's close unless ``reference`` is given):
``reference + k x spacing`` (``mode = absolute``) or ``reference x (1 + spacing)^k`` (``mode = percent``), for
``k`` in ``-levels .. levels``, snapped to the tick.

The grid keeps one level empty, the *gap* (at first the reference itself). Every empty level below the gap gets a
limit buy of ``quantity``, every empty level above it a limit sell. Left empty, ``quantity`` is ``level_pct`` of
the account's equity at the reference, in whole lots, fixed when the grid is built (a fixed 1 unit was a
$60,000 order per level on BTC). When an order fills, its level becomes the gap,
so the order one level away on the other side is re-armed: a buy filled at level ``k`` puts a sell at ``k + 1``, a
sell filled at ``k`` a buy at ``k - 1``. Each round trip earns one spacing per ``quantity``, less fees. Re-arming
happens on the fill itself, so a bar that falls through a level and comes back can complete a round trip. Working
orders are never moved: when the market gaps through several levels, each of them fills.

Inventory is bounded: an order is not armed if filling it, together with the other working orders on its side,
would take the position beyond ``max_inventory`` either way (default: ``levels x quantity``). Sells are armed
only against what is held (a long grid: it sells what it bought) unless ``allow_short`` and the account is a
margin account, which makes it a neutral grid, short above the reference. A neutral grid stays short through a
rally that leaves the grid, so it is something to ask for, not the default. With ``recenter``,
a close beyond the outermost level rebuilds the grid around that close (the inventory is kept).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Literal, cast

from pydantic import Field

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.errors import ValidationError
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import cancel_if_open, dec, instrument, qty_for_notional
from alphintra.strategies.registry import register


class GridParams(StrategyParams):
    spacing: Decimal = Field(
        Decimal("0.01"), gt=0, description="level distance: a price (absolute) or a fraction (percent, 0.01 = 1 %)"
    )
    mode: Literal["absolute", "percent"] = Field("percent", description="how spacing is measured")
    levels: int = Field(5, ge=1, le=200, description="levels on each side of the reference")
    quantity: Decimal | None = Field(
        None, gt=0, description="order size at each level in base units (empty: level_pct of equity)"
    )
    level_pct: Decimal = Field(
        Decimal(10), gt=0, le=100, description="order size at each level as % of equity, when quantity is empty"
    )
    reference: Decimal | None = Field(None, gt=0, description="centre of the grid (empty: the first bar's close)")
    max_inventory: Decimal | None = Field(
        None, gt=0, description="largest position either way (empty: levels x quantity)"
    )
    recenter: bool = Field(False, description="rebuild the grid around the close when the price leaves it")
    allow_short: bool = Field(
        False, description="neutral grid: arm sells above the reference without holdings (margin accounts only)"
    )


@register
class Grid(Strategy):
    name = "grid"
    description = "Grid: limit buys below and sells above a reference; each fill re-arms the opposite order"
    Params = GridParams

    @property
    def p(self) -> GridParams:
        return cast(GridParams, self.params)

    def on_start(self) -> None:
        self.prices: dict[int, Decimal] = {}
        self.orders: dict[int, Order] = {}  # level -> its working order
        self.level_of: dict[str, int] = {}  # order id -> level
        self.gap = 0
        self.size = self.p.quantity or Decimal(0)  # set when the grid is built if quantity is empty
        self.rearms = 0
        self._busy = False
        self._dirty = False

    # -- the ladder -------------------------------------------------------------------------------------------

    def build(self, symbol: str, reference: Decimal) -> None:
        p = self.p
        inst = instrument(self, symbol)
        prices: dict[int, Decimal] = {}
        for k in range(-p.levels, p.levels + 1):
            raw = reference + k * p.spacing if p.mode == "absolute" else reference * (1 + p.spacing) ** k
            prices[k] = inst.round_price(raw)
        ordered = [prices[k] for k in sorted(prices)]
        if ordered[0] <= 0 or any(a >= b for a, b in pairwise(ordered)):
            raise ValidationError(
                "spacing", f"levels must be distinct positive prices on the tick grid ({inst.tick_size})", p.spacing
            )
        self.prices = prices
        self.gap = 0
        if p.quantity is None:
            self.size = qty_for_notional(self, symbol, self.equity * p.level_pct / 100, reference)
        self.signal("grid", float(reference), low=str(ordered[0]), high=str(ordered[-1]), quantity=str(self.size))

    def desired_side(self, level: int) -> OrderSide | None:
        if level == self.gap:
            return None
        return OrderSide.BUY if level < self.gap else OrderSide.SELL

    def reconcile(self, symbol: str) -> None:
        """Arm every empty level except the gap: a buy below it, a sell above it, within the inventory bound."""
        if self._busy:
            # A limit that trades at once (book mode) re-enters through on_fill: finish this pass, then redo it.
            self._dirty = True
            return
        self._busy = True
        try:
            self._dirty = True
            while self._dirty:
                self._dirty = False
                self._reconcile_once(symbol)
        finally:
            self._busy = False

    def _reconcile_once(self, symbol: str) -> None:
        p = self.p
        size = self.size
        if size <= 0:
            return  # level_pct of equity is less than one lot: nothing to arm
        cap = p.max_inventory if p.max_inventory is not None else size * p.levels
        # A long grid sells what it bought; only a neutral grid in a margin account may go short (a spot account
        # cannot hold a short at all).
        floor = -cap if p.allow_short and self.ctx.can_short() else Decimal(0)
        held = self.position(symbol)
        for level in [k for k, o in self.orders.items() if o.is_terminal]:
            self._forget(level)
        # Working orders stay, even on the "wrong" side of a gap that moved: when the market opens through several
        # levels the venue fills them one by one, and each of them is a level the price really passed.
        pending_buy = sum((o.leaves_quantity for o in self.orders.values() if o.side is OrderSide.BUY), Decimal(0))
        pending_sell = sum((o.leaves_quantity for o in self.orders.values() if o.side is OrderSide.SELL), Decimal(0))
        # Nearest levels first: with the inventory bound in force, the orders closest to the price matter most.
        for level in sorted(self.prices, key=lambda k: (abs(k - self.gap), k)):
            side = self.desired_side(level)
            if side is None or level in self.orders:
                continue
            if side is OrderSide.BUY:
                if held + pending_buy + size > cap:
                    continue
                pending_buy += size
            else:
                if held - pending_sell - size < floor:
                    continue
                pending_sell += size
            order = self.limit(symbol, side, size, self.prices[level], tags=(f"grid:{level}",))
            self.orders[level] = order
            self.level_of[order.id] = level

    def _forget(self, level: int) -> None:
        order = self.orders.pop(level, None)
        if order is not None:
            self.level_of.pop(order.id, None)

    # -- hooks ------------------------------------------------------------------------------------------------

    def on_bar(self, bar: BarData) -> None:
        p = self.p
        if not self.prices:
            self.build(bar.symbol, p.reference if p.reference is not None else dec(bar.close))
        elif p.recenter:
            close = dec(bar.close)
            if close > self.prices[p.levels] or close < self.prices[-p.levels]:
                for level in list(self.orders):
                    cancel_if_open(self, self.orders[level])
                    self._forget(level)
                self.build(bar.symbol, close)
        self.reconcile(bar.symbol)

    def on_fill(self, order: Order, fill: OrderFilled) -> None:
        level = self.level_of.get(order.id)
        if level is None or not order.is_terminal:
            return  # a partial fill keeps its level until the order is done
        self._forget(level)
        self.gap = level
        self.rearms += 1
        self.reconcile(order.symbol)


__all__ = ["Grid", "GridParams"]
