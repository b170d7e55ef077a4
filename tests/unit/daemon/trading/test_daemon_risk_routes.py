"""/api/v1/risk: limits with who changed them, live metrics, and alerts that are journaled, stored, streamed,
counted and never repeated while the condition persists."""

from __future__ import annotations

import getpass
from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from alphintra.daemon.fields import MONEY_RULE
from alphintra.storage.journal import read_journal
from tests.waiting import wait_for


def _buy(engine: Engine, symbol: str, qty: str) -> None:
    r = engine.client.post("/api/v1/orders", json={"symbol": symbol, "side": "BUY", "quantity": qty})
    assert r.status_code == 201 and r.json()["status"] == "FILLED", r.text


def test_limits_are_changed_by_admins_with_their_name(engine: Engine) -> None:
    c = engine.client
    assert c.get("/api/v1/risk/limits").json() == {"limits": [], "halts": []}
    body = {
        "limits": [
            {"name": "max_order_notional", "value": "5000"},
            {"name": "max_position_qty", "value": "2", "scope": "symbol", "scope_id": "ETH/USD"},
        ],
        "reason": "test",
    }
    r = c.put("/api/v1/risk/limits", json=body)
    assert r.status_code == 200, r.text
    got = {(x["name"], x["scope"], x["scope_id"]): (x["value"], x["updated_by"]) for x in r.json()["limits"]}
    me = getpass.getuser()
    assert got == {
        ("max_order_notional", "global", "*"): ("5000", me),
        ("max_position_qty", "symbol", "ETH/USD"): ("2", me),
    }
    store = engine.host.risk_watch.store
    history = store.risk_limit_history(name="max_order_notional")
    assert [(h.old_value, h.new_value, h.changed_by, h.reason) for h in history] == [
        (None, Decimal("5000"), me, "test")
    ]

    admin = engine.tcp("alice", "admin")
    r = admin.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_notional", "value": "off"}]})
    assert r.status_code == 200, r.text
    assert [x["name"] for x in r.json()["limits"]] == ["max_position_qty"]
    assert store.risk_limit_history(name="max_order_notional")[0].changed_by == "alice"

    trader = engine.tcp("tom", "trader")
    assert trader.get("/api/v1/risk/limits").status_code == 200
    r = trader.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_notional", "value": "1"}]})
    assert r.status_code == 403


def test_a_venue_limit_set_through_the_api_applies_to_the_live_engine(engine: Engine) -> None:
    c = engine.client
    node = engine.host.node
    assert node is not None
    venue = node.venue_for("ETH/USD").name
    change = {"name": "max_order_qty", "value": "1", "scope": "venue", "scope_id": venue}
    r = c.put("/api/v1/risk/limits", json={"limits": [change], "reason": "venue rate card"})
    assert r.status_code == 200, r.text
    assert [(x["name"], x["scope"], x["scope_id"], x["value"]) for x in r.json()["limits"]] == [
        ("max_order_qty", "venue", venue, "1")
    ]
    r = c.post("/api/v1/orders", json={"symbol": "ETH/USD", "side": "BUY", "quantity": "1.5"})
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "max_order_qty" and r.json()["where"] == f"venue {venue}", r.text
    _buy(engine, "ETH/USD", "1")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "max_bananas", "value": "1"}, "limits[1].name"),
        ({"name": "max_order_qty", "value": "-1"}, "max_order_qty"),
        ({"name": "max_leverage", "value": "2", "scope": "symbol", "scope_id": "BTC/USD"}, "scope"),
        ({"name": "max_leverage", "value": "2", "scope": "venue", "scope_id": "sim"}, "scope"),
        ({"name": "max_total_position_qty", "value": "2", "scope": "symbol", "scope_id": "ETH/USD@a"}, "scope_id"),
    ],
)
def test_a_bad_change_writes_nothing(engine: Engine, change: dict[str, Any], field: str) -> None:
    good = {"name": "max_order_notional", "value": "5000"}
    r = engine.client.put("/api/v1/risk/limits", json={"limits": [good, change]})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert engine.client.get("/api/v1/risk/limits").json()["limits"] == []


