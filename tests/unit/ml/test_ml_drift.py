"""Drift: PSI and KS against their definitions; a shifted series drifts, an unshifted one of the same process does
not; a fallen live hit rate counts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ml_data import stationary

from alphintra.ml.drift import DriftThresholds, drift_report, ks, psi
from alphintra.ml.featureset import resolve
from alphintra.ml.pipeline import TrainOptions, drift, train_and_register
from alphintra.ml.registry import load
from alphintra.ml.train import DataSpec


def test_psi_and_ks_definitions() -> None:
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(4000)
    assert psi(ref, ref) == 0.0
    assert psi(ref, rng.standard_normal(4000)) < 0.02
    shifted = rng.standard_normal(4000) + 1.0
    assert psi(ref, shifted) > 0.5
    # Hand computed: half the reference below 0, all of the live values above.
    two = psi(np.array([-1.0, -1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0]), bins=2)
    assert two == pytest.approx((1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5))
    d, _ = ks(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.5, 4.5, 5.5, 6.5]))
    assert d == pytest.approx(0.75)
    d_same, p_same = ks(ref, rng.standard_normal(4000))
    assert d_same < 0.05 and p_same > 0.01
    d_far, p_far = ks(ref, shifted)
    assert d_far > 0.3 and p_far < 1e-12


def test_hit_rate_fall_is_drift() -> None:
    ref = {"features": {"a": [0.0, 1.0, 2.0]}, "predictions": list(np.linspace(0, 1, 100)), "hit_rate": 0.6}
    feats = {"a": np.array([0.0, 1.0, 2.0] * 30)}
    preds = np.linspace(0, 1, 90)
    ok = drift_report("m", 1, ref, feats, preds, np.array([1.0] * 55 + [0.0] * 45))
    bad = drift_report("m", 1, ref, feats, preds, np.array([1.0] * 40 + [0.0] * 60))
    assert ok.hit_rate["level"] == "OK" and "hit_rate" not in ok.drifted
    assert bad.hit_rate["level"] == "BREACH" and bad.drifted == ["hit_rate"]
    few = drift_report("m", 1, ref, feats, preds, np.zeros(10), DriftThresholds(min_rows=50))
    assert few.hit_rate["level"] == "OK"


def test_shifted_series_drifts_and_unshifted_does_not(isolated_home: Path) -> None:
    from alphintra.storage.market import MarketStore

    base = stationary(6000, 1)
    last = float(base["close"][3999])
    calm = base  # the same process all along
    wild = pl.concat(
        [
            base.head(4000).with_columns(pl.lit("WILD").alias("symbol")),
            stationary(2000, 2, vol=0.004, volume_scale=8.0, start_price=last, first=4000, symbol="WILD"),
        ]
    )
    with MarketStore(isolated_home / "market") as store:
        store.write_bars(calm, timeframe="1m")
        store.write_bars(wild, timeframe="1m")
    cut = str(base["time"][4000])
    train_and_register("calm", resolve("minimal"), DataSpec("GBM", "1m", end=cut), TrainOptions(num_trees=20, folds=3))
    model = load("calm", 1)
    quiet = drift(model, DataSpec("GBM", "1m", start=cut))
    assert quiet.drifted == [] and quiet.level in ("OK", "WARNING")
    loud = drift(model, DataSpec("WILD", "1m", start=cut))
    assert {"ret_1", "atr_pct", "range"} <= set(loud.drifted)
    data = loud.to_dict()
    assert data["drift"] is True and data["level"] == "BREACH"
