"""Schedules: a strategy evaluated on a cron, inside the daemon (APScheduler) or from the system's crontab.

A schedule is journaled (``ScheduleAdded``/``SchedulePaused``/``ScheduleResumed``/``ScheduleRemoved``, folded by
the host's risk keeper) and projected into the trading state store's ``scheduled_jobs`` table (id = its name,
``schedule`` = the cron expression, ``command = "strategy"``, ``args = {"strategy", "symbols", "params",
"timezone"}``), which also records every run (status, error, next run). Neither is APScheduler's SQLAlchemy job
store: no pickled callables. The daemon rebuilds the table from the journal at start, loads it into an in-memory
APScheduler, and journals every change before APScheduler hears of it.

Cron: five fields (minute hour day-of-month month day-of-week, as in crontab: 0 and 7 are Sunday) or six with
seconds first (``*/2 * * * * *``). Restricting both day-of-month and day-of-week is refused: crontab fires when
either matches, APScheduler when both do, and a schedule must mean the same in both places.

A firing runs one evaluation of the job's strategy on the engine thread (``strategies.evaluate``: ``on_schedule``,
else one bar since the previous firing); the job's strategy instance lives between
firings (a DCA counter or an indicator carries over) and is rebuilt after an error or a restart. Orders carry the
job's name as their strategy tag.

Misfires: jobs coalesce (a backlog runs once) with one instance at a time; a firing later than the grace time is
skipped, logged and recorded as ``MISSED``. A firing missed while the daemon was down is handled the same way at
start: the stored next run time is kept, so it runs once if still within the grace time, else it is recorded
``MISSED``.
"""

from __future__ import annotations

import re
import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from alphintra.config.logs import get_logger
from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.ownership import Visible
from alphintra.daemon.trading.strategies import (
    Evaluation,
    EvaluationOut,
    Instance,
    build_instance,
    check_name,
    evaluate,
    jsonable,
    signal_view,
    strategy_class,
    validate_params,
    validate_symbols,
)
from alphintra.engine.risk.records import (
    RiskRecord,
    ScheduleAdded,
    SchedulePaused,
    ScheduleRemoved,
    ScheduleResumed,
)
from alphintra.errors import ConflictError, NotFoundError, ValidationError
from alphintra.formatting import iso_dt

if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    from alphintra.daemon.trading.ports import Host
    from alphintra.daemon.trading.strategies import StrategyManager
    from alphintra.engine.risk.state import RiskState
    from alphintra.storage.state import ScheduledJob, StateStore

log = get_logger("daemon.scheduler")

COMMAND = "strategy"
MISFIRE_GRACE_SECONDS = 30
# How long a stop waits for schedule firings in progress (each is one strategy evaluation on the engine thread).
FIRING_WAIT_SECONDS = 20.0
Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]

# -- cron ------------------------------------------------------------------------------------------------------

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_ITEM = re.compile(r"^(\*|[0-7]|[a-z]{3})(?:-([0-7]|[a-z]{3}))?(?:/(\d+))?$")


def _dow_number(token: str, expr: str) -> int:
    if token.isdigit():
        return int(token) % 7  # crontab: 0 and 7 are both Sunday
    if token in _DOW_NAMES:
        return _DOW_NAMES.index(token)
    raise ValidationError("cron", "day-of-week must use 0-7 or sun..sat", expr)


