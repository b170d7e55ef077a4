"""The daemon's side of the risk and control state: journaled first, folded, then projected into the state store.

Limits, halts, alerts, schedules and running strategies are journal records (``engine/risk/records.py``) like
every other state change; :class:`RiskKeeper` holds their fold (``engine/risk/state.py``) for one trading host:

* **Replay**: :meth:`RiskKeeper.fold` sees every record the host replays; :meth:`RiskKeeper.start` then hands the
  limits and the halts in force to the node's risk engine (a restarted engine is still halted), imports once a
  state store written before these records existed, and rebuilds the store's tables from the fold, so a deleted
  ``state.db`` changes nothing.
* **Changes**: every record reaches the journal through the node on the engine thread (:meth:`RiskKeeper.write`
  runs inside ``host.call``, which answers once the batch is synced: journal, then acknowledge). The keeper sees
  each one as it is appended (:class:`_Tap`), the circuit breakers' halts included, and folds it at once.
* **Projection**: the state store has one writer, the journal-tailing projector
  (:mod:`~alphintra.daemon.trading.projector`), which dispatches the risk records after the start's rebuild to
  ``riskstate_projection.project`` in its own transactions; a request waits for its own records to be projected so
  that its answer and the next read agree. A failed store write only delays the projection.

Without a daemon (the CLI), :func:`offline_write` opens the journal itself (it holds the journal's lock, so no
daemon can be writing), folds it, appends the new records and projects them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from alphintra.config.logs import get_logger
from alphintra.engine.risk.breakers import Halt, halt_alert
from alphintra.engine.risk.limits import HALT_NAME, LIMITS
from alphintra.engine.risk.records import (
    RiskAlertAcknowledged,
    RiskAlertRaised,
    RiskLimitSet,
    RiskRecord,
    RiskStateImported,
    ScheduleAdded,
    SchedulePaused,
    StrategyStarted,
    is_risk_record,
    record_to_dict,
)
from alphintra.engine.risk.state import ACTIVE, RiskState

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.node import TradingNode
    from alphintra.storage.state import StateStore

log = get_logger("daemon.riskstate")
_PROJECT_WAIT_S = 10.0


class Projection(Protocol):
    """What the keeper needs of the projector: wait until a journal record is in the store."""

    def wait_applied(self, seq: int, timeout: float = 30.0) -> bool: ...


class _Tap:
    """The node's journal sink, seen through: risk records appended are folded as they are appended."""

    def __init__(self, inner: Any, keeper: RiskKeeper) -> None:
        self.inner = inner
        self.keeper = keeper

    def append(self, record: dict[str, Any]) -> int:
        seq = int(self.inner.append(record))
        if is_risk_record(record):
            self.keeper.observe(seq, record)
        return seq

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RiskKeeper:
    """The fold of one host's risk records and their projection; see the module docstring."""

    def __init__(self, host: Host, store: StateStore) -> None:
        self.host = host
        self.store = store
        self.state = RiskState()
        # The journal position the start's rebuild of the risk tables stands at: the projector writes what follows.
        self.projected_from = 0
        self.projection: Projection | None = None  # set by the builder once the projector runs
        self._last_seq = 0  # the newest risk record journaled

    # -- replay and start ----------------------------------------------------------------------------------------

    def fold(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Pass the replayed records on to the node, folding the risk records among them."""
        for rec in records:
            if is_risk_record(rec):
                self.state.apply_dict(rec)
            yield rec

    def capture(self) -> Callable[[], dict[str, Any]]:
        """Snapshot part (engine thread): the state is small, so it is copied here, not on the writer's thread."""
        state = self.state.to_state()
        return lambda: state

    def reset(self, data: Mapping[str, Any] | None) -> None:
        """Start the fold again from a snapshot's part (or from nothing): the records after it are folded next."""
        self.state = RiskState() if data is None else RiskState.from_state(data)

    def start(self, node: TradingNode) -> None:
        """After the replay, before the engine thread runs: import once, arm the risk engine, rebuild the store."""
        node.journal = _Tap(node.journal, self)
        if not self.state.imported:
            records = legacy_records(self.store, self.state, node.clock.now_ns())
            for rec in records:
                node.record(record_to_dict(rec))
            node.record(record_to_dict(RiskStateImported(node.clock.now_ns(), len(records))))
            if records:
                log.warning("risk state imported from the state store", extra={"records": len(records)})
        risk = node.risk
        setter = getattr(risk, "set_limits", None)
        if callable(setter):
            setter(self.state.limits)
        book = getattr(risk, "halts", None)
        if book is not None:
            for halt in self.state.active_halts():
                book.halt(halt)
        from alphintra.daemon.trading.riskstate_projection import rebuild

        # Before the projector runs (nothing else writes the store yet): the tables become the fold of the journal
        # up to here, and the projector takes over from this position.
        rebuild(self.store, self.state)
        self.projected_from = int(node.journal.last_seq)
        halts = self.state.active_halts()
        if halts:
            log.warning("trading is halted: %s", "; ".join(f"{h.where} ({h.reason})" for h in halts))

    def close(self) -> None:
        self.projection = None
        self.store.close()

    # -- engine thread -------------------------------------------------------------------------------------------

    def observe(self, seq: int, data: Mapping[str, Any]) -> None:
        """A risk record was appended to the journal as record ``seq``: fold it."""
        self.state.apply_dict(data)
        self._last_seq = seq

    def record(self, rec: RiskRecord) -> None:
        """Engine thread: journal one record (folded by the tap, projected by the projector)."""
        node = self.host.node
        assert node is not None
        node.record(record_to_dict(rec))

    def raise_alert(
        self,
        severity: str,
        rule: str,
        message: str,
        *,
        account: str | None = None,
        strategy: str | None = None,
        symbol: str | None = None,
        value: Decimal | None = None,
        threshold: Decimal | None = None,
        ts: int | None = None,
    ) -> RiskAlertRaised:
        """Engine thread: journal a new alert under the next id of the home."""
        node = self.host.node
        assert node is not None
        now = node.clock.now_ns() if ts is None else ts
        rec = RiskAlertRaised(
            now, self.state.alert_id(), severity, rule, message, account, strategy, symbol, value, threshold
        )
        self.record(rec)
        return rec

    def alert(
        self,
        severity: str,
        rule: str,
        message: str,
        *,
        account: str | None = None,
        strategy: str | None = None,
        symbol: str | None = None,
        value: Decimal | None = None,
        threshold: Decimal | None = None,
    ) -> RiskAlertRaised:
        """Engine thread: an alert raised from outside the risk engine (the API, a strategy's monitor) -- journaled
        as :meth:`raise_alert` does, then published on ``risk/alerts`` and counted, as the risk watch does."""
        rec = self.raise_alert(
            severity, rule, message, account=account, strategy=strategy, symbol=symbol, value=value, threshold=threshold
        )
        hub = self.host.hub()
        if hub is not None:
            hub.publish("risk/alerts", "alert", alert_record_view(rec), account=rec.account)
        metrics = self.host.metrics()
        if metrics is not None and severity != "INFO":  # an all-clear is not an alert to count
            metrics.risk_alerts_total.labels(rule=rule).inc()
        log.warning("risk alert: %s", message, extra={"rule": rule, "severity": severity})
        return rec

    def on_halt(self, halt: Halt) -> None:
        """The risk engine put a halt in force (journaled as it did): tell the operators and raise its alert."""
        row = halt_alert(halt)
        rec = self.raise_alert(
            row["severity"],
            row["rule"],
            row["message"],
            account=row["account_id"],
            strategy=row["strategy"],
            symbol=row["symbol"],
            value=row["value"],
            threshold=row["threshold"],
            ts=halt.at_ns,
        )
        self.host.event("WARNING", f"trading halted ({halt.where}): {halt.reason}")
        hub = self.host.hub()
        if hub is not None:  # streamed like every other alert (the TUI's alert list)
            hub.publish("risk/alerts", "alert", alert_record_view(rec), account=rec.account)
        metrics = self.host.metrics()
        if metrics is not None:
            metrics.risk_alerts_total.labels(rule=halt.rule).inc()

    def on_resume(self, halt: Halt, by: str, reason: str) -> None:
        """A halt was lifted: logged and raised as an alert, like the halt."""
        why = f": {reason}" if reason else ""
        self.raise_alert(
            "INFO",
            halt.rule,
            f"resumed {halt.where} (by {by}){why}",
            account=halt.scope_id if halt.scope.value == "account" else None,
            strategy=halt.scope_id if halt.scope.value == "strategy" else None,
            symbol=halt.scope_id if halt.scope.value == "symbol" else None,
        )
        self.host.event("WARNING", f"trading resumed ({halt.where}) by {by}{why}")

    # -- request threads -----------------------------------------------------------------------------------------

    def write(self, build: Callable[[RiskState], Iterable[RiskRecord]]) -> list[RiskRecord]:
        """Build records from the current state on the engine thread and journal them; returns once they are durable
        and projected. ``build`` may raise (a validation against the state): then nothing is written."""

        def run() -> list[RiskRecord]:
            records = list(build(self.state))
            for rec in records:
                self.record(rec)
            return records

        records = self.host.call(run)
        self.wait_projected()
        return records

    def wait_projected(self) -> None:
        """Until what was journaled so far is in the store (bounded: a slow store must not hang a request)."""
        projection, last = self.projection, self._last_seq
        if projection is None or last <= self.projected_from:
            return
        if not projection.wait_applied(last, timeout=_PROJECT_WAIT_S):
            log.warning("risk records up to journal record %d are not in the state store yet", last)


def alert_record_view(rec: RiskAlertRaised) -> dict[str, Any]:
    """A journaled alert as the API shows a stored one (``GET /risk/alerts``): new, so not acknowledged."""
    from alphintra.formatting import iso_ns

    return {
        "id": rec.alert_id,
        "time": iso_ns(rec.ts),
        "severity": rec.severity,
        "rule": rec.rule,
        "message": rec.message,
        "account": rec.account,
        "strategy": rec.strategy,
        "symbol": rec.symbol,
        "value": None if rec.value is None else str(rec.value),
        "threshold": None if rec.threshold is None else str(rec.threshold),
        "acknowledged": False,
        "acknowledged_by": None,
    }


# -- the one-time import of an old state store ---------------------------------------------------------------------


def legacy_records(store: StateStore, state: RiskState, now: int) -> list[RiskRecord]:
    """Records that put into the journal what a state store written before these records holds (limits with their
    history, halts, alerts, schedules, active strategies), skipping what the journal already has."""
    from alphintra.storage.state.types import to_ns

    out: list[RiskRecord] = []
    # History oldest first: replayed, it ends at the stored limits.
    for change in reversed(store.risk_limit_history(limit=100_000)):
        if change.name == HALT_NAME:
            continue
        out.append(
            RiskLimitSet(
                to_ns(change.changed_at),
                change.name,
                change.scope,
                change.scope_id,
                change.old_value,
                change.new_value,
                change.changed_by,
                change.reason,
            )
        )
    folded = RiskState.fold(out)
    for lim in store.list_risk_limits():
        if lim.name == HALT_NAME or lim.name not in LIMITS:
            continue
        before = folded.limit(lim.name, lim.scope, lim.scope_id)
        if before != lim.value:
            out.append(
                RiskLimitSet(
                    to_ns(lim.updated_at), lim.name, lim.scope, lim.scope_id, before, lim.value, lim.updated_by
                )
            )
    from alphintra.engine.risk.breakers import halted_record, load_halts

    for halt in load_halts(store):
        if (halt.scope.value, halt.scope_id) not in state.halts:
            out.append(halted_record(halt))
    for alert in sorted(store.list_alerts(limit=100_000), key=lambda a: a.id or 0):
        if alert.id is None or alert.id in state.alerts:
            continue
        out.append(
            RiskAlertRaised(
                to_ns(alert.time),
                alert.id,
                alert.severity,
                alert.rule,
                alert.message,
                alert.account_id,
                alert.strategy,
                alert.symbol,
                alert.value,
                alert.threshold,
            )
        )
        if alert.acknowledged:
            at = to_ns(alert.acknowledged_at) if alert.acknowledged_at is not None else now
            out.append(RiskAlertAcknowledged(at, alert.id, alert.acknowledged_by or "unknown"))
    for job in store.list_jobs():
        args = job.args or {}
        if job.id in state.schedules or job.command != "strategy":
            continue
        out.append(
            ScheduleAdded(
                to_ns(job.created_at),
                job.id,
                job.schedule,
                str(args.get("strategy", "")),
                tuple(str(s) for s in args.get("symbols") or []),
                dict(args.get("params") or {}),
                str(args.get("timezone", "UTC")),
                True,
            )
        )
        if not job.enabled:
            out.append(SchedulePaused(now, job.id))
    for row in store.list_strategies(status=ACTIVE):
        if row.id is None or (row.id in state.strategies and state.strategies[row.id]["status"] == ACTIVE):
            continue
        config = row.config or {}
        out.append(
            StrategyStarted(
                to_ns(row.updated_at),
                row.id,
                row.name,
                row.strategy_type,
                tuple(str(s) for s in config.get("symbols") or []),
                dict(config.get("params") or {}),
            )
        )
    return out


# -- without a daemon ----------------------------------------------------------------------------------------------


def offline_write(
    settings: Any, store: StateStore, build: Callable[[RiskState, int], Iterable[RiskRecord]]
) -> list[RiskRecord]:
    """The CLI with no daemon: fold the journal, journal what ``build`` makes of it (durably), then project it.
    ``build`` gets the state and the time; it may raise, and then nothing is written."""
    import time

    from alphintra.daemon.trading.riskstate_projection import project
    from alphintra.storage.journal import Journal

    journal = Journal(settings.paths.journal, fsync="every")
    try:
        state = RiskState()
        for entry in journal.read():
            if is_risk_record(entry.record):
                state.apply_dict(entry.record)
        now = time.time_ns()
        pending: list[RiskRecord] = []
        if not state.imported:
            pending = legacy_records(store, state, now)
            pending.append(RiskStateImported(now, len(pending)))
            for old in pending:
                state.apply(old)
        records = list(build(state, now))
        if pending or records:
            journal.append_many([record_to_dict(r) for r in [*pending, *records]])
            journal.sync()
    finally:
        journal.close()
    with store.batch() as w:
        for new in records:
            project(w, new)
    return records


__all__ = ["RiskKeeper", "alert_record_view", "legacy_records", "offline_write"]
