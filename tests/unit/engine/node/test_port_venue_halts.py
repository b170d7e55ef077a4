"""A venue halted by a reconciliation difference stays halted across a restart (journaled VenueHalted, replayed and
kept in snapshots) until an operator clears it; the clearing (VenueResumed) is journaled too, so a restart keeps it
cleared. Reconciling twice books nothing twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from port_kit import port_node, restart, trade

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, RejectReason
from alphintra.engine.core.errors import NotFoundError, OrderRejectedError
from alphintra.engine.node import TradingNode

D = Decimal
WHY = "reconciliation found differences no fill explains: main USD: venue 100500, node 100000 (difference 500)"


def refused(node: TradingNode) -> str:
    with pytest.raises(OrderRejectedError) as err:
        node.submit(OrderRequest("GOOG", OrderSide.BUY, D(1)))
    assert err.value.reason == RejectReason.HALTED.value
    return err.value.message


def test_a_halt_survives_a_restart_and_its_clearing_does_too() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.fund("main", "USD", "500")
    assert node.reconcile().differences == ["main USD: venue 100500, node 100000 (difference 500)"]
    node = restart(node, venue)  # the journal's VenueHalted comes back; the second reconciliation finds nothing new
    assert node.venue_halts == {"TEST": WHY}
    trade(node, venue, "100", 2)
    assert refused(node) == f"venue: {WHY} (got 'TEST')"
    assert node.resume_venue("TEST", "deposit confirmed by the desk") == WHY
    assert node.journal.records[-1] == {  # type: ignore[union-attr]
        "type": "VenueResumed",
        "venue": "TEST",
        "reason": "deposit confirmed by the desk",
    }
    assert node.submit(OrderRequest("GOOG", OrderSide.BUY, D(1))).status is OrderStatus.FILLED
    records = len(node.journal.records)  # type: ignore[union-attr]
    node = restart(node, venue)
    assert node.venue_halts == {}
    assert node.resume_venue("TEST") is None  # not halted: nothing to clear, nothing journaled
    assert len(node.journal.records) == records  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no venue 'nope' in the engine"):
        node.resume_venue("nope")


def test_a_snapshot_keeps_the_halt() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    venue.fund("main", "USD", "500")
    node.reconcile()
    state = node.snapshot_state()
    assert state["venue_halts"] == {"TEST": WHY}
    fresh, _ = port_node()
    fresh.restore_state(state)
    assert fresh.venue_halts == {"TEST": WHY}


def test_reconciling_again_books_nothing_twice() -> None:
    node, venue = port_node()
    trade(node, venue, "100", 1)
    node.submit(OrderRequest("GOOG", OrderSide.BUY, D(3)))
    fills = list(node.fills)
    assert len(fills) == 1
    first, second = node.reconcile(), node.reconcile()
    assert (first.fills_booked, second.fills_booked, node.fills) == ([], [], fills)
