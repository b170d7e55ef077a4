"""The daemon's SQL projection, in process: what the engine did reaches the state store (orders, trades, positions,
balances) with the journal position it stands at."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from trading_support import Engine

from alphintra.storage.state import StateStore


@pytest.mark.parametrize("engine", ["spot"], indirect=True)  # spot buys lock cash; the test counts it
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
        meta = store.projection_meta()
        assert meta is not None and meta.applied_seq == engine.host.journal.last_seq
    finally:
        store.close()
