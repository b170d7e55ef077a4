"""The ``ml`` strategy: trades the predictions of a registered model, computing its features bar by bar.

It loads the promoted version of ``model`` (or ``version``) from the registry when it starts -- refused if the
model's feature set no longer matches its definition -- and keeps a :class:`~alphintra.ml.featureset.FeatureEngine`
fed with every bar, so the features it predicts on are the ones the model was trained on, computed the serving
way (the tests hold the two ways equal to 1e-9). The trees are walked in Python from the model's dump
(:class:`~alphintra.strategies.builtins.ml_lightgbm.TreeEnsemble`): one row per bar through ``Booster.predict``
costs more in call set-up than the trees themselves.

Trading: a classifier's ``p`` (probability of an up move over the label's horizon) above ``threshold`` goes long
``fraction`` of equity, below ``1 - threshold`` flat (or short with ``allow_short``); a regression model's
predicted return above ``min_return`` goes long, below ``-min_return`` flat or short. The first symbol is traded;
cross-asset features need their symbols passed too (``-s GOOG -s SPY``).

Every prediction's latency (features and trees, in ns) is kept in :attr:`MlStrategy.latencies_ns`, and its
value in :attr:`MlStrategy.predictions`; a summary is logged and recorded as a signal when the run stops.

While it runs it watches itself (:mod:`alphintra.ml.monitor`): drift of its features and predictions against the
training reference and its live hit rate (a signal ``ml_drift`` ``on``/``off`` when that state changes), and
market-data anomalies of each closing bar (a signal ``anomaly``). Signals reach `strategy signals`, the API stream
and the TUI in paper and live sessions. A drift change and the first bar of a run of anomalies carry a
``risk_alert`` (rules ``ml_drift`` / ``ml_anomaly``), which the daemon journals as a risk alert; ``ml drift``
raises the same alert from the command line.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, cast

from pydantic import Field

from alphintra.errors import ValidationError
from alphintra.strategies.base import BarData, Strategy, StrategyParams
from alphintra.strategies.context import RISK_ALERT
from alphintra.strategies.registry import register


class MlParams(StrategyParams):
    model: str = Field(description="registered model name (see `alphintra ml list`)")
    version: int | None = Field(None, ge=1, description="model version (default: the promoted one)")
    threshold: float = Field(0.55, gt=0.5, lt=1, description="classifier: trade when P(up) is above this")
    min_return: float = Field(0.0, ge=0, description="regression: trade when |predicted return| exceeds this")
    allow_short: bool = Field(False, description="go short on a down prediction (else flat)")
    fraction: Decimal = Field(Decimal(1), gt=0, le=1, description="fraction of equity to commit")
    monitor: bool = Field(True, description="watch drift and the live hit rate; signal ml_drift when it changes")
    anomalies: bool = Field(True, description="signal anomaly on a price jump, range or volume spike")


def _anomaly_alert(symbol: str, found: str) -> dict[str, Any]:
    return {
        "rule": "ml_anomaly",
        "severity": "WARNING",
        "message": f"market data anomaly on {symbol}: {found}",
        "symbol": symbol,
    }


def percentile(values: list[int], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@register
class MlStrategy(Strategy):
    name = "ml"
    description = "trade the predictions of a registered ML model (features computed incrementally)"
    Params = MlParams
    symbols_required = None

    @property
    def p(self) -> MlParams:
        return cast(MlParams, self.params)

    def on_start(self) -> None:
        from alphintra.ml.featureset import FeatureEngine
        from alphintra.ml.monitor import AnomalyWatch, LiveMonitor
        from alphintra.ml.registry import load
        from alphintra.strategies.builtins.ml_lightgbm import TreeEnsemble

        p = self.p
        self.model = load(p.model, p.version)
        missing = [s for s in self.model.feature_set.other_symbols if s not in self.symbols]
        if missing:
            raise ValidationError(
                "symbols", f"model {p.model} reads {', '.join(missing)}: pass them after the traded symbol", missing
            )
        self.engine = FeatureEngine(self.model.feature_set, self.symbols[0])
        self.trees = TreeEnsemble(self.model.booster().dump_model())
        self.classifier = self.model.task == "classification"
        self.latencies_ns: list[int] = []
        self.predictions: list[tuple[int, float]] = []
        version = self.model.version
        self.monitor = (
            LiveMonitor(
                p.model,
                version.version,
                self.model.feature_set.names,
                self.model.reference(),
                horizon=int(version.meta["label"]["horizon"]),
                classifier=self.classifier,
            )
            if p.monitor
            else None
        )
        self.watch = AnomalyWatch() if p.anomalies else None
        self.anomalous = False  # the previous bar was anomalous
        self.signal("model", f"{p.model} v{self.model.version.version}", feature_set=self.model.feature_set.label)

    def on_bar(self, bar: BarData) -> None:
        started = time.perf_counter_ns()
        row = self.engine.update(bar)
        if bar.symbol != self.symbols[0]:
            return
        value = None if row is None else self.trees.predict(row)
        if value is not None:
            self.latencies_ns.append(time.perf_counter_ns() - started)
            self.predictions.append((bar.ts, value))
        self._watch(bar, row, value)
        if value is not None:
            self._trade(bar, value)

    def _watch(self, bar: BarData, row: list[float] | None, value: float | None) -> None:
        if self.watch is not None:
            found = self.watch.update(bar.high, bar.low, bar.close, bar.volume)
            if found:
                text = "; ".join(found)
                self.log.warning("market data anomaly on %s: %s", bar.symbol, text)
                # A run of anomalous bars is one risk alert (at its first bar); every bar still signals.
                extra = {} if self.anomalous else {RISK_ALERT: _anomaly_alert(bar.symbol, text)}
                self.signal("anomaly", text, **extra)
            self.anomalous = bool(found)
        if self.monitor is not None:
            report = self.monitor.update(bar.close, row, value)
            if report is not None:  # only on a change of state: one alert when drift starts, one when it ends
                drifted = report.drifted
                if drifted:
                    self.log.warning("model %s drifted: %s", self.p.model, ", ".join(drifted))
                alert = {**report.risk_alert(), "symbol": bar.symbol}
                self.signal(
                    "ml_drift", "on" if drifted else "off", drifted=drifted, rows=report.rows, **{RISK_ALERT: alert}
                )

    def _trade(self, bar: BarData, value: float) -> None:
        p = self.p
        if self.classifier:
            up, down = value > p.threshold, value < 1.0 - p.threshold
        else:
            up, down = value > p.min_return, value < -p.min_return
        if up:
            if self.position(bar.symbol) <= 0:
                self.signal("up", value)
                self.target_percent(bar.symbol, p.fraction)
        elif down:
            target = -p.fraction if p.allow_short else Decimal(0)
            held = self.position(bar.symbol)
            if held > 0 or (held == 0 and target < 0):
                self.signal("down", value)
                self.target_percent(bar.symbol, target)

    def latency(self) -> dict[str, Any]:
        """Per-prediction latency in microseconds (features plus trees)."""
        values = self.latencies_ns
        return {
            "predictions": len(values),
            "p50_us": percentile(values, 0.5) / 1000.0,
            "p99_us": percentile(values, 0.99) / 1000.0,
            "max_us": max(values) / 1000.0 if values else float("nan"),
        }

    def on_stop(self) -> None:
        if self.latencies_ns:
            figures = self.latency()
            self.log.info("ml %s: %s", self.p.model, figures)
            self.signal(
                "latency_p99_us",
                round(figures["p99_us"], 3),
                p50_us=round(figures["p50_us"], 3),
                predictions=figures["predictions"],
            )


__all__ = ["MlParams", "MlStrategy", "percentile"]