def crontab_weekdays(field_text: str, expr: str = "") -> str:
    """A crontab day-of-week field as APScheduler day names (APScheduler 3 counts 0 as Monday, crontab as Sunday)."""
    text = field_text.strip().lower()
    if text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        m = _DOW_ITEM.match(item)
        if m is None:
            raise ValidationError("cron", f"cannot read the day-of-week item {item!r}", expr)
        start_s, end_s, step_s = m.groups()
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValidationError("cron", "a step must be at least 1", expr)
        if start_s == "*":
            if end_s:
                raise ValidationError("cron", f"cannot read the day-of-week item {item!r}", expr)
            start, end = 0, 6
        else:
            start = int(start_s) if start_s.isdigit() else _DOW_NAMES.index(start_s) if start_s in _DOW_NAMES else -1
            if start < 0:
                raise ValidationError("cron", "day-of-week must use 0-7 or sun..sat", expr)
            if end_s is None:
                end = start if not step_s else 6
            else:
                end = int(end_s) if end_s.isdigit() else _dow_number(end_s, expr)
            if end < start:
                raise ValidationError("cron", f"day-of-week range {item!r} runs backwards", expr)
        days.update(d % 7 for d in range(start, end + 1, step))
    return ",".join(_DOW_NAMES[d] for d in sorted(days))


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed cron expression (crontab meaning), with or without a leading seconds field."""

    expr: str
    second: str | None
    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str
    timezone: str = "UTC"

    @property
    def has_seconds(self) -> bool:
        return self.second is not None

    @property
    def crontab(self) -> str | None:
        """The five-field form for the system's crontab (None when a seconds field is given)."""
        if self.second is not None:
            return None
        return " ".join((self.minute, self.hour, self.day, self.month, self.day_of_week))

    def trigger(self) -> CronTrigger:
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(
            second=self.second if self.second is not None else "0",
            minute=self.minute,
            hour=self.hour,
            day=self.day,
            month=self.month,
            day_of_week=crontab_weekdays(self.day_of_week, self.expr),
            timezone=zone(self.timezone),
        )


def zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", "must be an IANA time zone such as UTC or Europe/Paris", name) from None


def parse_cron(expr: str, timezone: str = "UTC") -> CronSpec:
    """Validate ``expr`` (5 fields, or 6 with seconds first) and return it parsed; ValidationError names ``--cron``."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValidationError("cron", "needs 5 fields (minute hour day month weekday) or 6 with seconds first", expr)
    second = fields[0] if len(fields) == 6 else None
    minute, hour, day, month, dow = fields[-5:]
    if day not in ("*", "?") and dow not in ("*", "?"):
        raise ValidationError(
            "cron",
            "restrict day-of-month or day-of-week, not both (crontab and the daemon would combine them differently)",
            expr,
        )
    spec = CronSpec(" ".join(fields), second, minute, hour, day, month, dow, timezone)
    zone(timezone)
    try:
        spec.trigger()
    except ValueError as exc:
        raise ValidationError("cron", str(exc), expr) from None
    return spec


def next_fire_times(spec: CronSpec, after: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` firing times strictly after ``after`` (for `schedule add` to show what it means)."""
    trigger = spec.trigger()
    out: list[datetime] = []
    previous: datetime | None = None
    now = after + timedelta(microseconds=1)
    while len(out) < count:
        nxt = trigger.get_next_fire_time(previous, now)
        if nxt is None:
            break
        out.append(nxt)
        previous, now = nxt, nxt + timedelta(microseconds=1)
    return out


# -- jobs ------------------------------------------------------------------------------------------------------


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="the job's id; its orders carry it as strategy tag")
    cron: str = Field(min_length=1, max_length=100)
    strategy: str = Field(min_length=1, max_length=64)
    symbols: list[str] = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)
    timezone: str = Field(default="UTC", max_length=64)
    enabled: StrictBool = True  # strict: 0 or "yes" is not a flag (what the OpenAPI document says)


class ScheduleOut(BaseModel):
    id: str
    cron: str
    strategy: str
    symbols: list[str]
    params: dict[str, Any]
    timezone: str
    enabled: bool
    next_run_at: str | None
    last_run_at: str | None
    last_status: str | None
    last_error: str | None
    run_count: int


def _ns(value: datetime | None) -> str | None:
    """A stored time as the API writes times: ISO-8601 UTC text (naive means UTC)."""
    return iso_dt(value)


