"""The daemon's SQL projection: what the engine did reaches the state store (orders, trades, positions,
balances), an order's trades never arrive before its row, and one refused row does not cost the others."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from alphintra.daemon.trading.projector import Projector, coalesce
from alphintra.storage.state import StateStore


def test_orders_filled_at_once_reach_the_store_with_their_trades(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.tick("ETH/USD", "3000")
    bought = engine.order(symbol="ETH/USD", side="BUY", quantity="1.5")  # placed and filled in one batch
    sold = engine.order(symbol="ETH/USD", side="SELL", quantity="0.5")
    resting = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", type="LIMIT", price="2000")
    canceled = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", type="LIMIT", price="2100")
    assert engine.client.delete(f"/api/v1/orders/{canceled['id']}").status_code == 200
    node = engine.host.node
    assert node is not None
    fills = [(f.order_id, f.last_qty, f.last_px, f.fee) for f in node.fills]
    position = node.ledger.position(engine.host.account, "ETH/USD")
    assert position is not None
    cash = node.ledger.balance(engine.host.account, "USD")
    with caplog.at_level(logging.ERROR, logger="alphintra.daemon.projector"):
        engine.close()  # the projector writes what it still holds, then stops
    assert not caplog.records, [r.getMessage() for r in caplog.records]

    store = StateStore(engine.settings.effective_database_url)
    try:
        orders = {o.id: o.status for o in store.list_orders()}
        assert orders == {
            bought["id"]: "FILLED",
            sold["id"]: "FILLED",
            resting["id"]: "ACCEPTED",
            canceled["id"]: "CANCELED",
        }
        trades = sorted((t.order_id, t.quantity, t.price, t.fee) for t in store.list_trades())
        assert trades == sorted(fills) and {t[0] for t in trades} == {bought["id"], sold["id"]}
        (pos,) = store.list_positions()
        assert (pos.symbol, pos.quantity) == ("ETH/USD", position.quantity) and pos.quantity == Decimal("1")
        usd = {b.asset: b for b in store.list_balances()}["USD"]
        assert (usd.total_balance, usd.locked_balance) == (cash.total, cash.locked)
        assert usd.locked_balance == Decimal("200.2")  # the resting 0.1 at 2,000 and its 0.1 % fee
    finally:
        store.close()


def test_coalesce_keeps_the_newest_row_per_key_where_the_key_first_came() -> None:
    batch: list[tuple[str, dict[str, Any]]] = [
        ("order", {"id": "O-1", "status": "NEW"}),
        ("trade", {"id": "T-1", "order_id": "O-1"}),
        ("order", {"id": "O-1", "status": "FILLED"}),
        ("balance", {"account_id": "a", "asset": "USD", "total_balance": 1}),
        ("trade", {"id": "T-2", "order_id": "O-1"}),
        ("balance", {"account_id": "a", "asset": "USD", "total_balance": 2}),
    ]
    assert coalesce(batch) == [
        ("order", {"id": "O-1", "status": "FILLED"}),
        ("trade", {"id": "T-1", "order_id": "O-1"}),
        ("balance", {"account_id": "a", "asset": "USD", "total_balance": 2}),
        ("trade", {"id": "T-2", "order_id": "O-1"}),
    ]


def test_a_refused_row_is_logged_and_the_rest_of_its_batch_is_written(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    projector = Projector(url, "main", linger=0)
    projector.account("main", "USD", "cash")
    balance = {"account_id": "main", "asset": "USD", "total_balance": Decimal(5), "locked_balance": Decimal(0)}
    orphan = {
        "id": "T-9",
        "order_id": "O-missing",
        "account_id": "main",
        "symbol": "ETH/USD",
        "side": "BUY",
        "quantity": Decimal(1),
        "price": Decimal(3000),
        "timestamp": 1_700_000_000_000_000_000,
    }
    with caplog.at_level(logging.ERROR, logger="alphintra.daemon.projector"):
        projector._write([("trade", orphan), ("balance", balance | {"available_balance": Decimal(5)})])
        projector.close()
    assert [r.getMessage() for r in caplog.records] == [
        "state projection refused a trade row (T-9): order 'O-missing' of trade 'T-9' does not exist"
    ]
    store = StateStore(url)
    try:
        assert [(b.asset, b.total_balance) for b in store.list_balances()] == [("USD", Decimal(5))]
        assert store.list_trades() == []
    finally:
        store.close()
