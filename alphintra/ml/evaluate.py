"""Scores of out-of-sample predictions: AUC, log loss, hit rate, information coefficient, calibration.

All functions take numpy arrays and return plain floats (NaN when a score is undefined, e.g. AUC with one class),
so they serve training, ``ml evaluate`` and the live monitor alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    start = 0
    for stop in range(1, values.size + 1):
        if stop == values.size or sorted_values[stop] != sorted_values[start]:
            ranks[order[start:stop]] = (start + stop + 1) / 2.0
            start = stop
    return ranks


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U over ranks, ties counted half)."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = _ranks(scores)
    rank_sum = float(ranks[labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(labels: np.ndarray, probabilities: np.ndarray, eps: float = 1e-15) -> float:
    import numpy as np

    if labels.size == 0:
        return math.nan
    p = np.clip(probabilities, eps, 1 - eps)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def hit_rate(predicted_up: np.ndarray, went_up: np.ndarray) -> float:
    return float((predicted_up == went_up).mean()) if predicted_up.size else math.nan


def information_coefficient(scores: np.ndarray, returns: np.ndarray) -> float:
    """Spearman rank correlation of the predictions with the realised forward returns."""
    import numpy as np

    if scores.size < 3:
        return math.nan
    a, b = _ranks(scores), _ranks(returns)
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def calibration(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability table (equal-width bins of the predicted probability) and the expected calibration error."""
    import numpy as np

    rows = []
    ece = 0.0
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        if not count:
            continue
        predicted = float(probabilities[mask].mean())
        observed = float(labels[mask].mean())
        ece += count / labels.size * abs(predicted - observed)
        rows.append(
            {"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "rows": count, "predicted": predicted, "observed": observed}
        )
    return {"ece": ece, "bins": rows}


def classification_scores(labels: np.ndarray, probabilities: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    return {
        "rows": int(labels.size),
        "base_rate": float(labels.mean()) if labels.size else math.nan,
        "auc": auc(labels, probabilities),
        "log_loss": log_loss(labels, probabilities),
        "hit_rate": hit_rate((probabilities > 0.5).astype(float), labels),
        "ic": information_coefficient(probabilities, returns),
        "calibration": calibration(labels, probabilities),
    }


def regression_scores(labels: np.ndarray, predictions: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    import numpy as np

    return {
        "rows": int(labels.size),
        "base_rate": float(labels.mean()) if labels.size else math.nan,
        "auc": auc(labels, predictions),
        "hit_rate": hit_rate((predictions > 0).astype(float), labels),
        "ic": information_coefficient(predictions, returns),
        "rmse": float(np.sqrt(np.mean((predictions - returns) ** 2))) if returns.size else math.nan,
    }


def scores(task: str, labels: np.ndarray, predictions: np.ndarray, returns: np.ndarray) -> dict[str, Any]:
    if task == "classification":
        return classification_scores(labels, predictions, returns)
    return regression_scores(labels, predictions, returns)


__all__ = [
    "auc",
    "calibration",
    "classification_scores",
    "hit_rate",
    "information_coefficient",
    "log_loss",
    "regression_scores",
    "scores",
]
