"""A pure threshold monitor: metric values go in, alerts come out only when a metric changes level.

Each watched metric has a warning and/or a breach threshold and a direction:

* ``above``: the metric is bad when high (VaR, leverage). A value *reaching* a threshold (``>=``) enters its level.
* ``below``: the metric is bad when low (equity, margin ratio). A value reaching it (``<=``) enters its level.

Levels are ``OK < WARNING < BREACH``. Escalation is immediate (OK can jump straight to BREACH). With
``hysteresis = h`` a level is only left once the value has moved ``h`` past its threshold (strictly below
``threshold - h`` for ``above``, strictly above ``threshold + h`` for ``below``), so a value hovering at the limit
does not flap. ``h = 0`` means a level is left as soon as the threshold is no longer reached.

An :class:`Alert` is emitted only when the level changes: ``WARNING`` or ``BREACH`` when entering that level (from
below or, de-escalating, from above), ``CLEARED`` when returning to OK. Repeated observations at the same level
emit nothing. Metrics without a threshold are ignored. Observation times must not go backwards per metric.

The monitor holds no clock and does no I/O: the caller passes ``ts_ns`` and persists :meth:`snapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Literal

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.risk.metrics import parse_number

Direction = Literal["above", "below"]
SNAPSHOT_VERSION = 1


class Level(Enum):
    """The state a metric is in."""

    OK = 0
    WARNING = 1
    BREACH = 2


class AlertLevel(StrEnum):
    """What an alert announces."""

    WARNING = "WARNING"
    BREACH = "BREACH"
    CLEARED = "CLEARED"


Number = Decimal | int | float | str


@dataclass(frozen=True, slots=True, init=False)
class Threshold:
    """Warning and breach levels of one metric. At least one is required; values may be given as float."""

    metric: str
    breach: Decimal | None
    warning: Decimal | None
    direction: Direction
    hysteresis: Decimal

    def __init__(
        self,
        metric: str,
        breach: Number | None,
        warning: Number | None = None,
        direction: Direction = "above",
        hysteresis: Number = 0,
    ) -> None:
        if not metric or not isinstance(metric, str):
            raise ValidationError("metric", "must be a non-empty name", metric)
        if direction not in ("above", "below"):
            raise ValidationError(f"{metric}.direction", "must be above or below", direction)
        breach_d = None if breach is None else parse_number(breach, f"{metric}.breach")
        warning_d = None if warning is None else parse_number(warning, f"{metric}.warning")
        hysteresis_d = parse_number(hysteresis, f"{metric}.hysteresis")
        if breach_d is None and warning_d is None:
            raise ValidationError(f"{metric}.breach", "a warning or a breach threshold is required")
        if hysteresis_d < 0:
            raise ValidationError(f"{metric}.hysteresis", "must be >= 0", hysteresis_d)
        if breach_d is not None and warning_d is not None:
            ordered = warning_d <= breach_d if direction == "above" else warning_d >= breach_d
            if not ordered:
                rule = "must not exceed breach" if direction == "above" else "must not be below breach"
                raise ValidationError(f"{metric}.warning", f"{rule} (direction {direction})", warning_d)
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "breach", breach_d)
        object.__setattr__(self, "warning", warning_d)
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "hysteresis", hysteresis_d)

    def threshold_of(self, level: Level) -> Decimal | None:
        if level is Level.BREACH:
            return self.breach
        if level is Level.WARNING:
            return self.warning
        return None

    def _reached(self, value: Decimal, threshold: Decimal) -> bool:
        return value >= threshold if self.direction == "above" else value <= threshold

    def _left(self, value: Decimal, threshold: Decimal | None) -> bool:
        if threshold is None:  # a level whose threshold was removed (after a restore) cannot be held
            return True
        if self.direction == "above":
            return value < threshold - self.hysteresis
        return value > threshold + self.hysteresis

    def raw_level(self, value: Decimal) -> Level:
        """The level of ``value`` ignoring history (no hysteresis)."""
        for level in (Level.BREACH, Level.WARNING):
            threshold = self.threshold_of(level)
            if threshold is not None and self._reached(value, threshold):
                return level
        return Level.OK

    def next_level(self, current: Level, value: Decimal) -> Level:
        """The level after observing ``value`` while in ``current``: escalate at once, de-escalate past hysteresis."""
        raw = self.raw_level(value)
        if raw.value >= current.value:
            return raw
        level = current
        while level.value > raw.value and self._left(value, self.threshold_of(level)):
            level = Level(level.value - 1)
        return level

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "breach": None if self.breach is None else str(self.breach),
            "warning": None if self.warning is None else str(self.warning),
            "direction": self.direction,
            "hysteresis": str(self.hysteresis),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Threshold:
        unknown = set(data) - {"metric", "breach", "warning", "direction", "hysteresis"}
        if unknown:
            raise ValidationError("threshold", "has unknown keys", sorted(unknown))
        return cls(
            metric=str(data.get("metric", "")),
            breach=data.get("breach"),
            warning=data.get("warning"),
            direction=data.get("direction", "above"),
            hysteresis=data.get("hysteresis", 0),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """A change of level. ``threshold`` is the one entered (WARNING/BREACH) or left (CLEARED)."""

    metric: str
    level: AlertLevel
    value: Decimal
    threshold: Decimal | None
    ts_ns: int
    previous: Level

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "level": self.level.value,
            "value": str(self.value),
            "threshold": None if self.threshold is None else str(self.threshold),
            "ts_ns": self.ts_ns,
            "previous": self.previous.name,
        }


@dataclass(slots=True)
class _MetricState:
    level: Level = Level.OK
    value: Decimal | None = None
    ts_ns: int | None = None


class ThresholdMonitor:
    """Watches metrics against their thresholds; see the module docstring for the exact rules."""

    def __init__(self, thresholds: Iterable[Threshold]) -> None:
        self._thresholds: dict[str, Threshold] = {}
        for threshold in thresholds:
            if threshold.metric in self._thresholds:
                raise ValidationError("thresholds", "may name each metric once", threshold.metric)
            self._thresholds[threshold.metric] = threshold
        self._state: dict[str, _MetricState] = {name: _MetricState() for name in self._thresholds}

    @property
    def thresholds(self) -> Mapping[str, Threshold]:
        return dict(self._thresholds)

    def level(self, metric: str) -> Level:
        state = self._state.get(metric)
        return Level.OK if state is None else state.level

    def active(self) -> dict[str, Level]:
        """Metrics currently in WARNING or BREACH."""
        return {name: s.level for name, s in sorted(self._state.items()) if s.level is not Level.OK}

    def observe(self, metric: str, value: object, ts_ns: int) -> Alert | None:
        threshold = self._thresholds.get(metric)
        if threshold is None:
            return None
        if isinstance(ts_ns, bool) or not isinstance(ts_ns, int):
            raise ValidationError("ts_ns", "must be an integer (nanoseconds since the epoch)", ts_ns)
        number = parse_number(value, metric)
        state = self._state[metric]
        if state.ts_ns is not None and ts_ns < state.ts_ns:
            raise ValidationError("ts_ns", f"must not go backwards for {metric} (last {state.ts_ns})", ts_ns)
        previous = state.level
        level = threshold.next_level(previous, number)
        state.level, state.value, state.ts_ns = level, number, ts_ns
        if level is previous:
            return None
        if level is Level.OK:
            return Alert(metric, AlertLevel.CLEARED, number, threshold.threshold_of(previous), ts_ns, previous)
        return Alert(metric, AlertLevel[level.name], number, threshold.threshold_of(level), ts_ns, previous)

    def observe_many(self, values: Mapping[str, object], ts_ns: int) -> list[Alert]:
        """Observe several metrics at one time, in metric-name order; the alerts of the changes."""
        alerts = [self.observe(name, values[name], ts_ns) for name in sorted(values)]
        return [alert for alert in alerts if alert is not None]

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state (thresholds included) for :meth:`from_snapshot` after a restart."""
        return {
            "version": SNAPSHOT_VERSION,
            "thresholds": [t.to_dict() for _, t in sorted(self._thresholds.items())],
            "metrics": {
                name: {
                    "level": s.level.name,
                    "value": None if s.value is None else str(s.value),
                    "ts_ns": s.ts_ns,
                }
                for name, s in sorted(self._state.items())
            },
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any], thresholds: Iterable[Threshold] | None = None) -> ThresholdMonitor:
        """Rebuild a monitor. With new ``thresholds`` the saved levels of metrics still watched carry over; a
        carried-over level whose threshold no longer exists is left (CLEARED or lower) at the next observation."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValidationError("snapshot.version", f"must be {SNAPSHOT_VERSION}", data.get("version"))
        if thresholds is None:
            thresholds = [Threshold.from_dict(t) for t in data.get("thresholds", [])]
        monitor = cls(thresholds)
        for name, saved in dict(data.get("metrics", {})).items():
            state = monitor._state.get(name)
            if state is None:
                continue
            level_name = saved.get("level")
            if level_name not in Level.__members__:
                raise ValidationError(f"snapshot.metrics.{name}.level", "must be OK, WARNING or BREACH", level_name)
            ts_ns = saved.get("ts_ns")
            if ts_ns is not None and (isinstance(ts_ns, bool) or not isinstance(ts_ns, int)):
                raise ValidationError(f"snapshot.metrics.{name}.ts_ns", "must be an integer or null", ts_ns)
            value = saved.get("value")
            state.level = Level[level_name]
            state.value = None if value is None else parse_number(value, f"snapshot.metrics.{name}.value")
            state.ts_ns = ts_ns
        return monitor


__all__ = [
    "SNAPSHOT_VERSION",
    "Alert",
    "AlertLevel",
    "Direction",
    "Level",
    "Number",
    "Threshold",
    "ThresholdMonitor",
]
