"""The steps the ``ml`` commands run, end to end: train and register, predict, evaluate, check for drift."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alphintra.errors import ValidationError
from alphintra.ml.featureset import FeatureSet, compute_batch
from alphintra.ml.labels import LabelSpec, make_labels
from alphintra.ml.registry import LoadedModel, ModelVersion, Registry, load, now_iso
from alphintra.ml.train import (
    MIN_ROWS,
    DataSpec,
    Task,
    clean_metrics,
    data_hash,
    library_versions,
    load_bars,
    prepare,
    train,
)

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from alphintra.ml.drift import DriftReport, DriftThresholds


@dataclass(frozen=True, slots=True)
class TrainOptions:
    task: Task = "classification"
    label: LabelSpec = field(default_factory=LabelSpec)
    params: Mapping[str, Any] | None = None
    num_trees: int = 100
    seed: int = 7
    folds: int = 5
    embargo: int = 0


def _iso(ns: int) -> str:
    from alphintra.formatting import iso_ns

    return str(iso_ns(ns))


def train_and_register(
    name: str,
    feature_set: FeatureSet,
    data: DataSpec,
    options: TrainOptions,
    *,
    registry: Registry | None = None,
    market_root: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ModelVersion:
    """Check the set for look-ahead, train walk-forward, and save the final model as the next version."""
    import numpy as np

    from alphintra.ml.drift import sample

    dataset, bars, others = prepare(feature_set, data, options.label, root=market_root)
    result = train(
        dataset,
        task=options.task,
        params=options.params,
        num_trees=options.num_trees,
        seed=options.seed,
        folds=options.folds,
        embargo=options.embargo,
        progress=progress,
    )
    tested = ~np.isnan(result.oof)
    up = result.oof[tested] > (0.5 if options.task == "classification" else 0.0)
    meta = {
        "created_at": now_iso(),
        "task": options.task,
        "feature_set": {
            "name": feature_set.name,
            "version": feature_set.version,
            "fingerprint": feature_set.fingerprint,
            "features": feature_set.names,
            "definition": feature_set.to_dict(),
        },
        "label": options.label.to_dict(),
        "data": {
            **data.to_dict(),
            "other_symbols": feature_set.other_symbols,
            "first": _iso(int(dataset.times[0])),
            "last": _iso(int(dataset.times[-1])),
            "bars": bars.height,
            "rows": dataset.rows,
            "sha256": data_hash(bars),
            "others_sha256": {s: data_hash(f) for s, f in others.items()},
        },
        "params": {k: v for k, v in result.params.items() if k != "verbose"},
        "num_trees": result.num_trees,
        "seed": options.seed,
        "splits": {
            "scheme": "walk_forward",
            "folds": options.folds,
            "embargo": options.embargo,
            "purge": "label horizon",
        },
        "metrics": clean_metrics(result.metrics),
        "folds": clean_metrics(result.folds),
        "importance": result.importance,
        "libraries": library_versions(),
    }
    reference = {
        "features": {n: sample(dataset.x[:, j]) for j, n in enumerate(dataset.names)},
        "predictions": sample(result.train_predictions),
        "hit_rate": float((up == (dataset.cls[tested] == 1.0)).mean()) if tested.any() else None,
    }
    return (registry or Registry()).save(name, result.booster.model_to_string(), meta, reference)


@dataclass(slots=True)
class Predictions:
    times: np.ndarray
    features: pl.DataFrame  # the rows with every feature defined
    values: np.ndarray
    labels_cls: np.ndarray  # NaN where the label is not known yet
    labels_ret: np.ndarray


def predict_range(
    model: LoadedModel, data: DataSpec, *, market_root: Any = None, label: LabelSpec | None = None
) -> Predictions:
    """The model's predictions over stored bars (batch features), with the realised labels where known."""
    import numpy as np

    bars, others = load_bars(data, model.feature_set, market_root)
    bars = bars.sort("time")
    features = compute_batch(model.feature_set, bars, others)
    spec = label or LabelSpec.from_dict(model.version.meta["label"])
    labels = make_labels(bars, spec)
    x = features.select(model.feature_set.names).to_numpy().astype(np.float64)
    keep = np.asarray(~np.isnan(x).any(axis=1), dtype=np.bool_)  # an array for polars' filter (its typing asks)
    if not keep.any():
        raise ValidationError(
            "rows", "no bar in the range has every feature defined (too few bars for the warm-up)", bars.height
        )
    values = model.booster().predict(x[keep], num_threads=1)
    times = features["time"].dt.epoch("ns").to_numpy().astype(np.int64)[keep]
    return Predictions(times, features.filter(keep), values, labels.cls[keep], labels.ret[keep])


