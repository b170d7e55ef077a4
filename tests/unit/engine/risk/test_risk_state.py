"""The risk and control records (typed, versioned) and their fold, RiskState."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.risk.breakers import Halt
from alphintra.engine.risk.limits import Limit, LimitSet, Scope
from alphintra.engine.risk.records import (
    RiskAlertAcknowledged,
    RiskAlertRaised,
    RiskLimitSet,
    RiskRecord,
    ScheduleAdded,
    SchedulePaused,
    ScheduleRemoved,
    ScheduleResumed,
    StrategyDeleted,
    StrategyStarted,
    StrategyStopped,
    TradingHalted,
    TradingResumed,
    is_risk_record,
    record_from_dict,
    record_to_dict,
)
from alphintra.engine.risk.state import RiskState

SAMPLES: list[RiskRecord] = [
    RiskLimitSet(1, "max_order_notional", "global", "*", None, D("50000"), "alice", "desk cap"),
    TradingHalted(2, "global", "*", "manual", "desk closed", "bob", cancel_orders=True),
    TradingHalted(3, "account", "main", "max_daily_loss", "loss", "risk-engine", D("512.5"), D("500")),
    RiskAlertRaised(4, 1, "CRITICAL", "manual", "halted all trading", account="main", value=D("1.5")),
    RiskAlertAcknowledged(5, 1, "carol"),
    ScheduleAdded(6, "dca-btc", "0 9 * * *", "dca", ("BTC/USD",), {"amount": "100", "n": 3}, "UTC", True, "dave"),
    SchedulePaused(7, "dca-btc", "dave"),
    ScheduleResumed(8, "dca-btc", "dave"),
    StrategyStarted(9, 4, "mr", "mean_reversion", ("GOOG", "ETH/USD"), {"window": 20}, "main"),
    StrategyStopped(10, 4, "mr", "engine stopping", resume=True),
    TradingResumed(11, "global", "*", "erin", "desk open"),
    ScheduleRemoved(12, "dca-btc", "dave"),
    StrategyDeleted(13, 4, "mr"),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_survives_json_and_back(record: RiskRecord) -> None:
    data = json.loads(json.dumps(record_to_dict(record)))
    assert data["type"] == type(record).__name__ and data["v"] == 1
    assert is_risk_record(data)
    assert record_from_dict(data) == record


def test_a_damaged_record_names_its_field() -> None:
    data = record_to_dict(SAMPLES[0])
    with pytest.raises(ValidationError, match=r"RiskLimitSet\.after"):
        record_from_dict({**data, "after": "lots"})
    with pytest.raises(ValidationError, match=r"RiskLimitSet\.by"):
        record_from_dict({k: v for k, v in data.items() if k != "by"})
    with pytest.raises(ValidationError, match=r"RiskLimitSet\.colour"):
        record_from_dict({**data, "colour": "red"})
    assert not is_risk_record({"type": "OrderFilled"})


def test_loose_records_of_the_old_daemon_upgrade() -> None:
    """Journals written before the records were typed: the breakers' RiskHalt/RiskResume and the strategy
    manager's StrategyStarted/StrategyStopped (no "v") still fold."""
    halt = {
        "type": "RiskHalt",
        "scope": "symbol",
        "scope_id": "GOOG",
        "rule": "market_move_pct",
        "reason": "moved",
        "by": "risk-engine",
        "at_ns": 77,
        "value": "6.9",
        "limit": "5",
    }
    assert record_from_dict(halt) == TradingHalted(
        77, "symbol", "GOOG", "market_move_pct", "moved", "risk-engine", D("6.9"), D("5")
    )
    resume = {"type": "RiskResume", "scope": "symbol", "scope_id": "GOOG", "by": "al", "reason": "ok", "at_ns": 80}
    assert record_from_dict(resume) == TradingResumed(80, "symbol", "GOOG", "al", "ok")
    started = {
        "type": "StrategyStarted",
        "ts": 5,
        "strategy_id": 2,
        "strategy": "x",
        "strategy_type": "sma_cross",
        "symbols": ["GOOG"],
        "params": {"fast": 5},
    }
    assert record_from_dict(started) == StrategyStarted(5, 2, "x", "sma_cross", ("GOOG",), {"fast": 5}, None)
    base = {"type": "StrategyStopped", "ts": 9, "strategy_id": 2, "strategy": "x"}
    assert record_from_dict({**base, "reason": "engine stopping"}) == StrategyStopped(
        9, 2, "x", "engine stopping", resume=True
    )
    assert record_from_dict({**base, "reason": "error: boom"}) == StrategyStopped(
        9, 2, "x", "error: boom", error="boom"
    )
    assert record_from_dict({**base, "reason": "stopped"}) == StrategyStopped(9, 2, "x", "stopped")


