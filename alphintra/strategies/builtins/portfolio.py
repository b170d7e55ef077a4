"""Multi-asset portfolio held at target weights by periodic rebalancing.

* **Targets**: ``weights`` gives each symbol's share of equity, in the order the symbols are given (on the command
  line as ``weights=0.5,0.3,0.2``); empty means equal weights. Weights are >= 0 and sum to at most 1; the rest is
  cash.
* **When**: at the first instant all symbols have a bar for, then every ``rebalance_every`` such instants.
* **What**: only the symbols whose weight drifted more than ``tolerance`` from their target (absolute, 0.02 = two
  percentage points), or that are not yet held at all, are traded back to target: small drifts are not worth the
  fees. Each trade is a market order for whole lots, fee included.

Sales go first; the purchases are sized and submitted once no sale is working any more, so that the proceeds pay
for them (on bars: a sale trades at its symbol's next open, the purchases after it). A purchase the account cannot
fund in full is cut to what it can, and the next rebalance corrects the difference.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from pydantic import Field, field_validator

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderEvent
from alphintra.engine.core.orders import Order
from alphintra.errors import ValidationError
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.builtins._common import BarSync, WorkingOrders, dec
from alphintra.strategies.registry import register


class PortfolioParams(StrategyParams):
    weights: list[Decimal] | None = Field(
        None, description="target weight per symbol, in symbol order, e.g. 0.5,0.3,0.2 (empty: equal weights)"
    )
    rebalance_every: int = Field(20, ge=1, le=1_000_000, description="instants (bars of every symbol) between checks")
    tolerance: Decimal = Field(Decimal("0.02"), ge=0, lt=1, description="drift from target that triggers a trade")

    @field_validator("weights", mode="before")
    @classmethod
    def _split_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().strip("[]")
            return [part.strip() for part in text.split(",") if part.strip()] if text else None
        return value

    @field_validator("weights")
    @classmethod
    def _valid_weights(cls, value: list[Decimal] | None) -> list[Decimal] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give one weight per symbol, or none for equal weights")
        if any(w < 0 for w in value):
            raise ValueError("weights must be >= 0 (this portfolio does not short)")
        if sum(value) > 1:
            raise ValueError(f"weights sum to {sum(value)}; at most 1 (the rest is cash)")
        return value


@register
class Portfolio(Strategy):
    name = "portfolio"
    description = "Portfolio: periodic rebalance of several symbols to target weights, with a drift tolerance"
    Params = PortfolioParams
    symbols_required = None

    @property
    def p(self) -> PortfolioParams:
        return cast(PortfolioParams, self.params)

    def on_start(self) -> None:
        symbols = self.symbols
        weights = self.p.weights
        if weights is None:
            share = Decimal(1) / len(symbols)
            weights = [share] * len(symbols)
        elif len(weights) != len(symbols):
            raise ValidationError(
                "weights", f"needs one weight per symbol ({len(symbols)}: {', '.join(symbols)})", len(weights)
            )
        self.targets = dict(zip(symbols, weights, strict=True))
        self.sync = BarSync(symbols)
        self.instants = 0
        self.rebalances = 0
        self.pending_buys: list[str] = []
        self.orders = WorkingOrders()

    def on_bar(self, bar: BarData) -> None:
        closes = self.sync.update(bar)
        if closes is None:
            return
        due = self.instants % self.p.rebalance_every == 0
        self.instants += 1
        if due and not self.orders.working():
            self.rebalance({s: dec(c) for s, c in closes.items()})

    def on_schedule(self) -> None:
        """One cron firing (``alphintra schedule``) is one rebalance at the last prices."""
        prices = {s: self.price(s) for s in self.symbols}
        if all(p is not None for p in prices.values()) and not self.orders.working():
            self.rebalance({s: p for s, p in prices.items() if p is not None})

    def weights(self, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        """Each symbol's share of equity at ``prices``."""
        equity = self.cash + sum((self.position(s) * prices[s] for s in self.symbols), Decimal(0))
        if equity <= 0:
            return dict.fromkeys(self.symbols, Decimal(0))
        return {s: self.position(s) * prices[s] / equity for s in self.symbols}

    def rebalance(self, prices: dict[str, Decimal]) -> None:
        current = self.weights(prices)
        tol = self.p.tolerance
        trades = [
            s
            for s in self.symbols
            if abs(current[s] - self.targets[s]) > tol or (self.position(s) == 0 and self.targets[s] > 0)
        ]
        if not trades:
            return
        self.rebalances += 1
        self.signal("rebalance", len(trades), drift={s: str(current[s] - self.targets[s]) for s in trades})
        sells = [s for s in trades if current[s] > self.targets[s]]
        self.pending_buys = [s for s in trades if s not in sells]
        for symbol in sells:
            self.orders.add(self.target_percent(symbol, self.targets[symbol]))
        self._buy_when_sold()

    def _buy_when_sold(self) -> None:
        """Buy once no sale is working: the sales' proceeds then count in the equity the purchases are sized on."""
        if not self.pending_buys or any(o.side is OrderSide.SELL for o in self.orders.working()):
            return
        buys, self.pending_buys = self.pending_buys, []
        for symbol in buys:
            self.orders.add(self.target_percent(symbol, self.targets[symbol]))

    def on_order_update(self, order: Order, event: OrderEvent) -> None:
        if order.is_terminal:
            self._buy_when_sold()


__all__ = ["Portfolio", "PortfolioParams"]
