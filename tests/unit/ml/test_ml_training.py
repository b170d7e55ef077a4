"""Training and evaluation: scores checked against direct definitions, deterministic fits, clear refusals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from ml_data import goog

from alphintra.errors import ValidationError
from alphintra.ml.evaluate import auc, calibration, information_coefficient, log_loss
from alphintra.ml.featureset import resolve
from alphintra.ml.labels import LabelSpec
from alphintra.ml.train import build_dataset, train


def test_scores_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(60) > 0.5).astype(float)
    scores = np.round(rng.random(60), 1)  # ties on purpose
    pairs = [(p, n) for p, n in itertools.product(scores[labels == 1], scores[labels == 0])]
    brute = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert auc(labels, scores) == pytest.approx(brute, abs=1e-12)
    assert math.isnan(auc(np.ones(5), np.arange(5.0)))
    p = np.array([0.9, 0.2, 0.6])
    y = np.array([1.0, 0.0, 0.0])
    assert log_loss(y, p) == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)
    assert information_coefficient(np.arange(10.0), np.arange(10.0) ** 3) == pytest.approx(1.0)
    table = calibration(np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.05, 0.05, 0.95, 0.95]))
    assert [(b["bin"], b["rows"], b["observed"]) for b in table["bins"]] == [("0.0-0.1", 2, 0.5), ("0.9-1.0", 2, 1.0)]
    assert table["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.05)


def test_training_is_deterministic_and_scores_out_of_sample() -> None:
    data = build_dataset(resolve("minimal"), goog(), {}, LabelSpec("forward", 1))
    first = train(data, num_trees=20, seed=3, folds=4)
    again = train(data, num_trees=20, seed=3, folds=4)
    assert first.booster.model_to_string() == again.booster.model_to_string()
    assert first.metrics == again.metrics
    assert first.metrics["folds"] == 4 and 0.3 < first.metrics["auc"] < 0.7
    assert set(first.importance) == set(data.names) and sum(first.importance.values()) == pytest.approx(1.0)
    # Only the walk-forward test blocks are scored, each predicted by a model fitted before it.
    tested = ~np.isnan(first.oof)
    assert tested.sum() == first.metrics["rows"] and not tested[: data.rows // 5].any()
    for fold in first.folds:
        assert fold["train_rows"] < fold["test_first"]
    other_seed = train(data, num_trees=20, seed=4, folds=4)
    assert other_seed.booster.model_to_string() != first.booster.model_to_string()


def test_regression_and_triple_barrier_train() -> None:
    data = build_dataset(resolve("minimal"), goog(), {}, LabelSpec("triple_barrier", 5, 0.03, 0.03))
    assert set(np.unique(data.cls)) == {0.0, 1.0}
    result = train(data, task="regression", num_trees=10, folds=3)
    assert {"ic", "rmse", "hit_rate", "auc"} <= set(result.metrics)
    assert (data.ends[: data.rows - 10] <= np.arange(data.rows - 10) + 5).all()


def test_too_few_rows_and_one_class_are_refused() -> None:
    data = build_dataset(resolve("minimal"), goog().head(120), {}, LabelSpec())
    with pytest.raises(ValidationError, match="too few rows to train on: 100 usable, need at least 150"):
        train(data)
    full = build_dataset(resolve("minimal"), goog(), {}, LabelSpec())
    full.cls[:] = 1.0
    with pytest.raises(ValidationError, match="has one class only"):
        train(full)


def test_hyper_parameter_search_through_the_optimiser(isolated_home) -> None:  # type: ignore[no-untyped-def]
    from alphintra.ml.search import search
    from alphintra.ml.train import DataSpec
    from alphintra.storage.market import MarketStore

    with MarketStore(isolated_home / "market") as store:
        store.write_bars(goog(), timeframe="1d")
    specs = ["num_leaves=4,8", "num_trees=10"]
    result, best = search(
        resolve("minimal"), DataSpec("GOOG", "1d"), specs, label=LabelSpec(), metric="log_loss", folds=3
    )
    frame = result.frame
    assert frame.height == 2 and result.failures == 0
    # The best by log loss is the row with the lowest log loss, and its score is what a plain train gives.
    lowest = frame.sort("log_loss").row(0, named=True)
    assert best == {"num_leaves": lowest["num_leaves"], "num_trees": 10}
    data = build_dataset(resolve("minimal"), goog(), {}, LabelSpec())
    again = train(data, params={"num_leaves": best["num_leaves"]}, num_trees=10, folds=3)
    assert again.metrics["log_loss"] == pytest.approx(lowest["log_loss"], abs=1e-12)
    with pytest.raises(ValidationError, match="must name LightGBM parameters"):
        search(resolve("minimal"), DataSpec("GOOG", "1d"), ["boosting=dart"], label=LabelSpec())
