"""The strategy API: typed parameters, event hooks and order helpers.

A strategy never knows whether it runs in a backtest, on paper or live: it talks to a :class:`StrategyContext`,
which the backtester, the paper runner and the daemon implement over the same trading node.

Hooks (all optional): ``on_start``, ``on_bar``, ``on_trade``, ``on_quote``, ``on_order_update``, ``on_fill``,
``on_timer``, ``on_stop``. Bars arrive after they close; orders placed in ``on_bar`` trade on later prices.
Bar prices given to strategies are floats (signals); money -- quantities, limit prices, cash, equity -- is
Decimal and goes through the helpers, which snap it onto the instrument's grid.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from alphintra.engine.core.enums import OrderSide, OrderType, TimeInForce, TrailingOffsetType
from alphintra.errors import AlphintraError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from alphintra.engine.core.events import OrderEvent, OrderFilled
    from alphintra.engine.core.orders import Order
    from alphintra.engine.data import QuoteTick, TradeTick
    from alphintra.strategies.context import NodeContext as StrategyContext
    from alphintra.strategies.lines import Line


class StrategyError(AlphintraError):
    """A strategy raised; it is stopped (and, under risk, halted) -- never the engine."""

    code = "strategy_error"


class BarData(NamedTuple):
    """A closed bar as a strategy sees it (float prices: signals, not money)."""

    symbol: str
    ts: int  # open time, ns UTC
    open: float
    high: float
    low: float
    close: float
    volume: float


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: validated, defaulted, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Strategy:
    """Subclass, set ``name``, ``Params`` and implement hooks. One instance per run."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    # How many symbols the strategy trades: 1, 2 (pairs / arbitrage) or None for any number.
    symbols_required: ClassVar[int | None] = 1

    def __init__(self, params: StrategyParams | Mapping[str, Any] | None = None) -> None:
        if params is None or isinstance(params, Mapping):
            params = self.Params(**dict(params or {}))
        self.params = params
        self._ctx: StrategyContext | None = None
        self.log = logging.getLogger(f"alphintra.strategy.{self.name or type(self).__name__}")

    # -- wiring -------------------------------------------------------------------------------------------

    def bind(self, ctx: StrategyContext) -> None:
        self._ctx = ctx

    @property
    def ctx(self) -> StrategyContext:
        if self._ctx is None:
            raise StrategyError(f"strategy {self.name} is not running")
        return self._ctx

    @property
    def symbols(self) -> list[str]:
        return self.ctx.symbols

    # -- hooks --------------------------------------------------------------------------------------------

    def on_start(self) -> None: ...

    def on_bar(self, bar: BarData) -> None: ...

    def on_trade(self, tick: TradeTick) -> None: ...

    def on_quote(self, quote: QuoteTick) -> None: ...

    def on_order_update(self, order: Order, event: OrderEvent) -> None: ...

    def on_fill(self, order: Order, fill: OrderFilled) -> None: ...

    def on_timer(self, name: str, ts: int) -> None: ...

    def on_stop(self) -> None: ...

    def wake(self, symbol: str, bars: pl.DataFrame) -> np.ndarray | None:
        """Optional, for fast backtests: which of ``bars`` (all of ``symbol``'s, in time order: ``ts`` in ns,
        ``open``, ``high``, ``low``, ``close``, ``volume``) ``on_bar`` may act on, as a boolean array.

        A backtest has every bar up front; with a wake mask it shows the strategy only the bars the mask marks
        (and the bars on which its orders can trade or its timers fire), and only moves time, prices and equity
        over the others. The mask may mark more bars than needed, never fewer: "act" is placing, changing or
        cancelling an order or recording a signal. It is computed from the bars and the strategy's indicator
        lines (``line.array()``, row by row like ``bars``, NaN during the warm-up). ``on_bar`` stays the
        strategy's only decision logic (paper and live never skip a bar), and a backtest with
        ``skip_quiet_bars=False`` shows every bar and fails the run if ``on_bar`` acts on an unmarked one.
        ``None`` (the default) shows every bar.
        """
        return None

    # -- portfolio ----------------------------------------------------------------------------------------

    def position(self, symbol: str | None = None) -> Decimal:
        return self.ctx.position(symbol or self.symbols[0])

    @property
    def cash(self) -> Decimal:
        return self.ctx.cash()

    @property
    def equity(self) -> Decimal:
        return self.ctx.equity()

    def price(self, symbol: str | None = None) -> Decimal | None:
        return self.ctx.price(symbol or self.symbols[0])

    def indicator(self, name: str, symbol: str | None = None, *, output: str | None = None, **params: Any) -> Line:
        """An indicator line of ``symbol`` (default: the first), for ``on_start``: ``line.value`` is its value at
        the bar ``on_bar`` is shown, ``line.previous`` at the bar before (``None`` while warming up). ``name`` and
        ``params`` as in :func:`alphintra.strategies.indicators.compute`; ``output`` picks one output of a
        multi-output indicator (default: the first)."""
        return self.ctx.indicator(name, symbol or self.symbols[0], output, params)

    def now(self) -> int:
        return self.ctx.now_ns()

    # -- orders -------------------------------------------------------------------------------------------

    def buy(self, symbol: str, quantity: Decimal | int | str, **kw: Any) -> Order:
        return self.ctx.order(symbol, OrderSide.BUY, quantity, **kw)

    def sell(self, symbol: str, quantity: Decimal | int | str, **kw: Any) -> Order:
        return self.ctx.order(symbol, OrderSide.SELL, quantity, **kw)

    def limit(
        self, symbol: str, side: OrderSide | str, quantity: Decimal | int | str, price: Decimal | str, **kw: Any
    ) -> Order:
        return self.ctx.order(symbol, OrderSide(side), quantity, order_type=OrderType.LIMIT, price=price, **kw)

    def stop(
        self, symbol: str, side: OrderSide | str, quantity: Decimal | int | str, stop_price: Decimal | str, **kw: Any
    ) -> Order:
        return self.ctx.order(symbol, OrderSide(side), quantity, order_type=OrderType.STOP, stop_price=stop_price, **kw)

    def trailing_stop(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: Decimal | int | str,
        offset: Decimal | str,
        *,
        percent: bool = False,
        **kw: Any,
    ) -> Order:
        return self.ctx.order(
            symbol,
            OrderSide(side),
            quantity,
            order_type=OrderType.TRAILING_STOP,
            trailing_offset=offset,
            trailing_offset_type=TrailingOffsetType.PERCENT if percent else TrailingOffsetType.PRICE,
            **kw,
        )

    def bracket(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: Decimal | int | str,
        *,
        take_profit: Decimal | str,
        stop_loss: Decimal | str,
        price: Decimal | str | None = None,
    ) -> tuple[Order, Order, Order]:
        return self.ctx.bracket(
            symbol, OrderSide(side), quantity, take_profit=take_profit, stop_loss=stop_loss, price=price
        )

    def twap(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: Decimal | int | str,
        *,
        duration_ns: int,
        slices: int,
        **kw: Any,
    ) -> Any:
        return self.ctx.twap(symbol, OrderSide(side), quantity, duration_ns=duration_ns, slices=slices, **kw)

    def cancel(self, order_id: str) -> None:
        self.ctx.cancel(order_id)

    def cancel_all(self, symbol: str | None = None) -> None:
        self.ctx.cancel_all(symbol)

    def close_position(self, symbol: str | None = None) -> Order | None:
        return self.ctx.close_position(symbol or self.symbols[0])

    def target_percent(self, symbol: str, percent: Decimal | float | str, **kw: Any) -> Order | None:
        """Trade towards holding ``percent`` of equity in ``symbol`` (negative: short, or flat in a spot account,
        which cannot hold a short); whole lots, fees included."""
        return self.ctx.target_percent(symbol, Decimal(str(percent)), **kw)

    def set_timer(self, name: str, *, interval_ns: int | None = None, at_ns: int | None = None) -> None:
        self.ctx.set_timer(name, interval_ns=interval_ns, at_ns=at_ns)

    def signal(self, name: str, value: float | str, **data: Any) -> None:
        """Record a trading signal (shown by `strategy signals` and streamed on the API)."""
        self.ctx.signal(name, value, **data)


__all__ = ["BarData", "OrderSide", "OrderType", "Strategy", "StrategyError", "StrategyParams", "TimeInForce"]
