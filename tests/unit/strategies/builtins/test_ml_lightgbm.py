"""ml_lightgbm on EUR/USD hourly: walk-forward fits that never see a later label, determinism, the saved model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_checks import audited_run, sample

from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.builtins.ml_lightgbm import FEATURES, MlLightgbm, TreeEnsemble

PARAMS = {"min_train": 150, "train_window": 300, "retrain_every": 100, "num_trees": 30, "threshold": 0.53}
FEE = Decimal("0.00002")


def run(frame: pl.DataFrame, **extra: object) -> tuple[Backtest, MlLightgbm]:
    config = BacktestConfig("ml_lightgbm", ("EUR/USD",), "1h", params={**PARAMS, **extra}, fee=FEE)
    bt = Backtest(config, {"EUR/USD": frame})
    audited_run(bt)
    return bt, bt.strategy  # type: ignore[return-value]


def test_walk_forward_fits_use_only_labels_known_at_the_time() -> None:
    frame = sample("EUR/USD", "1h").head(900)
    bt, strategy = run(frame)
    fits = strategy.trainings
    assert len(fits) >= 6
    for fit in fits:
        # The newest label came from the close of bar last_row + 1, which is at most the bar that fits.
        assert fit.label_known == fit.last_row + 1 <= fit.at_bar
        assert fit.last_row == fit.at_bar - 1, "every label known by then is used"
        assert fit.rows == min(300, fit.last_row - fit.first_row + 1) and 0 < fit.positives < fit.rows
    assert [b - a for a, b in zip([f.at_bar for f in fits], [f.at_bar for f in fits][1:], strict=False)] == [100] * (
        len(fits) - 1
    )
    assert len(bt.fills) > 0
    # The labels the last fit could use: next close above this close, row by row, from the data itself.
    closes = frame["close"].to_list()
    kept = [(index, label) for (index, _), label in zip(strategy.rows, strategy.labels, strict=True)]
    assert len(kept) == 300
    assert all(label == int(closes[index + 1] > closes[index]) for index, label in kept)
    assert kept[-1][0] == len(closes) - 2  # the final bar's label would need a bar that does not exist
    predictions = dict(strategy.predictions)
    assert min(predictions) == fits[0].at_bar  # predictions start with the first model


def test_changing_the_future_changes_nothing_before_it() -> None:
    frame = sample("EUR/USD", "1h").head(700)
    cut = 450
    # Bars after the cut replaced by the same bars mirrored around the cut's close: a different future.
    pivot = frame["close"][cut]
    future = frame.slice(cut + 1).with_columns(
        [(2 * pivot - pl.col(c)).alias(c) for c in ("open", "close")]
        + [(2 * pivot - pl.col("low")).alias("high"), (2 * pivot - pl.col("high")).alias("low")]
    )
    altered = pl.concat([frame.head(cut + 1), future])
    assert altered["close"][cut + 5] != frame["close"][cut + 5]
    bt_a, a = run(frame)
    bt_b, b = run(altered)
    assert [p for p in a.predictions if p[0] <= cut] == [p for p in b.predictions if p[0] <= cut]
    assert [t for t in a.trainings if t.at_bar <= cut] == [t for t in b.trainings if t.at_bar <= cut]
    cut_ts = frame["time"].dt.epoch("ns")[cut + 1]  # orders decided by bar `cut` fill at the next open
    assert [f for f in bt_a.fills if f.ts <= cut_ts] == [f for f in bt_b.fills if f.ts <= cut_ts]
    assert [p for p in a.predictions if p[0] > cut] != [p for p in b.predictions if p[0] > cut]


def test_runs_are_deterministic_and_the_model_is_saved(isolated_home: Path) -> None:
    frame = sample("EUR/USD", "1h").head(500)
    bt_a, a = run(frame, save_model=True, model_name="eurusd/h1")
    _bt_b, b = run(frame)
    assert a.predictions == b.predictions and bt_a.fills == _bt_b.fills
    assert a.model_path == isolated_home / "models" / "eurusd-h1.txt"
    assert a.model_path.is_file()
    loaded = lgb.Booster(model_file=str(a.model_path))
    rows = np.array([[0.001, -0.002, 0.55, 1.2, 0.001, 0.002, -0.3], [0.0, 0.0, 0.5, 0.0, 0.0005, 0.0, 0.0]])
    assert np.allclose(loaded.predict(rows), a.booster.predict(rows), rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_compiled_trees_match_lightgbm_predict(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, len(FEATURES)))
    x[rng.random(x.shape) < 0.05] = 0.0  # exact zeros, the value LightGBM may treat specially
    y = (x[:, 0] + 0.5 * x[:, 3] + rng.normal(scale=0.8, size=300) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "seed": 1, "num_threads": 1, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=15)
    model = TreeEnsemble(booster.dump_model())
    probe = np.vstack([rng.normal(size=(20, len(FEATURES))), np.zeros((1, len(FEATURES)))])
    expected = booster.predict(probe)
    got = [model.probability(list(row)) for row in probe]
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
