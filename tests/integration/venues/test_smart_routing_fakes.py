"""Smart order routing against two fake exchanges (real processes, the real ccxt client) listing the same symbol.

Venue ``a`` charges a 10 bps taker fee, ``b`` 20 bps; each book is crafted through the fake's admin endpoint:

    a asks: 0.3 @ 30000, 0.5 @ 30010, 5 @ 30100       (all-in: 30030, 30040.01, 30130.1)
    b asks: 0.4 @ 29995, 0.5 @ 30020, 5 @ 30200       (all-in: 30054.99, 30080.04, 30260.4)

Buying 1 BTC by hand (the fake charges a buy's fee in BTC, valued here at its fill's price):

* on ``a`` alone: 0.3 x 30000 + 0.5 x 30010 + 0.2 x 30100 = 30025, fees 30.025 -> 30055.025 (the best single venue)
* on ``b`` alone: 0.4 x 29995 + 0.5 x 30020 + 0.1 x 30200 = 30028, fees 60.056 -> 30088.056
* split: a 0.3 x 30000 + 0.5 x 30010 = 24005 (fees 24.005), b 0.2 x 29995 = 5999 (fees 11.998) -> 30040.003
"""

from __future__ import annotations

import queue
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from alphintra.engine.book_merge import Depth
from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.listings import Listings
from alphintra.engine.node import TradingNode
from alphintra.engine.routing import Router, RouteRequest
from alphintra.engine.venue.listed import ListedVenue
from alphintra.venues.ccxt_venue import CcxtVenue
from alphintra.venues.fake.testing import FakeHandle, running_fake

D = Decimal
BTC = "BTC/USDT"
ASKS = {
    "a": [["30000", "0.3"], ["30010", "0.5"], ["30100", "5"]],
    "b": [["29995", "0.4"], ["30020", "0.5"], ["30200", "5"]],
}
BIDS = {"a": [["29990", "1"]], "b": [["29980", "1"]]}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeHandle]]:
    with running_fake(walk_ms=0) as a, running_fake("--taker-fee", "0.002", walk_ms=0, seed=2) as b:
        yield {"a": a, "b": b}


