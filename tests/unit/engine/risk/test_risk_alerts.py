from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.engine.risk.alerts import Alert, AlertLevel, Level, Threshold, ThresholdMonitor
from alphintra.errors import ValidationError


def levels(alerts: list[Alert | None]) -> list[str | None]:
    return [None if a is None else a.level.value for a in alerts]


def test_alerts_only_on_a_change_of_level() -> None:
    monitor = ThresholdMonitor([Threshold("var_99", breach=100, warning=80)])
    feed = [50, 80, 85, 90, 100, 150, 120, 99, 79, 10, 10]
    out = [monitor.observe("var_99", v, ts_ns=i) for i, v in enumerate(feed)]
    assert levels(out) == [None, "WARNING", None, None, "BREACH", None, None, "WARNING", "CLEARED", None, None]
    warning, breach, back, cleared = (a for a in out if a is not None)
    assert warning == Alert("var_99", AlertLevel.WARNING, Decimal(80), Decimal(80), 1, Level.OK)
    assert breach == Alert("var_99", AlertLevel.BREACH, Decimal(100), Decimal(100), 4, Level.WARNING)
    assert (back.previous, back.threshold) == (Level.BREACH, Decimal(80))
    assert (cleared.value, cleared.threshold, cleared.previous) == (Decimal(79), Decimal(80), Level.WARNING)
    assert monitor.level("var_99") is Level.OK


def test_jump_straight_to_breach_and_back_to_ok() -> None:
    monitor = ThresholdMonitor([Threshold("leverage", breach=3, warning=2)])
    assert monitor.observe("leverage", 5, 1) == Alert(
        "leverage", AlertLevel.BREACH, Decimal(5), Decimal(3), 1, Level.OK
    )
    assert monitor.observe("leverage", 4, 2) is None
    cleared = monitor.observe("leverage", 1, 3)
    assert cleared is not None and (cleared.level, cleared.threshold) == (AlertLevel.CLEARED, Decimal(3))


def test_below_direction_for_metrics_that_are_bad_when_low() -> None:
    monitor = ThresholdMonitor([Threshold("equity", breach=9000, warning=9500, direction="below")])
    out = [monitor.observe("equity", v, i) for i, v in enumerate([10_000, 9500, 9400, 9000, 9200, 9501])]
    assert levels(out) == [None, "WARNING", None, "BREACH", "WARNING", "CLEARED"]


def test_hysteresis_stops_flapping_around_the_threshold() -> None:
    monitor = ThresholdMonitor([Threshold("loss", breach=100, hysteresis=5)])
    feed = [101, 99, 96, 95, 100, 94.99, 99, 100]
    out = [monitor.observe("loss", v, i) for i, v in enumerate(feed)]
    # Leaves BREACH only strictly below 95; re-enters as soon as 100 is reached again.
    assert levels(out) == ["BREACH", None, None, None, None, "CLEARED", None, "BREACH"]
    assert out[5] is not None and out[5].value == Decimal("94.99")
    without = ThresholdMonitor([Threshold("loss", breach=100)])
    assert levels([without.observe("loss", v, i) for i, v in enumerate([101, 99, 100])]) == [
        "BREACH",
        "CLEARED",
        "BREACH",
    ]


def test_hysteresis_below_and_de_escalation_one_level_at_a_time() -> None:
    monitor = ThresholdMonitor([Threshold("margin", breach="0.2", warning="0.5", direction="below", hysteresis="0.05")])
    out = [monitor.observe("margin", v, i) for i, v in enumerate([0.1, 0.24, 0.26, 0.54, 0.56])]
    # BREACH at 0.1; 0.24 is not past 0.2 + 0.05; 0.26 is -> WARNING; 0.54 holds WARNING; 0.56 clears.
    assert levels(out) == ["BREACH", None, "WARNING", None, "CLEARED"]


def test_breach_only_and_warning_only_thresholds() -> None:
    breach_only = ThresholdMonitor([Threshold("dd", breach=10)])
    assert levels([breach_only.observe("dd", v, i) for i, v in enumerate([9, 10, 11, 5])]) == [
        None,
        "BREACH",
        None,
        "CLEARED",
    ]
    warn_only = ThresholdMonitor([Threshold("vol", breach=None, warning=0.5)])
    assert levels([warn_only.observe("vol", v, i) for i, v in enumerate([0.6, 0.7, 0.4])]) == [
        "WARNING",
        None,
        "CLEARED",
    ]


def test_unwatched_metrics_are_ignored_and_many_metrics_come_in_name_order() -> None:
    monitor = ThresholdMonitor([Threshold("b", breach=1), Threshold("a", breach=1)])
    assert monitor.observe("unknown", 1e9, 1) is None
    alerts = monitor.observe_many({"b": 2, "a": 3, "c": 4}, ts_ns=5)
    assert [(a.metric, a.level) for a in alerts] == [("a", AlertLevel.BREACH), ("b", AlertLevel.BREACH)]
    assert monitor.observe_many({"b": 2, "a": 3}, ts_ns=6) == []
    assert monitor.active() == {"a": Level.BREACH, "b": Level.BREACH}


