"""Training: stored bars -> features and labels -> walk-forward out-of-sample scores -> a final LightGBM model.

Every run is deterministic for a seed: LightGBM runs with ``deterministic=True``, one thread and fixed seeds, and
the rows, folds and parameters follow from the data and the options alone.

The look-ahead check (:func:`alphintra.ml.leakage.check_no_lookahead`) runs before anything is fitted: a feature
set that reads later bars is refused, not trained on.
"""

from __future__ import annotations

import hashlib
import math
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from alphintra.errors import NotFoundError, ValidationError
from alphintra.formatting import iso_ns
from alphintra.ml.featureset import FeatureSet, compute_batch
from alphintra.ml.labels import LabelSpec, make_labels
from alphintra.ml.leakage import check_no_lookahead, check_splits, walk_forward

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

Task = Literal["classification", "regression"]
MIN_ROWS = 150

DEFAULT_PARAMS: dict[str, Any] = {
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
}
NUM_TREES = 100


@dataclass(frozen=True, slots=True)
class DataSpec:
    symbol: str
    timeframe: str
    exchange: str | None = None
    start: str | None = None
    end: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "exchange": self.exchange,
            "start": _iso(self.start, "--start"),
            "end": _iso(self.end, "--end"),
        }


def _iso(text: str | None, field: str) -> str | None:
    """A bound as typed (``2012-01-01``) as ISO-8601 UTC, like every time in the JSON outputs."""
    from alphintra.storage.market.schema import to_ns

    return None if text is None else iso_ns(to_ns(text, field))


def load_bars(
    spec: DataSpec, feature_set: FeatureSet, root: Any = None
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The traded symbol's bars and those of every symbol the set reads; exit-2 errors when any is missing."""
    from alphintra.storage.market import MarketData

    reader = MarketData(root)
    frames: dict[str, pl.DataFrame] = {}
    for symbol in [spec.symbol, *feature_set.other_symbols]:
        try:
            frames[symbol] = reader.bars(symbol, spec.timeframe, exchange=spec.exchange, start=spec.start, end=spec.end)
        except NotFoundError as exc:
            raise ValidationError(
                "--symbol", f"has no stored bars: {exc.message} (try `alphintra data sample` or `data import`)", symbol
            ) from None
        if frames[symbol].height == 0:
            raise ValidationError("--symbol", f"has no {spec.timeframe} bars in the chosen range", symbol)
    bars = frames.pop(spec.symbol)
    return bars, frames


def data_hash(bars: pl.DataFrame) -> str:
    """SHA-256 of the bars' times and prices: two trainings on the same rows share it."""
    import numpy as np

    digest = hashlib.sha256()
    digest.update(bars["time"].dt.epoch("ns").to_numpy().astype(np.int64).tobytes())
    for column in ("open", "high", "low", "close", "volume"):
        digest.update(bars[column].cast(float).to_numpy().astype(np.float64).tobytes())
    return digest.hexdigest()


@dataclass(slots=True)
class Dataset:
    names: list[str]
    times: np.ndarray  # ns, per row
    x: np.ndarray
    cls: np.ndarray
    ret: np.ndarray
    ends: np.ndarray  # row position of the last row whose bar the label read

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])


def build_dataset(
    feature_set: FeatureSet, bars: pl.DataFrame, others: Mapping[str, pl.DataFrame], label: LabelSpec
) -> Dataset:
    import numpy as np

    bars = bars.sort("time")
    features = compute_batch(feature_set, bars, others)
    labels = make_labels(bars, label)
    x = features.select(feature_set.names).to_numpy().astype(np.float64)
    keep = ~np.isnan(x).any(axis=1) & labels.known
    kept = np.flatnonzero(keep)
    # A label's last bar as a row position among the kept rows: the last kept row at or before that bar.
    ends = np.searchsorted(kept, labels.ends[kept], side="right") - 1
    times = features["time"].dt.epoch("ns").to_numpy().astype(np.int64)[kept]
    return Dataset(feature_set.names, times, x[kept], labels.cls[kept], labels.ret[kept], ends)


@dataclass(slots=True)
class TrainResult:
    booster: Any
    task: Task
    params: dict[str, Any]
    num_trees: int
    metrics: dict[str, Any]
    folds: list[dict[str, Any]]
    importance: dict[str, float]
    oof: np.ndarray  # out-of-sample predictions of the walk-forward test rows (NaN elsewhere)
    train_predictions: np.ndarray  # the final model's predictions on its own rows (drift reference)
    extra: dict[str, Any] = field(default_factory=dict)


