"""Circuit breakers: halts, their detectors, their actions, their storage, and a backtest running into one."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from alphintra.engine.clock import NS_PER_SECOND, TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, RejectReason
from alphintra.engine.core.errors import NotFoundError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.risk import (
    Halt,
    HaltBook,
    LimitSet,
    RiskEngine,
    RiskLimitError,
    Scope,
    load_halts,
    load_limits,
    save_limits,
    store_halt,
    store_resume,
)
from alphintra.engine.risk.breakers import MarketMove, RejectRate
from alphintra.engine.venue.sim_driver import simulated_node

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MINUTE = 60 * NS_PER_SECOND


class ListJournal:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> int:
        self.records.append(record)
        return len(self.records)


def make(limits: LimitSet | None = None, **risk_kw: Any) -> tuple[TradingNode, RiskEngine, TestClock, ListJournal]:
    reg = InstrumentRegistry([Instrument.create(s, tick_size="0.01", lot_size="1") for s in ("GOOG", "MSFT")])
    clock = TestClock(0)
    risk = RiskEngine(limits, **risk_kw)
    journal = ListJournal()
    node = simulated_node(
        reg,
        clock,
        risk=risk,
        journal=journal,
    )
    node.open_account("main", cash={"USD": D(100_000)})
    return node, risk, clock, journal


def bar(node: TradingNode, risk: RiskEngine, symbol: str, minute: int, o: str, h: str, lo: str, c: str) -> list[Halt]:
    b = Bar(symbol, minute * MINUTE, D(o), D(h), D(lo), D(c), D(1000), minute * MINUTE + MINUTE - 1)
    before = len(risk.halts.history)
    node.process_bar(b)  # the node hands every closed bar to risk.on_bar itself
    return [risk.halts.get(h["scope"], h["scope_id"]) for h in risk.halts.history[before:] if h["event"] == "halt"]


def test_market_move_is_the_largest_move_against_the_window_extremes() -> None:
    mm = MarketMove()
    window = 5 * MINUTE
    assert mm.observe("X", 0, D(100), window) == 0
    assert mm.observe("X", MINUTE, D(103), window) == D(3)
    assert mm.observe("X", 2 * MINUTE, D(97), window) == (1 - D(97) / D(103)) * 100
    # 103 left the window (older than 5 minutes); 97 is the low, 100 the high.
    assert mm.observe("X", 6 * MINUTE + 1, D(100), window) == (D(100) / D(97) - 1) * 100
    assert mm.observe("X", 20 * MINUTE, D(100), window) == 0


def test_reject_rate_needs_the_minimum_and_forgets_old_events() -> None:
    rr = RejectRate()
    for i in range(3):
        rr.record("s", i, attempt=True, reject=i == 0)
    assert rr.rate("s", 3, 100, 4) is None
    rr.record("s", 3, attempt=False, reject=True)  # a venue reject of an order already counted
    rr.record("s", 4, attempt=True, reject=False)
    assert rr.rate("s", 4, 100, 4) == (D(50), 4)
    assert rr.rate("s", 103, 100, 1) == (D(0), 1)  # events at t <= 3 have left the window


def test_a_key_that_never_sees_a_reject_keeps_only_its_window() -> None:
    # Only a reject asks for the rate (and pruned, before): an account trading all day without one kept every order.
    rr = RejectRate(horizon_ns=60 * NS_PER_SECOND)
    for second in range(3_600):
        rr.record("acct", second * NS_PER_SECOND, attempt=True, reject=False)
    assert len(rr._events["acct"]) == 60
    assert rr.rate("acct", 3_599 * NS_PER_SECOND, 60 * NS_PER_SECOND, 1) == (D(0), 60)


def test_the_horizon_follows_the_longest_reject_window_set() -> None:
    node, risk, _, _ = make(LimitSet.of(max_reject_rate_pct=50, reject_rate_min_orders=1))
    rejects = risk.breakers.rejects
    assert rejects.horizon_ns == 60 * NS_PER_SECOND  # the default window
    risk.set_limits(risk.limits.with_limit("reject_rate_window_s", 300, "account", node.default_account))
    assert rejects.horizon_ns == 300 * NS_PER_SECOND
    for second in range(0, 400, 10):
        rejects.record("k", second * NS_PER_SECOND, attempt=True, reject=second == 100)
    # The account's 300-second window still sees the reject of 290 seconds ago.
    assert rejects.rate("k", 390 * NS_PER_SECOND, 300 * NS_PER_SECOND, 1) == (D(100) / 30, 30)


def test_halt_book_covers_by_scope_and_keeps_the_first_reason() -> None:
    book = HaltBook()
    assert not book.any and book.covering("main", "s1", "GOOG") is None
    first = Halt(Scope.STRATEGY, "s1", "manual", "first", "alice", 1)
    assert book.halt(first)
    assert not book.halt(Halt(Scope.STRATEGY, "s1", "manual", "second", "bob", 2))
    assert book.covering("main", "s1", "GOOG") == first
    assert book.covering("main", "s2", "GOOG") is None
    book.halt(Halt(Scope.SYMBOL, "GOOG", "manual", "x", "bob", 3))
    assert book.covering("main", None, "GOOG") is not None
    book.resume("strategy", "s1", by="carol", at_ns=4)
    with pytest.raises(NotFoundError, match="strategy s1 is not halted"):
        book.resume("strategy", "s1", by="carol", at_ns=5)
    assert [e["event"] for e in book.history] == ["halt", "halt", "resume"]


def test_market_move_breaker_halts_only_that_symbol_until_resumed() -> None:
    limits = LimitSet.of(market_move_pct=5, market_move_minutes=3)
    seen: list[object] = []
    node, risk, _, journal = make(limits, on_halt=seen.append)
    assert bar(node, risk, "GOOG", 1, "100", "101", "99", "100") == []
    tripped = bar(node, risk, "GOOG", 2, "100", "100", "94", "95")  # 101 -> 94 within 3 minutes: 6.93 %
    assert [(h.scope, h.scope_id, h.rule) for h in tripped] == [(Scope.SYMBOL, "GOOG", "market_move_pct")]
    assert tripped[0].value == (1 - D(94) / D(101)) * 100
    assert seen == tripped and journal.records[-1]["type"] == "TradingHalted"
    with pytest.raises(RiskLimitError) as info:
        node.submit(OrderRequest("GOOG", BUY, D(1)))
    assert info.value.reason == RejectReason.HALTED and "symbol GOOG is halted" in info.value.message
    bar(node, risk, "MSFT", 2, "50", "50", "50", "50")
    node.submit(OrderRequest("MSFT", BUY, D(1)))  # other symbols trade on
    risk.resume(node, "symbol", "GOOG", by="alice", reason="news digested")
    assert journal.records[-1] == {
        "type": "TradingResumed",
        "v": 1,
        "ts": node.clock.now_ns(),
        "scope": "symbol",
        "scope_id": "GOOG",
        "by": "alice",
        "reason": "news digested",
    }
    node.submit(OrderRequest("GOOG", BUY, D(1)))


def test_reject_rate_breaker_halts_the_strategy() -> None:
    limits = LimitSet.of(max_order_qty=5, max_reject_rate_pct=50, reject_rate_min_orders=4)
    node, risk, _, _ = make(limits)
    bar(node, risk, "GOOG", 1, "100", "100", "100", "100")
    node.submit(OrderRequest("GOOG", BUY, D(1), strategy="s1"))
    node.submit(OrderRequest("GOOG", BUY, D(1), strategy="s1"))
    for _ in range(2):
        with pytest.raises(RiskLimitError):
            node.submit(OrderRequest("GOOG", BUY, D(9), strategy="s1"))
    assert risk.halts.get("strategy", "s1") is None  # 2 of 4: 50 %, not over
    with pytest.raises(RiskLimitError) as info:
        node.submit(OrderRequest("GOOG", BUY, D(9), strategy="s1"))  # 3 of 5: 60 %
    assert info.value.rule == "max_order_qty"
    halt = risk.halts.get("strategy", "s1")
    assert halt is not None and halt.rule == "max_reject_rate_pct" and halt.value == D(60)
    with pytest.raises(RiskLimitError) as info:
        node.submit(OrderRequest("GOOG", BUY, D(1), strategy="s1"))
    assert info.value.reason == RejectReason.HALTED
    node.submit(OrderRequest("GOOG", BUY, D(1), strategy="s2"))


def test_strategy_errors_count_towards_the_error_rate() -> None:
    node, risk, _, _ = make(LimitSet.of(max_reject_rate_pct=50, reject_rate_min_orders=2))
    assert risk.record_strategy_error(node, "s1") is None  # one attempt: below the minimum
    halt = risk.record_strategy_error(node, "s1")
    assert halt is not None and halt.scope_id == "s1" and halt.value == D(100)


def test_a_breaker_can_cancel_working_orders_and_flatten() -> None:
    limits = LimitSet.of(max_daily_loss=100, halt_cancel_orders=1, halt_flatten=1)
    node, risk, _, _ = make(limits)
    bar(node, risk, "GOOG", 1, "100", "100", "100", "100")
    node.submit(OrderRequest("GOOG", BUY, D(50), strategy="s1"))
    bar(node, risk, "GOOG", 2, "100", "100", "100", "100")  # filled at 100
    resting = node.submit(OrderRequest("GOOG", BUY, D(5), OrderType.LIMIT, price=D(90), strategy="s1"))
    tripped = bar(node, risk, "GOOG", 3, "100", "100", "97", "97")  # 50 x -3 = 150 lost
    assert [h.rule for h in tripped] == ["max_daily_loss"]
    assert resting.status is OrderStatus.CANCELED
    closing = [o for o in node.orders.values() if "risk-flatten" in o.tags]
    assert [(o.side, o.quantity, o.reduce_only) for o in closing] == [(SELL, D(50), True)]
    bar(node, risk, "GOOG", 4, "97", "97", "97", "97")
    pos = node.ledger.position("main", "GOOG")
    assert pos is not None and pos.quantity == 0
    assert risk.breakers.action_errors == []


def test_backtest_hitting_the_daily_loss_limit_halts_and_places_no_order_after() -> None:
    """A strategy buying every bar into a falling market: the halt is recorded and ends its orders."""
    node, risk, _, journal = make(LimitSet.of(max_daily_loss=500))
    refused: list[int] = []
    price = D(100)
    for minute in range(1, 40):
        bar(node, risk, "GOOG", minute, str(price), str(price), str(price - 1), str(price - 1))
        price -= 1
        try:
            node.submit(OrderRequest("GOOG", BUY, D(10), strategy="dip-buyer"))
        except RiskLimitError as exc:
            assert exc.reason in (RejectReason.RISK_LIMIT, RejectReason.HALTED)
            refused.append(minute)
    halts = [r for r in journal.records if r["type"] == "TradingHalted"]
    assert len(halts) == 1 and halts[0]["rule"] == "max_daily_loss" and halts[0]["scope_id"] == "main"
    halted_at = int(halts[0]["ts"])
    assert all(o.created_at <= halted_at for o in node.orders.values())
    assert refused == list(range(refused[0], 40))  # every order after the halt was refused
    assert risk.figures(node, "main")["daily_loss"] > D(500)
    assert [e["rule"] for e in risk.halts.history] == ["max_daily_loss"]


def test_daily_loss_restarts_with_each_session() -> None:
    node, risk, _, _ = make(LimitSet.of(max_daily_loss=10))
    day = 86_400 * NS_PER_SECOND
    node.process_bar(Bar("GOOG", 0, D(100), D(100), D(100), D(100), D(1), 1))
    node.submit(OrderRequest("GOOG", BUY, D(1)))
    node.process_bar(Bar("GOOG", 2, D(100), D(100), D(100), D(100), D(1), 3))
    for ts, px in ((10, "95"), (day + 10, "90")):
        b = Bar("GOOG", ts, D(px), D(px), D(px), D(px), D(1), ts + 1)
        node.process_bar(b)  # risk.on_bar runs inside
        assert risk.figures(node, "main")["daily_loss"] == D(5)  # each day lost 5, the total is 10
    node.submit(OrderRequest("GOOG", BUY, D(1)))


def test_manual_halt_callbacks_and_journal_restore() -> None:
    halted: list[Halt] = []
    resumed: list[tuple[str, str]] = []
    node, risk, _, journal = make(on_halt=halted.append, on_resume=lambda h, by, why: resumed.append((by, why)))
    halt = risk.halt(node, by="alice", reason="fat finger seen")
    assert halt is not None and halted == [halt] and risk.halt(node, by="bob", reason="again") is None
    with pytest.raises(RiskLimitError, match=r"all trading is halted .*by alice\): fat finger seen"):
        node.submit(OrderRequest("GOOG", BUY, D(1)))
    other = RiskEngine()
    other.breakers.restore(journal.records)
    assert other.halts.get("global") == halt
    risk.resume(node, by="bob", reason="checked")
    assert resumed == [("bob", "checked")]
    other.breakers.restore(journal.records[-1:])
    assert len(other.halts) == 0


def test_limits_and_halts_round_trip_through_the_state_store(tmp_path: Path) -> None:
    from alphintra.storage.state import StateStore

    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: 1_700_000_000_000_000_000)
    store.create_all()
    limits = LimitSet.of(max_order_qty=10).with_limit("max_position_notional", "2500.50", "symbol", "GOOG")
    assert save_limits(store, limits, changed_by="alice", reason="initial") == 2
    assert load_limits(store) == limits
    assert save_limits(store, limits.with_limit("max_order_qty", None), changed_by="bob") == 1
    assert load_limits(store) == limits.with_limit("max_order_qty", None)
    halt = Halt(
        Scope.STRATEGY,
        "s1",
        "max_daily_loss",
        "lost too much",
        "risk-engine",
        1_700_000_000_000_000_000,
        D(600),
        D(500),
    )
    assert store_halt(store, halt) and not store_halt(store, halt)
    (loaded,) = load_halts(store)
    assert (loaded.scope, loaded.scope_id, loaded.rule, loaded.reason, loaded.by, loaded.at_ns) == (
        Scope.STRATEGY,
        "s1",
        "max_daily_loss",
        "lost too much",
        "risk-engine",
        1_700_000_000_000_000_000,
    )
    assert load_limits(store) == limits.with_limit("max_order_qty", None)  # the halt is not a limit
    (alert,) = store.list_alerts()
    assert (alert.severity, alert.rule, alert.strategy, alert.value, alert.threshold) == (
        "CRITICAL",
        "max_daily_loss",
        "s1",
        D(600),
        D(500),
    )
    store_resume(store, "strategy", "s1", by="carol", reason="reviewed")
    assert load_halts(store) == []
    latest = store.risk_limit_history(name="trading_halt", limit=1)[0]
    assert (latest.changed_by, latest.reason, latest.new_value) == ("carol", "reviewed", None)
    with pytest.raises(NotFoundError):
        store_resume(store, "strategy", "s1", by="carol")
