"""The pure parts of several venues at once: instrument keys per listing, the consolidated book and the routing
plans (best, split, limit guard, funds), each checked against a hand computation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alphintra.engine.book_merge import VenueBook, consolidate
from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.listings import Listings, relabel, split_key
from alphintra.engine.routing import plan_best, plan_split, single_venue_costs

D = Decimal


def book() -> tuple[VenueBook, VenueBook]:
    a = VenueBook("a", "X@a", D("0.001"), [(D(99), D(1))], [(D(100), D("0.3")), (D(101), D(1))])
    b = VenueBook("b", "X@b", D("0.01"), [(D("99.5"), D(1))], [(D("99.5"), D("0.5")), (D(100), D(1))])
    return a, b


def test_a_symbol_listed_once_keeps_its_key_and_one_listed_twice_is_qualified() -> None:
    listings = Listings.build({"a": ["BTC/USDT", "ETH/USDT"], "b": ["BTC/USDT"], "sim": ["GOOG"]})
    assert listings.venues_of("BTC/USDT") == {"a": "BTC/USDT@a", "b": "BTC/USDT@b"}
    assert listings.venues_of("ETH/USDT") == {"a": "ETH/USDT"}  # old journals of it replay unchanged
    assert listings.native("BTC/USDT@b") == ("BTC/USDT", "b") and split_key("BTC/USDT@b") == ("BTC/USDT", "b")
    assert listings.resolve("BTC/USDT", "b") == "BTC/USDT@b" and listings.resolve("ETH/USDT") == "ETH/USDT"
    assert listings.keys_on("a") == {"BTC/USDT": "BTC/USDT@a", "ETH/USDT": "ETH/USDT"}
    with pytest.raises(ValidationError, match=r"listed on several venues \(a, b\).*--venue"):
        listings.resolve("BTC/USDT")
    with pytest.raises(ValidationError, match="does not list BTC/USDT"):
        listings.resolve("BTC/USDT", "sim")
    with pytest.raises(ValidationError, match="trades on venue 'a'"):
        listings.resolve("BTC/USDT@a", "b")
    inst = relabel(Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001"), "BTC/USDT@a")
    assert (inst.symbol, inst.base, inst.quote) == ("BTC/USDT@a", "BTC", "USDT")


def test_the_consolidated_book_sorts_by_the_price_after_each_venues_taker_fee() -> None:
    merged = consolidate("X", book())
    # b's 99.5 ask costs 100.495 all-in: worse than a's 100 (100.1); a's 101 (101.101) is worse than b's 100 (101)
    assert [(lvl.venue, lvl.price, lvl.all_in) for lvl in merged.asks] == [
        ("a", D(100), D("100.100")),
        ("b", D("99.5"), D("100.495")),
        ("b", D(100), D("101.00")),
        ("a", D(101), D("101.101")),
    ]
    assert [(lvl.venue, lvl.all_in) for lvl in merged.bids] == [("a", D("98.901")), ("b", D("98.505"))]
    assert merged.mid == D("99.5")  # best raw bid 99.5 (b), best raw ask 99.5 (b)
    assert merged.to_dict(1)["asks"] == [
        {"venue": "a", "key": "X@a", "price": "100", "quantity": "0.3", "all_in": "100.1"}
    ]


def test_best_and_split_plans_cost_what_the_hand_computation_says() -> None:
    merged = consolidate("X", book())
    rich = {"a": D(1000), "b": D(1000)}
    # one unit: a alone 0.3 x 100.1 + 0.7 x 101.101 = 100.8007; b alone 0.5 x 100.495 + 0.5 x 101 = 100.7475
    assert single_venue_costs(merged, True, D(1)) == {"a": D("100.8007"), "b": D("100.7475")}
    best = plan_best(merged, True, D(1), rich)
    assert [(leg.venue, leg.quantity, leg.limit) for leg in best.legs] == [("b", D(1), D(100))]
    # split: 0.3 a @ 100, 0.5 b @ 99.5, 0.2 b @ 100 -> 30.03 + 50.2475 + 20.2 = 100.4775 < 100.7475
    split = plan_split(merged, True, D(1), rich)
    assert [(leg.venue, leg.quantity, leg.limit) for leg in split.legs] == [
        ("a", D("0.3"), D(100)),
        ("b", D("0.7"), D(100)),
    ]
    assert split.cost == D("100.4775") < best.cost
    # the limit guard: nothing above 99.9 -> only b's 99.5 level, the rest unfilled
    guarded = plan_split(merged, True, D(1), rich, limit=D("99.9"))
    assert [(leg.venue, leg.quantity) for leg in guarded.legs] == [("b", D("0.5"))] and guarded.unfilled == D("0.5")


def test_funds_bound_each_venue() -> None:
    merged = consolidate("X", book())
    # a can pay 20.02 = 0.2 x 100.1: the split takes 0.2 there (lots of 0.1) and the rest on b
    split = plan_split(merged, True, D(1), {"a": D("20.02"), "b": D(1000)}, lots={"a": D("0.1"), "b": D("0.1")})
    assert [(leg.venue, leg.quantity) for leg in split.legs] == [("a", D("0.2")), ("b", D("0.8"))]
    # best of 0.3: a costs 30.03, b 30.1485; a account holding 30 cannot pay, so b, though dearer
    assert [leg.venue for leg in plan_best(merged, True, D("0.3"), {"a": D(1000), "b": D(1000)}).legs] == ["a"]
    assert [leg.venue for leg in plan_best(merged, True, D("0.3"), {"a": D(30), "b": D(1000)}).legs] == ["b"]
    assert plan_best(merged, True, D(5), {"a": D(10**6), "b": D(10**6)}).legs == ()  # no venue deep enough
    # a sell is bounded by the base held: a holds 0.4, b nothing
    sell = plan_split(merged, False, D(1), {"a": D("0.4"), "b": D(0)})
    assert [(leg.venue, leg.quantity) for leg in sell.legs] == [("a", D("0.4"))] and sell.unfilled == D("0.6")
