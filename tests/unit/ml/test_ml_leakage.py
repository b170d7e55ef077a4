"""No leakage: labels read only their horizon, purged/embargoed splits keep label windows out of training, and a
planted feature that peeks at the next bar is refused while the built-in sets pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pytest
from ml_data import goog, minute

from alphintra.ml.features import Bar, register_kind
from alphintra.ml.featureset import FeatureSet, FeatureSpec, resolve
from alphintra.ml.labels import LabelSpec, make_labels
from alphintra.ml.leakage import LeakageError, check_no_lookahead, check_splits, purged_kfold, walk_forward


def _peek_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    close = bars["close"].cast(pl.Float64)
    return close.shift(-1) / close - 1.0  # the next bar's return: a leak


class _PeekServing:
    """What serving can do for the leaky feature: nothing better than the last return."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.previous: float | None = None

    def update(self, bar: Bar) -> float | None:
        previous, self.previous = self.previous, bar.close
        return None if previous is None else bar.close / previous - 1.0


register_kind("test_peek", _peek_batch, _PeekServing)


def test_planted_leaky_feature_is_refused_and_honest_sets_pass() -> None:
    leaky = FeatureSet("leaky", 1, (FeatureSpec("ret_1", "ret", {"horizon": 1}), FeatureSpec("peek", "test_peek")))
    with pytest.raises(LeakageError, match=r"feature peek: reads bars after its row: its value on row \d+ changes"):
        check_no_lookahead(leaky, goog())
    check_no_lookahead(resolve("core"), goog())
    check_no_lookahead(resolve("minimal"), minute()["SYN00"])


def test_forward_labels_sign_size_and_unknown_tail() -> None:
    bars = goog().head(50)
    close = bars["close"].to_numpy()
    labels = make_labels(bars, LabelSpec("forward", 3))
    assert labels.ret[0] == pytest.approx(close[3] / close[0] - 1.0, abs=1e-15)
    assert labels.cls[0] == float(close[3] > close[0])
    assert np.isnan(labels.cls[-3:]).all() and labels.known.sum() == 47
    assert labels.ends[0] == 3 and labels.ends[-1] == -1


def test_triple_barrier_take_profit_stop_and_time_limit() -> None:
    times = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 6), "1d", eager=True, time_zone="UTC")
    bars = pl.DataFrame(
        {
            "time": times,
            "open": [100.0] * 6,
            "high": [100.0, 101.0, 103.0, 100.0, 100.0, 100.0],
            "low": [100.0, 99.5, 97.0, 99.0, 99.5, 99.5],
            "close": [100.0, 100.5, 100.0, 99.8, 99.9, 100.2],
            "volume": [1.0] * 6,
        }
    )
    labels = make_labels(bars, LabelSpec("triple_barrier", 3, take_profit=0.02, stop_loss=0.02))
    # Row 0: bar 2 reaches both 102 and 98 -> the stop (cautious). Row 1: bar 2's low 97 <= 98.49 -> stop.
    assert labels.cls[:2].tolist() == [0.0, 0.0]
    # Row 2 (close 100): no barrier in bars 3..5 -> the time limit, close 100.2 > 100 -> 1.
    assert labels.cls[2] == 1.0 and labels.ret[2] == pytest.approx(0.002)
    assert np.isnan(labels.cls[3:]).all()


@pytest.mark.parametrize("horizon,embargo", [(1, 0), (5, 3), (20, 10)])
def test_purged_embargoed_splits_never_train_on_a_test_bar(horizon: int, embargo: int) -> None:
    n = 1000
    ends = np.where(np.arange(n) + horizon < n, np.arange(n) + horizon, -1)
    folds = list(walk_forward(ends, 4, embargo=embargo, min_train=200))
    assert len(folds) == 4
    for split in folds:
        check_splits(ends, split, embargo)
        assert split.train.max() < split.test[0] - horizon - embargo + 1
    for split in purged_kfold(ends, 5, embargo=embargo):
        check_splits(ends, split, embargo)
        first, last = split.test[0], split.test[-1]
        assert not np.isin(np.arange(last + 1, last + 1 + embargo), split.train).any()
        assert not ((split.train < first) & (ends[split.train] >= first)).any()
    # The checker itself fails on a split that trains on a label window reaching into the test block.
    bad = folds[1]
    leak = type(bad)(np.append(bad.train, bad.test[0] - 1), bad.test)
    with pytest.raises(LeakageError, match="reads test bars"):
        check_splits(ends, leak, 0)