def job_view(row: ScheduledJob, next_run: datetime | None = None) -> dict[str, Any]:
    args = row.args or {}
    return {
        "id": row.id,
        "cron": row.schedule,
        "strategy": args.get("strategy", ""),
        "symbols": list(args.get("symbols") or []),
        "params": dict(args.get("params") or {}),
        "timezone": args.get("timezone", "UTC"),
        "enabled": row.enabled,
        "next_run_at": _ns(next_run if next_run is not None or not row.enabled else row.next_run_at),
        "last_run_at": _ns(row.last_run_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
        "run_count": row.run_count,
    }


def validate_job(body: ScheduleCreate, known_symbols: list[str] | None = None) -> tuple[CronSpec, list[str]]:
    check_name(body.name)
    spec = parse_cron(body.cron, body.timezone)
    cls = strategy_class(body.strategy)
    validate_params(cls, body.params)
    symbols = validate_symbols(cls, body.symbols, known_symbols)
    return spec, symbols


def add_job_row(
    store: StateStore, body: ScheduleCreate, known_symbols: list[str] | None = None, next_run: datetime | None = None
) -> ScheduledJob:
    """Validate and store a new schedule (the daemon's API and the CLI without a daemon both use this)."""
    spec, symbols = validate_job(body, known_symbols)
    try:
        store.get_job(body.name)
    except NotFoundError:
        pass
    else:
        raise ConflictError(f"a schedule named {body.name!r} already exists")
    return store.upsert_job(
        {
            "id": body.name,
            "name": body.name,
            "schedule": spec.expr,
            "command": COMMAND,
            "args": {
                "strategy": body.strategy,
                "symbols": symbols,
                "params": jsonable(body.params),
                "timezone": body.timezone,
            },
            "enabled": body.enabled,
            "next_run_at": next_run,
        }
    )


def added_record(body: ScheduleCreate, spec: CronSpec, symbols: list[str], now: int, by: str = "") -> ScheduleAdded:
    """The journal record of a new, validated schedule (the daemon's API and the CLI without a daemon)."""
    return ScheduleAdded(
        now,
        body.name,
        spec.expr,
        body.strategy,
        tuple(symbols),
        jsonable(body.params),
        body.timezone,
        body.enabled,
        by,
    )


def job_spec(row: ScheduledJob) -> CronSpec:
    return parse_cron(row.schedule, (row.args or {}).get("timezone", "UTC"))


def run_once_argv(row: ScheduledJob) -> list[str]:
    """The `alphintra strategy run-once ...` arguments that perform one firing of ``row``."""
    args = row.args or {}
    argv = ["strategy", "run-once", str(args.get("strategy", "")), "--name", row.id]
    for symbol in args.get("symbols") or []:
        argv += ["--symbol", str(symbol)]
    for key, value in sorted((args.get("params") or {}).items()):
        text = value if isinstance(value, str) else _param_text(value)
        argv += ["--param", f"{key}={text}"]
    return argv


def _param_text(value: Any) -> str:
    import json

    return "true" if value is True else "false" if value is False else json.dumps(value)


def crontab_lines(rows: list[ScheduledJob], *, program: list[str] | None = None, home: str | None = None) -> list[str]:
    """crontab(5) lines that run each schedule with `strategy run-once` (for use without a daemon)."""
    program = program or [sys.executable, "-m", "alphintra"]
    lines = [
        "# Alphintra schedules: `alphintra strategy run-once` per firing (holds a lock, exits non-zero on failure)"
    ]
    env = f"ALPHINTRA_HOME={shlex.quote(home)} " if home else ""
    log_file = f"{home}/logs/cron.log" if home else "$HOME/alphintra-cron.log"
    zones_done: str | None = None
    for row in rows:
        spec = job_spec(row)
        if spec.crontab is None:
            lines.append(f"# {row.id}: {spec.expr!r} has a seconds field; cron fires at most once a minute (skipped)")
            continue
        if spec.timezone != zones_done:
            lines.append(f"CRON_TZ={spec.timezone}")
            zones_done = spec.timezone
        command = " ".join(shlex.quote(p) for p in [*program, *run_once_argv(row)])
        line = f"{spec.crontab} {env}{command} >> {shlex.quote(log_file)} 2>&1"
        lines.append(line if row.enabled else f"# (paused) {line}")
    return lines


# -- the daemon's scheduler --------------------------------------------------------------------------------------


class Scheduler:
    """APScheduler inside the daemon, loaded from and written through to the ``scheduled_jobs`` table."""

    def __init__(
        self,
        host: Host,
        manager: StrategyManager,
        *,
        store: StateStore | None = None,
        grace_seconds: int = MISFIRE_GRACE_SECONDS,
    ) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.host = host
        self.manager = manager
        self.store = store if store is not None else manager.store
        self.grace_seconds = grace_seconds
        self.instances: dict[str, Instance] = {}
        self.rows: dict[str, ScheduledJob] = {}
        self._lock = threading.Lock()
        self._firings = 0  # firings in progress (APScheduler's workers and run-now requests)
        self._idle = threading.Condition(self._lock)
        self.aps: BackgroundScheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace_seconds},
        )

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def load(self) -> int:
        """Put every stored schedule into APScheduler; start it paused (``resume`` once the engine runs)."""
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        self.aps.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        count = 0
        now = datetime.now(UTC)  # the daemon's wall clock: schedules are wall-clock by nature
        for row in self.store.list_jobs():
            if row.command != COMMAND:
                continue
            try:
                self._add(row, resume_at=row.next_run_at if row.next_run_at and row.next_run_at < now else None)
            except Exception as exc:  # one unreadable job must not keep the others (or the daemon) down
                log.error("schedule %s could not be loaded: %s", row.id, exc)
                continue
            count += 1
        self.aps.start(paused=True)
        return count

    def resume(self) -> None:
        self.aps.resume()

    def _account_of(self, job: str) -> str | None:
        """The account a schedule's strategy trades in (its streams reach only the users of that account)."""
        instance = self.instances.get(job)
        return None if instance is None else str(instance.runner.ctx.account)

    def shutdown(self, wait_seconds: float = FIRING_WAIT_SECONDS) -> None:
        """Before the engine thread stops: no new firings, running ones finish, instances leave the node.

        APScheduler's own ``shutdown(wait=True)`` holds its job-store lock while it waits for running jobs, and a
        firing reads its next run time through that lock when it records itself: the stop would hang. So it is
        told to stop without waiting, and the firings in progress are awaited here."""
        if self.aps.running:
            self.aps.shutdown(wait=False)
        with self._idle:
            if not self._idle.wait_for(lambda: self._firings == 0, timeout=wait_seconds):
                log.error(
                    "%d schedule firing(s) still running after %.0f s; stopping anyway", self._firings, wait_seconds
                )

        def detach() -> None:
            for instance in self.instances.values():
                instance.runner.detach()
            self.instances.clear()

        try:
            self.host.call(detach)
        except Exception as exc:  # the engine may already be gone: nothing left to detach from
            log.debug("schedule instances not detached: %s", exc)

    # -- APScheduler plumbing ----------------------------------------------------------------------------------

    def _add(self, row: ScheduledJob, *, resume_at: datetime | None = None) -> None:
        spec = job_spec(row)
        kwargs: dict[str, Any] = {}
        if not row.enabled:
            kwargs["next_run_time"] = None
        elif resume_at is not None:
            kwargs["next_run_time"] = resume_at if resume_at.tzinfo else resume_at.replace(tzinfo=UTC)
        self.aps.add_job(
            self._fire,
            trigger=spec.trigger(),
            args=(row.id,),
            id=row.id,
            name=row.id,
            replace_existing=True,
            **kwargs,
        )
        with self._lock:
            self.rows[row.id] = row

    def next_run(self, job_id: str) -> datetime | None:
        job = self.aps.get_job(job_id)
        return None if job is None else job.next_run_time

    def _on_missed(self, event: JobExecutionEvent) -> None:
        from apscheduler.events import EVENT_JOB_MISSED

        status = "MISSED" if event.code == EVENT_JOB_MISSED else "SKIPPED"
        why = "later than the grace time" if status == "MISSED" else "the previous firing was still running"
        message = f"firing due at {event.scheduled_run_time.isoformat()} {status.lower()}: {why}"
        log.warning("schedule %s: %s", event.job_id, message, extra={"job": event.job_id, "status": status})
        try:
            self.store.record_job_run(
                event.job_id, status=status, error=message, next_run_at=self.next_run(event.job_id)
            )
        except Exception as exc:
            log.error("schedule %s: could not record the %s firing: %s", event.job_id, status.lower(), exc)

    def _fire(self, job_id: str) -> dict[str, Any]:
        """APScheduler's worker thread (or a run-now request): evaluate on the engine thread, then record."""
        with self._lock:
            row = self.rows.get(job_id)
            if row is None:
                raise NotFoundError(f"schedule {job_id!r} does not exist")
            self._firings += 1
        try:
            return self._fire_row(job_id, row)
        finally:
            with self._idle:
                self._firings -= 1
                self._idle.notify_all()

    def _fire_row(self, job_id: str, row: ScheduledJob) -> dict[str, Any]:
        try:
            result = self.host.call(lambda: self._evaluate(row))
            status, error = ("OK", None) if result.ok else ("FAILED", result.error)
            out = result.to_dict()
        except Exception as exc:  # the engine is stopping, or refused: recorded, never raised into APScheduler
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
            args = row.args or {}
            out = Evaluation(
                job_id, str(args.get("strategy", "")), list(args.get("symbols") or []), 0, error=error
            ).to_dict()
        level = log.info if status == "OK" else log.error
        level(
            "schedule %s fired: %s%s",
            job_id,
            status,
            f" ({error})" if error else f", {len(out['orders'])} order(s)",
            extra={"job": job_id, "status": status},
        )
        try:
            self.store.record_job_run(job_id, status=status, error=error, next_run_at=self.next_run(job_id))
        except Exception as exc:
            log.error("schedule %s: could not record the run: %s", job_id, exc)
        return out

    def _evaluate(self, row: ScheduledJob) -> Evaluation:
        """Engine thread."""
        manager = self.manager
        node = manager.node
        args = row.args or {}
        instance = self.instances.get(row.id)
        if instance is None:
            instance = build_instance(
                node,
                key=f"schedule:{row.id}",
                name=row.id,
                strategy_type=str(args.get("strategy", "")),
                symbols=list(args.get("symbols") or []),
                params=dict(args.get("params") or {}),
                account=None if args.get("symbols") else self.host.account,
                accounts=self.host.account_for,
                on_signal=lambda sig: manager._publish(
                    f"strategies/schedule:{row.id}/signals", "signal", signal_view(sig), self._account_of(row.id)
                ),
            )
            if instance.error is not None:
                instance.runner.detach()
                return Evaluation(
                    row.id, instance.strategy_type, instance.symbols, node.clock.now_ns(), error=instance.error.message
                )
            self.instances[row.id] = instance
        result = evaluate(node, instance, manager.recent_bars)
        if not result.ok:
            # Rebuilt fresh at the next firing: a strategy that raised is not trusted with its old state.
            instance.runner.detach()
            self.instances.pop(row.id, None)
        node.record(
            {
                "type": "ScheduleFired",
                "ts": result.ts,
                "job": row.id,
                "ok": result.ok,
                "orders": result.orders,
                "error": result.error,
            }
        )
        manager._publish(
            f"strategies/schedule:{row.id}/status", "run", result.to_dict(), str(instance.runner.ctx.account)
        )
        return result

    def _drop_instance(self, job_id: str) -> None:
        def drop() -> None:
            instance = self.instances.pop(job_id, None)
            if instance is not None:
                instance.runner.detach()

        self.host.call(drop)

    # -- API operations ----------------------------------------------------------------------------------------

    def _row(self, job_id: str) -> ScheduledJob:
        with self._lock:
            row = self.rows.get(job_id)
        if row is None:
            raise NotFoundError(f"schedule {job_id!r} does not exist")
        return row

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = sorted(self.rows)
        return [self.get(job_id) for job_id in rows]

    def get(self, job_id: str) -> dict[str, Any]:
        row = self.store.get_job(job_id)
        return job_view(row, self.next_run(job_id))

    def _journal(self, build: Callable[[RiskState], Iterable[RiskRecord]]) -> None:
        """Journal a change (durable, then projected into ``scheduled_jobs``) before APScheduler hears of it."""
        self.host.risk_keeper.write(build)

    def add(self, body: ScheduleCreate, by: str = "") -> dict[str, Any]:
        symbols = self.host.call(lambda: self.manager.node.instruments.symbols())
        spec, checked = validate_job(body, symbols)

        def build(state: RiskState) -> Iterable[RiskRecord]:
            if body.name in state.schedules:
                raise ConflictError(f"a schedule named {body.name!r} already exists")
            return [added_record(body, spec, checked, self._now(), by)]

        self._journal(build)
        row = self.store.get_job(body.name)
        first = next_fire_times(spec, datetime.now(UTC), 1) if body.enabled else []
        if first:
            row = self.store.upsert_job({"id": row.id, "next_run_at": first[0]})
        try:
            self._add(row)
        except Exception:
            self._journal(lambda state: [ScheduleRemoved(self._now(), body.name, by)])
            raise
        log.info("schedule added", extra={"job": row.id, "cron": row.schedule})
        return self.get(row.id)

    def _now(self) -> int:
        node = self.host.node
        assert node is not None
        return node.clock.now_ns()

    def remove(self, job_id: str, by: str = "") -> dict[str, Any]:
        self._row(job_id)
        self._journal(lambda state: [ScheduleRemoved(self._now(), job_id, by)])
        if self.aps.get_job(job_id) is not None:
            self.aps.remove_job(job_id)
        with self._lock:
            self.rows.pop(job_id, None)
        self._drop_instance(job_id)
        log.info("schedule removed", extra={"job": job_id})
        return {"removed": job_id}

    def pause(self, job_id: str, by: str = "") -> dict[str, Any]:
        self._row(job_id)
        self._journal(lambda state: [SchedulePaused(self._now(), job_id, by)])
        self.aps.pause_job(job_id)
        row = self.store.get_job(job_id)
        with self._lock:
            self.rows[job_id] = row
        return self.get(job_id)

    def resume_job(self, job_id: str, by: str = "") -> dict[str, Any]:
        self._row(job_id)
        self._journal(lambda state: [ScheduleResumed(self._now(), job_id, by)])
        self.aps.resume_job(job_id)
        row = self.store.upsert_job({"id": job_id, "next_run_at": self.next_run(job_id)})
        with self._lock:
            self.rows[job_id] = row
        return self.get(job_id)

    def run_now(self, job_id: str) -> dict[str, Any]:
        self._row(job_id)
        return self._fire(job_id)