def test_metrics_value_the_live_book(engine: Engine) -> None:
    _buy(engine, "ETH/USD", "1")
    engine.tick("ETH/USD", "3100")
    m = engine.client.get("/api/v1/risk/metrics").json()
    assert m["source"] == "risk engine"
    assert m["positions"] == {"ETH/USD": "1.000"}
    assert Decimal(m["gross_exposure"]) == Decimal("3100") == Decimal(m["net_exposure"])
    equity = Decimal(m["equity"])
    assert Decimal(m["session_pnl"]) == equity - Decimal("100000")
    assert Decimal(m["leverage"]) == Decimal("3100") / equity
    assert (m["alert_levels"], m["thresholds"]) == ({}, [])


def test_alerts_fire_once_per_level_change(engine: Engine) -> None:
    c = engine.client
    streamed: list[Any] = []  # what the risk/alerts stream carried (the TUI keys its alert list by id)
    publish = engine.hub.publish
    engine.hub.publish = lambda topic, kind, data=None, account=None: (  # type: ignore[method-assign]
        streamed.append((topic, data)),
        publish(topic, kind, data, account),
    )[1]
    c.put("/api/v1/risk/limits", json={"limits": [{"name": "max_gross_exposure", "value": "5000"}]})
    _buy(engine, "ETH/USD", "1")
    engine.tick("ETH/USD", "3000")  # 3,000 < 4,000 (80 %): nothing
    _buy(engine, "ETH/USD", "0.5")
    engine.tick("ETH/USD", "3000")  # 4,500: warning
    engine.tick("ETH/USD", "3010")  # still a warning: no repeat
    engine.tick("ETH/USD", "3400")  # 5,100: breach
    engine.tick("ETH/USD", "3000")  # back to 4,500: de-escalates to warning
    store = engine.host.risk_watch.store
    wait_for(lambda: len(store.list_alerts()) == 3, "three stored alerts")
    rows = c.get("/api/v1/risk/alerts").json()
    assert [(a["severity"], a["rule"], Decimal(a["value"]), Decimal(a["threshold"])) for a in reversed(rows)] == [
        ("WARNING", "max_gross_exposure", Decimal(4500), Decimal(4000)),
        ("CRITICAL", "max_gross_exposure", Decimal(5100), Decimal(5000)),
        ("WARNING", "max_gross_exposure", Decimal(4500), Decimal(4000)),
    ]
    assert rows[0]["message"] == (
        "gross_exposure 4500 reached its warning level (threshold 4000, limit max_gross_exposure)"
    )
    assert engine.gauge("alphintra_risk_alerts_total", {"rule": "max_gross_exposure"}) == 3.0
    assert engine.hub.last_seq("risk/alerts") == 3
    journaled = [r.record for r in read_journal(engine.settings.paths.journal) if r.record["type"] == "RiskAlertRaised"]
    assert [(j["alert_id"], j["severity"]) for j in journaled] == [(1, "WARNING"), (2, "CRITICAL"), (3, "WARNING")]
    assert [a["id"] for a in rows] == [3, 2, 1]
    assert [data["id"] for topic, data in streamed if topic == "risk/alerts"] == [1, 2, 3]

    first = rows[-1]["id"]
    acked = engine.tcp("tom", "trader").post(f"/api/v1/risk/alerts/{first}/ack").json()
    assert (acked["acknowledged"], acked["acknowledged_by"]) == (True, "tom")
    assert len(c.get("/api/v1/risk/alerts", params={"unacknowledged": True}).json()) == 2
    m = c.get("/api/v1/risk/metrics").json()
    assert m["alert_levels"] == {"gross_exposure": "WARNING"}


def _store_daily_closes(engine: Engine, symbol: str, closes: list[float]) -> None:
    import polars as pl

    from alphintra.storage.market import MarketStore

    times = pl.datetime_range(
        pl.datetime(2024, 1, 1, time_zone="UTC"),
        pl.datetime(2024, 1, 1, time_zone="UTC") + pl.duration(days=len(closes) - 1),
        "1d",
        eager=True,
    )
    bars = pl.DataFrame({"time": times, "open": closes, "high": closes, "low": closes, "close": closes, "volume": 1.0})
    with MarketStore(engine.settings.paths.market) as store:
        store.write_bars(bars, timeframe="1d", symbol=symbol, exchange="TEST")


