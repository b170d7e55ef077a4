"""The strategy's window on the engine, and the safe wrapper around user code.

:class:`NodeContext` implements the strategy API over a :class:`~alphintra.engine.node.TradingNode`; the
backtester, the paper runner and the daemon all use it, which is what makes a strategy behave the same in every
mode. :class:`StrategyRunner` calls the hooks: an order the engine refuses is logged and counted (the strategy
keeps running); any other exception becomes a :class:`StrategyError` that stops this strategy only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.frozen import quick_init
from alphintra.engine.core.ledger_types import AccountMode
from alphintra.engine.core.orders import Order
from alphintra.engine.node import TradingNode
from alphintra.strategies.base import BarData, Strategy, StrategyError
from alphintra.strategies.lines import Line, Lines

_log = logging.getLogger("alphintra.strategies")


def _money(field_name: str, value: object) -> Decimal:
    if isinstance(value, float):
        # Floats cannot say 0.1 exactly; money must arrive as Decimal, int or text.
        raise ValidationError(field_name, "must be a Decimal, int or str, not float", value)
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise ValidationError(field_name, "must be a number", value) from None


# A signal whose data carries this key asks for a risk alert: {rule, severity, message, symbol?, value?,
# threshold?}. The daemon journals it through its risk keeper (daemon/trading/strategies.py); a backtest keeps it
# as the signal's data only.
RISK_ALERT = "risk_alert"


@quick_init
@dataclass(frozen=True, slots=True)
class Signal:
    ts: int
    strategy: str
    name: str
    value: float | str
    data: dict[str, Any] = field(default_factory=dict)


class NodeContext:
    def __init__(
        self,
        node: TradingNode,
        strategy: Strategy,
        *,
        symbols: list[str],
        account: str | None = None,
        accounts: Mapping[str, str] | None = None,
        on_signal: Callable[[Signal], None] | None = None,
    ) -> None:
        self.node = node
        self.strategy = strategy
        self.symbols = symbols
        self.account = account or node.default_account
        # A strategy trading on several venues (cross-venue arbitrage) trades each symbol in the account on its
        # venue (an account lives on one venue): symbol -> account; a symbol not named trades in ``account``.
        self.accounts = {s: (accounts or {}).get(s, self.account) for s in symbols}
        self.all_accounts = frozenset([self.account, *self.accounts.values()])
        self.name = strategy.name or type(strategy).__name__
        self.signals: list[Signal] = []
        self._on_signal = on_signal
        self.runner: StrategyRunner | None = None
        self.lines = Lines()

    # -- state --------------------------------------------------------------------------------------------

    def now_ns(self) -> int:
        return self.node.clock.now_ns()

    def account_of(self, symbol: str) -> str:
        """The account ``symbol``'s orders trade in."""
        return self.accounts.get(symbol, self.account)

    def position(self, symbol: str) -> Decimal:
        return self.node.ledger.quantity(self.account_of(symbol), symbol)

    def available(self, asset: str, symbol: str | None = None) -> Decimal:
        """What the account of ``symbol`` (else the strategy's account) holds of ``asset`` that no working order
        has locked: on several venues, each venue's account has its own."""
        account = self.account if symbol is None else self.account_of(symbol)
        return self.node.ledger.balance(account, asset).available

    def cash(self) -> Decimal:
        currency = self.node.instruments.get(self.symbols[0]).quote
        return self.node.ledger.balance(self.account, currency).total

    def can_short(self) -> bool:
        """Whether the account may hold a short (a margin account); a spot account sells only what it holds."""
        return self.node.ledger.account_mode(self.account) is AccountMode.MARGIN

    def equity(self) -> Decimal:
        self._refresh_marks()
        return self.node.ledger.equity(self.account)

    def _refresh_marks(self) -> None:
        """The node marks the ledger only when it trades a bar; bring the marks up to the last prices."""
        mark = self.node.ledger.mark
        stale = {s: p for s, p in self.node.last_prices.items() if mark(s) != p}
        if stale:
            self.node.ledger.mark_to_market(stale)

    def price(self, symbol: str) -> Decimal | None:
        return self.node.last_price(symbol)

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """The best bid and ask of the market the node trades (None for a side it lacks, or with no book)."""
        driver = self.node.driver
        return (None, None) if driver is None else driver.top_of_book(symbol)

    def depth(self, symbol: str, n: int = 10) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
        """The venue's L2 book of ``symbol`` (``bids``/``asks``: (price, quantity, count)), empty without one."""
        depth = getattr(self.node.driver, "depth", None)
        return {"bids": [], "asks": []} if depth is None else depth(symbol, n)

    def indicator(self, name: str, symbol: str, output: str | None, params: Mapping[str, Any]) -> Line:
        if symbol not in self.symbols:
            raise ValidationError(
                "symbol", f"must be one of the strategy's symbols ({', '.join(self.symbols)})", symbol
            )
        return self.lines.add(name, symbol, output, params)

    # -- orders -------------------------------------------------------------------------------------------

    def order(self, symbol: str, side: OrderSide, quantity: object, **kw: Any) -> Order:
        inst = self.node.instruments.get(symbol)
        for key in ("price", "stop_price", "trailing_offset"):
            if kw.get(key) is not None:
                kw[key] = _money(key, kw[key])
        request = OrderRequest(
            symbol=symbol,
            side=side,
            quantity=inst.make_qty(_money("quantity", quantity)),
            strategy=self.name,
            account=self.account_of(symbol),
            **kw,
        )
        self._refresh_marks()
        return self.node.submit(request)

    def bracket(
        self,
        symbol: str,
        side: OrderSide,
        quantity: object,
        *,
        take_profit: object,
        stop_loss: object,
        price: object | None = None,
    ) -> tuple[Order, Order, Order]:
        inst = self.node.instruments.get(symbol)
        entry = OrderRequest(
            symbol=symbol,
            side=side,
            quantity=inst.make_qty(_money("quantity", quantity)),
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=None if price is None else _money("price", price),
            strategy=self.name,
            account=self.account_of(symbol),
        )
        return self.node.submit_bracket(
            BracketRequest(entry, _money("take_profit", take_profit), _money("stop_loss", stop_loss))
        )

    def twap(self, symbol: str, side: OrderSide, quantity: object, *, duration_ns: int, slices: int, **kw: Any) -> Any:
        submit = getattr(self.node, "submit_twap", None)
        if submit is None:
            raise StrategyError("TWAP is not available on this node")
        inst = self.node.instruments.get(symbol)
        return submit(
            symbol=symbol,
            side=side,
            quantity=inst.make_qty(_money("quantity", quantity)),
            duration_ns=duration_ns,
            slices=slices,
            strategy=self.name,
            account=self.account_of(symbol),
            **kw,
        )

    def cancel(self, order_id: str) -> None:
        self.node.cancel(order_id)

    def cancel_all(self, symbol: str | None = None) -> None:
        self.node.cancel_all(symbol=symbol, strategy=self.name)

    def close_position(self, symbol: str) -> Order | None:
        qty = self.position(symbol)
        if qty == 0:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        return self.order(symbol, side, abs(qty))

    def target_quantity(self, symbol: str, percent: Decimal) -> Decimal:
        """Whole lots worth ``percent`` of equity at the last price, with the taker fee paid out of it.

        When the target is on the other side of the current position (a reversal), the fee of closing the
        current position comes out of the equity first, so the whole trade is affordable at that price. In a spot
        account a short target means flat: it cannot hold a short, and the sell would be refused every time.
        """
        if percent < 0 and not self.can_short():
            percent = Decimal(0)
        price = self.price(symbol)
        if price is None:
            raise StrategyError(f"no price yet for {symbol}")
        inst = self.node.instruments.get(symbol)
        equity = self.equity()
        held = self.position(symbol)
        if held != 0 and (held > 0) != (percent > 0):
            equity -= abs(held) * price * inst.taker_fee
        value = equity * percent
        raw = abs(value) / (price * (1 + inst.taker_fee))
        lots = (raw / inst.lot_size).to_integral_value(rounding=ROUND_DOWN)
        qty = inst.lots_to_qty(int(lots))
        return qty if value >= 0 else -qty

    def target_percent(self, symbol: str, percent: Decimal, **kw: Any) -> Order | None:
        target = self.target_quantity(symbol, percent)
        delta = target - self.position(symbol)
        # Whole lots only: an exchange that charges a buy's fee in the bought asset leaves a position that is not
        # (e.g. 0.16594 BTC bought, 0.00016594 BTC fee); the dust below a lot stays, as it must on the exchange.
        lot = self.node.instruments.get(symbol).lot_size
        size = (abs(delta) / lot).to_integral_value(rounding=ROUND_DOWN) * lot
        if size == 0:
            return None
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        return self.order(symbol, side, size, **kw)

    def set_timer(self, name: str, *, interval_ns: int | None = None, at_ns: int | None = None) -> None:
        runner = self.runner

        def fire(_timer: str, ts: int) -> None:
            if runner is not None:
                runner.timer(name, ts)

        self.node.clock.set_timer(f"strategy:{self.name}:{name}", fire, at_ns=at_ns, interval_ns=interval_ns)

    def signal(self, name: str, value: float | str, **data: Any) -> None:
        sig = Signal(self.now_ns(), self.name, name, value, dict(data))
        self.signals.append(sig)
        if self._on_signal is not None:
            self._on_signal(sig)


