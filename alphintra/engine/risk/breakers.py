"""Circuit breakers and the kill switch: halts, what trips them, and how they are stored.

A :class:`Halt` stops new orders for everything (``global``), one account, one strategy or one symbol, and records
why: the rule that tripped (``max_daily_loss``, ``max_drawdown_pct``, ``max_reject_rate_pct``, ``market_move_pct``
or ``manual``), the value and limit, who and when. Orders that only reduce a position (``reduce_only``) still pass
a halt, so a position can always be closed by hand. A halt is lifted only by an explicit :meth:`HaltBook.resume`
(``alphintra risk resume``); a new trading session does not lift it.

The detectors here are pure and clock-free (times are passed in, ns since the epoch):

* :class:`MarketMove` keeps, per symbol, the running minimum and maximum of the prices seen within the window (two
  monotonic deques, O(1) amortised per price) and reports the largest move of the current price against them:
  ``max(price / min - 1, 1 - price / max)`` as a percentage.
* :class:`RejectRate` counts order outcomes per key (strategy or account) in a sliding time window: a reject is a
  risk rejection, a venue rejection or a strategy error; the rate is ``rejects / attempts x 100`` and counts only
  once ``min_orders`` attempts are in the window.

Halts are persisted through the state store as the reserved limit :data:`~alphintra.engine.risk.limits.HALT_NAME`
(value 1) in the halt's scope, with ``changed_by`` and ``reason``: the store's limit history then says who halted
and who resumed, when and why, with no table of its own; :func:`store_halt` also adds a CRITICAL alert.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from alphintra.engine.core.enums import OrderSide, OrderStatus
from alphintra.engine.core.errors import AlphintraError, NotFoundError, ValidationError
from alphintra.engine.risk.limits import (
    HALT_NAME,
    NS_PER_MINUTE,
    Limit,
    LimitSet,
    Scope,
    fmt,
    longest_reject_window_ns,
)
from alphintra.engine.risk.records import TradingHalted, TradingResumed, record_from_dict

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode

_log = logging.getLogger("alphintra.engine.risk")
SYSTEM_USER = "risk-engine"
"""Who a breaker's halt is recorded as set by."""

_HALT_SCOPES = (Scope.GLOBAL, Scope.ACCOUNT, Scope.STRATEGY, Scope.SYMBOL)


@dataclass(frozen=True, slots=True)
class Halt:
    """New orders in ``scope``/``scope_id`` are refused until an explicit resume."""

    scope: Scope
    scope_id: str
    rule: str
    reason: str
    by: str
    at_ns: int
    value: Decimal | None = None
    limit: Decimal | None = None

    @property
    def where(self) -> str:
        return "all trading" if self.scope is Scope.GLOBAL else f"{self.scope.value} {self.scope_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "scope_id": self.scope_id,
            "rule": self.rule,
            "reason": self.reason,
            "by": self.by,
            "at_ns": self.at_ns,
            "value": None if self.value is None else str(self.value),
            "limit": None if self.limit is None else str(self.limit),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Halt:
        return cls(
            Scope(data["scope"]),
            str(data["scope_id"]),
            str(data["rule"]),
            str(data["reason"]),
            str(data["by"]),
            int(data["at_ns"]),
            None if data.get("value") is None else Decimal(str(data["value"])),
            None if data.get("limit") is None else Decimal(str(data["limit"])),
        )


def check_halt_scope(scope: Scope | str, scope_id: str | None) -> tuple[Scope, str]:
    try:
        sc = Scope(str(scope).strip().lower())
    except ValueError:
        sc = Scope.TAG  # falls into the refusal below with the same message
    if sc not in _HALT_SCOPES:
        raise ValidationError("scope", "a halt covers global, account, strategy or symbol", scope)
    sid = (scope_id or "").strip()
    if sc is Scope.GLOBAL:
        return sc, "*"
    if not sid or sid == "*":
        raise ValidationError("scope_id", f"must name the {sc.value} to halt", scope_id)
    return sc, sid