def test_the_fold_gives_limits_halts_alerts_schedules_and_strategies() -> None:
    state = RiskState.fold(SAMPLES[:10])
    assert state.limits == LimitSet([Limit("max_order_notional", D(50000))])
    assert [(h.scope, h.scope_id, h.rule) for h in state.active_halts()] == [
        (Scope.GLOBAL, "*", "manual"),
        (Scope.ACCOUNT, "main", "max_daily_loss"),
    ]
    assert state.alerts[1]["acknowledged_by"] == "carol" and state.next_alert_id == 2
    assert state.schedules["dca-btc"]["enabled"] is True
    assert [s["name"] for s in state.running_strategies()] == ["mr"]  # a shutdown stop resumes
    assert [(h["name"], h["new_value"], h["changed_by"]) for h in state.history] == [
        ("max_order_notional", "50000", "alice"),
        ("trading_halt", "1", "bob"),
        ("trading_halt", "1", "risk-engine"),
    ]
    rest = RiskState.fold(SAMPLES)
    assert [h.scope for h in rest.active_halts()] == [Scope.ACCOUNT]
    assert rest.schedules == {} and rest.strategies == {}
    assert rest.history[-1]["new_value"] is None and rest.history[-1]["reason"] == "desk open"


def test_repeats_and_strays_change_nothing() -> None:
    state = RiskState.fold(SAMPLES[:3])
    before = state.to_state()["halts"]
    state.apply(TradingHalted(20, "global", "*", "manual", "again", "zed"))  # the first reason stands
    state.apply(TradingResumed(21, "symbol", "NOPE", "zed"))  # not halted
    state.apply(RiskAlertAcknowledged(22, 99, "zed"))  # no such alert
    state.apply(SchedulePaused(23, "nope"))
    assert state.to_state()["halts"] == before and len(state.history) == 3
    state.apply(RiskAlertRaised(24, 7, "INFO", "x", "m"))
    state.apply(RiskAlertAcknowledged(25, 7, "first"))
    state.apply(RiskAlertAcknowledged(26, 7, "second"))
    assert state.alerts[7]["acknowledged_by"] == "first" and state.next_alert_id == 8


def test_an_error_stop_is_not_resumed() -> None:
    state = RiskState.fold([SAMPLES[8], StrategyStopped(11, 4, "mr", "error: boom", error="boom")])
    assert state.running_strategies() == [] and state.strategies[4]["status"] == "ERROR"
    assert RiskState.fold([SAMPLES[8], StrategyStopped(11, 4, "mr", "stopped")]).strategies[4]["status"] == ("INACTIVE")


_prefixes = st.integers(min_value=0, max_value=len(SAMPLES))


@given(_prefixes)
def test_state_survives_a_snapshot_at_any_point(cut: int) -> None:
    """Snapshot after any prefix, restore, fold the rest: the same state as folding everything."""
    whole = RiskState.fold(SAMPLES)
    head = RiskState.fold(SAMPLES[:cut])
    restored = RiskState.from_state(json.loads(json.dumps(head.to_state())))
    assert restored == head
    for record in SAMPLES[cut:]:
        restored.apply(record)
    assert restored == whole
    assert [isinstance(h, Halt) for h in restored.active_halts()] == [True] * len(whole.active_halts())


def test_from_state_refuses_an_unknown_version() -> None:
    with pytest.raises(ValidationError, match=r"risk_state\.version"):
        RiskState.from_state({"version": 99})
