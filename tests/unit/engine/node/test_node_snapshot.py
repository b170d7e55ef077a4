"""Snapshots: a node restored from ``snapshot_state`` plus the journal records after it equals a full replay, and
resumes trading (working orders, emulated stops, algorithms, reservations); retention drops finished orders but
never a client order id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_kit import BUY, MIN, SELL, D, ListJournal, bar, make_node
from test_node_properties import ACCOUNTS, DEPOSITS, LIQUIDITY, Runner, bar_cmds, book_cmds
from test_node_replay import trade_a_session

from alphintra.engine.algos import AlgoStatus, TwapRequest
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType
from alphintra.engine.core.errors import ConflictError
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode

S = OrderStatus


def comparable(node: TradingNode) -> dict[str, Any]:
    """The node's state as a snapshot, without market data (marks, last prices) and the venue's live counter."""
    state = json.loads(json.dumps(node.snapshot_state()))
    state["ledger"].pop("marks")
    state.pop("last_prices")
    state.pop("venue_trade_seq")
    return state


def restored(snapshot: dict[str, Any], tail: list[dict[str, Any]], mode: str = "bar", **kw: Any) -> TradingNode:
    fresh = make_node(mode, **kw)
    fresh.restore_state(json.loads(json.dumps(snapshot)))  # what the journal stores: plain JSON
    fresh.replay(tail)
    return fresh


def full(records: list[dict[str, Any]], mode: str = "bar", **kw: Any) -> TradingNode:
    fresh = make_node(mode, **kw)
    fresh.replay(records)
    return fresh


def test_snapshot_plus_tail_equals_full_replay_for_a_whole_session() -> None:
    journal = ListJournal()
    node = make_node(journal=journal)
    node.open_account("main", cash={"USD": "20000", "GOOG": "30"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    node.submit(OrderRequest("GOOG", BUY, D(2), OrderType.LIMIT, price=D(95), client_order_id="early"))
    snapshot, upto = node.snapshot_state(), len(journal.records)
    # The rest of the session (stops, trailing stops, icebergs, OCO, bracket, TWAP, GTD) happens after it.
    journal_tail = ListJournal()
    node.journal = journal_tail
    trade_a_session_after_open(node)
    records = journal.records[:upto] + journal_tail.records
    a, b = restored(snapshot, journal_tail.records), full(records)
    assert comparable(a) == comparable(b)
    assert a.fills == b.fills == node.fills
    assert dict(a.orders) == dict(node.orders)
    assert a.by_client_id("main", "early") == node.by_client_id("main", "early")
    assert a.snapshot_state()["venue_trade_seq"] == 0  # the fresh venue traded nothing; the live one did
    assert node.snapshot_state()["venue_trade_seq"] > 0


def trade_a_session_after_open(node: TradingNode) -> None:
    """``trade_a_session`` without its account openings (the accounts exist already in the snapshot)."""
    opened = node.open_account
    try:
        node.open_account = lambda account, **kw: None if account == "main" else opened(account, **kw)  # type: ignore[method-assign]
        trade_a_session(node)
    finally:
        node.open_account = opened  # type: ignore[method-assign]


def test_restart_from_a_snapshot_resumes_orders_stops_algos_and_reservations() -> None:
    journal = ListJournal()
    node = make_node(journal=journal)
    node.open_account("main", cash={"USD": "20000", "GOOG": "30"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    limit = node.submit(OrderRequest("GOOG", BUY, D(5), OrderType.LIMIT, price=D("95")))
    stop = node.submit(OrderRequest("GOOG", SELL, D(4), OrderType.STOP, stop_price=D("97")))
    twap = node.submit_twap(TwapRequest("GOOG", BUY, D(8), duration_ns=4 * MIN, slices=4))
    node.process_bar(bar(2, "100", "100.5", "99.5", "100"))
    snapshot, upto = json.loads(json.dumps(node.snapshot_state())), len(journal.records)
    node.process_bar(bar(3, "100", "100.5", "99.5", "100"))  # one more TWAP slice after the snapshot

    fresh = make_node(start_ns=node.clock.now_ns())
    fresh.restore_state(snapshot)
    fresh.replay(journal.records[upto:])
    fresh.resume()
    assert fresh.ledger.reservation(limit.id) == node.ledger.reservation(limit.id) is not None
    assert fresh.ledger.balances("main") == node.ledger.balances("main")
    assert fresh.venue.is_working(limit.id)
    assert fresh.emulator.has_armed("GOOG") and fresh.emulator.venue_key(fresh.orders[stop.id]) is None
    progress = fresh.algos.progress(twap.algo_id)
    assert progress == node.algos.progress(twap.algo_id)
    assert progress.status is AlgoStatus.RUNNING and progress.slices_sent == 3
    # The stop triggers and fills after the restart; the TWAP sends its remaining slices and completes.
    for t in range(4, 9):
        fresh.process_bar(bar(t, "100", "100.5", "96.5", "99"))
    assert fresh.orders[stop.id].status is S.FILLED
    done = fresh.algos.progress(twap.algo_id)
    assert done.status is AlgoStatus.COMPLETED and done.filled == D(8)
    # New ids continue after the snapshot's counters.
    again = fresh.submit(OrderRequest("GOOG", BUY, D(1), OrderType.LIMIT, price=D(90)))
    assert again.id not in node.orders and again.id > max(node.orders)


def test_retention_drops_old_finished_orders_but_keeps_working_and_linked_ones() -> None:
    node = make_node()
    node.open_account("main", cash={"USD": "100000", "GOOG": "100"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    filled = [
        node.submit(OrderRequest("GOOG", BUY, D(1), client_order_id=f"m-{i}")) for i in range(5)
    ]  # market: fill at the next bar
    working = node.submit(OrderRequest("GOOG", BUY, D(1), OrderType.LIMIT, price=D(50), client_order_id="w"))
    take, stop = node.submit_oco(
        OrderRequest("GOOG", SELL, D(1), OrderType.LIMIT, price=D("100.2")),
        OrderRequest("GOOG", SELL, D(1), OrderType.STOP, stop_price=D(80)),
    )
    node.process_bar(bar(2, "100", "100.5", "99.5", "100"))
    assert all(node.orders[o.id].status is S.FILLED for o in filled)
    assert node.orders[take.id].status is S.FILLED and node.orders[stop.id].status is S.CANCELED
    assert len(node.fills) == 6

    assert node.forget_finished(keep=2, max_age_ns=10**18) == 5
    # The five oldest finished (the market orders) leave; the two newest (the OCO pair) and the working one stay.
    assert set(node.orders) == {working.id, take.id, stop.id}
    assert [f.order_id for f in node.fills] == [take.id]
    # A dropped order's client id stays used; a kept one still answers idempotently.
    with pytest.raises(ConflictError, match="client_order_id 'm-0' was used"):
        node.submit(OrderRequest("GOOG", BUY, D(1), client_order_id="m-0"))
    assert node.submit(OrderRequest("GOOG", BUY, D(1), OrderType.LIMIT, price=D(50), client_order_id="w")) is working
    # Age: everything finished before now - 1 ns goes, the count aside.
    assert node.forget_finished(keep=10**6, max_age_ns=1) == 2
    assert set(node.orders) == {working.id}
    snapshot = json.loads(json.dumps(node.snapshot_state()))
    again = make_node()
    again.restore_state(snapshot)
    with pytest.raises(ConflictError):
        again.submit(OrderRequest("GOOG", BUY, D(1), client_order_id="m-3"))


def test_a_filled_bracket_entry_stays_while_its_exits_work() -> None:
    node = make_node()
    node.open_account("main", cash={"USD": "100000", "GOOG": "100"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    plain = node.submit(OrderRequest("GOOG", BUY, D(2), OrderType.LIMIT, price=D("99.9")))
    entry_request = OrderRequest("GOOG", BUY, D(2), OrderType.LIMIT, price=D("99.9"))
    entry, tp, sl = node.submit_bracket(BracketRequest(entry_request, D(105), D(95)))
    node.process_bar(bar(2, "100", "100.5", "99.5", "100"))
    assert node.orders[plain.id].status is node.orders[entry.id].status is S.FILLED
    assert not node.orders[tp.id].is_terminal and not node.orders[sl.id].is_terminal
    assert node.forget_finished(keep=0, max_age_ns=0) == 1  # the plain order; the entry waits for its exits
    assert set(node.orders) == {entry.id, tp.id, sl.id}
    node.cancel(tp.id)
    assert node.forget_finished(keep=0, max_age_ns=0) == 0  # the stop-loss still protects the position
    node.cancel(sl.id)
    assert node.forget_finished(keep=0, max_age_ns=0) == 3 and not node.orders


def _book_node(journal: ListJournal, liquidity: bool) -> TradingNode:
    node = make_node("book", journal=journal, liquidity=LIQUIDITY if liquidity else None)
    for account in ACCOUNTS:
        node.open_account(account, cash={k: str(v) for k, v in DEPOSITS.items()})
    node.process_trade(TradeTick("GOOG", MIN, D(100), D(1)))
    return node


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=bar_cmds, split=st.integers(0, 40), keep=st.none() | st.integers(0, 5))
def test_bar_mode_snapshot_plus_tail_equals_full_replay(cmds: list[Any], split: int, keep: int | None) -> None:
    journal = ListJournal()
    node = make_node("bar", journal=journal)
    for account in ACCOUNTS:
        node.open_account(account, cash={k: str(v) for k, v in DEPOSITS.items()})
    node.process_bar(bar(1, "100", "100.5", "99.5", "100"))
    _check_split(node, journal, Runner(node, book=False), cmds, split, keep, "bar")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=book_cmds, split=st.integers(0, 40), keep=st.none() | st.integers(0, 5), liquidity=st.booleans())
def test_book_mode_snapshot_plus_tail_equals_full_replay(
    cmds: list[Any], split: int, keep: int | None, liquidity: bool
) -> None:
    journal = ListJournal()
    node = _book_node(journal, liquidity)
    kw = {"liquidity": LIQUIDITY if liquidity else None}
    _check_split(node, journal, Runner(node, book=True), cmds, split, keep, "book", **kw)


def _check_split(
    node: TradingNode,
    journal: ListJournal,
    runner: Runner,
    cmds: list[Any],
    split: int,
    keep: int | None,
    mode: str,
    **kw: Any,
) -> None:
    split = min(split, len(cmds))
    for cmd in cmds[:split]:
        runner.run(cmd)
    if keep is not None:
        node.forget_finished(keep=keep, max_age_ns=10**18)
    snapshot, upto = json.loads(json.dumps(node.snapshot_state())), len(journal.records)
    for cmd in cmds[split:]:
        runner.run(cmd)
    a, b = restored(snapshot, journal.records[upto:], mode, **kw), full(journal.records, mode, **kw)
    if keep is None:
        assert comparable(a) == comparable(b)
        assert a.fills == b.fills
        return
    # With retention, the restored node lacks what was dropped (all finished), and nothing else differs.
    assert set(a.orders) <= set(b.orders)
    assert all(b.orders[o].is_terminal for o in set(b.orders) - set(a.orders))
    assert {o: b.orders[o] for o in a.orders} == a.orders
    assert a.fills == [f for f in b.fills if f.order_id in a.orders]
    sa, sb = comparable(a), comparable(b)
    assert sa["ledger"] == sb["ledger"] and sa["order_seq"] == sb["order_seq"]
    assert [o.id for o in a.open_orders()] == [o.id for o in b.open_orders()]