class HaltBook:
    """The active halts, with a history of every halt and resume. ``any`` is the hot path's one-attribute test."""

    __slots__ = ("_active", "any", "history")

    def __init__(self, halts: Iterable[Halt] = ()) -> None:
        self._active: dict[tuple[Scope, str], Halt] = {}
        self.history: list[dict[str, Any]] = []
        self.any = False
        for halt in halts:
            self._active[(halt.scope, halt.scope_id)] = halt
        self.any = bool(self._active)

    def __iter__(self) -> Iterator[Halt]:
        return iter(sorted(self._active.values(), key=lambda h: (h.at_ns, h.scope.value, h.scope_id)))

    def __len__(self) -> int:
        return len(self._active)

    def get(self, scope: Scope | str, scope_id: str = "*") -> Halt | None:
        sc, sid = check_halt_scope(scope, scope_id)
        return self._active.get((sc, sid))

    def covering(self, account: str, strategy: str | None, symbol: str) -> Halt | None:
        """The halt that stops an order of ``account``/``strategy``/``symbol``, if any (the broadest first)."""
        active = self._active
        halt = active.get((Scope.GLOBAL, "*")) or active.get((Scope.ACCOUNT, account))
        if halt is None and strategy is not None:
            halt = active.get((Scope.STRATEGY, strategy))
        return halt or active.get((Scope.SYMBOL, symbol))

    def halt(self, halt: Halt) -> bool:
        """Add ``halt``; False (and nothing recorded) when that scope is already halted: the first reason stands."""
        key = (halt.scope, halt.scope_id)
        if key in self._active:
            return False
        self._active[key] = halt
        self.any = True
        self.history.append({"event": "halt", **halt.to_dict()})
        return True

    def resume(self, scope: Scope | str, scope_id: str, *, by: str, at_ns: int, reason: str = "") -> Halt:
        """Lift one halt explicitly; raises NotFoundError when that scope is not halted."""
        sc, sid = check_halt_scope(scope, scope_id)
        halt = self._active.pop((sc, sid), None)
        if halt is None:
            raise NotFoundError(f"{'trading' if sc is Scope.GLOBAL else sc.value + ' ' + sid} is not halted")
        self.any = bool(self._active)
        self.history.append(
            {"event": "resume", "scope": sc.value, "scope_id": sid, "by": by, "at_ns": at_ns, "reason": reason}
        )
        return halt


def halted_record(halt: Halt, *, cancel_orders: bool = False, flatten: bool = False) -> TradingHalted:
    """The journal record of a halt put in force."""
    return TradingHalted(
        halt.at_ns,
        halt.scope.value,
        halt.scope_id,
        halt.rule,
        halt.reason,
        halt.by,
        halt.value,
        halt.limit,
        cancel_orders,
        flatten,
    )


def halt_of(record: TradingHalted) -> Halt:
    return Halt(
        Scope(record.scope),
        record.scope_id,
        record.rule,
        record.reason,
        record.by,
        record.ts,
        record.value,
        record.limit,
    )