@dataclass
class TwoVenues:
    node: TradingNode
    router: Router
    fakes: dict[str, FakeHandle]
    keys: dict[str, str]  # venue -> api key of its account
    inbox: queue.Queue[Callable[[], None]]

    def pump(self, done: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            try:
                self.inbox.get(timeout=0.05)()
            except queue.Empty:
                continue

    def done(self, route_id: str) -> dict[str, Any]:
        report: dict[str, Any] = {}

        def finished() -> bool:
            report.update(self.router.report(route_id))
            return report["status"] != "WORKING"

        self.pump(finished, f"route {route_id} to finish")
        return report

    def venue_btc(self, venue: str) -> Decimal:
        raw = self.fakes[venue].admin("GET", f"balances?api_key={self.keys[venue]}")
        return D(raw["BTC"]["free"]) + D(raw["BTC"]["locked"])


@contextmanager
def two_venues(fakes: dict[str, FakeHandle], funds: dict[str, dict[str, str]] | None = None) -> Iterator[TwoVenues]:
    funds = funds or {"a": {"USDT": "100000"}, "b": {"USDT": "100000"}}
    inbox: queue.Queue[Callable[[], None]] = queue.Queue()
    keys: dict[str, str] = {}
    with ExitStack() as stack:
        venues: dict[str, CcxtVenue] = {}
        for name, fake in fakes.items():
            fake.admin("POST", "book", {"symbol": BTC, "bids": BIDS[name], "asks": ASKS[name]})
            acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": funds[name]})
            keys[name] = acct["api_key"]
            config = fake.ccxt_config(timeout=3000, rateLimit=10, apiKey=acct["api_key"], secret=acct["api_secret"])
            venue = CcxtVenue(name, config, post=inbox.put, symbols=[BTC], account=f"acct_{name}")
            venue.start()
            stack.callback(venue.close)
            venues[name] = venue
        listings = Listings.build({name: [BTC] for name in venues})
        wrapped = {name: ListedVenue(v, listings.keys_on(name)) for name, v in venues.items()}
        instruments = InstrumentRegistry([i for v in wrapped.values() for i in v.instruments()])
        node = TradingNode(
            instruments=instruments,
            venue=wrapped["a"],  # type: ignore[arg-type]
            venues=[wrapped["b"]],  # type: ignore[list-item]
            routes={key: venue for key, (_, venue) in listings.by_key.items()},
            clock=TestClock(time.time_ns()),
        )
        node.listings = listings
        for name in venues:
            node.open_account(f"acct_{name}", cash={a: D(v) for a, v in funds[name].items()}, currency="USDT")
            node.account_venues[f"acct_{name}"] = name
        clients = {name: ccxt.binance(fake.ccxt_config()) for name, fake in fakes.items()}

        def depth(key: str) -> Depth:
            symbol, venue = listings.native(key)
            book = clients[str(venue)].fetch_order_book(symbol)
            return {side: [(D(str(p)), D(str(q)), 1) for p, q, *_ in book[side]] for side in ("bids", "asks")}

        yield TwoVenues(node, Router(node, depth), fakes, keys, inbox)


def test_the_same_symbol_on_two_venues_has_one_key_per_venue_and_a_fee_adjusted_consolidated_book(
    fakes: dict[str, FakeHandle],
) -> None:
    with two_venues(fakes) as tv:
        assert tv.node.listings.venues_of(BTC) == {"a": "BTC/USDT@a", "b": "BTC/USDT@b"}
        assert tv.node.resolve_symbol(BTC, account="acct_b") == "BTC/USDT@b"
        book = tv.router.book(BTC)
        assert [(lvl.venue, lvl.price, lvl.all_in) for lvl in book.asks[:4]] == [
            ("a", D("30000"), D("30030.000")),
            ("a", D("30010"), D("30040.010")),
            ("b", D("29995"), D("30054.990")),
            ("b", D("30020"), D("30080.040")),
        ]
        assert book.mid == D("29992.5")  # best raw bid 29990 (a), best raw ask 29995 (b)


def test_best_sends_everything_to_the_venue_with_the_best_all_in_cost(fakes: dict[str, FakeHandle]) -> None:
    with two_venues(fakes) as tv:
        routed = tv.router.submit(RouteRequest(BTC, OrderSide.BUY, D(1), "best"))
        report = tv.done(routed.id)
        assert report["status"] == "FILLED"
        assert [(c["venue"], c["filled"], c["limit_price"]) for c in report["children"]] == [("a", "1", "30100")]
        assert D(report["notional"]) == D("30025") and D(report["fees"]) == D("30.025")
        assert D(report["all_in"]) == D("30055.025") == D(report["best_single_venue"]["all_in"])
        assert D(report["single_venue"]["b"]) == D("30088.056")
        # the node's account on a holds what the exchange holds: 1 BTC less the 0.001 fee
        assert tv.node.ledger.balance("acct_a", "BTC").total == D("0.999") == tv.venue_btc("a")


def test_best_skips_a_venue_whose_account_cannot_pay(fakes: dict[str, FakeHandle]) -> None:
    with two_venues(fakes, {"a": {"USDT": "30000"}, "b": {"USDT": "100000"}}) as tv:
        report = tv.done(tv.router.submit(RouteRequest(BTC, OrderSide.BUY, D(1), "best")).id)
        assert [c["venue"] for c in report["children"]] == ["b"]
        assert D(report["all_in"]) == D("30088.056")


def test_split_walks_the_consolidated_book_and_costs_less_than_the_best_single_venue(
    fakes: dict[str, FakeHandle],
) -> None:
    with two_venues(fakes) as tv:
        report = tv.done(tv.router.submit(RouteRequest(BTC, OrderSide.BUY, D(1), "split")).id)
        assert report["status"] == "FILLED"
        children = {c["venue"]: c for c in report["children"]}
        assert (children["a"]["filled"], children["a"]["limit_price"]) == ("0.8", "30010")
        assert (children["b"]["filled"], children["b"]["limit_price"]) == ("0.2", "29995")
        assert D(report["notional"]) == D("30004") and D(report["fees"]) == D("36.003")
        assert D(report["all_in"]) == D("30040.003")
        assert D(report["saved_vs_best_single"]) == D("15.022")  # 30055.025 - 30040.003
        assert D(report["avg_price"]) == D("30004")
        assert D(report["slippage"]) == D("11.5")  # (30004 - 29992.5) x 1
        assert tv.venue_btc("a") == D("0.7992") and tv.venue_btc("b") == D("0.1996")
        assert tv.node.ledger.balance("acct_b", "BTC").total == D("0.1996")


def test_a_rejected_child_is_rerouted_to_the_other_venue(fakes: dict[str, FakeHandle]) -> None:
    with two_venues(fakes) as tv:
        fakes["a"].admin("POST", "faults", {"spec": "reject=1"})
        try:
            report = tv.done(tv.router.submit(RouteRequest(BTC, OrderSide.BUY, D(1), "split")).id)
        finally:
            fakes["a"].admin("DELETE", "faults")
        first = report["children"][0]
        assert (first["venue"], first["status"], first["filled"]) == ("a", "REJECTED", "0")
        assert report["failed_venues"].keys() == {"a"}
        assert report["status"] == "FILLED" and report["unrouted"] == "0"
        # everything ended on b: 0.4 x 29995 + 0.5 x 30020 + 0.1 x 30200, fees 20 bps in BTC
        assert [c["venue"] for c in report["children"][1:]] == ["b", "b"]
        assert D(report["all_in"]) == D("30088.056")
        assert tv.venue_btc("b") == D("0.998") == tv.node.ledger.balance("acct_b", "BTC").total
        assert any("re-routed from a to b" in note for note in report["notes"])


def test_what_no_venue_can_take_is_reported_unrouted(fakes: dict[str, FakeHandle]) -> None:
    with two_venues(fakes) as tv:
        report = tv.done(tv.router.submit(RouteRequest(BTC, OrderSide.BUY, D(1), "split", limit=D("30000"))).id)
        assert report["status"] == "PARTIALLY_FILLED", report
        assert (report["filled"], report["unrouted"]) == ("0.7", "0.3"), report  # 0.3 @ 30000 on a, 0.4 @ 29995 on b
        assert any("could not be routed" in note for note in report["notes"])
