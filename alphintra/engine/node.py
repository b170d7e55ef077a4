"""The trading node: one code path for backtest, paper and live trading.

It owns the orders (folds of their events), the ledger, the order emulator and the venue wiring. Every change is
an event applied in the same order everywhere:

    order.apply(event)  ->  ledger effects  ->  journal append  ->  emulator, listeners

so the journal, replayed through :meth:`TradingNode.replay`, rebuilds orders, balances and positions exactly.
Ledger effects are derived from events (a fill books the trade; a terminal order releases its lock) except the
two facts an event cannot carry: reservations (their price depends on the market at the time) and account
funding, which are journaled as typed node records (:mod:`alphintra.engine.node_records`: ``Reserved``,
``Released``, ``AccountOpened``, ``Deposited``, ``Withdrawn`` and the emulator's, algorithms' and margin calls').

Commands that fail validation, risk or funds raise before anything is journaled: a rejected request changes
nothing. The node is single-threaded; the daemon hands it work on its own thread.

Execution algorithms (TWAP/VWAP) live in :mod:`alphintra.engine.algos` as ``node.algos``; ``submit_twap`` and
``submit_vwap`` start them. Every delay runs on the clock's timers.

The node knows its venue only through the port (:mod:`alphintra.engine.venue.base`): native orders go out, reports
come back, and the venue's declared capabilities say what it does itself. Market data reaches the node through its
``driver`` when the venue needs driving (the simulator's :mod:`~alphintra.engine.venue.sim_driver`), else directly.

Private modules hold parts of the node: ``_node_funds`` (reservation prices, ledger locks, the reduce-only rule and
the venue's fill capacity), ``_node_recovery`` (journal replay and resume) and ``_node_reconcile`` (asking the
venue what it holds, adopting what the node does not know, resolving commands that got no answer) and
``_node_snapshot``. They, the emulator and the algorithms use the node through the protocols of
:mod:`alphintra.engine.node_api` (public names only); the risk engine is reached through its ``RiskHooks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from alphintra.engine import _node_reconcile, _node_recovery, _node_replace, _node_snapshot
from alphintra.engine._node_funds import (
    MARGIN_CALL,
    check_reduce_only,
    margin_call,
    record_reserved,
    reservation_price,
    reserve,
    reserve_and_record,
)
from alphintra.engine._node_market import NodeMarket
from alphintra.engine.algos import AlgoEngine, AlgoProgress, TwapRequest, VwapRequest
from alphintra.engine.clock import Clock, SteppedClock
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
)
from alphintra.engine.core.errors import ConflictError, NotFoundError, OrderRejectedError, ValidationError
from alphintra.engine.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.ledger import Ledger
from alphintra.engine.core.ledger_types import AccountMode
from alphintra.engine.core.orders import Order
from alphintra.engine.core.validation import check_order
from alphintra.engine.emulator import OrderEmulator
from alphintra.engine.listings import Listings
from alphintra.engine.node_api import (
    JournalRecord,
    JournalSink,
    MarketDriver,
    NodeCore,
    NodeServices,
    OrderListener,
    RiskHooks,
)
from alphintra.engine.node_records import AccountOpened, Deposited, VenueResumed, Withdrawn
from alphintra.engine.venue.base import TradeIdCounter, Venue, VenueFill, VenueOrder

_log = logging.getLogger("alphintra.engine.node")
_EMULATED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
_TERMINAL_EVENTS = (OrderCanceled, OrderExpired, OrderRejected)


class TradingNode(NodeMarket):
    def __init__(
        self,
        *,
        instruments: InstrumentRegistry,
        venue: Venue,
        clock: Clock,
        ledger: Ledger | None = None,
        journal: JournalSink | None = None,
        risk: RiskHooks | None = None,
        default_account: str = "main",
        id_prefix: str = "O",
        venues: Iterable[Venue] = (),
        routes: Mapping[str, str] | None = None,
    ) -> None:
        self.instruments = instruments
        self.venue = venue  # the default venue: an instrument without a route trades here
        # Several venues: each instrument belongs to one (``routes``: symbol -> venue name) and its orders go there.
        self.venues: dict[str, Venue] = {venue.name: venue}
        self._routes: dict[str, str] = {}  # by name: a rewind binds a fresh venue of the same name
        self.clock = clock
        self.ledger = ledger or Ledger()
        self.journal = journal
        self.risk = risk
        self.default_account = default_account
        self.id_prefix = id_prefix
        self.driver: MarketDriver | None = None
        self.orders: dict[str, Order] = {}
        # The working orders, oldest first: ``orders`` keeps every order ever placed, and a long-running daemon's
        # open-order questions (risk figures, cancel-all, status) must not scan all of them.
        self.working: dict[str, Order] = {}
        self.fills: list[OrderFilled] = []
        self.last_prices: dict[str, Decimal] = {}
        self.listeners: list[OrderListener] = []
        self.emulator = OrderEmulator(self)
        self.client_ids: dict[tuple[str, str], str] = {}
        # Client order ids of orders that left memory (retention), as 64-bit digests: still used for good.
        self.used_client_ids: set[int] = set()
        self.finished: dict[str, int] = {}  # finished order id -> when it finished, in that order (retention)
        self.order_seq = 0
        self.replaying = False
        self.restored = False  # a snapshot was restored: the records after it replay on top
        self.expiring: set[str] = set()
        # Venue keys sent and not yet done at the venue -> the quantity still working there (the node's view).
        self.at_venue: dict[str, Decimal] = {}
        self.venue_halts: dict[str, str] = {}  # venue name -> why trading there stopped (a reconciliation's finding)
        self.cancel_reasons: dict[str, str] = {}
        self.replacing: dict[str, _node_replace.Replacement] = {}  # order id -> its cancel-replace in flight
        self.trade_counters: list[TradeIdCounter] = []  # the venues that number their own trade ids
        self._advance_to: Callable[[int], int] | None = clock.advance_to if isinstance(clock, SteppedClock) else None
        # account -> the venue it lives on (set by whoever configures accounts); an order of such an account for an
        # instrument of another venue is refused. Accounts not listed trade anywhere (a backtest's one account).
        self.account_venues: dict[str, str] = {}
        self.listings = Listings()  # a symbol listed on several venues: one key per venue (engine.listings)
        for inst in instruments:
            self.ledger.register(inst)
        self.bind_venue(venue)
        for other in venues:
            self.venues[other.name] = other
            other.bind(self)
        self._count_trades()
        for symbol, name in (routes or {}).items():
            if name not in self.venues:
                raise ValidationError(
                    f"routes.{symbol}", f"must name a venue of the node ({', '.join(self.venues)})", name
                )
            self._routes[symbol] = name
        self.algos = AlgoEngine(self)

    # -- accounts -------------------------------------------------------------------------------------------

    def open_account(
        self,
        account: str,
        *,
        cash: Mapping[str, Decimal | int | str] | None = None,
        mode: AccountMode | str = AccountMode.SPOT,
        currency: str = "USD",
        leverage: Decimal | int | str = 1,
    ) -> None:
        mode_value = mode.value if isinstance(mode, AccountMode) else str(mode)
        self.ledger.open_account(account, mode=mode_value, currency=currency, leverage=leverage)
        self.record(AccountOpened(account, mode_value, currency, Decimal(str(leverage))))
        for asset, amount in (cash or {}).items():
            self.deposit(account, asset, amount)

    def deposit(self, account: str, asset: str, amount: Decimal | int | str) -> None:
        self.ledger.deposit(account, asset, amount)
        self.record(Deposited(account, asset, Decimal(str(amount))))

    def withdraw(self, account: str, asset: str, amount: Decimal | int | str) -> None:
        self.ledger.withdraw(account, asset, amount)
        self.record(Withdrawn(account, asset, Decimal(str(amount))))

    # -- queries --------------------------------------------------------------------------------------------

    def order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFoundError(f"order {order_id!r} not found")
        return order

    def open_orders(self, symbol: str | None = None, strategy: str | None = None) -> list[Order]:
        """Orders not yet in a terminal state, oldest first."""
        return [
            o
            for o in self.working.values()
            if (symbol is None or o.symbol == symbol) and (strategy is None or o.strategy == strategy)
        ]

    def open_count(self) -> int:
        return len(self.working)

    def track(self, order: Order) -> None:
        """Keep the working-order index in step with ``order``'s state (after each event applied to it)."""
        if order.is_terminal:
            self.working.pop(order.id, None)
            self.finished.setdefault(order.id, order.updated_at)
        else:
            self.working[order.id] = order

    def check_margin(self) -> list[Order]:
        """Margin call: close every position of a margin account whose equity fell below its maintenance margin.

        The account's working orders are canceled and each position gets a reduce-only market order (tagged
        ``margin-call``), as a broker would do; a ``MarginCall`` record says why in the journal. While those orders
        work the account is not called again. Returns the orders placed.
        """
        return [] if self.replaying else margin_call(self)

    def last_price(self, symbol: str) -> Decimal | None:
        return self.last_prices.get(symbol)

    def venue_for(self, symbol: str) -> Venue:
        """The venue ``symbol`` trades on (its route, else the default venue)."""
        name = self._routes.get(symbol)
        return self.venue if name is None else self.venues[name]

    def resolve_symbol(self, symbol: str, *, venue: str | None = None, account: str | None = None) -> str:
        """The instrument key meant by ``symbol`` on ``venue`` (or the venue ``account`` lives on)."""
        return self.listings.resolve(symbol, venue or (self.account_venues.get(account or "") if account else None))

    def accounts_on(self, venue: str) -> list[str]:
        return [account for account, home in self.account_venues.items() if home == venue]

    def by_client_id(self, account: str, client_order_id: str) -> Order | None:
        order_id = self.client_ids.get((account, client_order_id))
        return None if order_id is None else self.orders[order_id]

    # -- commands -------------------------------------------------------------------------------------------

    def submit(
        self, request: OrderRequest, *, contingency: dict[str, Any] | None = None, no_lock: bool = False
    ) -> Order:
        """Validate, check risk and funds, then create and route the order. Raises (changing nothing) on refusal.

        Idempotent by ``client_order_id`` per account: a repeat returns the existing order.
        """
        account = request.account or self.default_account
        if request.client_order_id is not None:
            existing = self.by_client_id(account, request.client_order_id)
            if existing is not None:
                return existing
            if _node_snapshot.client_key(account, request.client_order_id) in self.used_client_ids:
                raise ConflictError(
                    f"client_order_id {request.client_order_id!r} was used by an earlier order of account {account}"
                )
        now = self.clock.now_ns()
        order_id = f"{self.id_prefix}-{self.order_seq + 1:08d}"
        init = OrderInitialized(
            order_id,
            now,
            account=account,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            trailing_offset=request.trailing_offset,
            trailing_offset_type=request.trailing_offset_type,
            display_quantity=request.display_quantity,
            post_only=request.post_only,
            reduce_only=request.reduce_only,
            time_in_force=request.time_in_force,
            expires_at=request.expires_at,
            client_order_id=request.client_order_id,
            strategy=request.strategy,
            tags=request.tags,
            **(contingency or {}),
        )
        last, immediate = self.last_price(request.symbol), request.allow_immediate
        inst = check_order(init, self.instruments, now, reference_price=last, allow_immediate=immediate)
        if account not in self.ledger.accounts():
            raise OrderRejectedError("account", "is not an open account", account, reason=RejectReason.VENUE_REJECTED)
        venue = self.venue_for(request.symbol)
        home = self.account_venues.get(account)
        if home is not None and home != venue.name:
            raise OrderRejectedError(
                "account",
                f"lives on venue {home!r}, but {request.symbol} trades on venue {venue.name!r}",
                account,
                reason=RejectReason.VENUE_REJECTED,
            )
        if venue.name in self.venue_halts:
            raise OrderRejectedError("venue", self.venue_halts[venue.name], venue.name, reason=RejectReason.HALTED)
        if self.risk is not None:
            self.risk.check(self, init, inst)
        if init.reduce_only:
            check_reduce_only(self.ledger, init)
        # A bracket's exits wait (NEW, nothing locked) for the entry; an algorithm's children go out at once.
        hold = (
            contingency is not None
            and contingency.get("parent_order_id") is not None
            and contingency.get("contingency_type") is ContingencyType.BRACKET
        )
        price = None if hold else reservation_price(self, init, inst)
        if not hold and not no_lock:
            # Raises (InsufficientBalance) before anything is kept; journaled below, after OrderInitialized.
            reserve(self.ledger, account, order_id, inst, init.side, init.quantity, price)
        self.order_seq += 1
        order = Order.create(init)
        self.orders[order_id] = order
        if init.client_order_id is not None:
            self.client_ids[(account, init.client_order_id)] = order_id
        self.after_apply(order, init)
        if self.journal is not None:  # a backtest keeps no journal: no record to build
            res = self.ledger.reservation(order_id)
            if res is not None:
                record_reserved(self, res)
        if not hold:
            self.route(order)
        return order

    def submit_oco(self, first: OrderRequest, second: OrderRequest) -> tuple[Order, Order]:
        """Two orders where the first fill (or trigger) of either cancels the other.

        When both legs spend the same thing (same account, symbol and side) and one is an emulated stop no larger
        than the other, the stop holds no lock of its own: it uses the other leg's, which its trigger cancels
        before the stop locks and goes out. So "sell my 10 at 105 or stop out at 95" needs 10, not 20.
        """
        share_a, share_b = self._oco_sharing(first, second)
        a = self.submit(first, contingency={"contingency_type": ContingencyType.OCO}, no_lock=share_a)
        try:
            b = self.submit(
                second,
                contingency={"contingency_type": ContingencyType.OCO, "linked_order_ids": (a.id,)},
                no_lock=share_b,
            )
        except Exception:
            self.cancel(a.id, reason="OCO leg refused")
            raise
        self.emulator.link_oco(a.id, b.id)
        return a, b

    def _oco_sharing(self, first: OrderRequest, second: OrderRequest) -> tuple[bool, bool]:
        same = (
            first.symbol == second.symbol
            and first.side is second.side
            and (first.account or self.default_account) == (second.account or self.default_account)
        )
        if not same:
            return False, False
        if second.order_type in _EMULATED and second.quantity <= first.quantity:
            return False, True
        if first.order_type in _EMULATED and second.order_type not in _EMULATED and first.quantity <= second.quantity:
            return True, False
        return False, False

    def submit_bracket(self, bracket: BracketRequest) -> tuple[Order, Order, Order]:
        """Entry + take-profit + stop-loss. The exits wait for entry fills, are sized to them, and act as an OCO."""
        entry_req = bracket.entry
        exit_side = OrderSide.SELL if entry_req.side is OrderSide.BUY else OrderSide.BUY
        inst = self.instruments.get(entry_req.symbol)
        tp_price = inst.make_price(bracket.take_profit, "take_profit")
        sl_price = inst.make_price(bracket.stop_loss, "stop_loss")
        ref = entry_req.price or self.last_price(entry_req.symbol)
        if ref is not None:
            good = (tp_price > ref > sl_price) if entry_req.side is OrderSide.BUY else (tp_price < ref < sl_price)
            if not good:
                raise OrderRejectedError(
                    "take_profit",
                    f"take-profit and stop-loss must bracket the entry price {ref}",
                    f"tp={tp_price} sl={sl_price}",
                    reason=RejectReason.INVALID_PRICE,
                )
        entry = self.submit(entry_req, contingency={"contingency_type": ContingencyType.BRACKET})
        common = {
            "symbol": entry_req.symbol,
            "side": exit_side,
            "quantity": entry_req.quantity,
            "strategy": entry_req.strategy,
            "account": entry_req.account,
            "tags": entry_req.tags,
            "allow_immediate": True,  # the stop-loss was checked against the entry price above, where it will arm
        }
        tp = self.submit(
            OrderRequest(order_type=OrderType.LIMIT, price=tp_price, **common),  # type: ignore[arg-type]
            contingency={"contingency_type": ContingencyType.BRACKET, "parent_order_id": entry.id},
        )
        sl_type = OrderType.STOP if bracket.stop_loss_limit is None else OrderType.STOP_LIMIT
        sl = self.submit(
            OrderRequest(order_type=sl_type, stop_price=sl_price, price=bracket.stop_loss_limit, **common),  # type: ignore[arg-type]
            contingency={
                "contingency_type": ContingencyType.BRACKET,
                "parent_order_id": entry.id,
                "linked_order_ids": (tp.id,),
            },
        )
        self.emulator.link_bracket(entry.id, tp.id, sl.id)
        return entry, tp, sl

    def submit_twap(self, request: TwapRequest) -> AlgoProgress:
        """Start a TWAP execution (see :mod:`alphintra.engine.algos`); returns its progress (``algo_id`` inside)."""
        return self.algos.submit_twap(request)

    def submit_vwap(self, request: VwapRequest) -> AlgoProgress:
        """Start a VWAP execution following ``request.weights`` (a volume profile)."""
        return self.algos.submit_vwap(request)

    def cancel(self, order_id: str, *, reason: str = "canceled by user") -> Order:
        order = self.order(order_id)
        if order.is_terminal:
            raise ConflictError(f"order {order_id} is {order.status.value}; only open orders can be canceled")
        if order.status is OrderStatus.PENDING_CANCEL:
            return order
        self.emulator.before_cancel(order)
        if order.status is OrderStatus.NEW:
            self.emit(order, OrderCanceled(order.id, self.clock.now_ns(), reason=reason))
            return order
        if order.status is OrderStatus.PENDING_SUBMIT:
            # Its submission is still on its way (venue latency): the cancel follows it and lands after it, so
            # the venue answers with the acceptance (and any fill on arrival) first, then the cancel.
            key = self.emulator.venue_key(order)
            if key is not None:
                self.cancel_reasons[order.id] = reason
                _node_reconcile.cancel_at_venue(self, order, key)
            return order
        key = self.emulator.venue_key(order)
        self.emit(order, OrderPendingCancel(order.id, self.clock.now_ns()))
        if key is None or key not in self.at_venue:
            self.emit(order, OrderCanceled(order.id, self.clock.now_ns(), reason=reason))
        else:
            self.cancel_reasons[order.id] = reason  # the venue only says "canceled"; keep the why
            _node_reconcile.cancel_at_venue(self, order, key)
        return order

    def cancel_all(
        self,
        *,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        reason: str = "canceled by user",
    ) -> list[Order]:
        # Algorithms first: a running TWAP would otherwise send its next slice after the cancel-all.
        done = self.algos.cancel_all(symbol=symbol, strategy=strategy, account=account, reason=reason)
        asked = {o.id for o in done}
        for order in self.open_orders(symbol, strategy):
            if (account is not None and order.account != account) or order.id in asked:
                continue
            if not order.is_terminal and order.status is not OrderStatus.PENDING_CANCEL:
                done.append(self.cancel(order.id, reason=reason))
        return done

    def modify(
        self,
        order_id: str,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> Order:
        """Change a working order's quantity (total, > filled), limit price or stop price.

        In book mode an order at the venue changes when the modification reaches the venue (after the latency,
        and after the match being reported, if any): until then the venue may still fill it on its old terms,
        and the node must not have promised less than the venue can fill. A modification that no longer fits
        when it arrives (the order filled past the new quantity, finished, or cannot be funded) is dropped.
        """
        order = self.order(order_id)
        if order.is_terminal or order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_SUBMIT):
            raise ConflictError(f"order {order_id} is {order.status.value}; it cannot be modified")
        inst = self.instruments.get(order.symbol)
        qty = None if quantity is None else inst.make_qty(quantity)
        px = None if price is None else inst.make_price(price)
        stop = None if stop_price is None else inst.make_price(stop_price, "stop_price")
        if qty is not None and qty <= order.filled_quantity:
            raise ValidationError("quantity", f"must exceed the filled quantity {order.filled_quantity}", qty)
        key = self.emulator.venue_key(order)
        at_venue = key is not None and key in self.at_venue and (qty is not None or px is not None)
        venue = self.venue_for(order.symbol)
        if at_venue and not venue.capabilities.modify:
            assert key is not None
            if order.tags and _node_reconcile.EXTERNAL in order.tags:
                raise ConflictError(f"venue {venue.name} cannot modify order {order_id} placed outside Alphintra")
            _node_replace.start(self, order, inst, key, qty, px, stop)
            return order
        if at_venue and venue.defer(lambda: self._modify_on_arrival(order_id, qty, px, stop)):
            return order
        self._modify_now(order, inst, qty, px, stop)
        return order

    def _modify_on_arrival(self, order_id: str, qty: Decimal | None, px: Decimal | None, stop: Decimal | None) -> None:
        order = self.orders[order_id]
        if order.is_terminal or order.status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_SUBMIT):
            return
        if qty is not None and qty <= order.filled_quantity:
            return
        try:
            self._modify_now(order, self.instruments.get(order.symbol), qty, px, stop)
        except ValidationError as exc:  # the account can no longer fund the larger order: keep the old terms
            _log.info("modify of %s dropped on arrival: %s", order_id, exc)

    def _modify_now(
        self,
        order: Order,
        inst: Instrument,
        qty: Decimal | None,
        px: Decimal | None,
        stop: Decimal | None,
    ) -> None:
        res = self.ledger.reservation(order.id)
        if res is not None and (qty is not None or px is not None):
            # Re-size the lock first: if the account cannot fund the larger order, nothing changes.
            new_leaves = (qty if qty is not None else order.quantity) - order.filled_quantity
            new_price = px if px is not None else res.price
            reserve_and_record(self, order.account, order.id, inst, order.side, new_leaves, new_price, replacing=res)
        self.emit(order, OrderUpdated(order.id, self.clock.now_ns(), quantity=qty, price=px, stop_price=stop))
        key = self.emulator.venue_key(order)
        if key is not None and key in self.at_venue and (qty is not None or px is not None):
            leaves = self.emulator.venue_leaves(order)
            self.at_venue[key] = leaves
            self.venue_for(order.symbol).modify(key, leaves=leaves, price=px)
            if order.order_type is OrderType.ICEBERG:
                self.emulator.slice_resized(order)

    # -- venue callbacks (VenueListener) --------------------------------------------------------------------

    def venue_accepted(self, key: str, ts: int, venue_order_id: str | None = None) -> None:
        order = self.orders.get(self.emulator.order_for_key(key))
        if order is not None and order.status is OrderStatus.PENDING_SUBMIT:
            self.emit(order, OrderAccepted(order.id, self.clock.now_ns(), venue_order_id=venue_order_id or key))

    def venue_filled(self, fill: VenueFill) -> None:
        key = fill.key
        order = self.orders.get(self.emulator.order_for_key(key))
        if order is None:
            order = _node_reconcile.adopt_for_fill(self, fill)  # placed outside Alphintra: an EXTERNAL order
            if order is None:
                return
        if _node_reconcile.seen_trade(self, order, fill.trade_id):
            return  # a report the node already booked (a reconnect replays them): booked once
        qty, price = fill.quantity, fill.price
        fee, fee_asset = fill.fee, fill.fee_asset
        if fee is None or fee_asset is None:
            inst = self.instruments.get(order.symbol)
            fee, fee_asset = inst.fee(qty, price, fill.liquidity), inst.quote
        event = OrderFilled(
            order.id,
            self.clock.now_ns(),
            trade_id=fill.trade_id,
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            last_qty=qty,
            last_px=price,
            fee=fee,
            fee_asset=fee_asset,
            liquidity_side=fill.liquidity,
        )
        left = self.at_venue.get(key)
        if left is not None:
            if left - qty > 0:
                self.at_venue[key] = left - qty
            else:
                del self.at_venue[key]
        self.last_prices[order.symbol] = price
        self.emit(order, event)
        self.emulator.on_fill(order, event, key)

    def venue_canceled(self, key: str, reason: str, ts: int) -> None:
        if self.replacing and _node_replace.on_canceled(self, key):
            return
        self.at_venue.pop(key, None)
        order_id = self.emulator.order_for_key(key)
        order = self.orders.get(order_id)
        if order is None or order.is_terminal:
            return
        now = self.clock.now_ns()
        asked = self.cancel_reasons.pop(order.id, None)
        if order.id in self.expiring:
            self.expiring.discard(order.id)
            self.emit(order, OrderExpired(order.id, now))
        else:
            self.emit(order, OrderCanceled(order.id, now, reason=asked if reason == "canceled" and asked else reason))

    def venue_cancel_rejected(self, key: str, message: str, ts: int) -> None:
        if self.replacing and _node_replace.on_cancel_rejected(self, key, message) is not None:
            self.at_venue.pop(key, None)
            return
        self.at_venue.pop(key, None)  # it is no longer working there (it filled first)
        order = self.orders.get(self.emulator.order_for_key(key))
        if order is None:
            return
        self.cancel_reasons.pop(order.id, None)
        if order.status is OrderStatus.PENDING_CANCEL:
            self.emit(order, OrderCancelRejected(order.id, self.clock.now_ns(), message=message))

    def venue_unknown(self, key: str, command: Literal["submit", "cancel"], message: str) -> None:
        _node_reconcile.in_doubt(self, key, command, message)

    def venue_rejected(self, key: str, reason: RejectReason, message: str, ts: int) -> None:
        self.at_venue.pop(key, None)
        order = self.orders.get(self.emulator.order_for_key(key))
        if order is None:
            return
        now = self.clock.now_ns()
        if order.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.TRIGGERED, OrderStatus.NEW):
            self.emit(order, OrderRejected(order.id, now, reason=reason, message=message))
        elif not order.is_terminal:
            # Already accepted (bar mode accepts at once and checks post-only/FOK at the next open): the order
            # can only be canceled now; the reason code leads the message so that it stays machine-readable.
            self.emit(order, OrderCanceled(order.id, now, reason=f"{reason.value}: {message}"))

    def expire(self, order_id: str) -> None:
        """GTD expiry (the emulator's timer calls this)."""
        order = self.orders.get(order_id)
        if order is None or order.is_terminal:
            return
        key = self.emulator.venue_key(order)
        if key is not None and key in self.at_venue:
            self.expiring.add(order.id)
            _node_reconcile.cancel_at_venue(self, order, key)
        else:
            self.emit(order, OrderExpired(order.id, self.clock.now_ns()))

    # -- internals ------------------------------------------------------------------------------------------

    def route(self, order: Order) -> None:
        now = self.clock.now_ns()
        self.emit(order, OrderSubmitted(order.id, now))
        if order.time_in_force is TimeInForce.GTD and order.expires_at is not None:
            self.emulator.schedule_expiry(order)
        if order.order_type in _EMULATED:
            self.emit(order, OrderAccepted(order.id, now))
            self.emulator.arm(order)
            return
        if order.order_type is OrderType.ICEBERG:
            self.emit(order, OrderAccepted(order.id, now))
            self.emulator.next_slice(order)
            return
        self.send_to_venue(order, key=order.id)

    def send_to_venue(
        self,
        order: Order,
        *,
        key: str,
        quantity: Decimal | None = None,
        market: bool | None = None,
        trigger_price: Decimal | None = None,
    ) -> None:
        is_market = (
            order.order_type in (OrderType.MARKET, OrderType.STOP, OrderType.TRAILING_STOP)
            if market is None
            else market
        )
        tif = order.time_in_force if order.time_in_force is not TimeInForce.GTD else TimeInForce.GTC
        qty = order.leaves_quantity if quantity is None else quantity
        self.at_venue[key] = qty
        price = None if is_market else order.price
        venue_order = VenueOrder(
            key, order.account, order.symbol, order.side, qty, price, tif, order.post_only, trigger_price
        )
        _node_reconcile.submit_to_venue(self, order, venue_order)

    def record(self, record: JournalRecord | dict[str, Any]) -> None:
        """Journal one of the node's own records (or another family's, e.g. a risk record, or its dict): not while
        replaying, and only built into a dict when there is a journal (a backtest keeps none)."""
        if self.journal is not None and not self.replaying:
            self.journal.append(record if isinstance(record, dict) else record.to_dict())

    def emit(self, order: Order, event: OrderEvent) -> None:
        """Apply one event to its order, then :meth:`after_apply` (the one way an order changes)."""
        order.apply(event)
        self.after_apply(order, event)

    def after_apply(self, order: Order, event: OrderEvent) -> None:
        """``order`` holds ``event`` now (applied, or created by it): book it, journal it, tell the emulator and
        the listeners -- only book it while replaying."""
        self.apply_effects(order, event)
        if self.journal is not None and not self.replaying:
            self.journal.append(event.to_dict())
        if self.replaying:
            return
        self.emulator.on_event(order, event)
        if order.parent_order_id is not None:
            # Only an algorithm's child can move its algorithm: the others need not pay for the call.
            self.algos.on_child_event(order, event)
        for listener in self.listeners:
            listener(order, event)

    def apply_effects(self, order: Order, event: OrderEvent) -> None:
        """The ledger effects of an event (a fill books the trade, a terminal order releases its lock)."""
        self.track(order)
        if isinstance(event, OrderFilled):
            inst = self.instruments.get(order.symbol)
            reserved = self.ledger.has_reservation(order.id)
            self.ledger.book_fill(
                order.account,
                inst,
                order.side,
                event.last_qty,
                event.last_px,
                fee=event.fee,
                fee_asset=event.fee_asset,
                order_id=order.id if reserved else None,
            )
            self.fills.append(event)
            self.last_prices[order.symbol] = event.last_px
        elif isinstance(event, _TERMINAL_EVENTS) and self.ledger.has_reservation(order.id):
            self.ledger.release(order.id)

    # -- recovery -------------------------------------------------------------------------------------------

    def replay(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Rebuild orders, balances and positions from journal records (into a fresh node). Returns the count."""
        return _node_recovery.replay(self, records)

    def resume(self) -> None:
        """After a replay: put working orders back on the venue and re-arm the emulator, oldest first."""
        _node_recovery.resume(self)

    def snapshot_state(self) -> dict[str, Any]:
        """The node's journaled state as a JSON-safe dict (see :mod:`alphintra.engine._node_snapshot`)."""
        return _node_snapshot.snapshot_state(self)

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Put a :meth:`snapshot_state` back; :meth:`replay` the records after it, then :meth:`resume`."""
        _node_snapshot.restore(self, state)

    def bind_venue(self, venue: Venue) -> None:
        """Make ``venue`` the default venue (a rewind's fresh one replaces the old one of its name)."""
        if venue.name != self.venue.name:
            self.venues.pop(self.venue.name, None)
        self.venue = venue
        self.venues[venue.name] = venue
        self.at_venue.clear()
        venue.bind(self)
        self._count_trades()

    def _count_trades(self) -> None:
        self.trade_counters = [v for v in self.venues.values() if isinstance(v, TradeIdCounter)]

    # The daemon's projector still uses these two old names (``daemon/`` is reworked on another branch): the
    # aliases go once it reads ``replaying`` and ``client_ids``.
    @property
    def _replaying(self) -> bool:
        return self.replaying

    @_replaying.setter
    def _replaying(self, value: bool) -> None:
        self.replaying = value

    @property
    def _client_ids(self) -> dict[tuple[str, str], str]:
        return self.client_ids

    def rewind(self, state: Mapping[str, Any] | None, records: Iterable[Mapping[str, Any]]) -> int:
        """Back to what the journal holds (a snapshot's ``node`` part, or None, and the records after it); then
        :meth:`resume`. For a store that failed to write what the node did (see ``_node_snapshot``). A driven
        (simulated) venue starts empty; a venue that keeps its state is asked what it holds on resume."""
        venue = self.driver.fresh_venue() if self.driver is not None else self.venue
        return _node_snapshot.rewind(self, venue, state, records)

    def reconcile(self, venue: str | None = None, *, dry_run: bool = False) -> _node_reconcile.Reconciliation:
        """Compare what a venue (default: the default venue) holds with the node and settle it (see
        :mod:`alphintra.engine._node_reconcile`)."""
        return _node_reconcile.reconcile(self, self.venues[venue] if venue else self.venue, dry_run=dry_run)

    def resume_venue(self, venue: str, reason: str = "") -> str | None:
        """Clear the halt a reconciliation put on ``venue`` (an operator has settled the differences); journaled, so
        a restart neither brings the halt back nor loses it. Returns why it was halted, None if it was not."""
        if venue not in self.venues:
            raise NotFoundError(f"no venue {venue!r} in the engine (venues: {', '.join(self.venues)})")
        why = self.venue_halts.pop(venue, None)
        if why is not None:
            self.record(VenueResumed(venue, reason))
        return why

    def forget_finished(self, *, keep: int, max_age_ns: int) -> int:
        """Retention: finished orders beyond the newest ``keep`` or older than ``max_age_ns`` leave memory."""
        return _node_snapshot.forget_finished(self, keep=keep, max_age_ns=max_age_ns, now_ns=self.clock.now_ns())


__all__ = ["MARGIN_CALL", "JournalSink", "MarketDriver", "NodeCore", "NodeServices", "OrderListener", "TradingNode"]
