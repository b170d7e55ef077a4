"""The risk and control state as a fold of its journal records (``records.py``): pure, no I/O, no clock.

:meth:`RiskState.apply` takes one record and changes the state the way the daemon did when it was written; a
fresh state fed the journal's records in order is the state the daemon had. What it holds:

* the limits in force (``limits``, a :class:`~alphintra.engine.risk.limits.LimitSet`) and every change to them,
  halts and resumptions included (``history``, newest last), as the store's limit history shows them;
* the halts in force (``halts``, the ones a restarted engine must still enforce);
* every alert, with its acknowledgement (``alerts``; ``next_alert_id`` keeps ids unique for the life of the home);
* the schedules (``schedules``) and the strategies ever started (``strategies``), with whether each should run.

A record that does not fit the state (a resume of a scope that is not halted, a pause of an unknown schedule) is
ignored: the journal says what happened, and what happened was a no-op. :meth:`to_state` / :meth:`from_state` give
a JSON-ready copy for node snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.risk.breakers import Halt
from alphintra.engine.risk.limits import HALT_NAME, LIMITS, Limit, LimitSet, Scope
from alphintra.engine.risk.records import (
    RiskAlertAcknowledged,
    RiskAlertRaised,
    RiskLimitSet,
    RiskRecord,
    RiskStateImported,
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

STATE_VERSION = 1
ACTIVE, INACTIVE, ERROR = "ACTIVE", "INACTIVE", "ERROR"
LimitKey = tuple[str, str, str]  # name, scope, scope_id


def _d(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class RiskState:
    """See the module docstring. Engine thread only (like the node it sits beside)."""

    def __init__(self) -> None:
        # (name, scope, scope_id) -> {"value", "by", "at"}; halts are not limits here (see ``halts``).
        self.limit_rows: dict[LimitKey, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.halts: dict[tuple[str, str], Halt] = {}
        self.alerts: dict[int, dict[str, Any]] = {}
        self.next_alert_id = 1
        self.schedules: dict[str, dict[str, Any]] = {}
        self.strategies: dict[int, dict[str, Any]] = {}
        self.records = 0  # records applied: none means a journal from before these records
        self.imported = False

    # -- the fold ----------------------------------------------------------------------------------------------

    def apply(self, record: RiskRecord) -> None:
        self.records += 1
        if isinstance(record, RiskLimitSet):
            self._limit(record)
        elif isinstance(record, TradingHalted):
            self._halt(record)
        elif isinstance(record, TradingResumed):
            self._resume(record)
        elif isinstance(record, RiskAlertRaised):
            self.alerts[record.alert_id] = {
                "id": record.alert_id,
                "time": record.ts,
                "severity": record.severity,
                "rule": record.rule,
                "message": record.message,
                "account": record.account,
                "strategy": record.strategy,
                "symbol": record.symbol,
                "value": _d(record.value),
                "threshold": _d(record.threshold),
                "acknowledged": False,
                "acknowledged_by": None,
                "acknowledged_at": None,
            }
            self.next_alert_id = max(self.next_alert_id, record.alert_id + 1)
        elif isinstance(record, RiskAlertAcknowledged):
            alert = self.alerts.get(record.alert_id)
            if alert is not None and not alert["acknowledged"]:  # the first acknowledgement stands
                alert.update(acknowledged=True, acknowledged_by=record.by, acknowledged_at=record.ts)
        elif isinstance(record, ScheduleAdded):
            self.schedules[record.job_id] = {
                "id": record.job_id,
                "cron": record.cron,
                "strategy": record.strategy,
                "symbols": list(record.symbols),
                "params": dict(record.params),
                "timezone": record.timezone,
                "enabled": record.enabled,
                "created_at": record.ts,
                "updated_at": record.ts,
            }
        elif isinstance(record, SchedulePaused | ScheduleResumed):
            job = self.schedules.get(record.job_id)
            if job is not None:
                job.update(enabled=isinstance(record, ScheduleResumed), updated_at=record.ts)
        elif isinstance(record, ScheduleRemoved):
            self.schedules.pop(record.job_id, None)
        elif isinstance(record, StrategyStarted):
            self.strategies[record.strategy_id] = {
                "id": record.strategy_id,
                "name": record.strategy,
                "strategy_type": record.strategy_type,
                "symbols": list(record.symbols),
                "params": dict(record.params),
                "account": record.account,
                "status": ACTIVE,
                "error": None,
                "started_at": record.ts,
            }
        elif isinstance(record, StrategyStopped):
            strategy = self.strategies.get(record.strategy_id)
            if strategy is not None:
                status = ERROR if record.error is not None else ACTIVE if record.resume else INACTIVE
                strategy.update(status=status, error=record.error)
        elif isinstance(record, StrategyDeleted):
            self.strategies.pop(record.strategy_id, None)
        elif isinstance(record, RiskStateImported):
            self.imported = True

    def apply_dict(self, data: Mapping[str, Any]) -> RiskRecord:
        record = record_from_dict(data)
        self.apply(record)
        return record

    def _limit(self, r: RiskLimitSet) -> None:
        key = (r.name, r.scope, r.scope_id)
        if r.after is None:
            self.limit_rows.pop(key, None)
        else:
            self.limit_rows[key] = {"value": r.after, "by": r.by, "at": r.ts}
        self.history.append(
            {
                "name": r.name,
                "scope": r.scope,
                "scope_id": r.scope_id,
                "old_value": _d(r.before),
                "new_value": _d(r.after),
                "changed_by": r.by,
                "changed_at": r.ts,
                "reason": r.reason,
            }
        )

    def _halt(self, r: TradingHalted) -> None:
        key = (r.scope, r.scope_id)
        if key in self.halts:  # already halted: the first reason stands (as in HaltBook)
            return
        halt = Halt(Scope(r.scope), r.scope_id, r.rule, r.reason, r.by, r.ts, r.value, r.limit)
        self.halts[key] = halt
        self.history.append(
            {
                "name": HALT_NAME,
                "scope": r.scope,
                "scope_id": r.scope_id,
                "old_value": None,
                "new_value": "1",
                "changed_by": r.by,
                "changed_at": r.ts,
                "reason": f"[{r.rule}] {r.reason}",
            }
        )

    def _resume(self, r: TradingResumed) -> None:
        if self.halts.pop((r.scope, r.scope_id), None) is None:
            return
        self.history.append(
            {
                "name": HALT_NAME,
                "scope": r.scope,
                "scope_id": r.scope_id,
                "old_value": "1",
                "new_value": None,
                "changed_by": r.by,
                "changed_at": r.ts,
                "reason": r.reason or "resumed",
            }
        )

    # -- views -------------------------------------------------------------------------------------------------

    @property
    def limits(self) -> LimitSet:
        """The limits in force (names the catalogue no longer knows are skipped, as ``load_limits`` does)."""
        return LimitSet(
            Limit(name, row["value"], Scope(scope), scope_id)
            for (name, scope, scope_id), row in self.limit_rows.items()
            if name in LIMITS
        )

    def limit(self, name: str, scope: str, scope_id: str) -> Decimal | None:
        row = self.limit_rows.get((name, scope, scope_id))
        return None if row is None else Decimal(row["value"])

    def active_halts(self) -> list[Halt]:
        return sorted(self.halts.values(), key=lambda h: (h.at_ns, h.scope.value, h.scope_id))

    def running_strategies(self) -> list[dict[str, Any]]:
        """The strategies a start must run again (stopped only by a shutdown, or never stopped)."""
        return [s for _, s in sorted(self.strategies.items()) if s["status"] == ACTIVE]

    def alert_id(self) -> int:
        """The id the next alert gets (the caller journals it; :meth:`apply` moves the counter)."""
        return self.next_alert_id

    # -- snapshots ---------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-ready copy of the whole state (Decimals as strings), for :meth:`from_state`."""
        return {
            "version": STATE_VERSION,
            "limits": [
                {"name": n, "scope": s, "scope_id": i, "value": str(row["value"]), "by": row["by"], "at": row["at"]}
                for (n, s, i), row in sorted(self.limit_rows.items())
            ],
            "history": [dict(h) for h in self.history],
            "halts": [h.to_dict() for h in self.active_halts()],
            "alerts": [dict(a) for _, a in sorted(self.alerts.items())],
            "next_alert_id": self.next_alert_id,
            "schedules": [dict(s) for _, s in sorted(self.schedules.items())],
            "strategies": [dict(s) for _, s in sorted(self.strategies.items())],
            "records": self.records,
            "imported": self.imported,
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> RiskState:
        if data.get("version") != STATE_VERSION:
            raise ValidationError("risk_state.version", f"must be {STATE_VERSION}", data.get("version"))
        state = cls()
        for row in data.get("limits", []):
            state.limit_rows[(row["name"], row["scope"], row["scope_id"])] = {
                "value": Decimal(row["value"]),
                "by": row["by"],
                "at": int(row["at"]),
            }
        state.history = [dict(h) for h in data.get("history", [])]
        for raw in data.get("halts", []):
            halt = Halt.from_dict(dict(raw))
            state.halts[(halt.scope.value, halt.scope_id)] = halt
        state.alerts = {int(a["id"]): dict(a) for a in data.get("alerts", [])}
        state.next_alert_id = int(data.get("next_alert_id", 1))
        state.schedules = {str(s["id"]): dict(s) for s in data.get("schedules", [])}
        state.strategies = {int(s["id"]): dict(s) for s in data.get("strategies", [])}
        state.records = int(data.get("records", 0))
        state.imported = bool(data.get("imported", False))
        return state

    @classmethod
    def fold(cls, records: Iterable[RiskRecord]) -> RiskState:
        state = cls()
        for record in records:
            state.apply(record)
        return state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RiskState) and self.to_state() == other.to_state()

    __hash__ = None  # type: ignore[assignment]


__all__ = ["ACTIVE", "ERROR", "INACTIVE", "STATE_VERSION", "RiskState"]
