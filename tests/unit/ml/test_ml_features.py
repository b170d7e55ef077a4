"""Feature sets: batch (training) and bar-by-bar (serving) forms agree to 1e-9, on GOOG daily and on minute bars
with a cross-asset feature; definitions are named, versioned and fingerprinted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ml_data import goog, minute

from alphintra.errors import UnknownNameError, ValidationError
from alphintra.ml.featureset import (
    FeatureSet,
    FeatureSpec,
    compute_batch,
    compute_incremental,
    load_toml,
    resolve,
)
from alphintra.strategies.indicators import INDICATORS


def _agree(fs: FeatureSet, bars: pl.DataFrame, others: dict[str, pl.DataFrame] | None = None) -> int:
    batch = compute_batch(fs, bars, others)
    rows = compute_incremental(fs, bars, others)
    assert len(rows) == bars.height
    for j, name in enumerate(fs.names):
        a = batch[name].to_numpy().astype(np.float64)
        b = np.array([np.nan if r[j] is None else r[j] for r in rows])
        assert (np.isnan(a) == np.isnan(b)).all(), f"{name}: warm-up differs"
        both = ~np.isnan(a)
        assert both.sum() > bars.height // 2, name
        assert np.max(np.abs(a[both] - b[both])) <= 1e-9, name
    return int(batch.drop_nulls().height)


def test_core_set_batch_and_serving_agree_on_goog_daily() -> None:
    fs = resolve("full")
    usable = _agree(fs, goog())
    assert usable == goog().height - 33  # the longest warm-up: MACD's 33 bars
    # Every built-in indicator is in the set.
    used = {spec.params["indicator"] for spec in fs.features if spec.kind == "indicator"}
    assert used == set(INDICATORS)


def test_cross_asset_feature_agrees_on_minute_bars_and_lags_one_instant() -> None:
    data = minute(("SYN00", "SYN01"))
    fs = FeatureSet(
        "cross",
        1,
        (
            FeatureSpec("ret_1", "ret", {"horizon": 1}),
            FeatureSpec("other_ret_3", "xret", {"symbol": "SYN01", "horizon": 3}),
            FeatureSpec("hour_sin", "time", {"field": "hour_sin"}),
            FeatureSpec("vol", "vol", {"window": 30}),
        ),
    )
    assert fs.other_symbols == ["SYN01"]
    _agree(fs, data["SYN00"], {"SYN01": data["SYN01"]})
    batch = compute_batch(fs, data["SYN00"], {"SYN01": data["SYN01"]})
    close = data["SYN01"]["close"].to_list()
    # Row 10 of SYN00 reads SYN01 up to row 9 (the bar of the same instant is not used).
    assert batch["other_ret_3"][10] == pytest.approx(close[9] / close[6] - 1.0, abs=1e-15)


def test_feature_sets_are_versioned_and_fingerprinted(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nversion = 2\n[[features]]\nname = "r"\nkind = "ret"\nhorizon = 3\n'
        '[[features]]\nname = "rsi"\nkind = "indicator"\nindicator = "rsi"\ntransform = "pct"\n'
        "params = { period = 7 }\n"
    )
    fs = load_toml(path)
    assert (fs.label, fs.names) == ("mine@2", ["r", "rsi"])
    changed = FeatureSet("mine", 2, (fs.features[0], FeatureSpec("rsi", "indicator", {"indicator": "rsi"})))
    assert fs.fingerprint != changed.fingerprint
    assert resolve(str(path)).fingerprint == fs.fingerprint
    with pytest.raises(UnknownNameError, match="unknown feature set 'nope'"):
        resolve("nope")
    # other test modules register kinds of their own (test_peek, e2e_peek): the shipped ones are checked in order
    with pytest.raises(ValidationError, match=r"feature kind: must be one of: (\S+, )*indicator, range, ret, "):
        FeatureSet("bad", 1, (FeatureSpec("x", "magic"),))
    with pytest.raises(ValidationError, match="must be unique"):
        FeatureSet("bad", 1, (FeatureSpec("x", "range"), FeatureSpec("x", "range")))