def evaluate(model: LoadedModel, data: DataSpec, *, market_root: Any = None) -> dict[str, Any]:
    """Scores of the model on a range of stored bars (out of sample when the range follows its training data)."""
    import numpy as np

    from alphintra.ml.evaluate import scores

    found = predict_range(model, data, market_root=market_root)
    known = ~np.isnan(found.labels_cls)
    if known.sum() < 10:
        raise ValidationError("rows", f"too few labelled rows to evaluate: {int(known.sum())}", int(known.sum()))
    result = scores(model.task, found.labels_cls[known], found.values[known], found.labels_ret[known])
    result["first"], result["last"] = _iso(int(found.times[0])), _iso(int(found.times[-1]))
    return clean_metrics(result)  # type: ignore[no-any-return]


def drift(
    model: LoadedModel, data: DataSpec, *, thresholds: DriftThresholds | None = None, market_root: Any = None
) -> DriftReport:
    """Compare the features and predictions over a range of stored bars with the model's training reference."""
    import numpy as np

    from alphintra.ml.drift import drift_report

    found = predict_range(model, data, market_root=market_root)
    if found.values.size < 30:
        raise ValidationError(
            "rows", f"too few rows to measure drift: {found.values.size}, need at least 30", found.values.size
        )
    live = {n: found.features[n].to_numpy().astype(np.float64) for n in model.feature_set.names}
    known = ~np.isnan(found.labels_cls)
    cut = 0.5 if model.task == "classification" else 0.0
    hits = (found.values[known] > cut) == (found.labels_cls[known] == 1.0)
    return drift_report(
        model.version.name, model.version.version, model.reference(), live, found.values, hits, thresholds
    )


def compare_versions(
    name: str,
    versions: list[int],
    symbols: tuple[str, ...],
    timeframe: str,
    *,
    start: str | None = None,
    end: str | None = None,
    exchange: str | None = None,
    params: Mapping[str, Any] | None = None,
    paper_speed: float | None = None,
    market_root: Any = None,
) -> dict[str, Any]:
    """A/B: each version of ``name`` runs the ``ml`` strategy on the same bars and account settings -- a backtest,
    or with ``paper_speed`` a paper replay (the bars' own times, paced at that speed) -- and one report puts
    their results side by side, with how often the versions' predictions pointed the same way."""
    import numpy as np

    from alphintra.ml.serving import MlStrategy
    from alphintra.storage.market import MarketData
    from alphintra.strategies.backtest import Backtest, BacktestConfig, load_frames
    from alphintra.strategies.paper import paper_session

    if len(set(versions)) < 2:
        raise ValidationError("versions", "name at least two different versions to compare", versions)
    models = {version: load(name, version) for version in versions}  # refused before anything runs
    runs: list[dict[str, Any]] = []
    predictions: dict[int, dict[int, float]] = {}
    frames: Mapping[str, pl.DataFrame] | None = None
    for version in versions:
        config = BacktestConfig(
            "ml",
            symbols,
            timeframe,
            params={**(params or {}), "model": name, "version": version},
            start=start,
            end=end,
            exchange=exchange,
        )
        if frames is None:
            frames = load_frames(MarketData(market_root), config)
        session = Backtest(config, frames) if paper_speed is None else paper_session(config, frames, speed=paper_speed)
        result = session.run()
        strategy = session.strategy
        assert isinstance(strategy, MlStrategy)
        predictions[version] = dict(strategy.predictions)
        metrics = result.metrics
        runs.append(
            {
                "version": version,
                "mode": result.mode,
                "run_id": result.run_id,
                "end_equity": metrics.end_equity,
                "total_return": metrics.total_return,
                "sharpe": metrics.sharpe,
                "max_drawdown": metrics.max_drawdown,
                "num_trades": metrics.num_trades,
                "win_rate": metrics.win_rate,
                "predictions": len(strategy.predictions),
                "latency_p99_us": strategy.latency()["p99_us"],
                "drifting_when_done": bool(strategy.monitor is not None and strategy.monitor.drifting),
            }
        )
    first, *others = versions
    cut = 0.5 if models[first].task == "classification" else 0.0
    agreement: dict[str, Any] = {}
    for other in others:
        common = sorted(set(predictions[first]) & set(predictions[other]))
        if not common:
            continue
        a = np.array([predictions[first][t] for t in common])
        b = np.array([predictions[other][t] for t in common])
        same_task = models[other].task == models[first].task
        agreement[f"v{first}_vs_v{other}"] = {
            "rows": len(common),
            "same_direction": float(((a > cut) == (b > cut)).mean()) if same_task else None,
            "correlation": float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else None,
        }
    report = {"model": name, "symbols": list(symbols), "timeframe": timeframe, "runs": runs, "agreement": agreement}
    return clean_metrics(report)  # type: ignore[no-any-return]


__all__ = [
    "MIN_ROWS",
    "Predictions",
    "TrainOptions",
    "compare_versions",
    "drift",
    "evaluate",
    "load",
    "predict_range",
    "train_and_register",
]