def test_numpy_and_decimal_values_are_taken_exactly() -> None:
    monitor = ThresholdMonitor([Threshold("x", breach=Decimal("0.3"))])
    alert = monitor.observe("x", np.float64(0.1) + np.float64(0.2), 1)  # 0.30000000000000004 >= 0.3
    assert alert is not None and alert.value == Decimal("0.30000000000000004")
    assert monitor.observe("x", np.int64(0), 2) is not None


def test_snapshot_restores_state_so_a_restart_does_not_repeat_alerts() -> None:
    thresholds = [Threshold("var", breach=100, warning=80, hysteresis=2), Threshold("lev", breach=3)]
    monitor = ThresholdMonitor(thresholds)
    assert monitor.observe("var", 120, 10) is not None
    assert monitor.observe("lev", 1, 10) is None
    saved = json.loads(json.dumps(monitor.snapshot()))  # survives JSON
    restored = ThresholdMonitor.from_snapshot(saved)
    assert restored.thresholds == monitor.thresholds
    assert restored.snapshot() == monitor.snapshot()
    assert restored.observe("var", 130, 11) is None  # still in breach: no repeat after the restart
    assert restored.observe("var", 99, 12) is None  # the level survived: 99 is not below 100 - 2
    back = restored.observe("var", 97, 13)
    assert back is not None and (back.level, back.previous) == (AlertLevel.WARNING, Level.BREACH)
    with pytest.raises(ValidationError, match="backwards"):
        restored.observe("var", 50, 9)


def test_restore_with_new_thresholds_leaves_a_level_that_no_longer_exists() -> None:
    monitor = ThresholdMonitor([Threshold("var", breach=100, warning=80), Threshold("gone", breach=1)])
    monitor.observe("var", 90, 1)
    monitor.observe("gone", 5, 1)
    restored = ThresholdMonitor.from_snapshot(monitor.snapshot(), [Threshold("var", breach=100)])
    assert restored.level("var") is Level.WARNING and restored.level("gone") is Level.OK
    cleared = restored.observe("var", 90, 2)
    assert cleared is not None and (cleared.level, cleared.threshold) == (AlertLevel.CLEARED, None)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Threshold("v", breach=None), "v.breach"),
        (lambda: Threshold("v", breach=10, warning=20), "v.warning"),
        (lambda: Threshold("v", breach=20, warning=10, direction="below"), "v.warning"),
        (lambda: Threshold("v", breach=10, direction="sideways"), "v.direction"),  # type: ignore[arg-type]
        (lambda: Threshold("v", breach=10, hysteresis=-1), "v.hysteresis"),
        (lambda: Threshold("", breach=10), "metric"),
        (lambda: ThresholdMonitor([Threshold("v", breach=1), Threshold("v", breach=2)]), "thresholds"),
        (lambda: ThresholdMonitor([Threshold("v", breach=1)]).observe("v", float("nan"), 1), "v"),
        (lambda: ThresholdMonitor([Threshold("v", breach=1)]).observe("v", 1, 1.5), "ts_ns"),  # type: ignore[arg-type]
        (lambda: ThresholdMonitor.from_snapshot({"version": 99}), "snapshot.version"),
        (
            lambda: ThresholdMonitor.from_snapshot(
                {"version": 1, "thresholds": [{"metric": "v", "breach": "1"}], "metrics": {"v": {"level": "HOT"}}}
            ),
            "snapshot.metrics.v.level",
        ),
    ],
)
def test_bad_configuration_and_input_name_the_field(make: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make()  # type: ignore[operator]
    assert info.value.field == field


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60),
    hysteresis=st.integers(min_value=0, max_value=10),
)
def test_alerts_alternate_and_track_the_level(values: list[int], hysteresis: int) -> None:
    threshold = Threshold("m", breach=150, warning=100, hysteresis=hysteresis)
    monitor = ThresholdMonitor([threshold])
    current = Level.OK
    for ts, value in enumerate(values):
        alert = monitor.observe("m", value, ts)
        new = monitor.level("m")
        if alert is None:
            assert new is current  # no repeats: silence means no change
        else:
            assert new is not current and alert.previous is current
            assert alert.level.value == ("CLEARED" if new is Level.OK else new.name)
        # The level is never below what the value alone implies, and never above it without hysteresis.
        assert new.value >= threshold.raw_level(Decimal(value)).value
        if hysteresis == 0:
            assert new is threshold.raw_level(Decimal(value))
        current = new
