"""Drift: has the data a model now sees moved away from what it was trained on?

For each feature and for the model's predictions, the live values are compared with the training reference
stored beside the model (``reference.json``):

* **PSI** (population stability index) over ten bins cut at the reference's deciles:
  ``sum((live - ref) * ln(live / ref))`` of the bins' shares (each floored at 1e-4 so an empty bin stays finite).
  The usual reading: below 0.1 stable, 0.1-0.25 a warning, above 0.25 drift.
* **KS**, the two-sample Kolmogorov-Smirnov statistic ``D`` (largest gap between the two empirical distribution
  functions) and its asymptotic p-value. With thousands of rows a tiny, harmless difference is "significant", so
  KS only counts as drift when the p-value is below ``ks_p`` *and* ``D`` is at least ``ks_d``. The p-value assumes
  independent rows, and features of consecutive bars are not (an RSI(14) today is mostly yesterday's): the sample
  sizes are shrunk to their effective size under an AR(1) model, ``n·(1 - ρ)/(1 + ρ)`` with ``ρ`` the live
  values' lag-1 autocorrelation, or a window of a perfectly calm market would read as drift.

And the **live hit rate**: the share of predictions whose direction the market then followed, against the
model's out-of-sample hit rate in training; a fall of more than ``hit_rate_drop`` (over at least
``min_rows`` rows) is drift too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

REFERENCE_ROWS = 2000
PSI_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    psi_warning: float = 0.1
    psi_breach: float = 0.25
    ks_p: float = 0.001
    ks_d: float = 0.1
    hit_rate_drop: float = 0.1
    min_rows: int = 50

    def to_dict(self) -> dict[str, float]:
        return {
            "psi_warning": self.psi_warning,
            "psi_breach": self.psi_breach,
            "ks_p": self.ks_p,
            "ks_d": self.ks_d,
            "hit_rate_drop": self.hit_rate_drop,
            "min_rows": self.min_rows,
        }


def sample(values: np.ndarray, rows: int = REFERENCE_ROWS) -> list[float]:
    """At most ``rows`` values spread evenly over ``values`` (time order kept out: the reference is a distribution)."""
    import numpy as np

    clean = values[~np.isnan(values)]
    if clean.size > rows:
        clean = clean[np.linspace(0, clean.size - 1, rows).astype(int)]
    return sorted(float(v) for v in clean)


def psi(reference: np.ndarray, live: np.ndarray, bins: int = 10) -> float:
    import numpy as np

    if reference.size == 0 or live.size == 0:
        return math.nan
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    live_counts = np.bincount(np.searchsorted(edges, live, side="right"), minlength=edges.size + 1)
    ref_share = np.maximum(ref_counts / reference.size, PSI_FLOOR)
    live_share = np.maximum(live_counts / live.size, PSI_FLOOR)
    return float(np.sum((live_share - ref_share) * np.log(live_share / ref_share)))


def effective_fraction(values: np.ndarray) -> float:
    """``(1 - ρ)/(1 + ρ)`` for the lag-1 autocorrelation ρ of ``values`` in time order (1 when ρ <= 0)."""
    import numpy as np

    if values.size < 3 or values.std() == 0:
        return 1.0
    rho = float(np.corrcoef(values[:-1], values[1:])[0, 1])
    if not math.isfinite(rho) or rho <= 0:
        return 1.0
    return max(0.01, (1.0 - rho) / (1.0 + rho))


def ks(reference: np.ndarray, live: np.ndarray, fraction: float = 1.0) -> tuple[float, float]:
    """(D, p-value) of the two-sample Kolmogorov-Smirnov test (asymptotic distribution, Stephens' correction),
    the sample sizes taken as ``fraction`` of the row counts (see :func:`effective_fraction`)."""
    import numpy as np

    n, m = reference.size, live.size
    if n == 0 or m == 0:
        return math.nan, math.nan
    a, b = np.sort(reference), np.sort(live)
    points = np.concatenate([a, b])
    d = float(
        np.max(np.abs(np.searchsorted(a, points, side="right") / n - np.searchsorted(b, points, side="right") / m))
    )
    effective = math.sqrt(fraction * n * m / (n + m))
    lam = (effective + 0.12 + 0.11 / effective) * d
    if lam < 1e-3:
        return d, 1.0
    p = 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam) for k in range(1, 101))
    return d, float(min(1.0, max(0.0, p)))


@dataclass(slots=True)
class DriftReport:
    model: str
    version: int
    rows: int
    thresholds: DriftThresholds
    features: list[dict[str, Any]] = field(default_factory=list)
    predictions: dict[str, Any] = field(default_factory=dict)
    hit_rate: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        found = [f["name"] for f in self.features if f["level"] == "BREACH"]
        if self.predictions.get("level") == "BREACH":
            found.append("prediction")
        if self.hit_rate.get("level") == "BREACH":
            found.append("hit_rate")
        return found

    @property
    def level(self) -> str:
        if self.drifted:
            return "BREACH"
        levels = [f["level"] for f in self.features] + [self.predictions.get("level", "OK")]
        return "WARNING" if "WARNING" in levels else "OK"

    def risk_alert(self) -> dict[str, Any]:
        """The risk alert this report raises (rule ``ml_drift``): WARNING when anything drifted, INFO when nothing
        does (the drift is gone); the largest feature PSI against the breach threshold, as plain decimal strings."""
        worst = max((f["psi"] for f in self.features if math.isfinite(f["psi"])), default=0.0)
        head = f"model {self.model} v{self.version}"
        what = f"drift in {', '.join(self.drifted)}" if self.drifted else "no drift any more"
        return {
            "rule": "ml_drift",
            "severity": "WARNING" if self.drifted else "INFO",
            "message": f"{head}: {what} over {self.rows} rows "
            f"(largest feature PSI {worst:.3f}, threshold {self.thresholds.psi_breach})",
            "value": format(Decimal(repr(round(worst, 6))), "f"),
            "threshold": format(Decimal(repr(self.thresholds.psi_breach)), "f"),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "rows": self.rows,
            "level": self.level,
            "drift": bool(self.drifted),
            "drifted": self.drifted,
            "thresholds": self.thresholds.to_dict(),
            "features": self.features,
            "predictions": self.predictions,
            "hit_rate": self.hit_rate,
        }


def compare(name: str, reference: np.ndarray, live: np.ndarray, thresholds: DriftThresholds) -> dict[str, Any]:
    value = psi(reference, live)
    d, p = ks(reference, live, effective_fraction(live))
    ks_drift = p < thresholds.ks_p and d >= thresholds.ks_d
    if value >= thresholds.psi_breach or ks_drift:
        level = "BREACH"
    elif value >= thresholds.psi_warning:
        level = "WARNING"
    else:
        level = "OK"
    return {"name": name, "psi": value, "ks": d, "ks_p": p, "level": level}


def drift_report(
    model: str,
    version: int,
    reference: dict[str, Any],
    live_features: dict[str, np.ndarray],
    live_predictions: np.ndarray,
    live_hits: np.ndarray | None,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    import numpy as np

    limits = thresholds or DriftThresholds()
    rows = int(live_predictions.size)
    report = DriftReport(model, version, rows, limits)
    for name, values in live_features.items():
        ref = np.asarray(reference["features"][name], dtype=np.float64)
        report.features.append(compare(name, ref, values[~np.isnan(values)], limits))
    ref_pred = np.asarray(reference["predictions"], dtype=np.float64)
    report.predictions = compare("prediction", ref_pred, live_predictions, limits)
    trained = reference.get("hit_rate")
    if live_hits is not None and live_hits.size:
        live_rate = float(live_hits.mean())
        enough = live_hits.size >= limits.min_rows
        fell = trained is not None and enough and live_rate < trained - limits.hit_rate_drop
        report.hit_rate = {
            "live": live_rate,
            "training": trained,
            "rows": int(live_hits.size),
            "level": "BREACH" if fell else "OK",
        }
    return report


__all__ = ["DriftReport", "DriftThresholds", "compare", "drift_report", "effective_fraction", "ks", "psi", "sample"]