class StrategyRunner:
    """Calls a strategy's hooks behind the safety wrapper and routes the node's order events to it."""

    def __init__(self, strategy: Strategy, ctx: NodeContext) -> None:
        self.strategy = strategy
        self.ctx = ctx
        self.rejections: list[str] = []
        self.error: StrategyError | None = None
        self.running = False
        ctx.runner = self
        strategy.bind(ctx)
        self._listener = self._order_event
        ctx.node.listeners.append(self._listener)
        self._wants_updates = self._wants_fills = True

    def _call(self, hook: str, fn: Callable[..., None], *args: Any) -> None:
        if not self.running:
            return
        try:
            fn(*args)
        except OrderRejectedError as exc:
            # The engine refused an order: the strategy carries on, the refusal is kept for the report.
            self.rejections.append(f"{hook}: {exc.message}")
            _log.info("strategy %s: order rejected: %s", self.ctx.name, exc.message)
        except Exception as exc:
            self.running = False
            self.error = StrategyError(f"strategy {self.ctx.name} failed in {hook}: {type(exc).__name__}: {exc}")
            self.error.__cause__ = exc
            _log.error("%s", self.error.message, exc_info=exc)

    def _overrides(self, hook: str) -> bool:
        return hook in vars(self.strategy) or getattr(type(self.strategy), hook) is not getattr(Strategy, hook)

    def start(self) -> None:
        # Most strategies never look at order events: do not wrap a call to an empty hook four times per order.
        self._wants_updates = self._overrides("on_order_update")
        self._wants_fills = self._overrides("on_fill")
        if not (self._wants_updates or self._wants_fills):
            with contextlib.suppress(ValueError):  # nothing to route: the node's events need not pass through here
                self.ctx.node.listeners.remove(self._listener)
        self.running = True
        self._call("on_start", self.strategy.on_start)

    def bar(self, bar: BarData) -> None:
        if self.running:
            self._call("on_bar", self._on_bar, bar)

    def _on_bar(self, bar: BarData) -> None:
        # Incremental lines see the bar before the strategy does (a backtest's precomputed ones ignore it).
        self.ctx.lines.feed(bar)
        self.strategy.on_bar(bar)

    def trade(self, tick: Any) -> None:
        self._call("on_trade", self.strategy.on_trade, tick)

    def quote(self, quote: Any) -> None:
        self._call("on_quote", self.strategy.on_quote, quote)

    def timer(self, name: str, ts: int) -> None:
        self._call("on_timer", self.strategy.on_timer, name, ts)

    def stop(self) -> None:
        self._call("on_stop", self.strategy.on_stop)
        self.running = False
        with contextlib.suppress(ValueError):
            self.ctx.node.listeners.remove(self._listener)

    def _order_event(self, order: Order, event: OrderEvent) -> None:
        if order.strategy != self.ctx.name or order.account not in self.ctx.all_accounts:
            return
        if self._wants_updates:
            self._call("on_order_update", self.strategy.on_order_update, order, event)
        if self._wants_fills and isinstance(event, OrderFilled):
            self._call("on_fill", self.strategy.on_fill, order, event)


__all__ = ["RISK_ALERT", "NodeContext", "Signal", "StrategyRunner"]
