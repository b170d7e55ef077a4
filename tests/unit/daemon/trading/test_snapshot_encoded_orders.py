"""The daemon's node snapshots reuse the encoded entries of orders unchanged since the last snapshot
(durability.EncodedOrders): the file is byte for byte the plain snapshot's, a changed order is written as it is
now, and a node restored from it equals the node that wrote it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sim_node_kit import minute_bar, small_node

from alphintra.daemon.trading.durability import EncodedOrders
from alphintra.engine._node_snapshot import capture
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.storage.journal import Journal

D = Decimal


def _snapshot_bytes(journal: Journal, state: dict[str, object]) -> bytes:
    return journal.write_snapshot(state).path.read_bytes()


def test_snapshots_with_reused_entries_are_the_plain_snapshots_and_restore_the_same_node(tmp_path: Path) -> None:
    node = small_node()
    resting = node.submit(OrderRequest("GOOG", OrderSide.BUY, D(5), OrderType.LIMIT, price=D("95")))
    node.submit(OrderRequest("GOOG", OrderSide.BUY, D(2), OrderType.MARKET))
    node.process_bar(minute_bar(2, "100"))
    orders = EncodedOrders()
    take = orders.part(lambda: capture(node))
    with Journal(tmp_path / "plain") as plain, Journal(tmp_path / "reused") as reused:
        plain.append({"i": 1})
        reused.append({"i": 1})
        assert _snapshot_bytes(reused, take()()) == _snapshot_bytes(plain, capture(node).to_state())

        node.process_bar(minute_bar(3, "94"))  # the resting limit fills: its entry must be the new one
        assert resting.status is OrderStatus.FILLED
        node.submit(OrderRequest("GOOG", OrderSide.SELL, D(1), OrderType.MARKET))
        plain.append({"i": 2})
        reused.append({"i": 2})
        written = _snapshot_bytes(reused, take()())
        assert written == _snapshot_bytes(plain, capture(node).to_state())

        latest = reused.latest_snapshot()
        assert latest is not None
        again = small_node()
        again.restore_state(latest.state)
        assert {o.id: (o.status, o.filled_quantity) for o in again.orders.values()} == {
            o.id: (o.status, o.filled_quantity) for o in node.orders.values()
        }
        assert again.ledger.balance("main", "USD") == node.ledger.balance("main", "USD")