def test_metrics_carry_the_historical_var_of_the_live_book(engine: Engine) -> None:
    import numpy as np

    rng = np.random.default_rng(5)
    closes = list(np.round(3000 * np.cumprod(1 + rng.normal(0, 0.03, 300)), 2))
    _store_daily_closes(engine, "ETH/USD", closes)
    _buy(engine, "ETH/USD", "2")
    engine.tick("ETH/USD", "3100")
    m = engine.client.get("/api/v1/risk/metrics").json()

    # Independently: today's book (2 ETH at 3,100) through each of the last 250 daily returns; VaR is the
    # ceil(0.95 * 250) = 238th smallest loss, ES the mean of it and the larger ones.
    returns = np.diff(closes[-251:]) / np.array(closes[-251:-1])
    losses = np.sort(-(2 * 3100 * returns))
    assert (m["var_method"], m["var_timeframe"], m["var_observations"]) == ("historical", "1d", 250)
    assert m["var_95"] == pytest.approx(losses[237], abs=0.005)
    assert m["es_95"] == pytest.approx(losses[237:].mean(), abs=0.005)
    assert m["var_99"] == pytest.approx(losses[247], abs=0.005)  # ceil(0.99 * 250) = 248th
    assert m["es_99"] == pytest.approx(losses[247:].mean(), abs=0.005)
    assert 0 < m["var_95"] < m["es_95"] <= m["es_99"] and m["var_95"] < m["var_99"]
    assert "var_detail" not in m


def test_var_says_why_it_is_missing(engine: Engine) -> None:
    m = engine.client.get("/api/v1/risk/metrics").json()
    assert (m["var_95"], m["es_99"], m["var_detail"]) == (0.0, 0.0, "no open positions")

    _buy(engine, "ETH/USD", "1")
    engine.tick("ETH/USD", "3100")
    m = engine.client.get("/api/v1/risk/metrics").json()
    assert m["var_95"] is None and m["es_95"] is None and m["var_observations"] == 0
    assert m["var_detail"].startswith("no 1d return history: ") and "ETH/USD" in m["var_detail"]


def test_an_admin_records_halts_resumes_and_limits_under_the_name_it_gives(engine: Engine) -> None:
    c = engine.client  # the owner's socket: an admin, as the CLI is
    r = c.post("/api/v1/risk/halt", json={"reason": "night", "by": "night-desk"})
    assert r.status_code == 200 and r.json()["halts"][0]["by"] == "night-desk", r.text
    alerts = c.get("/api/v1/risk/alerts").json()
    assert alerts[0]["message"] == "halted all trading: night (by night-desk)"
    assert engine.hub.last_seq("risk/alerts") == 1  # the halt's alert is streamed like every other
    r = c.post("/api/v1/risk/resume", json={"reason": "morning", "by": "day-desk"})
    assert r.status_code == 200, r.text
    r = c.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_qty", "value": "5"}], "by": "risk-desk"})
    assert r.status_code == 200 and r.json()["limits"][0]["updated_by"] == "risk-desk", r.text
    journaled = {
        r.record["type"]: r.record
        for r in read_journal(engine.settings.paths.journal)
        if r.record["type"] in ("TradingHalted", "TradingResumed", "RiskLimitSet")
    }
    assert (journaled["TradingHalted"]["by"], journaled["TradingResumed"]["by"]) == ("night-desk", "day-desk")
    assert journaled["RiskLimitSet"]["by"] == "risk-desk"
    assert "(by day-desk)" in c.get("/api/v1/risk/alerts").json()[0]["message"]


def test_only_an_admin_names_someone_else_and_the_name_is_checked(engine: Engine) -> None:
    trader = engine.tcp("tom", "trader")
    r = trader.post("/api/v1/risk/halt", json={"reason": "x", "by": "alice"})
    assert r.status_code == 403 and "someone else" in r.json()["detail"], r.text
    assert engine.client.get("/api/v1/risk/limits").json()["halts"] == []
    r = trader.post("/api/v1/risk/halt", json={"reason": "x", "by": "tom"})
    assert r.status_code == 200 and r.json()["halts"][0]["by"] == "tom"
    for bad in ("", " padded", "line\nbreak", "x" * 65):
        r = engine.client.post("/api/v1/risk/resume", json={"by": bad})
        assert r.status_code == 422 and "by" in r.text, (bad, r.text)
    assert [h["updated_by"] for h in engine.client.get("/api/v1/risk/limits").json()["halts"]] == ["tom"]


