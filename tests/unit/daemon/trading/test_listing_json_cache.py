"""Order listings join cached JSON of unchanged orders (listing.OrderJsonCache): the bytes are exactly what
encoding every view gives, an order that changed is shown as it is now, and the cache stays bounded."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from sim_node_kit import minute_bar, small_node

from alphintra.daemon.protocol import json_bytes
from alphintra.daemon.trading.listing import CHUNK_BYTES, OrderFilter, OrderJsonCache, array_chunks, pick_orders
from alphintra.daemon.trading.views import order_view
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.engine.core.orders import Order
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.simulated import SimulatedVenue

D = Decimal


def _limit(node: TradingNode, price: str) -> Order:
    return node.submit(OrderRequest("GOOG", OrderSide.BUY, D(5), OrderType.LIMIT, price=D(price)))


def _page(node: TradingNode, cache: OrderJsonCache) -> bytes:
    picks, _ = pick_orders(node, OrderFilter(), 100, None)
    return b"".join(array_chunks(cache.items(picks, node)))


def _expected(node: TradingNode) -> bytes:
    return json_bytes([order_view(o, node) for o in reversed(node.orders.values())])


def test_a_page_is_byte_for_byte_the_encoded_views_and_unchanged_orders_come_from_the_cache() -> None:
    node = small_node()
    resting = [_limit(node, p) for p in ("90", "91", "92")]
    filled = node.submit(OrderRequest("GOOG", OrderSide.BUY, D(1), OrderType.MARKET))
    node.process_bar(minute_bar(2, "100"))
    assert filled.status is OrderStatus.FILLED and all(o.status is OrderStatus.ACCEPTED for o in resting)
    cache = OrderJsonCache()
    first = _page(node, cache)
    assert first == _expected(node)
    assert [o["id"] for o in json.loads(first)] == [filled.id, *(o.id for o in reversed(resting))]
    assert len(cache) == 4
    assert _page(node, cache) == first and len(cache) == 4  # nothing changed: nothing built again


def test_an_order_that_changed_since_the_last_listing_is_shown_as_it_is_now() -> None:
    node = small_node()
    order = _limit(node, "95")
    cache = OrderJsonCache()
    before = json.loads(_page(node, cache))
    assert before[0]["status"] == "ACCEPTED" and before[0]["filled_quantity"] == "0"
    node.process_bar(minute_bar(2, "94"))  # the market trades through the limit: it fills
    assert order.status is OrderStatus.FILLED
    after = _page(node, cache)
    assert after == _expected(node)
    now = json.loads(after)[0]
    assert (now["status"], now["filled_quantity"], now["average_price"]) == ("FILLED", "5", "94")
    node.cancel(_limit(node, "90").id)
    assert _page(node, cache) == _expected(node)
    assert json.loads(_page(node, cache))[0]["status"] == "CANCELED"


def test_the_cache_is_bounded_and_a_listing_bigger_than_it_is_still_whole() -> None:
    node = small_node()
    for price in ("80", "81", "82", "83", "84"):
        _limit(node, price)
    cache = OrderJsonCache(limit=2)
    assert _page(node, cache) == _expected(node)
    assert len(cache) <= 2
    assert _page(node, cache) == _expected(node)


@given(
    st.lists(
        st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30), max_size=4),
        max_size=60,
    )
)
@settings(max_examples=200, deadline=None)
def test_the_pieces_of_a_listing_join_to_the_json_array_of_its_items(values: list[dict[str, object]]) -> None:
    items = [json_bytes(v) for v in values]
    pieces = array_chunks(items, size=64)
    assert b"".join(pieces) == json_bytes(values)
    assert json.loads(b"".join(pieces)) == values
    assert all(pieces)


def test_a_big_page_leaves_in_pieces_of_about_the_chunk_size() -> None:
    items = [json_bytes({"id": f"SIM-{i:08d}", "note": "x" * 500}) for i in range(2_000)]
    pieces = array_chunks(items)
    assert b"".join(pieces) == json_bytes([json.loads(i) for i in items])
    assert len(pieces) > 10 and max(map(len, pieces)) <= CHUNK_BYTES + 600


def test_an_order_whose_venue_changed_is_shown_on_its_new_venue() -> None:
    node = small_node()
    _limit(node, "95")
    cache = OrderJsonCache()
    assert json.loads(_page(node, cache))[0]["venue"] == node.venue.name
    old = node.venue
    node.bind_venue(SimulatedVenue(old.instruments, old.model, name="elsewhere", now=node.clock.now_ns))
    assert json.loads(_page(node, cache))[0]["venue"] == "elsewhere"
    assert _page(node, cache) == _expected(node)
