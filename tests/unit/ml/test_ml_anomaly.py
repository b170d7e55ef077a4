"""Anomaly detection: planted bad prints, volume spikes, broken ranges and an unadjusted split are found, with no
false alarm on the shipped samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ml_data import goog, plant

from alphintra.ml.anomaly import AnomalySettings, IsolationForest, detect, robust_z


def test_planted_anomalies_are_found_and_nothing_else() -> None:
    bars, rows = plant(goog())
    found = {a.row: a for a in detect(bars)}
    assert sorted(found) == sorted(rows.values())
    assert found[rows["spike"]].reasons[0].startswith("price spike reverted next bar: return robust z +")
    assert found[rows["volume"]].reasons[0].startswith("volume robust z +")
    assert found[rows["range"]].reasons[0].startswith("range robust z +")
    assert found[rows["split"]].reasons[0].startswith("price jump: return robust z -")
    assert all(0 < (a.forest or 0) < 1 for a in found.values())


@pytest.mark.parametrize("symbol,timeframe", [("GOOG", "1d"), ("EUR/USD", "1h"), ("BTC/USD", "1M")])
def test_no_false_alarm_on_the_shipped_samples(symbol: str, timeframe: str) -> None:
    from ml_data import sample_root

    from alphintra.storage.market import MarketData

    assert detect(MarketData(sample_root()).bars(symbol, timeframe)) == []


def test_robust_z_uses_only_earlier_bars() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 6.0])
    z = robust_z(values, window=4, min_history=3)
    assert math.isnan(z[2])
    # Bar 5 against bars 1..4 (median 3.5, MAD 1.0 x 1.4826).
    assert z[5] == pytest.approx((100.0 - 3.5) / 1.4826)
    changed = values.copy()
    changed[6] = -50.0
    assert robust_z(changed, 4, 3)[:6].tolist() == pytest.approx(z[:6].tolist(), nan_ok=True)


def test_isolation_forest_isolates_the_odd_point_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.standard_normal((500, 2)), [[8.0, 8.0]]])
    forest = IsolationForest(trees=50, sample=128, seed=1).fit(x)
    scores = forest.score(x)
    assert scores.argmax() == 500 and scores[500] > 0.75 and np.median(scores) < 0.5
    again = IsolationForest(trees=50, sample=128, seed=1).fit(x).score(x)
    assert (again == scores).all()
    assert detect(goog(), AnomalySettings(trees=0)) == []
