"""Hyper-parameter search for LightGBM through the project's optimiser (grid or seeded random search, in worker
processes): each parameter set is scored by the walk-forward out-of-sample metrics of :func:`alphintra.ml.train.train`,
the same purged, embargoed splits as a training run. The data set is built (and checked for look-ahead) once and
sent to each worker once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from alphintra.errors import ValidationError
from alphintra.ml.featureset import FeatureSet
from alphintra.ml.train import Dataset, DataSpec, Task, prepare, train

SEARCHABLE = {
    "num_trees",
    "num_leaves",
    "learning_rate",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "lambda_l1",
    "lambda_l2",
    "max_depth",
    "min_gain_to_split",
}
MAXIMISE = {"auc": True, "hit_rate": True, "ic": True, "log_loss": False, "ece": False, "rmse": False}


def objective(
    params: dict[str, Any], data: Dataset, task: Task, seed: int, folds: int, embargo: int, num_trees: int
) -> dict[str, Any]:
    """One parameter set's walk-forward scores (a top-level function: the optimiser pickles it to its workers)."""
    chosen = dict(params)
    trees = int(chosen.pop("num_trees", num_trees))
    result = train(data, task=task, params=chosen, num_trees=trees, seed=seed, folds=folds, embargo=embargo)
    scores = {k: v for k, v in result.metrics.items() if isinstance(v, int | float)}
    if "calibration" in result.metrics:
        scores["ece"] = result.metrics["calibration"]["ece"]
    return scores


def search(
    feature_set: FeatureSet,
    data: DataSpec,
    specs: Sequence[str],
    *,
    label: Any,
    task: Task = "classification",
    metric: str = "auc",
    samples: int | None = None,
    seed: int = 7,
    folds: int = 5,
    embargo: int = 0,
    num_trees: int = 100,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """(the optimiser's SearchResult, the best parameters by ``metric``)."""
    from alphintra.strategies.optimize import grid_search, parse_space, random_search

    if metric not in MAXIMISE:
        raise ValidationError("--metric", f"must be one of {', '.join(sorted(MAXIMISE))}", metric)
    space = parse_space(specs)
    unknown = sorted(set(space.names) - SEARCHABLE)
    if unknown:
        raise ValidationError("--param", f"must name LightGBM parameters: {', '.join(sorted(SEARCHABLE))}", unknown)
    dataset, _, _ = prepare(feature_set, data, label)
    args = (dataset, task, seed, folds, embargo, num_trees)
    if samples:
        result = random_search(objective, space, samples, seed=seed, args=args, workers=workers, progress=progress)
    else:
        result = grid_search(objective, space, args=args, workers=workers, progress=progress)
    return result, result.best(metric, maximize=MAXIMISE[metric])


__all__ = ["MAXIMISE", "SEARCHABLE", "objective", "search"]