def lgb_params(task: Task, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    merged = {**DEFAULT_PARAMS, **params}
    return {
        **merged,
        "objective": "binary" if task == "classification" else "regression",
        "seed": seed,
        "bagging_seed": seed,
        "feature_fraction_seed": seed,
        "data_random_seed": seed,
        "deterministic": True,
        "num_threads": 1,
        "force_col_wise": True,
        "verbose": -1,
    }


def _fit(lgb: Any, params: dict[str, Any], x: np.ndarray, y: np.ndarray, names: list[str], trees: int) -> Any:
    return lgb.train(params, lgb.Dataset(x, label=y, feature_name=names), num_boost_round=trees)


def train(
    data: Dataset,
    *,
    task: Task = "classification",
    params: Mapping[str, Any] | None = None,
    num_trees: int = NUM_TREES,
    seed: int = 7,
    folds: int = 5,
    embargo: int = 0,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Walk-forward scores (``folds`` test blocks, purged by the label horizon, embargoed) and a final model on all
    rows. ``progress(1)`` is called after each fit (``folds + 1`` in all)."""
    import lightgbm as lgb
    import numpy as np

    from alphintra.ml.evaluate import scores

    if task not in ("classification", "regression"):
        raise ValidationError("--task", "must be classification or regression", task)
    if data.rows < MIN_ROWS:
        raise ValidationError(
            "rows", f"too few rows to train on: {data.rows} usable, need at least {MIN_ROWS}", data.rows
        )
    if task == "classification" and len(set(data.cls.tolist())) < 2:
        raise ValidationError("label", "has one class only in these rows: nothing to learn", data.rows)
    p = lgb_params(task, params or {}, seed)
    y = data.cls if task == "classification" else data.ret
    oof = np.full(data.rows, np.nan)
    fold_rows: list[dict[str, Any]] = []
    min_train = max(MIN_ROWS // 2, data.rows // (folds + 1))
    for split in walk_forward(data.ends, folds, embargo=embargo, min_train=min_train):
        check_splits(data.ends, split, embargo)
        if task == "classification" and len(set(y[split.train].tolist())) < 2:
            continue
        model = _fit(lgb, p, data.x[split.train], y[split.train], data.names, num_trees)
        oof[split.test] = model.predict(data.x[split.test], num_threads=1)
        fold: dict[str, Any] = dict(split.to_dict())
        fold |= {
            k: v
            for k, v in scores(task, data.cls[split.test], oof[split.test], data.ret[split.test]).items()
            if k in ("auc", "hit_rate", "ic")
        }
        fold["test_first_time"], fold["test_last_time"] = (
            iso_ns(int(data.times[split.test[0]])),
            iso_ns(int(data.times[split.test[-1]])),
        )
        fold_rows.append(fold)
        if progress:
            progress(1)
    tested = ~np.isnan(oof)
    metrics = scores(task, data.cls[tested], oof[tested], data.ret[tested])
    metrics["folds"] = len(fold_rows)
    booster = _fit(lgb, p, data.x, y, data.names, num_trees)
    if progress:
        progress(1)
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    importance = {
        name: float(g) / total for name, g in sorted(zip(data.names, gains, strict=True), key=lambda item: -item[1])
    }
    fitted = booster.predict(data.x, num_threads=1)
    return TrainResult(booster, task, p, num_trees, metrics, fold_rows, importance, oof, fitted)


def library_versions() -> dict[str, str]:
    import lightgbm
    import numpy
    import polars

    from alphintra import __version__

    return {
        "alphintra": __version__,
        "lightgbm": lightgbm.__version__,
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "python": platform.python_version(),
    }


def clean_metrics(data: Any) -> Any:
    """NaN and infinities as None, so metrics are valid JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: clean_metrics(v) for k, v in data.items()}
    if isinstance(data, list):
        return [clean_metrics(v) for v in data]
    return data


def prepare(
    feature_set: FeatureSet, spec: DataSpec, label: LabelSpec, *, root: Any = None, check: bool = True
) -> tuple[Dataset, pl.DataFrame, dict[str, pl.DataFrame]]:
    """Load the bars, refuse a leaky feature set, build the rows."""
    bars, others = load_bars(spec, feature_set, root)
    if bars.height < MIN_ROWS:
        raise ValidationError(
            "rows", f"too few bars: {bars.height} stored in range, need at least {MIN_ROWS}", bars.height
        )
    if check:
        check_no_lookahead(feature_set, bars, others)
    return build_dataset(feature_set, bars, others, label), bars, others


__all__ = [
    "DEFAULT_PARAMS",
    "MIN_ROWS",
    "DataSpec",
    "Dataset",
    "TrainResult",
    "build_dataset",
    "clean_metrics",
    "data_hash",
    "lgb_params",
    "library_versions",
    "load_bars",
    "prepare",
    "train",
]
