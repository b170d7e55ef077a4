"""The ml strategy watches itself while it serves: a drift signal when the market shifts (and none when it does
not), an anomaly signal on a planted volume spike, and its live hit rate."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from ml_data import stationary

from alphintra.ml.featureset import resolve
from alphintra.ml.monitor import AnomalyWatch
from alphintra.ml.pipeline import TrainOptions, train_and_register
from alphintra.ml.registry import Registry
from alphintra.ml.serving import MlStrategy
from alphintra.ml.train import DataSpec
from alphintra.strategies.backtest import Backtest, BacktestConfig


def _serve(frame: pl.DataFrame) -> tuple[MlStrategy, list[tuple[str, object]]]:
    symbol = str(frame["symbol"][0])
    config = BacktestConfig("ml", (symbol,), "1m", params={"model": "calm"})
    bt = Backtest(config, {symbol: frame})
    bt.run()
    strategy = bt.strategy
    assert isinstance(strategy, MlStrategy)
    return strategy, [(s.name, s.value) for s in bt.ctx.signals if s.name in ("ml_drift", "anomaly")]


def test_drift_and_anomaly_signals_while_serving(isolated_home: Path) -> None:
    from alphintra.storage.market import MarketStore

    history = stationary(3000, 1)
    with MarketStore(isolated_home / "market") as store:
        store.write_bars(history, timeframe="1m")
    train_and_register("calm", resolve("minimal"), DataSpec("GBM", "1m"), TrainOptions(num_trees=15, folds=3))
    Registry().promote("calm", 1)
    last = float(history["close"][-1])
    calm = stationary(1500, 5, start_price=last, first=3000)
    strategy, signals = _serve(calm)
    assert signals == []
    assert strategy.monitor is not None and strategy.monitor.last is not None
    assert strategy.monitor.last.drifted == [] and 0.3 < strategy.monitor.last.hit_rate["live"] < 0.7

    wild = pl.concat([calm.head(700), stationary(800, 6, vol=0.004, start_price=float(calm["close"][699]), first=3700)])
    wild = wild.with_columns(
        pl.when(pl.int_range(pl.len()) == 400).then(pl.col("volume") * 1000).otherwise(pl.col("volume")).alias("volume")
    )
    served, signals = _serve(wild)
    assert signals[0][0] == "anomaly" and str(signals[0][1]).startswith("volume spike: robust z +")
    assert ("ml_drift", "on") in signals
    assert [name for name, _ in signals].count("anomaly") == 1
    # Each change of state asks for one risk alert (the daemon journals it): the anomaly's first bar, drift on.
    asked = [s.data["risk_alert"] for s in served.ctx.signals if "risk_alert" in s.data]
    assert [(a["rule"], a["severity"], a["symbol"]) for a in asked[:2]] == [
        ("ml_anomaly", "WARNING", "GBM"),
        ("ml_drift", "WARNING", "GBM"),
    ]
    # Drift on is a WARNING, drift gone an INFO, one per ml_drift signal (the monitor only reports a change).
    turns = [value for name, value in signals if name == "ml_drift"]
    assert [a["severity"] for a in asked[1:]] == ["WARNING" if v == "on" else "INFO" for v in turns]
    assert turns == [("on", "off")[i % 2] for i in range(len(turns))]
    assert asked[0]["message"].startswith("market data anomaly on GBM: volume spike: robust z +")
    assert asked[1]["message"].startswith("model calm v1: drift in ")
    assert asked[1]["threshold"] == "0.25"


def test_anomaly_watch_is_causal() -> None:
    watch = AnomalyWatch()
    bars = stationary(300, 9)
    found = [watch.update(*row) for row in bars.select("high", "low", "close", "volume").iter_rows()]
    assert not any(found)
    assert watch.update(
        float(bars["close"][-1]) * 2.1, float(bars["close"][-1]) * 1.99, float(bars["close"][-1]) * 2, 1e5
    )[0].startswith("price jump")
