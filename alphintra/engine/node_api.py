"""What the trading node's parts ask of each other, declared: the node's interface for its helpers, the risk
engine's hooks, and the node's collaborators (journal, market driver).

The node's helpers -- the order emulator, the execution algorithms, and the modules holding parts of the node
(``_node_funds``, ``_node_recovery``, ``_node_reconcile``, ``_node_snapshot``) -- use the node only through
:class:`NodeServices` (the order commands and what an order needs) or :class:`NodeCore` (also the node's
bookkeeping tables, for recovery, reconciliation and snapshots), never its private members.
:class:`~alphintra.engine.node.TradingNode` implements both; mypy checks it where it hands itself over.

The risk engine is reached through :class:`RiskHooks` only; :class:`RiskControl` adds what the risk engine's owner
(the daemon's host, a backtest) calls on it. :class:`~alphintra.engine.risk.pretrade.RiskEngine` implements both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from alphintra.engine._node_reconcile import Reconciliation
    from alphintra.engine.algos import AlgoEngine
    from alphintra.engine.clock import Clock
    from alphintra.engine.commands import OrderRequest
    from alphintra.engine.core.events import OrderEvent, OrderFilled, OrderInitialized
    from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
    from alphintra.engine.core.ledger import Ledger
    from alphintra.engine.core.orders import Order
    from alphintra.engine.data import Bar, TradeTick
    from alphintra.engine.emulator import OrderEmulator
    from alphintra.engine.node import TradingNode
    from alphintra.engine.risk.breakers import Halt, HaltBook
    from alphintra.engine.risk.limits import LimitSet
    from alphintra.engine.venue.base import TradeIdCounter, Venue, VenueFill

OrderListener = Callable[["Order", "OrderEvent"], None]


class JournalSink(Protocol):
    def append(self, record: dict[str, Any]) -> int: ...


class JournalRecord(Protocol):
    """A typed journal record (node record, order event or risk record): it knows its journal dict."""

    def to_dict(self) -> dict[str, Any]: ...


class RiskHooks(Protocol):
    """Every call the node makes into its risk engine."""

    def check(self, node: TradingNode, order: OrderInitialized, instrument: Instrument) -> None:
        """The pre-trade gate: raises ``OrderRejectedError`` (reason RISK_LIMIT or HALTED) to refuse."""
        ...

    # ``node`` is Any in the two market hooks: the node's market side (a base class of it) makes these calls.
    def on_bar(self, node: Any, bar: Bar) -> object:
        """A bar closed (after the node processed it): live figures and circuit breakers."""
        ...

    def on_price(self, node: Any, symbol: str, price: Decimal, ts_ns: int) -> object:
        """The market traded at ``price`` (after the node processed it)."""
        ...


class RiskControl(RiskHooks, Protocol):
    """The rest of the risk engine its owner (the daemon's host, a backtest) drives, beside the node's hooks."""

    @property
    def halts(self) -> HaltBook: ...

    def attach(self, node: TradingNode) -> None:
        """Listen to ``node``'s order events and take over its state (again after a replay)."""
        ...

    def set_limits(self, limits: LimitSet) -> None: ...

    def figures(self, node: TradingNode, account: str) -> dict[str, Any]: ...

    def record_strategy_error(self, node: TradingNode, strategy: str, ts_ns: int | None = None) -> Halt | None: ...


class MarketDriver(Protocol):
    """What shows a venue the market (see :mod:`alphintra.engine.venue.sim_driver`); an exchange needs none."""

    def process_bar(self, bar: Bar) -> None: ...

    def process_trade(self, tick: TradeTick) -> None: ...

    def fresh_venue(self) -> Venue:
        """An empty venue like the driven one, bound and driven (a rewind drops what the old venue held)."""
        ...

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """The best bid and ask the driven venue shows (None for a side it lacks)."""
        ...


class NodeServices(Protocol):
    """What the emulator, the algorithms and the funding rules use: the order commands and what they read."""

    instruments: InstrumentRegistry
    ledger: Ledger
    clock: Clock
    orders: dict[str, Order]
    working: dict[str, Order]  # orders not yet terminal, oldest first
    listeners: list[OrderListener]
    default_account: str
    emulator: OrderEmulator
    algos: AlgoEngine

    def last_price(self, symbol: str) -> Decimal | None: ...

    def venue_for(self, symbol: str) -> Venue: ...

    def submit(
        self, request: OrderRequest, *, contingency: dict[str, Any] | None = None, no_lock: bool = False
    ) -> Order: ...

    def cancel(self, order_id: str, *, reason: str = ...) -> Order: ...

    def cancel_all(
        self,
        *,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        reason: str = ...,
    ) -> list[Order]: ...

    def modify(
        self,
        order_id: str,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order: ...

    def emit(self, order: Order, event: OrderEvent) -> None: ...

    def record(self, record: JournalRecord | dict[str, Any]) -> None: ...

    def route(self, order: Order) -> None: ...

    def send_to_venue(
        self,
        order: Order,
        *,
        key: str,
        quantity: Decimal | None = None,
        market: bool | None = None,
        trigger_price: Decimal | None = None,
    ) -> None: ...

    def expire(self, order_id: str) -> None: ...


class NodeCore(NodeServices, Protocol):
    """What recovery, reconciliation and snapshots use besides: the node's bookkeeping, by public names."""

    venue: Venue
    venues: dict[str, Venue]
    venue_halts: dict[str, str]  # venue name -> why trading there stopped
    trade_counters: list[TradeIdCounter]  # the venues that number their own trade ids
    fills: list[OrderFilled]
    last_prices: dict[str, Decimal]
    id_prefix: str
    order_seq: int  # the last order number handed out
    client_ids: dict[tuple[str, str], str]  # (account, client order id) -> order id
    used_client_ids: set[int]  # digests of client order ids of orders that left memory
    finished: dict[str, int]  # finished order id -> when, in that order (retention)
    at_venue: dict[str, Decimal]  # venue keys sent and working there -> the quantity still working
    cancel_reasons: dict[str, str]  # why a cancel on its way was asked (the venue only says "canceled")
    expiring: set[str]  # GTD orders whose cancel at the venue is an expiry
    replaying: bool  # folding the journal: nothing is journaled, emitted or sent
    restored: bool  # a snapshot was restored: records after it replay on top

    def track(self, order: Order) -> None: ...

    def by_client_id(self, account: str, client_order_id: str) -> Order | None: ...

    def after_apply(self, order: Order, event: OrderEvent) -> None: ...

    def apply_effects(self, order: Order, event: OrderEvent) -> None: ...

    def venue_filled(self, fill: VenueFill) -> None: ...

    def deposit(self, account: str, asset: str, amount: Decimal | int | str) -> None: ...

    def withdraw(self, account: str, asset: str, amount: Decimal | int | str) -> None: ...

    def reconcile(self, venue: str | None = None, *, dry_run: bool = False) -> Reconciliation: ...

    def replay(self, records: Iterable[Mapping[str, Any]]) -> int: ...

    def bind_venue(self, venue: Venue) -> None: ...


__all__ = [
    "JournalRecord",
    "JournalSink",
    "MarketDriver",
    "NodeCore",
    "NodeServices",
    "OrderListener",
    "RiskControl",
    "RiskHooks",
]