# -- alerts raised from outside the engine -------------------------------------------------------------------------

ML_ALERT = {
    "rule": "ml_drift",
    "severity": "WARNING",
    "message": "model m v1: drift in ret_1",
    "symbol": "BTC/USD",
    "value": "0.41",
    "threshold": "0.25",
    "source": "ml drift",
}


def test_an_alert_from_outside_is_journaled_stored_streamed_and_counted(engine: Engine) -> None:
    trader = engine.tcp("tom", "trader")
    r = trader.post("/api/v1/risk/alerts", json=ML_ALERT)
    assert r.status_code == 201, r.text
    raised = r.json()
    message = "model m v1: drift in ret_1 [ml drift, by tom]"
    assert {k: raised[k] for k in ("id", "severity", "rule", "message", "symbol", "value", "threshold")} == {
        "id": 1,
        "severity": "WARNING",
        "rule": "ml_drift",
        "message": message,
        "symbol": "BTC/USD",
        "value": "0.41",
        "threshold": "0.25",
    }
    # The answer comes once the alert is projected: the next read has it.
    rows = engine.client.get("/api/v1/risk/alerts").json()
    assert [(a["id"], a["rule"], a["message"], a["acknowledged"]) for a in rows] == [(1, "ml_drift", message, False)]
    journaled = [r.record for r in read_journal(engine.settings.paths.journal) if r.record["type"] == "RiskAlertRaised"]
    assert [(j["alert_id"], j["rule"], j["severity"], j["message"]) for j in journaled] == [
        (1, "ml_drift", "WARNING", message)
    ]
    assert engine.hub.last_seq("risk/alerts") == 1
    assert engine.gauge("alphintra_risk_alerts_total", {"rule": "ml_drift"}) == 1.0
    # An all-clear is journaled under the next id, and not counted as an alert.
    r = trader.post("/api/v1/risk/alerts", json={"rule": "ml_drift", "severity": "INFO", "message": "drift gone"})
    assert (r.status_code, r.json()["id"], r.json()["message"]) == (201, 2, "drift gone [api, by tom]")
    assert engine.gauge("alphintra_risk_alerts_total", {"rule": "ml_drift"}) == 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "LOUD"}, "severity"),
        ({"severity": None}, "severity"),
        ({"rule": "ML Drift"}, "rule"),
        ({"rule": ""}, "rule"),
        ({"message": ""}, "message"),
        ({"message": "two\nlines"}, "message"),
        ({"message": "x" * 1001}, "message"),
        ({"value": "-1"}, "value"),
        ({"value": 0.41}, "value"),
        ({"threshold": "1E+9"}, "threshold"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "S" * 41}, "symbol"),
        ({"source": "s" * 65}, "source"),
        ({"account": "main"}, "account"),
    ],
)
def test_a_bad_alert_is_refused_naming_the_field_and_journals_nothing(
    engine: Engine, change: dict[str, Any], field: str
) -> None:
    r = engine.tcp("tom", "trader").post("/api/v1/risk/alerts", json={**ML_ALERT, **change})
    assert r.status_code == 422, r.text
    assert (r.json()["error"], r.json()["field"]) == ("validation_error", field)
    if field in ("value", "threshold"):
        assert r.json()["detail"] == f"{field}: {MONEY_RULE}"
    assert engine.client.get("/api/v1/risk/alerts").json() == []
    assert engine.hub.last_seq("risk/alerts") == 0


def test_a_viewer_may_not_raise_an_alert(engine: Engine) -> None:
    r = engine.tcp("vic", "viewer").post("/api/v1/risk/alerts", json=ML_ALERT)
    assert (r.status_code, r.json()) == (
        403,
        {"error": "forbidden", "detail": "role viewer may not do this; trader is required", "field": None},
    )
    assert engine.client.get("/api/v1/risk/alerts").json() == []
