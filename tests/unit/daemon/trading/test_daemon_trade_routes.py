"""/api/v1/trades (newest first, filtered, limited), its summary and one trade by id; /api/v1/orders' open-only
listing. They answer from the engine's memory on its thread, building views only for what they return."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from tests.waiting import wait_for


def test_trades_newest_first_filtered_limited_and_summed(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")
    engine.tick("BTC/USD", "60000")
    placed = [
        engine.order(symbol="ETH/USD", side="BUY", quantity="1"),
        engine.order(symbol="BTC/USD", side="BUY", quantity="0.1"),
        engine.order(symbol="ETH/USD", side="SELL", quantity="0.4"),
        engine.order(symbol="ETH/USD", side="BUY", quantity="0.2"),
    ]
    assert [o["status"] for o in placed] == ["FILLED"] * 4

    trades = c.get("/api/v1/trades").json()
    # Newest first; an order may fill in several trades (the paper venue's book has depth at each level).
    assert list(dict.fromkeys(t["order_id"] for t in trades)) == [o["id"] for o in reversed(placed)]
    assert sum(Decimal(t["quantity"]) for t in trades if t["order_id"] == placed[1]["id"]) == Decimal("0.1")
    eth = c.get("/api/v1/trades", params={"symbol": "ETH/USD", "limit": 2}).json()
    assert [t["order_id"] for t in eth] == [placed[3]["id"], placed[2]["id"]]
    one = c.get("/api/v1/trades", params={"order_id": placed[1]["id"]}).json()
    assert one == [t for t in trades if t["order_id"] == placed[1]["id"]]
    assert {(t["symbol"], t["side"]) for t in one} == {("BTC/USD", "BUY")}
    assert c.get("/api/v1/trades", params={"symbol": "ETH/USD", "order_id": placed[1]["id"]}).json() == []

    assert c.get(f"/api/v1/trades/{trades[-1]['id']}").json() == trades[-1]
    missing = c.get("/api/v1/trades/no-such-trade")
    assert missing.status_code == 404 and "no-such-trade" in missing.json()["detail"]

    summary = c.get("/api/v1/trades/summary").json()
    notional = sum(Decimal(t["quantity"]) * Decimal(t["price"]) for t in trades)
    fees = sum(Decimal(t["fee"]) for t in trades)
    assert (summary["count"], Decimal(summary["notional"]["USD"]), Decimal(summary["fees"]["USD"])) == (
        len(trades),
        notional,
        fees,
    )
    assert (list(summary["notional"]), list(summary["fees"])) == (["USD"], ["USD"])  # both books quote USD
    assert "volume" not in summary  # 0.1 BTC and 1.6 ETH do not add up to anything
    by_eth = summary["by_symbol"]["ETH/USD"]
    eth_trades = [t for t in trades if t["symbol"] == "ETH/USD"]
    assert (by_eth["currency"], Decimal(by_eth["volume"])) == ("USD", Decimal("1.6"))
    assert Decimal(by_eth["fees"]["USD"]) == sum(Decimal(t["fee"]) for t in eth_trades)
    assert (by_eth["count"], Decimal(by_eth["buy_volume"]), Decimal(by_eth["sell_volume"])) == (
        len(eth_trades),
        Decimal("1.2"),
        Decimal("0.4"),
    )
    only_btc = c.get("/api/v1/trades/summary", params={"symbol": "BTC/USD"}).json()
    assert (only_btc["count"], list(only_btc["by_symbol"])) == (len(one), ["BTC/USD"])


def test_open_orders_listing_shows_only_working_orders(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")
    resting = [
        engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", type="LIMIT", price=p)
        for p in ("2000", "2100", "2200")
    ]
    engine.order(symbol="ETH/USD", side="BUY", quantity="0.1")  # fills at once
    assert c.delete(f"/api/v1/orders/{resting[1]['id']}").status_code == 200

    working = c.get("/api/v1/orders", params={"open": True}).json()
    assert [o["id"] for o in working] == [resting[2]["id"], resting[0]["id"]]
    assert [o["id"] for o in c.get("/api/v1/orders", params={"open": True, "limit": 1}).json()] == [resting[2]["id"]]
    assert [o["id"] for o in c.get("/api/v1/orders", params={"status": "ACCEPTED"}).json()] == [
        resting[2]["id"],
        resting[0]["id"],
    ]
    assert len(c.get("/api/v1/orders").json()) == 4
    assert c.get("/api/v1/orders", params={"status": "CANCELED"}).json()[0]["id"] == resting[1]["id"]
    assert c.get("/api/v1/risk/metrics").json()["open_orders"] == 2


def test_order_latency_is_observed_for_each_acknowledged_order(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")

    def observed() -> float:
        text = c.get("/metrics").text
        count = [line for line in text.splitlines() if line.startswith("alphintra_order_latency_seconds_count")]
        return float(count[0].split()[-1])

    assert observed() == 0.0
    engine.order(symbol="ETH/USD", side="BUY", quantity="0.1")
    assert observed() == 1.0
    batch = c.post(
        "/api/v1/orders/batch",
        json={
            "orders": [
                {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.1", "type": "LIMIT", "price": "2000"},
                {"symbol": "NOPE/USD", "side": "BUY", "quantity": "0.1"},
            ]
        },
    )
    assert [item["error"] is None for item in batch.json()["results"]] == [True, False]
    assert observed() == 2.0  # the refused order was never acknowledged
    with c.websocket_connect("/api/v1/orders/entry") as ws:
        ws.send_json({"ref": 1, "order": {"symbol": "ETH/USD", "side": "SELL", "quantity": "0.1"}})
        assert ws.receive_json()["order"]["status"] == "FILLED"
    assert observed() == 3.0
    assert (engine.gauge("alphintra_order_latency_seconds_sum") or 0.0) > 0.0


def test_a_stop_the_market_already_reached_is_refused_unless_allow_immediate(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")
    stop = {"symbol": "ETH/USD", "side": "SELL", "quantity": "0.1", "type": "STOP", "stop_price": "3010"}
    refused = c.post("/api/v1/orders", json=stop)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["error"], body["reason"], body["field"]) == ("order_rejected", "STOP_WOULD_TRIGGER", "stop_price")
    assert c.get("/api/v1/orders").json() == []
    trailing = {**stop, "type": "TRAILING_STOP", "trailing_offset": "20", "trailing_offset_type": "PRICE"}
    assert c.post("/api/v1/orders", json=trailing).json()["reason"] == "STOP_WOULD_TRIGGER"
    engine.order(symbol="ETH/USD", side="BUY", quantity="0.1")  # something to sell
    engine.tick("ETH/USD", "3000")
    sent = engine.order(**stop, allow_immediate=True)  # type: ignore[arg-type]
    assert sent["status"] == "ACCEPTED"
    engine.tick("ETH/USD", "2999")
    assert c.get(f"/api/v1/orders/{sent['id']}").json()["status"] == "FILLED"


def test_totals_count_every_fill_after_orders_leave_the_engines_memory(
    isolated_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    monkeypatch.setenv("ALPHINTRA_ENGINE__ORDER_RETENTION", "2")
    reset_settings_cache()
    engine = Engine()
    try:
        c = engine.client
        engine.tick("ETH/USD", "3000")
        trades: list[dict[str, Any]] = []
        for i in range(8):  # flat at the end: four buys, four sells of the same size
            order = engine.order(symbol="ETH/USD", side="BUY" if i % 2 == 0 else "SELL", quantity="0.3")
            assert order["status"] == "FILLED"
            trades += c.get("/api/v1/trades", params={"order_id": order["id"]}).json()
        # Retention runs after a durable batch, at most once a second: reads are batches too.
        wait_for(lambda: len(c.get("/api/v1/trades").json()) < len(trades), "finished orders to leave memory")

        summary = c.get("/api/v1/trades/summary").json()
        fees = sum(Decimal(t["fee"]) for t in trades)
        bought = sum(Decimal(t["quantity"]) * Decimal(t["price"]) for t in trades if t["side"] == "BUY")
        sold = sum(Decimal(t["quantity"]) * Decimal(t["price"]) for t in trades if t["side"] == "SELL")
        assert summary["count"] == len(trades) >= 8
        assert Decimal(summary["fees"]["USD"]) == fees > 0
        assert Decimal(summary["notional"]["USD"]) == bought + sold
        eth = summary["by_symbol"]["ETH/USD"]
        assert (Decimal(eth["buy_volume"]), Decimal(eth["sell_volume"])) == (Decimal("1.2"), Decimal("1.2"))

        perf = c.get("/api/v1/portfolio/performance").json()
        assert (perf["trades"], Decimal(perf["fees"]["USD"])) == (len(trades), fees)
        # Flat again: the session's PnL is what the sells brought in less what the buys and the fees cost.
        assert Decimal(perf["pnl"]) == sold - bought - fees
    finally:
        engine.close()
