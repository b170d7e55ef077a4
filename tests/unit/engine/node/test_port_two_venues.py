"""One node, two venues: each instrument belongs to one, orders route by it, accounts and halts stay apart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from node_kit import ListJournal
from port_kit import GOOG, SEC, restart
from port_venue import PortVenue

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, RejectReason
from alphintra.engine.core.errors import OrderRejectedError, ValidationError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.sim_driver import simulated_node

D = Decimal
BTC = Instrument.create("BTC/USD", tick_size="0.01", lot_size="0.001", min_notional="10")


def two_venues() -> tuple[TradingNode, PortVenue, PortVenue]:
    clock = TestClock(0)
    stocks = PortVenue({"GOOG": ("GOOG", "USD")}, clock.now_ns, name="STOCKS")
    crypto = PortVenue({"BTC/USD": ("BTC", "USD")}, clock.now_ns, name="CRYPTO")
    node = TradingNode(
        instruments=InstrumentRegistry([GOOG, BTC]),
        venue=stocks,
        venues=[crypto],
        routes={"BTC/USD": "CRYPTO"},
        clock=clock,
        journal=ListJournal(),
    )
    for account, venue in (("broker", stocks), ("exchange", crypto)):
        node.open_account(account, cash={"USD": "50000"})
        venue.fund(account, "USD", "50000")
    return node, stocks, crypto


def trade(node: TradingNode, venue: PortVenue, symbol: str, price: str, at_s: int) -> None:
    venue.trade(symbol, price)
    node.process_trade(TradeTick(symbol, at_s * SEC, D(price), D(1)))


def held(node: TradingNode, account: str) -> dict[str, Decimal]:
    return {a: b.total for a, b in node.ledger.balances(account).items() if b.total != 0}


def test_orders_route_by_their_instruments_venue_and_balances_stay_apart() -> None:
    node, stocks, crypto = two_venues()
    trade(node, stocks, "GOOG", "100", 1)
    trade(node, crypto, "BTC/USD", "20000", 1)
    goog = node.submit(OrderRequest("GOOG", OrderSide.BUY, D(10), account="broker"))
    btc = node.submit(OrderRequest("BTC/USD", OrderSide.BUY, D("0.5"), OrderType.LIMIT, D(19000), account="exchange"))
    assert stocks.sent == [goog.id] and crypto.sent == [btc.id]
    trade(node, crypto, "BTC/USD", "18900", 2)
    assert btc.status is OrderStatus.FILLED and node.fills[-1].fee_asset == "USD"
    assert held(node, "broker") == stocks.held["broker"] == {"USD": D("48999.000"), "GOOG": D(10)}
    assert held(node, "exchange") == crypto.held["exchange"] == {"USD": D("40490.500"), "BTC": D("0.5")}
    node = restart(node, stocks)  # both venues are asked; nothing is booked or sent again
    assert node.orders[btc.id].status is OrderStatus.FILLED and len(node.fills) == 2
    assert (stocks.sent, crypto.sent) == ([goog.id], [btc.id])
    assert held(node, "exchange") == crypto.held["exchange"] and not node.venue_halts


def test_a_difference_at_one_venue_halts_only_that_venue() -> None:
    node, stocks, crypto = two_venues()
    trade(node, crypto, "BTC/USD", "20000", 1)
    trade(node, stocks, "GOOG", "100", 1)
    crypto.fund("exchange", "USD", "1000")
    assert node.reconcile("STOCKS").clean
    report = node.reconcile("CRYPTO")
    assert report.differences == ["exchange USD: venue 51000, node 50000 (difference 1000)"]
    assert list(node.venue_halts) == ["CRYPTO"]
    with pytest.raises(OrderRejectedError) as refused:
        node.submit(OrderRequest("BTC/USD", OrderSide.BUY, D("0.1"), account="exchange"))
    assert refused.value.reason == RejectReason.HALTED.value
    assert node.submit(OrderRequest("GOOG", OrderSide.BUY, D(1), account="broker")).status is OrderStatus.FILLED


def test_a_route_to_a_venue_the_node_does_not_have_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as bad:
        TradingNode(
            instruments=InstrumentRegistry([GOOG]),
            venue=PortVenue({}, lambda: 0),
            routes={"GOOG": "NOWHERE"},
            clock=TestClock(0),
        )
    assert bad.value.field == "routes.GOOG" and "TEST" in bad.value.rule


def test_a_rewind_replaces_the_simulated_venue_and_keeps_the_route_to_the_other() -> None:
    clock = TestClock(0)
    registry = InstrumentRegistry([GOOG, BTC])
    crypto = PortVenue({"BTC/USD": ("BTC", "USD")}, clock.now_ns, name="CRYPTO")
    node = simulated_node(registry, clock, venues=[crypto], routes={"BTC/USD": "CRYPTO"}, journal=ListJournal())
    node.open_account("main", cash={"USD": "50000"})
    old = node.venue
    node.rewind(None, list(node.journal.records))  # type: ignore[union-attr]
    assert node.venue is not old and node.venues == {"SIM": node.venue, "CRYPTO": crypto}
    assert node.venue_for("GOOG") is node.venue and node.venue_for("BTC/USD") is crypto


def test_an_account_trades_only_on_the_venue_it_lives_on() -> None:
    node, _stocks, crypto = two_venues()
    node.account_venues = {"broker": "STOCKS", "exchange": "CRYPTO"}
    trade(node, crypto, "BTC/USD", "20000", 1)
    with pytest.raises(OrderRejectedError) as refused:
        node.submit(OrderRequest("BTC/USD", OrderSide.BUY, D("0.1"), account="broker"))
    assert refused.value.message == (
        "account: lives on venue 'STOCKS', but BTC/USD trades on venue 'CRYPTO' (got 'broker')"
    )
    assert (crypto.sent, node.orders, held(node, "broker")) == ([], {}, {"USD": D(50000)})
    assert node.submit(OrderRequest("BTC/USD", OrderSide.BUY, D("0.1"), account="exchange")).status is (
        OrderStatus.FILLED
    )
