"""Margin calls: a margin account below its maintenance margin has its working orders canceled and every
position closed by a reduce-only market order, once, with a MarginCall record in the journal."""

from __future__ import annotations

from node_kit import BUY, SELL, D, ListJournal, bar, make_node

from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderStatus, OrderType


def test_a_short_past_the_maintenance_margin_is_closed_at_the_next_open() -> None:
    journal = ListJournal()
    node = make_node("bar", journal=journal)
    node.open_account("m", cash={"USD": "10000"}, mode="MARGIN", leverage=1)
    node.process_bar(bar(1, "100", "100", "100", "100"))
    short = node.submit(OrderRequest(account="m", symbol="GOOG", side=SELL, quantity=D(90)))
    node.process_bar(bar(2, "100", "100", "100", "100"))  # the short fills at the open: 9,000 short
    assert short.status is OrderStatus.FILLED
    resting = node.submit(
        OrderRequest(account="m", symbol="GOOG", side=BUY, quantity=D(1), order_type=OrderType.LIMIT, price=D(50))
    )
    # Cash 10,000 + 9,000 - fee; equity = cash - 90 p; requirement = 90 p x 0.5: a call once p > ~140.6.
    node.process_bar(bar(3, "120", "130", "120", "130"))
    assert [o for o in node.orders.values() if "margin-call" in o.tags] == []
    node.process_bar(bar(4, "130", "145", "130", "145"))
    called = [o for o in node.orders.values() if "margin-call" in o.tags]
    assert [(o.side, o.quantity, o.order_type, o.reduce_only) for o in called] == [(BUY, D(90), OrderType.MARKET, True)]
    assert resting.status is OrderStatus.CANCELED and resting.status_message == "margin call"
    records = [r for r in journal.records if r["type"] == "MarginCall"]
    assert len(records) == 1 and records[0]["account"] == "m"
    assert D(records[0]["equity"]) < D(records[0]["requirement"])
    node.process_bar(bar(5, "150", "150", "150", "150"))  # still below, but the call's order is working: no second
    assert len([r for r in journal.records if r["type"] == "MarginCall"]) == 1
    assert called[0].status is OrderStatus.FILLED and called[0].average_price == D(150)
    assert node.ledger.quantity("m", "GOOG") == 0
    assert node.ledger.equity("m") > 0


def test_spot_accounts_and_healthy_margin_accounts_are_left_alone() -> None:
    node = make_node("bar")
    node.open_account("s", cash={"USD": "10000"})
    node.open_account("m", cash={"USD": "10000"}, mode="MARGIN", leverage=2)
    node.process_bar(bar(1, "100", "100", "100", "100"))
    node.submit(OrderRequest(account="s", symbol="GOOG", side=BUY, quantity=D(50)))
    node.submit(OrderRequest(account="m", symbol="GOOG", side=BUY, quantity=D(150)))
    node.process_bar(bar(2, "100", "100", "100", "100"))
    node.process_bar(bar(3, "60", "60", "60", "60"))  # spot: -40 % is a loss, not a call
    # Margin long 150 on 10,000 (15,000 exposure, 5,000 borrowed): equity 150 p - 5,000 >= 150 p / 4 while p > 44.4.
    assert [o for o in node.orders.values() if "margin-call" in o.tags] == []
    node.process_bar(bar(4, "44", "44", "44", "44"))
    called = [o for o in node.orders.values() if "margin-call" in o.tags]
    assert [(o.account, o.side, o.quantity) for o in called] == [("m", SELL, D(150))]
