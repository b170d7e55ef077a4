"""The state store's risk and control tables as a projection of the journal's risk records.

:func:`project` turns one record (``engine/risk/records.py``) into its row changes, inside the caller's transaction
(a :class:`~alphintra.storage.state.writer.StateWriter`): the journal-tailing projector dispatches these record
types here. Re-applying a record already applied changes nothing where that is cheap to know (a limit at its value,
a halt already stored, an alert already there, a schedule already removed).

:func:`rebuild` makes the tables equal to a fold (:class:`~alphintra.engine.risk.state.RiskState`): the daemon calls
it at every start, so a deleted or stale ``state.db`` gets its limits, history, halts, alerts, schedules and running
strategies back. Tables: ``risk_limits`` and ``risk_limit_changes`` (halts as the reserved limit ``trading_halt``),
``risk_alerts``, ``scheduled_jobs`` (run counters and last run kept when the row survives) and the status of the
``trading_strategies`` rows the journal knows (a missing row is recreated under its id; executions are not).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlmodel import delete, select

from alphintra.engine.risk.limits import HALT_NAME
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
    record_from_dict,
)
from alphintra.engine.risk.state import ACTIVE, ERROR, INACTIVE, RiskState
from alphintra.errors import NotFoundError
from alphintra.storage.state.models import RiskAlert, RiskLimit, RiskLimitChange, ScheduledJob, TradingStrategy
from alphintra.storage.state.types import to_utc

if TYPE_CHECKING:
    from alphintra.storage.state import StateStore
    from alphintra.storage.state.writer import StateWriter

COMMAND = "strategy"  # scheduled_jobs.command of a strategy schedule (scheduler.COMMAND)


def project(w: StateWriter, record: RiskRecord | Mapping[str, Any]) -> None:
    """Apply one risk record to the store (the projector's entry point for these record types)."""
    rec = record if isinstance(record, RiskRecord) else record_from_dict(record)
    if isinstance(rec, RiskLimitSet):
        if rec.after is None and _limit_row(w, rec.name, rec.scope, rec.scope_id) is None:
            return
        w.set_risk_limit(
            rec.name, rec.after, changed_by=rec.by, scope=rec.scope, scope_id=rec.scope_id, reason=rec.reason, at=rec.ts
        )
    elif isinstance(rec, TradingHalted):
        if _limit_row(w, HALT_NAME, rec.scope, rec.scope_id) is None:
            reason = f"[{rec.rule}] {rec.reason}"
            w.set_risk_limit(
                HALT_NAME, 1, changed_by=rec.by, scope=rec.scope, scope_id=rec.scope_id, reason=reason, at=rec.ts
            )
    elif isinstance(rec, TradingResumed):
        if _limit_row(w, HALT_NAME, rec.scope, rec.scope_id) is not None:
            reason = rec.reason or "resumed"
            w.set_risk_limit(
                HALT_NAME, None, changed_by=rec.by, scope=rec.scope, scope_id=rec.scope_id, reason=reason, at=rec.ts
            )
    elif isinstance(rec, RiskAlertRaised):
        if w.session.get(RiskAlert, rec.alert_id) is None:
            w.session.add(_alert_row(rec))
    elif isinstance(rec, RiskAlertAcknowledged):
        if w.session.get(RiskAlert, rec.alert_id) is not None:
            w.acknowledge_alert(rec.alert_id, by=rec.by, at=rec.ts)
    elif isinstance(rec, ScheduleAdded):
        w.upsert_job(_job_values(rec))
    elif isinstance(rec, SchedulePaused | ScheduleResumed):
        if w.session.get(ScheduledJob, rec.job_id) is not None:
            enabled = isinstance(rec, ScheduleResumed)
            values: dict[str, Any] = {"id": rec.job_id, "enabled": enabled, "updated_at": rec.ts}
            if not enabled:
                values["next_run_at"] = None
            w.upsert_job(values)
    elif isinstance(rec, ScheduleRemoved):
        if w.session.get(ScheduledJob, rec.job_id) is not None:
            w.delete_job(rec.job_id)
    elif isinstance(rec, StrategyStarted):
        _strategy_row(
            w,
            rec.strategy_id,
            rec.strategy,
            rec.strategy_type,
            list(rec.symbols),
            dict(rec.params),
            ACTIVE,
            rec.account,
        )
    elif isinstance(rec, StrategyStopped):
        row = w.session.get(TradingStrategy, rec.strategy_id)
        if row is not None:
            row.status = ERROR if rec.error is not None else ACTIVE if rec.resume else INACTIVE
            row.updated_at = to_utc(rec.ts, "trading_strategies.updated_at")
    elif isinstance(rec, StrategyDeleted):
        with contextlib.suppress(NotFoundError):  # deleted with the state store already
            w.delete_strategy(rec.strategy_id, with_executions=True)


def rebuild(store: StateStore, state: RiskState) -> None:
    """Make the risk and control tables hold exactly what ``state`` (the journal's fold) says, in one transaction."""
    with store.batch() as w:
        s = w.session
        s.exec(delete(RiskLimitChange))
        s.exec(delete(RiskLimit))
        s.exec(delete(RiskAlert))
        s.flush()
        for h in state.history:
            s.add(
                RiskLimitChange(
                    name=h["name"],
                    scope=h["scope"],
                    scope_id=h["scope_id"],
                    old_value=_dec(h["old_value"]),
                    new_value=_dec(h["new_value"]),
                    changed_by=h["changed_by"],
                    changed_at=to_utc(int(h["changed_at"]), "changed_at"),
                    reason=h["reason"],
                )
            )
        for (name, scope, scope_id), lim in state.limit_rows.items():
            s.add(_limit(name, scope, scope_id, Decimal(lim["value"]), lim["by"], int(lim["at"])))
        for halt in state.active_halts():
            s.add(_limit(HALT_NAME, halt.scope.value, halt.scope_id, Decimal(1), halt.by, halt.at_ns))
        for alert in state.alerts.values():
            alert_row = _alert_row(
                RiskAlertRaised(
                    int(alert["time"]),
                    int(alert["id"]),
                    alert["severity"],
                    alert["rule"],
                    alert["message"],
                    alert["account"],
                    alert["strategy"],
                    alert["symbol"],
                    _dec(alert["value"]),
                    _dec(alert["threshold"]),
                )
            )
            if alert["acknowledged"]:
                alert_row.acknowledged = True
                alert_row.acknowledged_by = alert["acknowledged_by"]
                alert_row.acknowledged_at = to_utc(int(alert["acknowledged_at"]), "acknowledged_at")
            s.add(alert_row)
        known = set()
        for job in s.exec(select(ScheduledJob)).all():
            if job.command == COMMAND and job.id not in state.schedules:
                s.delete(job)
            known.add(job.id)
        for job_id, spec in state.schedules.items():
            values = _job_values(
                ScheduleAdded(
                    int(spec["created_at"]),
                    job_id,
                    spec["cron"],
                    spec["strategy"],
                    tuple(spec["symbols"]),
                    spec["params"],
                    spec["timezone"],
                    bool(spec["enabled"]),
                )
            )
            if job_id in known:  # keep its run counters; the definition is the journal's
                values.pop("created_at")
                if not spec["enabled"]:
                    values["next_run_at"] = None
            w.upsert_job(values)
        for sid, spec in state.strategies.items():
            _strategy_row(w, sid, spec["name"], spec["strategy_type"], spec["symbols"], spec["params"], spec["status"])


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _limit_row(w: StateWriter, name: str, scope: str, scope_id: str) -> RiskLimit | None:
    query = select(RiskLimit).where(RiskLimit.name == name, RiskLimit.scope == scope, RiskLimit.scope_id == scope_id)
    return w.session.exec(query).first()


def _limit(name: str, scope: str, scope_id: str, value: Decimal, by: str, at: int) -> RiskLimit:
    when = to_utc(at, "risk_limits.updated_at")
    return RiskLimit(name=name, scope=scope, scope_id=scope_id, value=value, updated_at=when, updated_by=by)


def _alert_row(rec: RiskAlertRaised) -> RiskAlert:
    return RiskAlert(
        id=rec.alert_id,
        time=to_utc(rec.ts, "risk_alerts.time"),
        severity=rec.severity,
        rule=rec.rule,
        message=rec.message,
        account_id=rec.account,
        strategy=rec.strategy,
        symbol=rec.symbol,
        value=rec.value,
        threshold=rec.threshold,
    )


def _job_values(rec: ScheduleAdded) -> dict[str, Any]:
    return {
        "id": rec.job_id,
        "name": rec.job_id,
        "schedule": rec.cron,
        "command": COMMAND,
        "args": {
            "strategy": rec.strategy,
            "symbols": list(rec.symbols),
            "params": dict(rec.params),
            "timezone": rec.timezone,
        },
        "enabled": rec.enabled,
        "created_at": rec.ts,
    }


def _strategy_row(
    w: StateWriter,
    sid: int,
    name: str,
    strategy_type: str,
    symbols: list[str],
    params: dict[str, Any],
    status: str,
    account: str | None = None,
) -> None:
    row = w.session.get(TradingStrategy, sid)
    if row is None:
        # Deleted with the state store: back under its id (orders and risk scopes know it by name and id).
        clash = w.session.exec(select(TradingStrategy).where(TradingStrategy.name == name)).first()
        if clash is not None:
            return  # another strategy took the name since; the journal's one stays out of the store
        now = w._now()  # the store's injected clock, as its own writes use
        w.session.add(
            TradingStrategy(
                id=sid,
                name=name,
                strategy_type=strategy_type,
                # the account it ran in: a restart resumes it there (on a live account, against its exchange)
                config={"symbols": list(symbols), "params": dict(params)} | ({"account": account} if account else {}),
                status=status,
                created_at=now,
                updated_at=now,
            )
        )
        w.session.flush()
    elif row.status != status:
        row.status = status


__all__ = ["project", "rebuild"]
