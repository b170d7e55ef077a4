"""Journal records of the risk and control state: limits, halts, alerts, schedules and running strategies.

These are facts like the order events (``engine/core/events.py``) and follow the same rules: frozen dataclasses,
serialised by the journal's one record codec (:mod:`alphintra.engine.core.codec`) to a flat, JSON-ready dict
``{"type": <class name>, "v": <schema version>, ...fields}`` (Decimals as strings) by :func:`record_to_dict` and
read back by :func:`record_from_dict`, which names the bad field of a damaged record. A change of fields bumps the
type's version and registers an upgrader for the old version.

Version 0 is what the daemon journaled before these records were typed (loose dicts without ``"v"``): the halts of
the circuit breakers (``RiskHalt``/``RiskResume``, renamed ``TradingHalted``/``TradingResumed``) and strategy
starts and stops (``StrategyStarted`` without an account, ``StrategyStopped`` without ``resume``); their
upgraders below make those journals replay. The loose ``RiskAlert`` and ``ScheduleFired`` records of that time are
not read back (the alert store was the state store then; importing it is :mod:`~alphintra.daemon.trading.riskstate`'s
job) and stay what they were.

The fold of these records is :class:`~alphintra.engine.risk.state.RiskState`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from alphintra.engine.core.codec import RecordCodec

RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """Base of the risk and control records: when it happened (int ns since the epoch, UTC)."""

    ts: int

    def to_dict(self) -> dict[str, Any]:
        return record_to_dict(self)


@dataclass(frozen=True, slots=True)
class RiskLimitSet(RiskRecord):
    """A limit was set, changed or (``after`` None) removed, by ``by``; ``before`` is what it replaced."""

    name: str
    scope: str
    scope_id: str
    before: Decimal | None
    after: Decimal | None
    by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TradingHalted(RiskRecord):
    """New orders in ``scope``/``scope_id`` are refused until a :class:`TradingResumed` (a manual halt or a breaker)."""

    scope: str
    scope_id: str
    rule: str
    reason: str
    by: str
    value: Decimal | None = None
    limit: Decimal | None = None
    cancel_orders: bool = False
    flatten: bool = False


@dataclass(frozen=True, slots=True)
class TradingResumed(RiskRecord):
    scope: str
    scope_id: str
    by: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RiskAlertRaised(RiskRecord):
    """An alert for the operators; ``alert_id`` is unique for the life of the home (the fold hands them out)."""

    alert_id: int
    severity: str
    rule: str
    message: str
    account: str | None = None
    strategy: str | None = None
    symbol: str | None = None
    value: Decimal | None = None
    threshold: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskAlertAcknowledged(RiskRecord):
    alert_id: int
    by: str


@dataclass(frozen=True, slots=True)
class ScheduleAdded(RiskRecord):
    """A strategy evaluated on a cron (``job_id`` is the schedule's name)."""

    job_id: str
    cron: str
    strategy: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any]
    timezone: str = "UTC"
    enabled: bool = True
    by: str = ""


@dataclass(frozen=True, slots=True)
class SchedulePaused(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleResumed(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleRemoved(RiskRecord):
    job_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class StrategyStarted(RiskRecord):
    """A saved strategy runs in the daemon with this definition (enough to run it again with no state store)."""

    strategy_id: int
    strategy: str
    strategy_type: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any]
    account: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyStopped(RiskRecord):
    """It no longer runs. ``resume``: stopped by a daemon shutdown, so the next start runs it again; ``error``: it
    raised (it is not resumed)."""

    strategy_id: int
    strategy: str
    reason: str = ""
    resume: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyDeleted(RiskRecord):
    strategy_id: int
    strategy: str


@dataclass(frozen=True, slots=True)
class RiskStateImported(RiskRecord):
    """The one-time import of a state store written before these records existed is done (``count`` records)."""

    count: int


# -- serialisation ---------------------------------------------------------------------------------------------

R = TypeVar("R", bound=RiskRecord)

# Names journaled before the records were typed (version 0, no "v") -> the type they are now.
CODEC: RecordCodec[RiskRecord] = RecordCodec(
    "risk record",
    version=RECORD_SCHEMA_VERSION,
    unversioned=0,
    renamed={"RiskHalt": "TradingHalted", "RiskResume": "TradingResumed"},
    decimal_ints=True,
)
RECORD_TYPES: Mapping[str, type[RiskRecord]] = CODEC.types


def register_record(cls: type[R]) -> type[R]:
    """Make a record class (de)serialisable under its class name."""
    CODEC.register(cls)
    return cls


register_upgrader = CODEC.register_upgrader
is_risk_record: Callable[[Mapping[str, Any]], bool] = CODEC.knows
record_to_dict: Callable[[RiskRecord], dict[str, Any]] = CODEC.to_dict
record_from_dict: Callable[[Mapping[str, Any]], RiskRecord] = CODEC.from_dict


# -- version 0: the loose records of the daemon before these types -----------------------------------------------


def _v0_halt(data: dict[str, Any]) -> dict[str, Any]:
    # RiskHalt carried the halt's own dict: its time was at_ns.
    out = {k: v for k, v in data.items() if k not in ("at_ns", "v")}
    out["ts"] = int(data.get("at_ns", 0))
    return out


def _v0_resume(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in ("at_ns", "v")}
    out["ts"] = int(data.get("at_ns", 0))
    return out


def _v0_strategy_started(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "v"}


def _v0_strategy_stopped(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "v"}
    reason = str(data.get("reason", ""))
    # The only two reasons that did not mean "stopped for good": a shutdown resumes, an error does not.
    out["resume"] = reason == "engine stopping"
    if reason.startswith("error: "):
        out["error"] = reason.removeprefix("error: ")
    return out


for _cls in (
    RiskLimitSet,
    TradingHalted,
    TradingResumed,
    RiskAlertRaised,
    RiskAlertAcknowledged,
    ScheduleAdded,
    SchedulePaused,
    ScheduleResumed,
    ScheduleRemoved,
    StrategyStarted,
    StrategyStopped,
    StrategyDeleted,
    RiskStateImported,
):
    register_record(_cls)
register_upgrader("TradingHalted", 0, _v0_halt)
register_upgrader("TradingResumed", 0, _v0_resume)
register_upgrader("StrategyStarted", 0, _v0_strategy_started)
register_upgrader("StrategyStopped", 0, _v0_strategy_stopped)

__all__ = [
    "RECORD_SCHEMA_VERSION",
    "RECORD_TYPES",
    "RiskAlertAcknowledged",
    "RiskAlertRaised",
    "RiskLimitSet",
    "RiskRecord",
    "RiskStateImported",
    "ScheduleAdded",
    "SchedulePaused",
    "ScheduleRemoved",
    "ScheduleResumed",
    "StrategyDeleted",
    "StrategyStarted",
    "StrategyStopped",
    "TradingHalted",
    "TradingResumed",
    "is_risk_record",
    "record_from_dict",
    "record_to_dict",
    "register_record",
    "register_upgrader",
]