def scheduler_of(host: Host) -> Scheduler:
    scheduler = getattr(host, "scheduler", None)
    if scheduler is None:
        from alphintra.daemon.protocol import NotReadyError

        raise NotReadyError("the scheduler is not running")
    assert isinstance(scheduler, Scheduler)
    return scheduler


def schedules_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/schedules", tags=["schedules"])

    @r.get("", response_model=list[ScheduleOut])
    def list_schedules(who: Viewer, seen: Visible) -> list[dict[str, Any]]:
        """The schedules trading in accounts the caller may see (a schedule's account is its first symbol's)."""
        scheduler = scheduler_of(host)
        return [job for job in scheduler.list() if seen.sees(scheduler.manager.account_of(job["symbols"]))]

    @r.post("", response_model=ScheduleOut, status_code=201)
    def add_schedule(body: ScheduleCreate, who: Trader) -> dict[str, Any]:
        return scheduler_of(host).add(body, who.user)

    @r.get("/{job_id}", response_model=ScheduleOut)
    def get_schedule(job_id: str, who: Viewer) -> dict[str, Any]:
        return scheduler_of(host).get(job_id)

    @r.delete("/{job_id}")
    def remove_schedule(job_id: str, who: Trader) -> dict[str, Any]:
        return scheduler_of(host).remove(job_id, who.user)

    @r.post("/{job_id}/pause", response_model=ScheduleOut)
    def pause_schedule(job_id: str, who: Trader) -> dict[str, Any]:
        return scheduler_of(host).pause(job_id, who.user)

    @r.post("/{job_id}/resume", response_model=ScheduleOut)
    def resume_schedule(job_id: str, who: Trader) -> dict[str, Any]:
        return scheduler_of(host).resume_job(job_id, who.user)

    @r.post("/{job_id}/run", response_model=EvaluationOut)
    def run_schedule(job_id: str, who: Trader) -> dict[str, Any]:
        """Fire now (paused or not); a strategy failure is in the answer (``ok``/``error``) and the run record."""
        return scheduler_of(host).run_now(job_id)

    return r


__all__ = [
    "COMMAND",
    "MISFIRE_GRACE_SECONDS",
    "CronSpec",
    "ScheduleCreate",
    "ScheduleOut",
    "Scheduler",
    "add_job_row",
    "added_record",
    "crontab_lines",
    "crontab_weekdays",
    "job_spec",
    "job_view",
    "next_fire_times",
    "parse_cron",
    "run_once_argv",
    "schedules_router",
    "validate_job",
    "zone",
]
