"""Recovery: the real event journal, replayed into a fresh node, rebuilds orders, balances, positions and
reservations exactly; ``resume`` puts working orders back on the venue and re-arms the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node_kit import BUY, MIN, SELL, D, bar, make_node

from alphintra.engine.algos import TwapRequest
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from alphintra.engine.node import TradingNode
from alphintra.storage.journal import FsyncPolicy, Journal

S = OrderStatus


def state(node: TradingNode) -> tuple[Any, ...]:
    ledger = node.ledger.to_dict()
    ledger.pop("marks")  # marks come from market data, which is not journaled
    return dict(node.orders), ledger, node.algos.list_algos()


def trade_a_session(node: TradingNode) -> None:
    node.open_account("main", cash={"USD": "20000", "GOOG": "30"})
    node.open_account("other", cash={"USD": "5000"})
    node.process_bar(bar(1, "100", "101", "99", "100"))
    limit = OrderType.LIMIT
    node.submit(OrderRequest("GOOG", BUY, D(5), limit, price=D("99.5")))
    node.submit(OrderRequest("GOOG", BUY, D(3), limit, price=D("90"), account="other", client_order_id="c-1"))
    node.submit(OrderRequest("GOOG", SELL, D(4), OrderType.STOP, stop_price=D("97")))
    node.submit(
        OrderRequest(
            "GOOG",
            SELL,
            D(5),
            OrderType.TRAILING_STOP,
            trailing_offset=D("1.5"),
            trailing_offset_type=TrailingOffsetType.PRICE,
        )
    )
    node.submit(OrderRequest("GOOG", BUY, D(9), OrderType.ICEBERG, price=D("99"), display_quantity=D(4)))
    node.submit(OrderRequest("GOOG", BUY, D(2), limit, price=D(95), time_in_force=TimeInForce.GTD, expires_at=4 * MIN))
    node.submit_oco(
        OrderRequest("GOOG", SELL, D(6), limit, price=D(104)),
        OrderRequest("GOOG", SELL, D(6), OrderType.STOP, stop_price=D(96)),
    )
    node.submit_bracket(BracketRequest(OrderRequest("GOOG", BUY, D(4), limit, price=D("99.8")), D(103), D(98)))
    node.submit_twap(TwapRequest("GOOG", BUY, D(10), duration_ns=4 * MIN, slices=4, account="other"))
    node.process_bar(bar(2, "100", "100.5", "98.9", "99.2"))
    node.process_bar(bar(3, "99.2", "102", "99", "101.5"))
    node.cancel(node.by_client_id("other", "c-1").id)  # type: ignore[union-attr]
    node.process_bar(bar(4, "101.5", "102.5", "101", "102"))


def test_journal_replay_rebuilds_the_node_exactly(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal", fsync=FsyncPolicy.GROUP) as journal:
        node = make_node(journal=journal)
        trade_a_session(node)
    assert node.fills and any(not o.is_terminal for o in node.orders.values())
    records = [r.record for r in Journal(tmp_path / "journal").read()]
    fresh = make_node()
    assert fresh.replay(records) == len(records)
    assert state(fresh) == state(node)
    for account in ("main", "other"):
        assert fresh.ledger.reservations(account) == node.ledger.reservations(account)
        assert fresh.ledger.positions(account).keys() == node.ledger.positions(account).keys()
    assert fresh.by_client_id("other", "c-1") == node.by_client_id("other", "c-1")


def test_resume_puts_working_orders_back_and_new_ids_continue(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal", fsync=FsyncPolicy.GROUP) as journal:
        node = make_node(journal=journal)
        trade_a_session(node)
    records = [r.record for r in Journal(tmp_path / "journal").read()]
    fresh = make_node(start_ns=node.clock.now_ns())
    fresh.replay(records)
    fresh.resume()
    working = {o.id for o in node.orders.values() if o.status in (S.ACCEPTED, S.PARTIALLY_FILLED)}
    for order_id in working:
        order = fresh.orders[order_id]
        key = fresh.emulator.venue_key(order)
        if order.order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
            assert key is None and fresh.emulator.has_armed("GOOG")
        else:
            assert key is not None and fresh.venue.is_working(key), order_id
    again = fresh.submit(OrderRequest("GOOG", BUY, D(1), OrderType.LIMIT, price=D(90)))
    assert again.id not in node.orders and int(again.id.rpartition("-")[2]) == len(node.orders) + 1


def test_trade_and_algo_ids_continue_after_replay(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal", fsync=FsyncPolicy.GROUP) as journal:
        node = make_node(journal=journal)
        trade_a_session(node)
    records = [r.record for r in Journal(tmp_path / "journal").read()]
    fresh = make_node(start_ns=node.clock.now_ns())
    fresh.replay(records)
    fresh.resume()
    fresh.submit(OrderRequest("GOOG", BUY, D(3), account="other"))
    fresh.submit_twap(TwapRequest("GOOG", BUY, D(4), duration_ns=2 * MIN, slices=2, account="other"))
    fresh.process_bar(bar(5, "102", "102.5", "101", "102"))
    old = {f.trade_id for f in node.fills}
    new = [f.trade_id for f in fresh.fills[len(node.fills) :]]  # the replayed fills come first
    assert new and not set(new) & old  # a restart never issues a trade id again
    highest = max(int(t.rpartition("T")[2]) for t in old)
    assert sorted(int(t.rpartition("T")[2]) for t in new)[0] == highest + 1
    algo_ids = [a.algo_id for a in fresh.algos.list_algos()]
    assert len(algo_ids) == len(set(algo_ids)) == 2


def test_the_venue_is_told_which_trade_ids_were_issued() -> None:
    venue = make_node().venue
    for issued in ("SIM-T7", "SIM-T3", "OTHER-T99", "SIM-Tx", "T12"):
        venue.trade_id_issued(issued)
    assert venue._trade_id() == "SIM-T8"
