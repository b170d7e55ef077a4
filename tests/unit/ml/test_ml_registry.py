"""The model registry: versions with full metadata, promote/rollback, atomic owner-only files, and refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from ml_data import goog

from alphintra.errors import ConflictError, NotFoundError, UnknownNameError, ValidationError
from alphintra.ml.featureset import FeatureSet, FeatureSpec, register_feature_set, resolve
from alphintra.ml.labels import LabelSpec
from alphintra.ml.pipeline import TrainOptions, train_and_register
from alphintra.ml.registry import Registry, load
from alphintra.ml.train import DataSpec


def _store_goog(home: Path) -> None:
    from alphintra.storage.market import MarketStore

    with MarketStore(home / "market") as store:
        store.write_bars(goog(), timeframe="1d")


def test_versions_metadata_promote_rollback(isolated_home: Path) -> None:
    _store_goog(isolated_home)
    options = TrainOptions(num_trees=10, folds=3, label=LabelSpec("forward", 2))
    first = train_and_register("goog", resolve("minimal"), DataSpec("GOOG", "1d", end="2010-01-01"), options)
    second = train_and_register("goog", resolve("minimal"), DataSpec("GOOG", "1d"), options)
    assert (first.version, second.version) == (1, 2)
    meta = second.meta
    assert meta["feature_set"]["name"] == "minimal" and meta["feature_set"]["version"] == 1
    assert meta["feature_set"]["fingerprint"] == resolve("minimal").fingerprint
    assert meta["label"] == {"kind": "forward", "horizon": 2}
    assert (
        meta["data"]["symbol"] == "GOOG"
        and meta["data"]["first"].endswith("+00:00")
        and len(meta["data"]["sha256"]) == 64
    )
    assert meta["data"]["sha256"] != first.meta["data"]["sha256"]
    assert meta["params"]["deterministic"] is True and meta["params"]["num_threads"] == 1
    assert {"auc", "log_loss", "hit_rate", "ic", "calibration"} <= set(meta["metrics"])
    assert {"lightgbm", "numpy", "polars", "python", "alphintra"} <= set(meta["libraries"])
    folder = isolated_home / "models" / "goog" / "v0002"
    for name in ("model.txt", "meta.json", "reference.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert not list(folder.glob(".*tmp"))
    for private in (folder, folder.parent, isolated_home / "models"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700

    registry = Registry()
    with pytest.raises(NotFoundError, match="has no promoted version"):
        load("goog")
    registry.promote("goog", 1)
    registry.promote("goog", 2)
    assert load("goog").version.version == 2
    assert registry.rollback("goog")["promoted"] == 1
    assert load("goog").version.version == 1
    with pytest.raises(ConflictError, match="no earlier promoted version"):
        registry.rollback("goog")
    with pytest.raises(UnknownNameError, match="has no version 9"):
        registry.promote("goog", 9)
    with pytest.raises(UnknownNameError, match="unknown model 'nope'"):
        load("nope")
    with pytest.raises(UnknownNameError, match="unknown model 'nope'"):
        registry.rollback("nope")
    assert not (isolated_home / "models" / "nope").exists()
    # A version folder without meta.json (a training that crashed) is not a version, and its number is not reused.
    (isolated_home / "models" / "goog" / "v0003").mkdir()
    assert [v.version for v in registry.versions("goog")] == [1, 2]
    third = train_and_register("goog", resolve("minimal"), DataSpec("GOOG", "1d"), options)
    assert third.version == 4


def test_a_model_whose_feature_set_changed_or_file_was_altered_is_refused(isolated_home: Path) -> None:
    _store_goog(isolated_home)
    original = register_feature_set(
        FeatureSet("mutable", 1, (FeatureSpec("r1", "ret", {"horizon": 1}), FeatureSpec("rng", "range")))
    )
    options = TrainOptions(num_trees=5, folds=2)
    saved = train_and_register("m", original, DataSpec("GOOG", "1d"), options)
    assert load("m", 1).feature_set.fingerprint == original.fingerprint
    register_feature_set(
        FeatureSet("mutable", 1, (FeatureSpec("r1", "ret", {"horizon": 2}), FeatureSpec("rng", "range")))
    )
    try:
        with pytest.raises(ValidationError, match=r"does not match model m v1: it was trained on mutable@1"):
            load("m", 1)
    finally:
        register_feature_set(original)
    with pytest.raises(ValidationError, match="does not match model m v1"):
        load("m", 1, expected=resolve("minimal"))
    path = saved.folder / "model.txt"
    path.write_text(path.read_text().replace("num_leaves", "num_leaves ", 1))
    with pytest.raises(ConflictError, match=r"model\.txt does not match the hash"):
        load("m", 1)
    assert json.loads((saved.folder / "meta.json").read_text())["model_sha256"]
