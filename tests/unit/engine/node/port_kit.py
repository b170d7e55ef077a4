"""A node on the port-only test venue (``port_venue``), and the check that both sides agree."""

from __future__ import annotations

from decimal import Decimal

from node_kit import ListJournal
from port_venue import PortVenue

from alphintra.engine.clock import TestClock
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode

D = Decimal
SEC = 1_000_000_000
# One fee rate for maker and taker: the venue charges 10 bps; the node's own schedule is never used.
GOOG = Instrument.create("GOOG", tick_size="0.01", lot_size="1", min_notional="10", maker_fee="0.005")


def port_node(cash: str = "100000", *, journal: ListJournal | None = None) -> tuple[TradingNode, PortVenue]:
    clock = TestClock(0)
    venue = PortVenue({GOOG.symbol: (GOOG.base, GOOG.quote)}, clock.now_ns)
    node = TradingNode(
        instruments=InstrumentRegistry([GOOG]), venue=venue, clock=clock, journal=journal or ListJournal()
    )
    node.open_account("main", cash={"USD": cash})
    venue.fund("main", "USD", cash)
    return node, venue


def restart(node: TradingNode, venue: PortVenue) -> TradingNode:
    """The node's process stops and starts again: a fresh node replays its journal, then resumes on the same venue
    (which, like an exchange, kept its orders, fills and balances meanwhile)."""
    journal = node.journal
    assert isinstance(journal, ListJournal)
    fresh = TradingNode(
        instruments=node.instruments,
        venue=venue,
        venues=[v for v in node.venues.values() if v is not venue],
        routes={symbol: node.venue_for(symbol).name for symbol in node.instruments.symbols()},
        clock=node.clock,
    )
    fresh.replay(list(journal.records))
    fresh.journal = journal
    fresh.resume()
    return fresh


def trade(node: TradingNode, venue: PortVenue, price: str, at_s: int) -> None:
    """The market trades at ``price`` at second ``at_s``: the venue fills what rests, the node's emulator sees it."""
    venue.trade(GOOG.symbol, price)
    node.process_trade(TradeTick(GOOG.symbol, at_s * SEC, D(price), D(1)))


def balances(node: TradingNode) -> dict[str, Decimal]:
    return {a: b.total for a, b in node.ledger.balances("main").items() if b.total != 0}


def assert_agrees(node: TradingNode, venue: PortVenue) -> None:
    """The node holds what the venue holds, nothing is left to reconcile, and no order went out twice."""
    assert balances(node) == {a: v for a, v in venue.held["main"].items() if v != 0}
    report = node.reconcile(dry_run=True)
    assert (report.fills_booked, report.closed, report.adopted, report.differences) == ([], [], [], [])
    assert len(venue.sent) == len(set(venue.sent)), venue.sent
    booked = [f.trade_id for f in node.fills]
    assert sorted(booked) == sorted(f.trade_id for f in venue.trades)
    open_keys = {o.key for o in venue.open_orders()}
    assert open_keys == set(node.at_venue)
