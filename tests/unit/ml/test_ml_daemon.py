"""The ml strategy in the daemon (a paper session on the real trading host): it loads the promoted model, predicts
on every bar the feed makes from ticks, trades, and signals a market-data anomaly as it happens, which the daemon
raises as a risk alert."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ml_data import stationary

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon" / "trading"))
from trading_support import Engine

from alphintra.ml.featureset import FeatureSet, FeatureSpec, register_feature_set
from alphintra.ml.pipeline import TrainOptions, train_and_register
from alphintra.ml.registry import Registry
from alphintra.ml.train import DataSpec
from tests.waiting import wait_for


def test_ml_strategy_serves_in_the_daemon(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphintra.config.settings import reset_settings_cache
    from alphintra.storage.market import MarketStore

    with MarketStore(isolated_home / "market") as store:
        store.write_bars(stationary(1500, 1), timeframe="1m")
    # Price-only features: bars made from ticks have no range or volume to speak of.
    fs = register_feature_set(
        FeatureSet("ticks", 1, tuple(FeatureSpec(f"ret_{h}", "ret", {"horizon": h}) for h in (1, 2, 5)))
    )
    train_and_register("live", fs, DataSpec("GBM", "1m"), TrainOptions(num_trees=10, folds=2))
    Registry().promote("live", 1)
    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    engine = Engine()
    try:
        c = engine.client
        body = {"name": "m1", "strategy": "ml", "symbols": ["BTC/USD"], "params": {"model": "live", "fraction": "0.5"}}
        assert c.post("/api/v1/strategies", json=body).status_code == 201
        r = c.post("/api/v1/strategies/m1/start")
        assert r.status_code == 200 and r.json()["running"] is True, r.text
        prices = [60000 * (1 + 0.001 * ((i * 7) % 5 - 2)) for i in range(60)]
        for price in prices:
            engine.tick("BTC/USD", f"{price:.2f}")
        engine.tick("BTC/USD", "240000.00")  # a print four times the price: an anomaly
        status = c.get("/api/v1/strategies/m1/status").json()
        assert status["running"] is True and status["bars"] == 61
        anomalies = [s for s in c.get("/api/v1/strategies/m1/signals").json() if s["name"] == "anomaly"]
        assert len(anomalies) == 1 and anomalies[0]["value"].startswith("price jump: robust z +")
        # ... and is a risk alert, journaled through the host's keeper like the engine's own (then projected).
        wait_for(lambda: bool(c.get("/api/v1/risk/alerts").json()), "the anomaly's risk alert")
        alerts = c.get("/api/v1/risk/alerts").json()
        assert [(a["rule"], a["severity"], a["symbol"], a["strategy"]) for a in alerts] == [
            ("ml_anomaly", "WARNING", "BTC/USD", "m1")
        ]
        assert alerts[0]["message"] == f"market data anomaly on BTC/USD: {anomalies[0]['value']}"
        assert engine.gauge("alphintra_risk_alerts_total", {"rule": "ml_anomaly"}) == 1.0
        assert c.post("/api/v1/strategies/m1/stop").json()["running"] is False
        signals = {s["name"]: s for s in c.get("/api/v1/strategies/m1/signals").json()}
        assert signals["model"]["value"] == "live v1" and signals["model"]["data"] == {"feature_set": "ticks@1"}
        # A prediction on every bar once ret_5 is defined (from the sixth), each timed.
        assert signals["latency_p99_us"]["data"]["predictions"] == 61 - 5
    finally:
        engine.close()
