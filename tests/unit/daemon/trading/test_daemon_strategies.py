"""Strategies in the daemon: CRUD over the API, start/stop on the engine thread, signals, errors, restart resume."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from alphintra.storage.journal import read_journal
from alphintra.strategies.base import BarData, Strategy
from alphintra.strategies.registry import register


@register
class Boom(Strategy):
    """Signals on every bar and raises on the second one (the daemon must survive it)."""

    name = "test_boom"

    def on_start(self) -> None:
        self.count = 0

    def on_bar(self, bar: BarData) -> None:
        self.count += 1
        self.signal("seen", bar.close)
        if self.count == 2:
            raise RuntimeError("kaboom")


@register
class OnSchedule(Strategy):
    """Has the scheduled-evaluation hook: buys one lot per evaluation and never looks at bars."""

    name = "test_on_schedule"

    def on_schedule(self) -> None:
        self.signal("scheduled", 1.0)
        self.buy(self.symbols[0], "0.001")

    def on_bar(self, bar: BarData) -> None:
        raise AssertionError("a strategy with on_schedule is not evaluated with a bar")


DCA = {"name": "d1", "strategy": "dca", "symbols": ["BTC/USD"], "params": {"every_bars": 1, "amount": "1000"}}


def test_create_list_get_update_delete(engine: Engine) -> None:
    c = engine.client
    r = c.post("/api/v1/strategies", json=DCA)
    assert r.status_code == 201, r.text
    row = r.json()
    assert (row["name"], row["strategy"], row["symbols"], row["status"], row["running"]) == (
        "d1",
        "dca",
        ["BTC/USD"],
        "INACTIVE",
        False,
    )
    assert row["params"] == {"every_bars": 1, "amount": "1000"}
    assert c.post("/api/v1/strategies", json=DCA).status_code == 409
    assert [s["name"] for s in c.get("/api/v1/strategies").json()] == ["d1"]
    assert c.get(f"/api/v1/strategies/{row['id']}").json()["name"] == "d1"

    r = c.put("/api/v1/strategies/d1", json={"params": {"amount": "250"}, "symbols": ["ETH/USD"]})
    assert r.status_code == 200, r.text
    assert r.json()["params"] == {"every_bars": 1, "amount": "250"}
    assert r.json()["symbols"] == ["ETH/USD"]

    r = c.delete("/api/v1/strategies/d1")
    assert r.json() == {"deleted": "d1", "id": row["id"], "executions": 0}
    assert c.get("/api/v1/strategies/d1").status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"strategy": "no_such"}, 404, None),
        ({"params": {"every_bars": 0}}, 422, "params.every_bars"),
        ({"params": {"nope": 1}}, 422, "params.nope"),
        ({"symbols": ["BTC/USD", "ETH/USD"]}, 422, "symbols"),
        ({"symbols": ["DOGE/USD"]}, 422, "symbols"),
        ({"name": "bad name"}, 422, "name"),
    ],
)
def test_bad_definitions_are_refused_with_the_field(
    engine: Engine, change: dict[str, Any], status: int, field: str | None
) -> None:
    r = engine.client.post("/api/v1/strategies", json={**DCA, **change})
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert engine.client.get("/api/v1/strategies").json() == []


def test_started_strategy_trades_bars_signals_and_stops(engine: Engine) -> None:
    c = engine.client
    sid = c.post("/api/v1/strategies", json=DCA).json()["id"]
    r = c.post("/api/v1/strategies/d1/start")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["running"]) == ("ACTIVE", True)
    assert engine.gauge("alphintra_active_strategies") == 1.0
    assert c.post("/api/v1/strategies/d1/start").status_code == 409

    engine.tick("BTC/USD", "60000")
    orders = engine.orders("d1")
    # 1000 USD less the 0.1 % taker fee at 60,000, in whole 0.0001 lots: 0.0166 BTC.
    assert [(o["side"], o["quantity"], o["status"]) for o in orders] == [("BUY", "0.0166", "FILLED")]
    engine.tick("ETH/USD", "3000")  # not its symbol: no bar for it
    assert len(engine.orders("d1")) == 1

    status = c.get("/api/v1/strategies/d1/status").json()
    assert (status["running"], status["bars"], status["signals"], status["positions"]) == (
        True,
        1,
        1,
        {"BTC/USD": "0.0166"},
    )
    signals = c.get("/api/v1/strategies/d1/signals").json()
    assert [(s["name"], s["value"], s["data"]) for s in signals] == [("dca_buy", 0.0166, {"boosted": False})]
    assert engine.hub.last_seq(f"strategies/{sid}/signals") == 1
    assert engine.hub.last_seq(f"strategies/{sid}/status") == 1

    r = c.post("/api/v1/strategies/d1/stop")
    assert (r.json()["status"], r.json()["running"]) == ("INACTIVE", False)
    assert engine.gauge("alphintra_active_strategies") == 0.0
    engine.tick("BTC/USD", "60010")
    assert len(engine.orders("d1")) == 1  # stopped: no more purchases
    assert c.post("/api/v1/strategies/d1/stop").status_code == 409
    executions = engine.host.strategies.store.list_executions(strategy="d1")
    assert [(e.execution_type, e.status) for e in executions] == [("paper", "COMPLETED")]


def test_a_failing_strategy_stops_alone_and_is_marked_error(engine: Engine) -> None:
    c = engine.client
    c.post("/api/v1/strategies", json={"name": "boom", "strategy": "test_boom", "symbols": ["ETH/USD"]})
    c.post("/api/v1/strategies", json=DCA)
    c.post("/api/v1/strategies/boom/start")
    c.post("/api/v1/strategies/d1/start")
    engine.tick("ETH/USD", "3000")
    engine.tick("ETH/USD", "3001")  # boom raises here
    engine.tick("BTC/USD", "60000")  # the engine and the other strategy carry on

    row = c.get("/api/v1/strategies/boom").json()
    assert row["running"] is False
    assert row["error"] == "strategy boom failed in on_bar: RuntimeError: kaboom"
    engine.host.strategies._writer.submit(lambda: None).result()  # the ERROR mark is written off the engine thread
    assert c.get("/api/v1/strategies/boom").json()["status"] == "ERROR"
    assert [s["value"] for s in c.get("/api/v1/strategies/boom/signals").json()] == [3001.0, 3000.0]
    assert len(engine.orders("d1")) == 1
    assert engine.gauge("alphintra_active_strategies") == 1.0


def test_run_once_evaluates_a_fresh_instance_once(engine: Engine) -> None:
    c = engine.client
    body = {"strategy": "dca", "symbols": ["BTC/USD"], "params": {"amount": "600"}, "name": "once-dca"}
    r = c.post("/api/v1/strategies/run-once", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["ok"], out["fills"], len(out["orders"]), out["error"]) == (True, 1, 1, None)
    order = c.get(f"/api/v1/orders/{out['orders'][0]}").json()
    # 600 / 1.001 / 60000 = 0.00999 -> 0.0099 BTC; the order carries the run's name.
    assert (order["strategy"], order["quantity"], order["status"]) == ("once-dca", "0.0099", "FILLED")

    r = c.post("/api/v1/strategies/run-once", json={**body, "strategy": "test_on_schedule", "params": {}})
    out = r.json()
    assert (out["ok"], out["fills"], [s["name"] for s in out["signals"]]) == (True, 1, ["scheduled"])

    r = c.post("/api/v1/strategies/run-once", json={**body, "params": {"amount": "-1"}})
    assert (r.status_code, r.json()["field"]) == (422, "params.amount")


def test_active_strategies_resume_after_a_restart(engine: Engine) -> None:
    c = engine.client
    c.post("/api/v1/strategies", json=DCA)
    c.post("/api/v1/strategies", json={**DCA, "name": "idle"})
    c.post("/api/v1/strategies/d1/start")
    engine.tick("BTC/USD", "60000")
    engine.close()

    again = Engine()
    try:
        rows = {r["name"]: r for r in again.client.get("/api/v1/strategies").json()}
        assert (rows["d1"]["status"], rows["d1"]["running"]) == ("ACTIVE", True)
        assert (rows["idle"]["status"], rows["idle"]["running"]) == ("INACTIVE", False)
        assert again.gauge("alphintra_active_strategies") == 1.0
        positions = {p["symbol"]: p["quantity"] for p in again.client.get("/api/v1/portfolio/positions").json()}
        assert Decimal(positions["BTC/USD"]) == Decimal("0.0166")
        again.tick("BTC/USD", "60000")  # the resumed instance starts afresh: its first bar buys again
        assert [o["quantity"] for o in again.orders("d1")] == ["0.0166", "0.0166"]
    finally:
        again.close()
    kinds = [r.record["type"] for r in read_journal(again.settings.paths.journal) if "Strategy" in r.record["type"]]
    assert kinds == ["StrategyStarted", "StrategyStopped", "StrategyStarted", "StrategyStopped"]


def test_viewers_read_traders_run(engine: Engine) -> None:
    viewer = engine.tcp("vera", "viewer")
    trader = engine.tcp("tom", "trader")
    assert viewer.get("/api/v1/strategies").status_code == 200
    assert viewer.post("/api/v1/strategies", json=DCA).status_code == 403
    assert trader.post("/api/v1/strategies", json=DCA).status_code == 201
    assert trader.post("/api/v1/strategies/d1/start").status_code == 200


def test_a_rule_across_parameters_is_named_without_pydantic_internals(engine: Engine) -> None:
    body = {"name": "x1", "strategy": "sma_cross", "symbols": ["BTC/USD"], "params": {"fast": 30, "slow": 20}}
    r = engine.client.post("/api/v1/strategies", json=body)
    assert (r.status_code, r.json()["field"]) == (422, "params")
    assert r.json()["detail"] == "params: fast (30) must be below slow (20)"