class MarketMove:
    """Largest move of each symbol's price within a sliding window, from running min/max deques."""

    __slots__ = ("_highs", "_lows")

    def __init__(self) -> None:
        self._lows: dict[str, deque[tuple[int, Decimal]]] = {}
        self._highs: dict[str, deque[tuple[int, Decimal]]] = {}

    def observe(self, symbol: str, ts_ns: int, price: Decimal, window_ns: int) -> Decimal:
        """Record a price and return the largest move in % against any price of the last ``window_ns``."""
        lows = self._lows.get(symbol)
        if lows is None:
            lows = self._lows[symbol] = deque()
            self._highs[symbol] = deque()
        highs = self._highs[symbol]
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((ts_ns, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((ts_ns, price))
        start = ts_ns - window_ns
        while lows[0][0] < start:
            lows.popleft()
        while highs[0][0] < start:
            highs.popleft()
        low, high = lows[0][1], highs[0][1]
        up = (price / low - 1) * 100 if low > 0 else Decimal(0)
        down = (1 - price / high) * 100 if high > 0 else Decimal(0)
        return max(up, down)

    def reset(self, symbol: str) -> None:
        self._lows.pop(symbol, None)
        self._highs.pop(symbol, None)


class RejectRate:
    """Attempts and rejects per key in a sliding time window.

    A risk rejection is an attempt and a reject; a venue rejection is a reject of an order already counted as an
    attempt when it was created; a strategy error counts as both.
    """

    __slots__ = ("_events", "horizon_ns")

    def __init__(self, horizon_ns: int = NS_PER_MINUTE) -> None:
        self._events: dict[Any, deque[tuple[int, int, int]]] = {}
        # No window that may be asked looks further back than this: older events go as new ones come, or a key
        # that never sees a reject (whose check is what prunes in ``rate``) would keep one entry per order forever.
        self.horizon_ns = horizon_ns

    def record(self, key: Any, ts_ns: int, *, attempt: bool, reject: bool) -> None:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        events.append((ts_ns, int(attempt), int(reject)))
        start = ts_ns - self.horizon_ns
        while events[0][0] <= start:
            events.popleft()

    def rate(self, key: Any, now_ns: int, window_ns: int, min_orders: int) -> tuple[Decimal, int] | None:
        """(reject %, attempts) over the window, or None while fewer than ``min_orders`` attempts are in it."""
        events = self._events.get(key)
        if not events:
            return None
        start = now_ns - window_ns
        while events and events[0][0] <= start:
            events.popleft()
        attempts = sum(e[1] for e in events)
        if attempts == 0 or attempts < min_orders:
            return None
        rejects = sum(e[2] for e in events)
        return Decimal(rejects) * 100 / Decimal(attempts), attempts

    def clear(self, key: Any) -> None:
        self._events.pop(key, None)


class CircuitBreakers:
    """Trips halts, applies them (journal record, callback, cancel/flatten) and lifts them.

    Owned by the :class:`~alphintra.engine.risk.pretrade.RiskEngine`, which feeds it measurements; ``limits`` holds
    the breaker settings (``halt_cancel_orders``, ``halt_flatten``, ``market_move_*``) and is kept current by the
    engine. ``strategy_positions`` maps ``(account, strategy, symbol)`` to the strategy's position, used to
    flatten a strategy halt. Every halt is journaled as a ``TradingHalted`` record and published on ``risk.halt``;
    every resume as ``TradingResumed`` on ``risk.resume`` (``records.py``).
    """

    def __init__(
        self,
        limits: LimitSet,
        halts: Iterable[Halt] = (),
        *,
        on_halt: Callable[[Halt], None] | None = None,
        on_resume: Callable[[Halt, str, str], None] | None = None,
    ) -> None:
        self.rejects = RejectRate()
        self.limits = limits
        self.book = HaltBook(halts)
        self.moves = MarketMove()
        self.on_halt = on_halt
        self.on_resume = on_resume
        self.strategy_positions: Mapping[tuple[str, str, str], Decimal] = {}
        self.action_errors: list[str] = []
        self.flattening = False

    @property
    def limits(self) -> LimitSet:
        return self._limits

    @limits.setter
    def limits(self, limits: LimitSet) -> None:
        self._limits = limits
        self.rejects.horizon_ns = longest_reject_window_ns(limits)

    def trip(
        self, node: TradingNode, scope: Scope, scope_id: str, lim: Limit, value: Decimal, why: str, now: int
    ) -> Halt | None:
        """Halt ``scope`` because ``lim`` was broken (measured ``value``); None when it is already halted."""
        if self.book.get(scope, scope_id) is not None:
            return None
        text = f"{why}: {lim.name} ({lim.where}) is {fmt(lim.value)}, measured {fmt(value)}"
        halt = Halt(scope, scope_id, lim.name, text, SYSTEM_USER, now, value, lim.value)
        account = scope_id if scope is Scope.ACCOUNT else node.default_account
        cancel = self.limits.setting_or_default("halt_cancel_orders", account, None, "") == 1
        flatten = self.limits.setting_or_default("halt_flatten", account, None, "") == 1
        return self.apply(node, halt, cancel_orders=cancel, flatten=flatten)

    def apply(
        self, node: TradingNode, halt: Halt, *, cancel_orders: bool = False, flatten: bool = False
    ) -> Halt | None:
        """Put ``halt`` in force: journal, call back, then cancel and/or flatten what it covers."""
        if not self.book.halt(halt):
            return None
        _log.warning("risk halt of %s: %s", halt.where, halt.reason)
        node.record(halted_record(halt, cancel_orders=cancel_orders, flatten=flatten))
        if self.on_halt is not None:
            self.on_halt(halt)
        if cancel_orders or flatten:
            self._act(node, halt, flatten)
        return halt

    def resume(self, node: TradingNode, scope: Scope | str, scope_id: str, *, by: str, reason: str = "") -> Halt:
        """Lift a halt (the only way trading resumes after one); NotFoundError when that scope is not halted."""
        now = node.clock.now_ns()
        halt = self.book.resume(scope, scope_id, by=by, at_ns=now, reason=reason)
        record = TradingResumed(now, halt.scope.value, halt.scope_id, by, reason)
        node.record(record)
        if self.on_resume is not None:
            self.on_resume(halt, by, reason)
        # A fresh start: the window that tripped the breaker would trip it again at once.
        if halt.rule == "market_move_pct":
            self.moves.reset(halt.scope_id)
        if halt.rule == "max_reject_rate_pct":
            self.rejects.clear((halt.scope, halt.scope_id))
        return halt

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Re-apply ``TradingHalted``/``TradingResumed`` journal records in order (after a restart); other records
        are skipped."""
        for rec in records:
            if rec.get("type") not in ("TradingHalted", "TradingResumed", "RiskHalt", "RiskResume"):
                continue
            record = record_from_dict(rec)
            if isinstance(record, TradingHalted):
                self.book.halt(halt_of(record))
            elif isinstance(record, TradingResumed) and self.book.get(record.scope, record.scope_id) is not None:
                self.book.resume(record.scope, record.scope_id, by=record.by, at_ns=record.ts, reason=record.reason)

    def market_move(self, node: TradingNode, symbol: str, price: Decimal, ts: int) -> Halt | None:
        """Record a price; halt the symbol when it moved more than ``market_move_pct`` within the window."""
        pct = self.limits.setting("market_move_pct", "", None, symbol)
        if pct is None:
            return None
        minutes = int(self.limits.setting_or_default("market_move_minutes", "", None, symbol))
        move = self.moves.observe(symbol, ts, price, minutes * NS_PER_MINUTE)
        if move <= pct:
            return None
        lim = Limit("market_move_pct", pct)
        if self.limits.get("market_move_pct", Scope.SYMBOL, symbol) is not None:
            lim = Limit("market_move_pct", pct, Scope.SYMBOL, symbol)
        return self.trip(node, Scope.SYMBOL, symbol, lim, move, f"price moved {fmt(move)} % within {minutes} min", ts)

    def reject_rate(
        self, node: TradingNode, key: tuple[Scope, str], pct: Decimal | None, window_ns: int, minimum: int, now: int
    ) -> Halt | None:
        """Halt ``key`` (a strategy or an account) when its reject/error rate in the window exceeds ``pct``."""
        if pct is None:
            return None
        found = self.rejects.rate(key, now, window_ns, minimum)
        if found is None or found[0] <= pct:
            return None
        lim = Limit("max_reject_rate_pct", pct)
        why = f"reject/error rate over the last {found[1]} orders too high"
        return self.trip(node, key[0], key[1], lim, found[0], why, now)

    def _act(self, node: TradingNode, halt: Halt, flatten: bool) -> None:
        """Cancel the working orders the halt covers and, with ``flatten``, close its positions at market."""
        from alphintra.engine.commands import OrderRequest  # the node's command type (engine, not core)

        sc, sid = halt.scope, halt.scope_id
        symbol = sid if sc is Scope.SYMBOL else None
        strategy = sid if sc is Scope.STRATEGY else None
        accounts = [sid] if sc is Scope.ACCOUNT else list(node.ledger.accounts())
        for order in node.open_orders(symbol, strategy):
            if order.account in accounts and order.status is not OrderStatus.PENDING_CANCEL:
                try:
                    node.cancel(order.id, reason=f"risk halt: {halt.rule}")
                except AlphintraError as exc:
                    self.action_errors.append(f"cancel {order.id}: {exc.message}")
        if not flatten:
            return
        closing: list[tuple[str, str, Decimal, str | None]] = []
        for account in accounts:
            if strategy is not None:
                for (acc, strat, sym), q in self.strategy_positions.items():
                    if acc == account and strat == strategy and q != 0:
                        closing.append((account, sym, q, strat))
            else:
                for sym, pos in node.ledger.positions(account).items():
                    if pos.quantity != 0 and (symbol is None or sym == symbol):
                        closing.append((account, sym, pos.quantity, None))
        self.flattening = True  # the pre-trade check lets these through: they only reduce, and must not be refused
        try:
            for acct_id, sym, q, owner in sorted(closing, key=lambda c: (c[0], c[1])):
                side = OrderSide.SELL if q > 0 else OrderSide.BUY
                request = OrderRequest(
                    sym, side, abs(q), reduce_only=True, strategy=owner, account=acct_id, tags=("risk-flatten",)
                )
                try:
                    node.submit(request)
                except AlphintraError as exc:
                    self.action_errors.append(f"flatten {acct_id} {sym}: {exc.message}")
        finally:
            self.flattening = False


class HaltStore(Protocol):
    """What is used of the trading state store (``alphintra.storage.state.StateStore`` fits)."""

    def list_risk_limits(self, *, scope: str | None = None, scope_id: str | None = None) -> list[Any]: ...

    def risk_limit_history(
        self, *, name: str | None = None, scope: str | None = None, scope_id: str | None = None, limit: int = 100
    ) -> list[Any]: ...

    def set_risk_limit(
        self,
        name: str,
        value: Decimal | int | str | None,
        *,
        changed_by: str,
        scope: str = "global",
        scope_id: str = "*",
        reason: str | None = None,
        at: Any = None,
    ) -> Any: ...

    def add_alert(self, data: dict[str, Any]) -> Any: ...


def halt_alert(halt: Halt) -> dict[str, Any]:
    """The ``risk_alerts`` row announcing a halt."""
    return {
        "severity": "CRITICAL",
        "rule": halt.rule,
        "message": f"halted {halt.where}: {halt.reason} (by {halt.by})",
        "account_id": halt.scope_id if halt.scope is Scope.ACCOUNT else None,
        "strategy": halt.scope_id if halt.scope is Scope.STRATEGY else None,
        "symbol": halt.scope_id if halt.scope is Scope.SYMBOL else None,
        "value": halt.value,
        "threshold": halt.limit,
        "time": halt.at_ns,
    }


def _encode_reason(halt: Halt) -> str:
    # The limit history keeps one free-text reason; the rule leads it so that load_halts can give it back.
    return f"[{halt.rule}] {halt.reason}"


def _decode_reason(text: str | None) -> tuple[str, str]:
    text = text or ""
    if text.startswith("[") and "] " in text:
        rule, _, reason = text[1:].partition("] ")
        return rule, reason
    return "manual", text


def store_halt(store: HaltStore, halt: Halt) -> bool:
    """Persist a halt (and its CRITICAL alert); False when that scope was already halted in the store."""
    existing = [
        r for r in store.list_risk_limits(scope=halt.scope.value, scope_id=halt.scope_id) if r.name == HALT_NAME
    ]
    if existing:
        return False
    store.set_risk_limit(
        HALT_NAME,
        1,
        changed_by=halt.by,
        scope=halt.scope.value,
        scope_id=halt.scope_id,
        reason=_encode_reason(halt),
        at=halt.at_ns,
    )
    store.add_alert(halt_alert(halt))
    return True


def store_resume(
    store: HaltStore, scope: Scope | str, scope_id: str | None, *, by: str, reason: str = "", at_ns: int | None = None
) -> None:
    """Lift a stored halt (recorded in the limit history); NotFoundError when the scope is not halted."""
    sc, sid = check_halt_scope(scope, scope_id)
    if not [r for r in store.list_risk_limits(scope=sc.value, scope_id=sid) if r.name == HALT_NAME]:
        raise NotFoundError(f"{'trading' if sc is Scope.GLOBAL else sc.value + ' ' + sid} is not halted")
    store.set_risk_limit(
        HALT_NAME, None, changed_by=by, scope=sc.value, scope_id=sid, reason=reason or "resumed", at=at_ns
    )


def _to_ns(value: Any) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, datetime):
        return 0
    # Whole microseconds through integers: a float of seconds would lose the last digits of the ns.
    seconds = int(value.replace(microsecond=0).timestamp())
    return (seconds * 1_000_000 + value.microsecond) * 1_000


def load_halts(store: HaltStore) -> list[Halt]:
    """The halts in force in the store, each with who set it, when and why (from the limit history)."""
    out: list[Halt] = []
    for row in store.list_risk_limits():
        if row.name != HALT_NAME:
            continue
        history = store.risk_limit_history(name=HALT_NAME, scope=row.scope, scope_id=row.scope_id, limit=1)
        change = history[0] if history else None
        rule, reason = _decode_reason(getattr(change, "reason", None))
        out.append(
            Halt(
                Scope(row.scope),
                row.scope_id,
                rule,
                reason,
                getattr(change, "changed_by", None) or row.updated_by,
                _to_ns(getattr(change, "changed_at", None) or row.updated_at),
            )
        )
    return sorted(out, key=lambda h: (h.at_ns, h.scope.value, h.scope_id))


__all__ = [
    "SYSTEM_USER",
    "CircuitBreakers",
    "Halt",
    "HaltBook",
    "HaltStore",
    "MarketMove",
    "RejectRate",
    "check_halt_scope",
    "halt_alert",
    "halt_of",
    "halted_record",
    "load_halts",
    "store_halt",
    "store_resume",
]
