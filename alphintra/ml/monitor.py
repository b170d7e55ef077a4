"""Live monitoring inside a serving strategy: drift of predictions and features, the live hit rate, and market-data
anomalies, bar by bar.

:class:`LiveMonitor` is fed each bar's features and prediction by the ``ml`` strategy. Every ``check_every``
predictions (once ``min_rows`` are in hand) it compares the newest ``window`` of them with the model's training
reference (PSI and KS, :mod:`alphintra.ml.drift`) and measures the hit rate of the predictions whose label horizon
has passed. It reports a *change* of state -- drift found, drift gone -- never the same state twice, so a signal
stream is not flooded. :class:`AnomalyWatch` applies the anomaly rules of :mod:`alphintra.ml.anomaly` that need
no future bar (a price jump, a range or volume spike) to each new bar as it closes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from alphintra.ml.anomaly import AnomalySettings
from alphintra.ml.drift import DriftReport, DriftThresholds, drift_report


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    window: int = 1000
    min_rows: int = 500
    check_every: int = 50


class LiveMonitor:
    def __init__(
        self,
        model: str,
        version: int,
        names: list[str],
        reference: dict[str, Any],
        *,
        horizon: int,
        classifier: bool,
        settings: MonitorSettings | None = None,
        thresholds: DriftThresholds | None = None,
    ) -> None:
        self.model, self.version, self.names, self.reference = model, version, names, reference
        self.horizon, self.classifier = horizon, classifier
        self.settings = settings or MonitorSettings()
        self.thresholds = thresholds or DriftThresholds()
        size = self.settings.window
        self.rows: deque[list[float]] = deque(maxlen=size)
        self.predictions: deque[float] = deque(maxlen=size)
        self.hits: deque[float] = deque(maxlen=size)
        self.pending: deque[tuple[float, float]] = deque()  # (close when predicted, prediction), oldest first
        self.closes_since: int = 0
        self.seen = 0
        self.drifting = False
        self.last: DriftReport | None = None

    def update(self, close: float, row: list[float] | None, prediction: float | None) -> DriftReport | None:
        """Feed one bar (``row``/``prediction`` None during warm-up); a report when the drift state changes."""
        self._score(close)
        if row is None or prediction is None:
            return None
        self.rows.append(row)
        self.predictions.append(prediction)
        self.pending.append((close, prediction))
        self.seen += 1
        s = self.settings
        if len(self.predictions) < s.min_rows or self.seen % s.check_every:
            return None
        return self._check()

    def _score(self, close: float) -> None:
        # A prediction made ``horizon`` bars ago is now decided: did the close move the way it said?
        if len(self.pending) > self.horizon:
            then, said = self.pending.popleft()
            cut = 0.5 if self.classifier else 0.0
            self.hits.append(1.0 if (said > cut) == (close > then) else 0.0)

    def _check(self) -> DriftReport | None:
        import numpy as np

        live = {n: np.array([r[j] for r in self.rows], dtype=np.float64) for j, n in enumerate(self.names)}
        report = drift_report(
            self.model,
            self.version,
            self.reference,
            live,
            np.array(self.predictions, dtype=np.float64),
            np.array(self.hits, dtype=np.float64) if self.hits else None,
            self.thresholds,
        )
        self.last = report
        drifting = bool(report.drifted)
        if drifting == self.drifting:
            return None
        self.drifting = drifting
        return report


class AnomalyWatch:
    """The causal anomaly rules on each closing bar (the spike-and-revert rule needs the next bar: not here)."""

    def __init__(self, settings: AnomalySettings | None = None) -> None:
        self.settings = settings or AnomalySettings()
        size = self.settings.window
        self.returns: deque[float] = deque(maxlen=size)
        self.ranges: deque[float] = deque(maxlen=size)
        self.volumes: deque[float] = deque(maxlen=size)
        self.previous: float | None = None

    def update(self, high: float, low: float, close: float, volume: float) -> list[str]:
        import numpy as np

        from alphintra.ml.anomaly import _z

        previous, self.previous = self.previous, close
        measures = (
            math.log(close / previous) if previous and close > 0 and previous > 0 else math.nan,
            math.log(high / low) if high > 0 and low > 0 else math.nan,
            math.log(volume) if volume > 0 else math.nan,
        )
        found: list[str] = []
        s = self.settings
        for (label, limit, both_ways), history, value in zip(
            (("price jump", s.price_z, True), ("range spike", s.price_z, False), ("volume spike", s.volume_z, False)),
            (self.returns, self.ranges, self.volumes),
            measures,
            strict=True,
        ):
            if len(history) >= s.min_history and not math.isnan(value):
                z = _z(value, np.fromiter(history, dtype=np.float64, count=len(history)), s.min_history)
                if not math.isnan(z) and (abs(z) if both_ways else z) > limit:
                    found.append(f"{label}: robust z {z:+.1f}")
            history.append(value)
        return found


__all__ = ["AnomalyWatch", "LiveMonitor", "MonitorSettings"]
