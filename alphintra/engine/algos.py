"""Execution algorithms: TWAP and VWAP as parent orders that work through ordinary child orders.

An algorithm is not an order of the venue (nor of the order state machine): it is a plan -- a list of slices, each
a time and a quantity -- and a record of what it did. At each slice time a node timer fires and the algorithm sends
one child: an ordinary node order (market, or a limit at the guard price) with ``parent_order_id`` set to the
algorithm's id, the tags ``algo:<id>`` and ``slice:<n>``, and ``client_order_id`` ``<id>/<n>``. Because the slices
ride on the node's clock, a backtest on a ``TestClock`` and a live session run them identically.

Rules, and why:

* **Exact split.** The total is split on the lot grid in integer lots: each slice gets the floor of its weight's
  share and the lots left over go one each to the last slices, so the slices always sum to the total. Slices
  smaller than the instrument's minimum quantity are merged into the next one (the last into the previous one).
* **Catch-up.** A slice does not send its planned size blindly: it sends what is needed to bring the cumulative
  amount (filled plus still working) up to the plan's cumulative target. An unfilled child is canceled when the next
  slice is due, so what it missed -- and what a skipped slice did not send -- rolls into the next slice.
* **Halts and restarts: no burst.** A slice that comes due while a risk halt covers the algorithm sends nothing
  (the pre-trade check refuses it with ``HALTED``; it is noted ``halted``), and a slice that came due while the
  engine was not running is noted ``missed``. Catching those up in one slice would be a burst the trader never
  asked for, so the first slice sent afterwards first *respreads*: what is left to trade (the total less what
  filled and what still works) is split again over the slices left, in the plan's proportions
  (``AlgoRespread``). After a restart past the schedule's end nothing more is sent.
* **Guard.** With ``limit_price`` set, a slice whose market (the node's last price) is beyond the guard (above it
  for a buy, below it for a sell) is either skipped (``GuardMode.SKIP``: its quantity rolls forward) or sent as a
  limit order at the guard (``GuardMode.LIMIT``). Otherwise the child is a market order.
* **Randomisation** (TWAP, optional): with ``randomize = r`` (0 <= r < 1) and a ``seed``, each slice time moves
  later by up to ``r`` of a slice interval (it never leaves its interval, so the order of slices is kept) and each
  slice's weight is scaled by a factor in ``[1 - r, 1 + r]``. The plan is computed once and journaled, so a replay
  never re-draws it.
* **End.** At ``start + duration`` a limit child still resting (at the guard) is canceled; a market child still
  executing (on bars it fills at the next open) is left to finish. The algorithm is COMPLETED once no child works
  (with a remainder if the market did not give everything), or earlier when every slice was sent and the whole
  quantity filled. Funds are locked child by child, not for the whole algorithm up front.
* **Journal.** ``AlgoStarted`` (the whole plan), ``AlgoSlice`` (which child a slice sent, or why it sent none),
  ``AlgoCanceled`` and ``AlgoCompleted`` records go through ``node.record``; :meth:`AlgoEngine.restore_record`
  reads them back during ``TradingNode.replay`` and :meth:`AlgoEngine.resume` re-arms the timers, so a restarted
  node continues the schedule. Progress (filled, average price) is always computed from the child orders, which
  the replay rebuilds exactly. Should a crash fall between a child's submission and its ``AlgoSlice`` record, the
  slice fires again on resume and the ``client_order_id`` makes the node return the existing child.
  ``AlgoRespread`` records a new plan tail; ``AlgoCanceled`` is a durable stop (a replay never restarts it).
* **Cancel-all.** ``TradingNode.cancel_all`` cancels the running algorithms it covers (symbol, strategy,
  account) before the orders, so no slice goes out after it.

VWAP differs from TWAP only in its weights: a volume profile per slice (see :func:`volume_profile`). The algorithm
takes the profile as plain weights, so it does not depend on the market data store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal
from enum import Enum, StrEnum, unique
from typing import TYPE_CHECKING, Any

from alphintra.engine.algo_plan import (
    NS_PER_DAY,
    Slice,
    check_window,
    plan_slices,
    respread,
    split_lots,
    volume_profile,
    volume_profile_from_bars,
    volume_profile_from_frame,
)
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, RejectReason
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError
from alphintra.engine.core.events import OrderEvent
from alphintra.engine.core.instrument import to_decimal
from alphintra.engine.core.orders import Order
from alphintra.engine.node_records import (
    AlgoCanceled,
    AlgoCompleted,
    AlgoRespread,
    AlgoSlice,
    AlgoStarted,
    Plan,
)

if TYPE_CHECKING:
    from alphintra.engine.node_api import NodeServices

_DIV = Context(prec=34)
AlgoRecord = AlgoStarted | AlgoSlice | AlgoRespread | AlgoCanceled | AlgoCompleted


@unique
class AlgoStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


@unique
class GuardMode(StrEnum):
    """What a slice does when the market is beyond the guard price."""

    SKIP = "SKIP"  # send nothing; the quantity rolls into later slices
    LIMIT = "LIMIT"  # send a limit order at the guard price


@dataclass(frozen=True, slots=True)
class TwapRequest:
    """Trade ``quantity`` in ``slices`` equal parts spread evenly over ``duration_ns`` from ``start_ns`` (now)."""

    symbol: str
    side: OrderSide
    quantity: Decimal
    duration_ns: int
    slices: int
    start_ns: int | None = None
    limit_price: Decimal | None = None
    guard: GuardMode = GuardMode.LIMIT
    randomize: Decimal = Decimal(0)
    seed: int | None = None
    account: str | None = None
    strategy: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VwapRequest:
    """Trade ``quantity`` over ``duration_ns`` in ``len(weights)`` slices sized by the volume profile ``weights``."""

    symbol: str
    side: OrderSide
    quantity: Decimal
    duration_ns: int
    weights: tuple[Decimal, ...]
    start_ns: int | None = None
    limit_price: Decimal | None = None
    guard: GuardMode = GuardMode.LIMIT
    account: str | None = None
    strategy: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlgoProgress:
    algo_id: str
    kind: str
    symbol: str
    side: OrderSide
    status: AlgoStatus
    quantity: Decimal
    filled: Decimal
    remaining: Decimal
    average_price: Decimal | None
    slices_total: int
    slices_sent: int  # slices that sent a child order
    slices_done: int  # slices fired whose child (if any) is finished
    working_order_id: str | None
    child_order_ids: tuple[str, ...]
    account: str = ""
    strategy: str | None = None
    limit_price: Decimal | None = None
    guard: GuardMode = GuardMode.LIMIT
    created_ns: int = 0
    start_ns: int = 0
    end_ns: int = 0  # the schedule's end
    ended_ns: int | None = None  # when it was canceled or completed
    reason: str | None = None  # why it was canceled or completed


@dataclass(slots=True)
class _Algo:
    algo_id: str
    kind: str
    account: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    plan: tuple[Slice, ...]
    end_ns: int
    limit_price: Decimal | None
    guard: GuardMode
    strategy: str | None
    tags: tuple[str, ...]
    status: AlgoStatus = AlgoStatus.RUNNING
    ended: bool = False  # the schedule's end passed; waiting for a market child still executing
    next_slice: int = 0
    children: list[str] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # slice -> why it sent nothing
    created_ns: int = 0
    start_ns: int = 0
    ended_ns: int | None = None
    reason: str | None = None
    respread: bool = False  # a slice was halted or missed: the next one sent respreads what is left
    base_slice: int = 0  # the plan from this slice on splits what was left to trade then ...
    base_qty: Decimal = Decimal(0)  # ... which was the total less this (filled or working) amount

    @property
    def timer(self) -> str:
        return f"algo:{self.algo_id}"

    def target(self, upto: int) -> Decimal:
        return self.base_qty + sum((s.quantity for s in self.plan[self.base_slice : upto + 1]), Decimal(0))


# -- the engine --------------------------------------------------------------------------------------------------


class AlgoEngine:
    """Runs execution algorithms for one node (``node.algos``)."""

    def __init__(self, node: NodeServices) -> None:
        self.node = node
        self._algos: dict[str, _Algo] = {}
        self._seq = 0

    # -- commands ---------------------------------------------------------------------------------------------

    def submit_twap(self, request: TwapRequest) -> AlgoProgress:
        check_window(request.duration_ns, request.slices)
        randomize = to_decimal("randomize", request.randomize)
        if not 0 <= randomize < 1:
            raise ValidationError("randomize", "must be >= 0 and < 1", randomize)
        if randomize > 0 and request.seed is None:
            raise ValidationError("seed", "is required with randomize (a plan must be reproducible)")
        weights = [Decimal(1)] * request.slices
        return self._start("TWAP", request, weights, randomize, request.seed)

    def submit_vwap(self, request: VwapRequest) -> AlgoProgress:
        weights = [to_decimal(f"weights[{i}]", w) for i, w in enumerate(request.weights)]
        check_window(request.duration_ns, len(weights))
        for i, w in enumerate(weights):
            if w < 0:
                raise ValidationError(f"weights[{i}]", "must be >= 0", w)
        if sum(weights, Decimal(0)) <= 0:
            raise ValidationError("weights", "must have a positive sum", [str(w) for w in weights])
        return self._start("VWAP", request, weights, Decimal(0), None)

    def cancel(self, algo_id: str, *, reason: str = "canceled by user") -> AlgoProgress:
        """Stop the schedule and cancel the working child; fills already made stand."""
        algo = self._get(algo_id)
        if algo.status is not AlgoStatus.RUNNING:
            raise ConflictError(f"algorithm {algo_id} is {algo.status.value}; only a running one can be canceled")
        self._stop(algo, reason)
        return self.progress(algo_id)

    def running(
        self, *, symbol: str | None = None, strategy: str | None = None, account: str | None = None
    ) -> list[str]:
        """The ids of the running algorithms of ``symbol``/``strategy``/``account`` (None: any), oldest first."""
        return [
            a.algo_id
            for a in self._algos.values()
            if a.status is AlgoStatus.RUNNING
            and (symbol is None or a.symbol == symbol)
            and (strategy is None or a.strategy == strategy)
            and (account is None or a.account == account)
        ]

    def cancel_all(
        self,
        *,
        symbol: str | None = None,
        strategy: str | None = None,
        account: str | None = None,
        reason: str = "canceled by user",
    ) -> list[Order]:
        """Cancel every running algorithm :meth:`running` names; returns the working children it asked to cancel."""
        done: list[Order] = []
        for algo_id in self.running(symbol=symbol, strategy=strategy, account=account):
            done.extend(self._stop(self._algos[algo_id], reason))
        return done

    # -- queries ----------------------------------------------------------------------------------------------

    def progress(self, algo_id: str) -> AlgoProgress:
        algo = self._get(algo_id)
        orders = [self.node.orders[c] for c in algo.children if c in self.node.orders]
        filled = sum((o.filled_quantity for o in orders), Decimal(0))
        notional = sum((o.filled_notional for o in orders), Decimal(0))
        working = [o.id for o in orders if not o.is_terminal]
        done = sum(1 for i in range(algo.next_slice) if i in algo.notes)
        done += sum(1 for o in orders if o.is_terminal)
        return AlgoProgress(
            algo_id=algo.algo_id,
            kind=algo.kind,
            symbol=algo.symbol,
            side=algo.side,
            status=algo.status,
            quantity=algo.quantity,
            filled=filled,
            remaining=algo.quantity - filled,
            average_price=_DIV.divide(notional, filled) if filled else None,
            slices_total=len(algo.plan),
            slices_sent=len(algo.children),
            slices_done=done,
            working_order_id=working[-1] if working else None,
            child_order_ids=tuple(algo.children),
            account=algo.account,
            strategy=algo.strategy,
            limit_price=algo.limit_price,
            guard=algo.guard,
            created_ns=algo.created_ns,
            start_ns=algo.start_ns,
            end_ns=algo.end_ns,
            ended_ns=algo.ended_ns,
            reason=algo.reason,
        )

    def plan(self, algo_id: str) -> tuple[Slice, ...]:
        return self._get(algo_id).plan

    def list_algos(self, status: AlgoStatus | None = None) -> list[AlgoProgress]:
        return [self.progress(a) for a, algo in self._algos.items() if status is None or algo.status is status]

    def notes(self, algo_id: str) -> dict[int, str]:
        """Why each slice that sent nothing sent nothing (guard, halt, missed, refused)."""
        return dict(self._get(algo_id).notes)

    def children(self, algo_id: str) -> list[Order]:
        return [self.node.orders[c] for c in self._get(algo_id).children]

    # -- internals --------------------------------------------------------------------------------------------

    def _get(self, algo_id: str) -> _Algo:
        algo = self._algos.get(algo_id)
        if algo is None:
            raise NotFoundError(f"algorithm {algo_id!r} not found")
        return algo

    def _start(
        self,
        kind: str,
        request: TwapRequest | VwapRequest,
        weights: list[Decimal],
        randomize: Decimal,
        seed: int | None,
    ) -> AlgoProgress:
        node = self.node
        inst = node.instruments.find(request.symbol)
        if inst is None:
            raise ValidationError("symbol", "is not a known instrument", request.symbol, reason="UNKNOWN_SYMBOL")
        side = OrderSide(request.side)
        quantity = inst.make_qty(to_decimal("quantity", request.quantity))
        if quantity <= 0 or quantity < inst.min_qty:
            raise ValidationError("quantity", f"must be >= min_qty {inst.min_qty} and > 0", quantity)
        limit = None if request.limit_price is None else inst.make_price(request.limit_price, "limit_price")
        if limit is not None and limit <= 0:
            raise ValidationError("limit_price", "must be > 0", limit)
        account = request.account or node.default_account
        if account not in node.ledger.accounts():
            raise ValidationError("account", "is not an open account", account)
        now = node.clock.now_ns()
        start = now if request.start_ns is None else request.start_ns
        if start < now:
            raise ValidationError("start_ns", f"must not be before now ({now} ns)", start)
        plan = plan_slices(inst, quantity, weights, start, request.duration_ns, randomize=randomize, seed=seed)
        self._seq += 1
        algo = _Algo(
            algo_id=f"ALGO-{self._seq:08d}",
            kind=kind,
            account=account,
            symbol=inst.symbol,
            side=side,
            quantity=quantity,
            plan=plan,
            end_ns=start + request.duration_ns,
            limit_price=limit,
            guard=GuardMode(request.guard),
            strategy=request.strategy,
            tags=tuple(request.tags),
            created_ns=now,
            start_ns=start,
        )
        self._algos[algo.algo_id] = algo
        node.record(
            AlgoStarted(
                algo.algo_id,
                kind,
                account,
                algo.symbol,
                side,
                quantity,
                _plan(plan),
                algo.end_ns,
                limit,
                algo.guard.value,
                algo.strategy,
                algo.tags,
                created_ns=now,
                start_ns=start,
            )
        )
        self._arm(algo)
        return self.progress(algo.algo_id)

    def _arm(self, algo: _Algo) -> None:
        """Set the timer for the next thing due: the next slice, or the end. Due already: do it now."""
        if algo.status is not AlgoStatus.RUNNING:
            return
        node = self.node
        due = algo.plan[algo.next_slice].due_ns if algo.next_slice < len(algo.plan) else algo.end_ns
        if due <= node.clock.now_ns():
            self._fire(algo.algo_id)
        else:
            algo_id = algo.algo_id
            node.clock.set_timer(algo.timer, lambda _name, _ts: self._fire(algo_id), at_ns=due)

    def _fire(self, algo_id: str) -> None:
        algo = self._algos[algo_id]
        if algo.status is not AlgoStatus.RUNNING:
            return
        node = self.node
        now = node.clock.now_ns()
        n = len(algo.plan)
        if algo.next_slice >= n:
            algo.ended = True
            self._cancel_children(algo, "algo: the schedule ended", limits_only=True)
            if all(self.node.orders[c].is_terminal for c in algo.children):
                self._finish(algo, "the schedule ended")
            return
        # Slices overdue together (the engine was not running) are missed, not sent at once: the next slice sent
        # respreads what they did not trade over the rest of the schedule. Past the end, nothing more goes out.
        while algo.next_slice < n and (
            now >= algo.end_ns or (algo.next_slice + 1 < n and algo.plan[algo.next_slice + 1].due_ns <= now)
        ):
            self._note(algo, algo.next_slice, "missed: the engine was not running when it was due", missed=True)
        if algo.next_slice >= n:
            self._arm(algo)
            return
        self._cancel_children(algo, "algo: the next slice is due")
        self._send_slice(algo, algo.next_slice)
        self._arm(algo)

    def _send_slice(self, algo: _Algo, k: int) -> None:
        node = self.node
        inst = node.instruments.get(algo.symbol)
        children = [node.orders[c] for c in algo.children]
        committed = sum((o.filled_quantity if o.is_terminal else o.quantity for o in children), Decimal(0))
        # After a halt or a restart the rest is re-cut (made durable only once the slice is not halted again).
        tail = respread(inst, algo.plan[k:], algo.quantity - committed) if algo.respread else None
        target = committed + tail[0].quantity if tail is not None else algo.target(k)
        qty = inst.round_qty(target - committed) if target > committed else Decimal(0)
        if qty <= 0:
            self._respread(algo, k, committed, tail)
            self._note(algo, k, "nothing left to send")
            return
        market = node.last_price(algo.symbol)
        order_type = OrderType.MARKET
        price = None
        if algo.limit_price is not None:
            beyond = market is None or (
                market > algo.limit_price if algo.side is OrderSide.BUY else market < algo.limit_price
            )
            if beyond and algo.guard is GuardMode.SKIP:
                self._respread(algo, k, committed, tail)
                self._note(algo, k, f"market {market} is beyond the guard {algo.limit_price}")
                return
            if beyond:
                order_type, price = OrderType.LIMIT, algo.limit_price
        request = OrderRequest(
            symbol=algo.symbol,
            side=algo.side,
            quantity=qty,
            order_type=order_type,
            price=price,
            client_order_id=f"{algo.algo_id}/{k}",
            strategy=algo.strategy,
            account=algo.account,
            tags=(*algo.tags, f"algo:{algo.algo_id}", f"slice:{k}"),
        )
        try:
            child = node.submit(request, contingency={"parent_order_id": algo.algo_id})
        except ValidationError as exc:  # refused (funds, minimums, risk): nothing was created; it rolls forward
            if exc.reason == RejectReason.HALTED:
                self._note(algo, k, f"halted: {exc}", missed=True)
                return
            self._respread(algo, k, committed, tail)
            self._note(algo, k, f"refused: {exc}")
            return
        self._respread(algo, k, committed, tail)
        if child.id not in algo.children:
            algo.children.append(child.id)
        algo.next_slice = k + 1
        node.record(AlgoSlice(algo.algo_id, k, child.id))

    def _respread(self, algo: _Algo, k: int, committed: Decimal, tail: tuple[Slice, ...] | None) -> None:
        if tail is None:
            return
        algo.plan = algo.plan[:k] + tail
        algo.base_slice, algo.base_qty, algo.respread = k, committed, False
        self.node.record(AlgoRespread(algo.algo_id, k, committed, _plan(tail)))

    def _note(self, algo: _Algo, k: int, note: str, *, missed: bool = False) -> None:
        algo.notes[k] = note
        algo.next_slice = k + 1
        algo.respread = algo.respread or missed
        self.node.record(AlgoSlice(algo.algo_id, k, None, note, missed))

    def _cancel_children(self, algo: _Algo, reason: str, *, limits_only: bool = False) -> list[Order]:
        node = self.node
        done = []
        for child_id in algo.children:
            child = node.orders[child_id]
            if limits_only and child.order_type is not OrderType.LIMIT:
                continue
            if not child.is_terminal and child.status is not OrderStatus.PENDING_CANCEL:
                done.append(node.cancel(child_id, reason=reason))
        return done

    def _stop(self, algo: _Algo, reason: str) -> list[Order]:
        now = self.node.clock.now_ns()
        self.node.clock.cancel_timer(algo.timer)
        algo.status, algo.reason, algo.ended_ns = AlgoStatus.CANCELED, reason, now
        self.node.record(AlgoCanceled(algo.algo_id, reason, now))
        return self._cancel_children(algo, f"algo canceled: {reason}")

    def _finish(self, algo: _Algo, why: str) -> None:
        now = self.node.clock.now_ns()
        self.node.clock.cancel_timer(algo.timer)
        algo.status, algo.reason, algo.ended_ns = AlgoStatus.COMPLETED, why, now
        self.node.record(AlgoCompleted(algo.algo_id, why, now))
        self._cancel_children(algo, "algo: the schedule ended")

    def on_child_event(self, order: Order, event: OrderEvent) -> None:
        """An event of an order with a parent (the node calls this for those only, before its listeners): once
        every slice of an algorithm went out and everything filled, the algorithm is done early."""
        parent = order.parent_order_id
        if parent is None or not order.is_terminal:
            return
        algo = self._algos.get(parent)
        if algo is None or algo.status is not AlgoStatus.RUNNING or algo.next_slice < len(algo.plan):
            return
        orders = [self.node.orders[c] for c in algo.children]
        if not all(o.is_terminal for o in orders):
            return
        if sum((o.filled_quantity for o in orders), Decimal(0)) == algo.quantity:
            self._finish(algo, "filled")
        elif algo.ended:
            self._finish(algo, "the schedule ended")

    # -- recovery ---------------------------------------------------------------------------------------------

    def restore_record(self, rec: AlgoRecord) -> None:
        """Fold one ``Algo*`` journal record (during ``TradingNode.replay``)."""
        if isinstance(rec, AlgoStarted):
            algo = _Algo(
                algo_id=rec.algo_id,
                kind=rec.kind,
                account=rec.account,
                symbol=rec.symbol,
                side=rec.side,
                quantity=rec.quantity,
                plan=tuple(Slice(due, qty) for due, qty in rec.plan),
                end_ns=rec.end_ns,
                limit_price=rec.limit_price,
                guard=GuardMode(rec.guard),
                strategy=rec.strategy,
                tags=rec.tags,
                created_ns=rec.created_ns,
                start_ns=rec.start_ns,
            )
            self._algos[algo.algo_id] = algo
            _, _, tail = algo.algo_id.rpartition("-")
            if tail.isdigit():
                self._seq = max(self._seq, int(tail))
            return
        algo = self._get(rec.algo_id)
        if isinstance(rec, AlgoSlice):
            k = rec.slice
            if rec.order_id is None:
                algo.notes[k] = rec.note or ""
                algo.respread = algo.respread or rec.missed
            elif rec.order_id not in algo.children:
                algo.children.append(rec.order_id)
            algo.next_slice = max(algo.next_slice, k + 1)
        elif isinstance(rec, AlgoRespread):
            k = rec.slice
            algo.plan = algo.plan[:k] + tuple(Slice(due, qty) for due, qty in rec.plan)
            algo.base_slice, algo.base_qty, algo.respread = k, rec.base, False
        else:
            algo.status = AlgoStatus.CANCELED if isinstance(rec, AlgoCanceled) else AlgoStatus.COMPLETED
            algo.reason, algo.ended_ns = rec.reason, rec.ts

    def resume(self) -> None:
        """After a replay (and after the node resumed its orders): re-arm every running algorithm's schedule."""
        for algo in self._algos.values():
            if algo.status is AlgoStatus.RUNNING:
                self._arm(algo)

    def to_state(self) -> dict[str, Any]:
        """Every algorithm (each field of ``_Algo``, whatever fields it has) and the id counter, for a journal
        snapshot; :meth:`from_state` reads it back."""
        algos = [{f.name: _encode(getattr(a, f.name)) for f in _FIELDS} for a in self._algos.values()]
        return {"seq": self._seq, "algos": algos}

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Replace every algorithm with those of :meth:`to_state` (timers are re-armed by :meth:`resume`); a field
        missing from an older snapshot keeps its default."""
        self._algos.clear()
        self._seq = int(state.get("seq", 0))
        for raw in state.get("algos", ()):
            algo = _Algo(**{f.name: _decode(f.type, raw[f.name]) for f in _FIELDS if f.name in raw})
            self._algos[algo.algo_id] = algo

    def is_running(self, algo_id: str) -> bool:
        algo = self._algos.get(algo_id)
        return algo is not None and algo.status is AlgoStatus.RUNNING

    def forget(self, order_ids: set[str]) -> None:
        """Finished algorithms whose children all left memory leave with them (retention of finished orders)."""
        for algo_id in [
            a.algo_id
            for a in self._algos.values()
            if a.status is not AlgoStatus.RUNNING
            and all(c in order_ids or c not in self.node.orders for c in a.children)
        ]:
            del self._algos[algo_id]


# ``ended`` is not journaled: a replay leaves it False and ``resume`` re-derives it from the clock (the end is past).
# A snapshot leaves it out too, so that a restart from a snapshot and a full replay hold the same state.
_FIELDS = tuple(f for f in dataclasses.fields(_Algo) if f.name != "ended")
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "Decimal": Decimal,
    "Decimal | None": lambda v: None if v is None else Decimal(v),
    "OrderSide": OrderSide,
    "GuardMode": GuardMode,
    "AlgoStatus": AlgoStatus,
    "tuple[Slice, ...]": lambda v: tuple(Slice(int(due), Decimal(qty)) for due, qty in v),
    "tuple[str, ...]": tuple,
    "list[str]": list,
    "dict[int, str]": lambda v: {int(k): str(note) for k, note in v},
}


def _plan(slices: tuple[Slice, ...]) -> Plan:
    return tuple((s.due_ns, s.quantity) for s in slices)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return [[k, v] for k, v in sorted(value.items())]
    if isinstance(value, (tuple, list)):
        return [[s.due_ns, str(s.quantity)] if isinstance(s, Slice) else _encode(s) for s in value]
    return value


def _decode(annotation: Any, value: Any) -> Any:
    decode = _DECODERS.get(str(annotation))
    return value if decode is None else decode(value)


__all__ = [
    "NS_PER_DAY",
    "AlgoEngine",
    "AlgoProgress",
    "AlgoStatus",
    "GuardMode",
    "Slice",
    "TwapRequest",
    "VwapRequest",
    "plan_slices",
    "respread",
    "split_lots",
    "volume_profile",
    "volume_profile_from_bars",
    "volume_profile_from_frame",
]
