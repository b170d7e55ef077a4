"""The ml strategy: the promoted model served bar by bar in a backtest and a paper session gives exactly the
predictions LightGBM gives on the batch features, with every prediction's latency measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ml_data import goog, minute
from pydantic import ValidationError as PydanticError

from alphintra.ml.featureset import FeatureSet, FeatureSpec, compute_batch, register_feature_set, resolve
from alphintra.ml.pipeline import TrainOptions, train_and_register
from alphintra.ml.registry import Registry
from alphintra.ml.serving import MlStrategy, percentile
from alphintra.ml.train import DataSpec
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.paper import run_paper


def _store(home: Path, frames: dict[str, pl.DataFrame], timeframe: str) -> None:
    from alphintra.storage.market import MarketStore

    with MarketStore(home / "market") as store:
        for frame in frames.values():
            store.write_bars(frame, timeframe=timeframe)


def _served_vs_booster(strategy: MlStrategy, bars: pl.DataFrame, others: dict[str, pl.DataFrame]) -> None:
    fs = strategy.model.feature_set
    batch = compute_batch(fs, bars, others)
    usable = batch.drop_nulls()
    expected = strategy.model.booster().predict(usable.select(fs.names).to_numpy(), num_threads=1)
    got = np.array([value for _, value in strategy.predictions])
    assert [ts for ts, _ in strategy.predictions] == usable["time"].dt.epoch("ns").to_list()
    assert np.max(np.abs(expected - got)) <= 1e-12
    assert len(strategy.latencies_ns) == len(got) and min(strategy.latencies_ns) > 0


def test_goog_daily_promoted_model_in_backtest_and_paper(isolated_home: Path) -> None:
    _store(isolated_home, {"GOOG": goog()}, "1d")
    saved = train_and_register(
        "goog", resolve("core"), DataSpec("GOOG", "1d", end="2012-01-01"), TrainOptions(num_trees=20, folds=3)
    )
    Registry().promote("goog", saved.version)
    live = goog().filter(pl.col("time") >= pl.datetime(2012, 1, 1, time_zone="UTC"))
    config = BacktestConfig("ml", ("GOOG",), "1d", params={"model": "goog", "threshold": 0.51})
    bt = Backtest(config, {"GOOG": live})
    result = bt.run()
    strategy = bt.strategy
    assert isinstance(strategy, MlStrategy) and strategy.model.version.version == 1
    _served_vs_booster(strategy, live, {})
    assert len(bt.fills) > 0
    signals = [s for s in bt.ctx.signals if s.name == "latency_p99_us"]
    assert len(signals) == 1 and signals[0].data["predictions"] == len(strategy.predictions)
    assert result.metrics.num_trades > 0
    # A paper session (wall clock, book fills) of the same model: same predictions, the pacing injected.
    paper = BacktestConfig("ml", ("GOOG",), "1d", params={"model": "goog", "threshold": 0.51})
    session = run_paper(paper, {"GOOG": live.head(120)}, speed=1e9, sleep=lambda s: None)
    assert session.mode == "paper" and len(session.fills) > 0


def test_minute_bars_regression_with_cross_asset_feature(isolated_home: Path) -> None:
    data = minute(("SYN00", "SYN01"))
    _store(isolated_home, data, "1m")
    fs = register_feature_set(
        FeatureSet(
            "pair",
            1,
            (
                FeatureSpec("ret_1", "ret", {"horizon": 1}),
                FeatureSpec("ret_10", "ret", {"horizon": 10}),
                FeatureSpec("vol", "vol", {"window": 30}),
                FeatureSpec("other_ret_5", "xret", {"symbol": "SYN01", "horizon": 5}),
                FeatureSpec("hour_sin", "time", {"field": "hour_sin"}),
            ),
        )
    )
    cut = data["SYN00"]["time"][2000]
    train_and_register(
        "pair", fs, DataSpec("SYN00", "1m", end=str(cut)), TrainOptions(task="regression", num_trees=15, folds=3)
    )
    Registry().promote("pair", 1)
    live = {s: f.filter(pl.col("time") >= cut) for s, f in data.items()}
    config = BacktestConfig("ml", ("SYN00", "SYN01"), "1m", params={"model": "pair", "min_return": 0.0002})
    bt = Backtest(config, live)
    bt.run()
    _served_vs_booster(bt.strategy, live["SYN00"], {"SYN01": live["SYN01"]})  # type: ignore[arg-type]
    with pytest.raises(Exception, match="model pair reads SYN01"):
        Backtest(BacktestConfig("ml", ("SYN00",), "1m", params={"model": "pair"}), {"SYN00": live["SYN00"]}).run()


def test_percentile() -> None:
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(101)), 0.99) == 99
    with pytest.raises(PydanticError, match=r"greater than 0\.5"):
        MlStrategy.Params.model_validate({"model": "x", "threshold": 0.4})
