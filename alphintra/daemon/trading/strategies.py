"""Strategies inside the daemon: saved definitions, running instances on the engine thread, and one-shot evaluations.

A saved strategy is a row of the trading state store (``trading_strategies``: name, strategy type, config
``{"symbols": [...], "params": {...}}``, status). Starting it builds the strategy behind the safe wrapper
(:class:`~alphintra.strategies.context.StrategyRunner`) over the daemon's node; the host's bar loop feeds it every
closed bar of its symbols and the runner routes its orders' events to it. Orders carry the saved name as their
``strategy`` tag, so risk limits per strategy and ``order list --strategy`` see them.

Durability: a start journals ``StrategyStarted`` with the whole definition and sets the row's status to
``ACTIVE`` (a stop: ``StrategyStopped`` and ``INACTIVE``); the journal is the truth (``engine/risk/records.py``):
at start the host rebuilds the rows of the strategies it knows from it (a deleted state store included), and the
daemon resumes every ``ACTIVE`` one (its indicators start afresh, its orders and positions come back from the
journal). A strategy that raises is stopped alone, marked ``ERROR`` with the
reason, and counted by the risk engine's error-rate breaker when one is wired. A daemon shutdown runs ``on_stop``
hooks but keeps the rows ``ACTIVE``, so the next start resumes them.

One evaluation (schedules, ``run-once``): the strategy's ``on_schedule()`` hook when it has one (a DCA buy, a
rebalance); otherwise ``on_bar`` with one bar per symbol covering the time since the previous evaluation (the paper
feed's bars merged; a flat bar at the last price when no bar closed since), so the schedule is the strategy's
timeframe. Signals are kept in memory (the last 1,000 per strategy) and streamed on
``strategies/{id}/signals``; status changes on ``strategies/{id}/status``. A signal whose data carries a
``risk_alert`` (the ``ml`` strategy's monitors, once per change of state) is also raised as a risk alert.

Threads: the store is written from request threads and from one background writer, never from the engine thread,
so a slow database cannot stall the node.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from alphintra.config.logs import get_logger
from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.ownership import Visible
from alphintra.daemon.trading.strategy_instances import (
    Evaluation,
    Instance,
    bar_data,
    build_instance,
    check_name,
    evaluate,
    jsonable,
    merged_bar,
    signal_view,
    strategy_class,
    validate_params,
    validate_symbols,
)
from alphintra.engine.risk.records import StrategyDeleted, StrategyStarted, StrategyStopped
from alphintra.errors import ConflictError, OperationFailed
from alphintra.formatting import iso_dt, iso_ns
from alphintra.strategies.base import BarData, StrategyError
from alphintra.strategies.context import RISK_ALERT, Signal

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.engine.data import Bar
    from alphintra.engine.node import TradingNode
    from alphintra.storage.state import StateStore, TradingStrategy

log = get_logger("daemon.strategies")

SIGNALS_KEPT = 1000
ACTIVE, INACTIVE, ERROR = "ACTIVE", "INACTIVE", "ERROR"

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]


# -- the manager -------------------------------------------------------------------------------------------------


def _row_config(row: TradingStrategy) -> tuple[list[str], dict[str, Any]]:
    config = row.config or {}
    return list(config.get("symbols") or []), dict(config.get("params") or {})


def _row_account(row: TradingStrategy) -> str | None:
    """The account the definition names (None: the first account on its first symbol's venue)."""
    account = (row.config or {}).get("account")
    return None if account is None else str(account)


def _config(symbols: list[str], params: dict[str, Any], account: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"symbols": symbols, "params": jsonable(params)}
    if account is not None:
        config["account"] = account
    return config


class StrategyManager:
    """Saved and running strategies of one trading host; see the module docstring."""

    def __init__(self, host: Host, store: StateStore | None = None) -> None:
        from alphintra.storage.state import StateStore

        self.host = host
        if store is None:
            store = StateStore(host.settings.effective_database_url)
            store.create_all()
        self.store = store
        self.running: dict[int, Instance] = {}
        self.signals: dict[int, deque[dict[str, Any]]] = {}
        self.errors: dict[int, str] = {}
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strategy-store")

    # -- engine-thread helpers ---------------------------------------------------------------------------------

    @property
    def node(self) -> TradingNode:
        node = self.host.node
        if node is None:
            raise OperationFailed("the trading engine is not running")
        return node

    def recent_bars(self, symbol: str) -> list[Bar]:
        feed = self.host.feed
        sf = feed.symbols.get(symbol) if feed is not None else None
        if sf is not None:
            return list(sf.bars)
        venues = self.host.venues
        market = None if venues is None else venues.markets.get(venues.symbols.get(symbol, ""))
        return market.recent_bars(symbol) if market is not None else []

    def account_of(self, symbols: list[str], account: str | None = None) -> str:
        """The account a strategy of ``symbols`` trades in (see :func:`venue_setup.strategy_account`)."""
        from alphintra.daemon.trading.venue_setup import strategy_account

        venues = self.host.venues
        if venues is None:
            return account or self.host.account
        return strategy_account(self.host.settings, venues, symbols, account)

    def _publish(self, topic: str, kind: str, data: Any, account: str | None = None) -> None:
        """``account``: the strategy's, so that its streams reach only the users who may use that account."""
        hub = self.host.hub()
        if hub is not None:
            hub.publish(topic, kind, data, account=account)

    def _account_of(self, strategy_id: int) -> str | None:
        instance = self.running.get(strategy_id)
        return None if instance is None else str(instance.runner.ctx.account)

    def _gauge(self) -> None:
        metrics = self.host.metrics()
        if metrics is not None:
            metrics.active_strategies.set(len(self.running))

    def _on_signal(self, strategy_id: int) -> Callable[[Signal], None]:
        def on_signal(sig: Signal) -> None:
            view = signal_view(sig)
            with self._lock:
                self.signals.setdefault(strategy_id, deque(maxlen=SIGNALS_KEPT)).append(view)
            self._publish(f"strategies/{strategy_id}/signals", "signal", view, self._account_of(strategy_id))
            if sig.data.get(RISK_ALERT) is not None:
                self._raise(sig)

        return on_signal

    def _raise(self, sig: Signal) -> None:
        """Engine thread: a signal carrying ``risk_alert`` (the ``ml`` strategy's drift or anomaly monitor, on a
        change of state) becomes a risk alert, journaled through the keeper like the engine's own."""
        from pydantic import ValidationError as SchemaError

        from alphintra.daemon.trading.risk_routes import AlertIn

        keeper = self.host.risk_keeper
        if keeper is None:
            return
        try:
            alert = AlertIn.model_validate({"source": sig.strategy, "strategy": sig.strategy, **sig.data[RISK_ALERT]})
        except (SchemaError, TypeError) as exc:  # the strategy's mistake must not fail the bar it is trading
            log.warning("strategy %s: its risk alert is refused: %s", sig.strategy, exc)
            return
        try:
            keeper.alert(alert.severity, alert.rule, alert.message, **alert.about())
        except Exception as exc:  # nor may a journal that cannot take it: the strategy keeps trading, the log says
            log.error("strategy %s: its risk alert could not be raised: %s", sig.strategy, exc, exc_info=exc)

    def _start_row(self, row: TradingStrategy) -> Instance:
        """Engine thread (or the building thread before the engine runs)."""
        assert row.id is not None
        if row.id in self.running:
            raise ConflictError(f"strategy {row.name!r} is already running")
        symbols, params = _row_config(row)
        explicit = _row_account(row)
        instance = build_instance(
            self.node,
            key=str(row.id),
            name=row.name,
            strategy_type=row.strategy_type,
            symbols=symbols,
            params=params,
            # an account saved with the strategy takes all its symbols; else each symbol trades in its venue's account
            account=self.account_of(symbols, explicit)
            if explicit is not None
            else None
            if symbols
            else self.host.account,
            accounts=self.host.account_for if explicit is None else None,
            on_signal=self._on_signal(row.id),
        )
        instance.strategy_id = row.id
        if instance.error is not None:
            instance.runner.detach()
            raise StrategyError(instance.error.message)
        self.running[row.id] = instance
        self.errors.pop(row.id, None)
        account = instance.runner.ctx.account
        started = StrategyStarted(
            instance.started_at, row.id, row.name, row.strategy_type, tuple(symbols), jsonable(params), account
        )
        self.node.record(started.to_dict())
        self._gauge()
        self._publish(f"strategies/{row.id}/status", "status", self._status_of(row.id), account)
        return instance

    def _stop_instance(
        self,
        strategy_id: int,
        *,
        cancel_orders: bool,
        reason: str,
        hooks: bool = True,
        resume: bool = False,
        error: str | None = None,
    ) -> Instance:
        """``resume``: a shutdown, the next start runs it again; ``error``: it raised (not resumed)."""
        instance = self.running.pop(strategy_id)
        node = self.node
        if hooks:
            instance.runner.stop()
        else:
            instance.runner.detach()
        if cancel_orders:
            node.cancel_all(strategy=instance.name)
        stopped = StrategyStopped(node.clock.now_ns(), strategy_id, instance.name, reason, resume, error)
        node.record(stopped.to_dict())
        self._gauge()
        self._publish(
            f"strategies/{strategy_id}/status",
            "status",
            self._status_of(strategy_id, instance),
            str(instance.runner.ctx.account),
        )
        return instance

    def on_bar(self, bar: Bar) -> None:
        """Engine thread, after the node traded ``bar``: hand it to every running strategy of its symbol."""
        if not self.running:
            return
        data: BarData | None = None
        for strategy_id, instance in list(self.running.items()):
            if bar.symbol not in instance.symbols:
                continue
            data = data or bar_data(bar)
            instance.runner.bar(data)
            instance.bars += 1
            if instance.error is not None:
                self._failed(strategy_id, instance.error)

    def _failed(self, strategy_id: int, error: StrategyError) -> None:
        """Engine thread: a strategy raised; stop it alone, tell risk, and mark it ERROR off the engine thread."""
        instance = self.running.get(strategy_id)
        if instance is None:
            return
        self.errors[strategy_id] = error.message
        self._stop_instance(
            strategy_id, cancel_orders=False, reason=f"error: {error.message}", hooks=False, error=error.message
        )
        risk = self.node.risk
        record = getattr(risk, "record_strategy_error", None)
        if callable(record):
            try:
                record(self.node, instance.name)
            except Exception as exc:  # the breaker's own failure must not take the engine thread down
                log.error("risk could not record the error of strategy %s: %s", instance.name, exc)
        log.error("strategy %s stopped: %s", instance.name, error.message)
        self._writer.submit(self._mark_error, strategy_id, instance.execution_id, error.message)

    def _mark_error(self, strategy_id: int, execution_id: int | None, message: str) -> None:
        try:
            self.store.update_strategy(strategy_id, {"status": ERROR})
            if execution_id is not None:
                self.store.finish_execution(execution_id, status="FAILED", error=message)
        except Exception as exc:
            log.error("could not record the failure of strategy %s: %s", strategy_id, exc)

    def _status_of(self, strategy_id: int, instance: Instance | None = None) -> dict[str, Any]:
        running = self.running.get(strategy_id)
        inst = running or instance
        out: dict[str, Any] = {
            "id": strategy_id,
            "running": running is not None,
            "error": self.errors.get(strategy_id),
            "signals": len(self.signals.get(strategy_id, ())),
        }
        if inst is not None:
            node = self.node
            runner = inst.runner
            out.update(
                name=inst.name,
                started_at=iso_ns(inst.started_at),
                bars=inst.bars,
                rejections=len(runner.rejections),
                open_orders=len(node.open_orders(strategy=inst.name)),
                positions={s: str(runner.ctx.position(s)) for s in inst.symbols},
                accounts={s: runner.ctx.account_of(s) for s in inst.symbols},  # on several venues, one per venue
            )
        return out

    # -- lifecycle (the host calls these) -----------------------------------------------------------------------

    def restore(self) -> list[str]:
        """Before the engine thread runs: start every strategy stored ACTIVE. Returns the names resumed."""
        resumed = []
        for row in self.store.list_strategies(status=ACTIVE):
            assert row.id is not None
            try:
                instance = self._start_row(row)
            except Exception as exc:  # one broken strategy must not keep the daemon (or the others) down
                message = exc.message if isinstance(exc, StrategyError) else f"{type(exc).__name__}: {exc}"
                self.errors[row.id] = message
                log.error("strategy %s could not be resumed: %s", row.name, message)
                self.store.update_strategy(row.id, {"status": ERROR})
                continue
            execution = self.store.start_execution(row.id, "paper", config={"resumed": True, **(row.config or {})})
            instance.execution_id = execution.id
            resumed.append(row.name)
            log.info("strategy resumed", extra={"strategy": row.name})
        return resumed

    def shutdown(self) -> None:
        """After the engine thread stopped: ``on_stop`` hooks run, rows stay ACTIVE so the next start resumes them."""
        for strategy_id in list(self.running):
            try:
                self._stop_instance(strategy_id, cancel_orders=False, reason="engine stopping", resume=True)
            except Exception as exc:
                log.error("strategy %s did not stop cleanly: %s", strategy_id, exc)
        self._writer.shutdown(wait=True)
        self.store.close()

    # -- API operations (request threads) -----------------------------------------------------------------------

    def row(self, key: str) -> TradingStrategy:
        # Only plain ASCII digits that fit a database integer are ids ("²".isdigit() is True, too).
        is_id = key.isascii() and key.isdigit() and len(key) <= 18
        return self.store.get_strategy(int(key) if is_id else key)

    def row_account(self, row: TradingStrategy) -> str:
        """The account a saved strategy trades in: the one saved with it, else its first symbol's."""
        return self.account_of(_row_config(row)[0], _row_account(row))

    def view(self, row: TradingStrategy) -> dict[str, Any]:
        assert row.id is not None
        symbols, params = _row_config(row)
        running = row.id in self.running
        status = row.status
        return {
            "id": row.id,
            "name": row.name,
            "strategy": row.strategy_type,
            "description": row.description,
            "symbols": symbols,
            "params": params,
            "account": _row_account(row),
            "status": status,
            "running": running,
            "error": self.errors.get(row.id),
            "created_at": iso_dt(row.created_at),
            "updated_at": iso_dt(row.updated_at),
        }

    def create(self, body: StrategyCreate) -> dict[str, Any]:
        check_name(body.name)
        cls = strategy_class(body.strategy)
        validate_params(cls, body.params)
        if body.account is not None:  # first: a venue that does not list a symbol says so, naming the account
            self.account_of(body.symbols, body.account)
        symbols = validate_symbols(cls, body.symbols, self.host.call(lambda: self.node.instruments.symbols()))
        row = self.store.create_strategy(
            {
                "name": body.name,
                "strategy_type": body.strategy,
                "description": body.description,
                "config": _config(symbols, body.params, body.account),
                "status": INACTIVE,
            }
        )
        return self.view(row)

    def update(self, key: str, body: StrategyUpdate) -> dict[str, Any]:
        row = self.row(key)
        assert row.id is not None
        if row.id in self.running:
            raise ConflictError(f"strategy {row.name!r} is running; stop it before changing it")
        symbols, params = _row_config(row)
        if body.params is not None:
            params = dict(body.params) if body.replace_params else {**params, **body.params}
        if body.symbols is not None:
            symbols = body.symbols
        account = _row_account(row) if body.account is None else body.account
        cls = strategy_class(row.strategy_type)
        validate_params(cls, params)
        if account is not None:
            self.account_of(symbols, account)
        symbols = validate_symbols(cls, symbols, self.host.call(lambda: self.node.instruments.symbols()))
        changes: dict[str, Any] = {"config": _config(symbols, params, account)}
        if body.name is not None:
            changes["name"] = check_name(body.name)
        if body.description is not None:
            changes["description"] = body.description
        return self.view(self.store.update_strategy(row.id, changes))

    def delete(self, key: str) -> dict[str, Any]:
        row = self.row(key)
        assert row.id is not None
        if row.id in self.running:
            raise ConflictError(f"strategy {row.name!r} is running; stop it before deleting it")
        strategy_id, name = row.id, row.name
        executions = self.store.delete_strategy(row.id, with_executions=True)
        # Journaled too, or a start would rebuild the row of a strategy the journal saw started.
        self.host.call(lambda: self.node.record(StrategyDeleted(self.node.clock.now_ns(), strategy_id, name).to_dict()))
        with self._lock:
            self.signals.pop(row.id, None)
        self.errors.pop(row.id, None)
        return {"deleted": row.name, "id": row.id, "executions": executions}

    def start(self, key: str) -> dict[str, Any]:
        row = self.row(key)
        assert row.id is not None
        instance = self.host.call(lambda: self._start_row(row))
        try:
            updated = self.store.update_strategy(row.id, {"status": ACTIVE})
            execution = self.store.start_execution(row.id, "paper", config=row.config)
        except Exception:
            # The row must say ACTIVE for a restart to resume it; without that, do not leave it running.
            self.host.call(lambda: self._stop_instance(row.id or 0, cancel_orders=True, reason="start not recorded"))
            raise
        instance.execution_id = execution.id
        log.info("strategy started", extra={"strategy": row.name})
        return self.view(updated)

    def stop(self, key: str, *, cancel_orders: bool = True) -> dict[str, Any]:
        row = self.row(key)
        assert row.id is not None
        strategy_id = row.id
        if strategy_id not in self.running:
            raise ConflictError(f"strategy {row.name!r} is not running")

        def run() -> tuple[Instance, dict[str, Any]]:
            instance = self._stop_instance(strategy_id, cancel_orders=cancel_orders, reason="stopped")
            return instance, self._status_of(strategy_id, instance)

        instance, status = self.host.call(run)
        updated = self.store.update_strategy(strategy_id, {"status": INACTIVE})
        if instance.execution_id is not None:
            failed = instance.error is not None
            self.store.finish_execution(
                instance.execution_id,
                status="FAILED" if failed else "COMPLETED",
                results=jsonable(status),
                error=None if instance.error is None else instance.error.message,
            )
        log.info("strategy stopped", extra={"strategy": row.name})
        return self.view(updated)

    def status(self, key: str) -> dict[str, Any]:
        row = self.row(key)
        assert row.id is not None
        strategy_id = row.id
        status = self.host.call(lambda: self._status_of(strategy_id))
        status.setdefault("name", row.name)
        status["status"] = row.status
        return status

    def recent_signals(self, key: str, limit: int) -> list[dict[str, Any]]:
        row = self.row(key)
        assert row.id is not None
        with self._lock:
            kept = list(self.signals.get(row.id, ()))
        return kept[-limit:][::-1]

    def run_once(self, body: RunOnce) -> dict[str, Any]:
        """A fresh instance, one evaluation, then it leaves (no ``on_stop``): what ``strategy run-once`` asks for."""
        name = check_name(body.name or body.strategy)

        def run() -> Evaluation:
            node = self.node
            instance = build_instance(
                node,
                key=f"once:{name}",
                name=name,
                strategy_type=body.strategy,
                symbols=body.symbols,
                params=body.params,
                account=None if body.symbols else self.host.account,
                accounts=self.host.account_for,
            )
            try:
                if instance.error is not None:
                    return Evaluation(
                        name, body.strategy, instance.symbols, node.clock.now_ns(), error=instance.error.message
                    )
                return evaluate(node, instance, self.recent_bars)
            finally:
                instance.runner.detach()

        result = self.host.call(run)
        return result.to_dict()


# -- API ---------------------------------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyCreate(_In):
    name: str = Field(min_length=1, max_length=64, description="a unique name; orders carry it as their strategy")
    strategy: str = Field(min_length=1, max_length=64, description="the strategy type (`alphintra strategy list`)")
    symbols: list[str] = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=10_000)
    account: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the account it trades in (default: the first on "
        "its first symbol's venue); a live account runs it against its exchange",
    )


class StrategyUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    symbols: list[str] | None = Field(default=None, min_length=1, max_length=100)
    params: dict[str, Any] | None = None
    replace_params: StrictBool = Field(default=False, description="replace the parameters instead of merging them")
    description: str | None = Field(default=None, max_length=10_000)
    account: str | None = Field(default=None, min_length=1, max_length=64, description="the account it trades in")


class RunOnce(_In):
    strategy: str = Field(min_length=1, max_length=64)
    symbols: list[str] = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(default=None, min_length=1, max_length=64, description="the orders' strategy tag")


class StrategyOut(BaseModel):
    id: int
    name: str
    strategy: str
    description: str | None
    symbols: list[str]
    params: dict[str, Any]
    account: str | None
    status: str
    running: bool
    error: str | None
    created_at: str
    updated_at: str


class SignalOut(BaseModel):
    ts: str
    strategy: str
    name: str
    value: float | str
    data: dict[str, Any]


class EvaluationOut(BaseModel):
    name: str
    strategy: str
    symbols: list[str]
    ts: str
    ok: bool
    orders: list[str]
    fills: int
    signals: list[dict[str, Any]]
    rejections: list[str]
    error: str | None


def manager_of(host: Host) -> StrategyManager:
    manager = getattr(host, "strategies", None)
    if manager is None:
        from alphintra.daemon.protocol import NotReadyError

        raise NotReadyError("the strategy manager is not running")
    assert isinstance(manager, StrategyManager)
    return manager


def strategies_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/strategies", tags=["strategies"])

    @r.post("", response_model=StrategyOut, status_code=201)
    def create_strategy(body: StrategyCreate, who: Trader) -> dict[str, Any]:
        return manager_of(host).create(body)

    @r.get("", response_model=list[StrategyOut])
    def list_strategies(who: Viewer, seen: Visible, status: str | None = None) -> list[dict[str, Any]]:
        """The strategies trading in accounts the caller may see."""
        manager = manager_of(host)
        rows = manager.store.list_strategies(status=status)
        return [manager.view(row) for row in rows if seen.sees(manager.row_account(row))]

    @r.post("/run-once", response_model=EvaluationOut)
    def run_once(body: RunOnce, who: Trader) -> dict[str, Any]:
        return manager_of(host).run_once(body)

    @r.get("/{key}", response_model=StrategyOut)
    def get_strategy(key: str, who: Viewer) -> dict[str, Any]:
        manager = manager_of(host)
        return manager.view(manager.row(key))

    @r.put("/{key}", response_model=StrategyOut)
    def update_strategy(key: str, body: StrategyUpdate, who: Trader) -> dict[str, Any]:
        return manager_of(host).update(key, body)

    @r.delete("/{key}")
    def delete_strategy(key: str, who: Trader) -> dict[str, Any]:
        return manager_of(host).delete(key)

    @r.post("/{key}/start", response_model=StrategyOut)
    def start_strategy(key: str, who: Trader) -> dict[str, Any]:
        return manager_of(host).start(key)

    @r.post("/{key}/stop", response_model=StrategyOut)
    def stop_strategy(key: str, who: Trader, cancel_orders: bool = True) -> dict[str, Any]:
        return manager_of(host).stop(key, cancel_orders=cancel_orders)

    @r.get("/{key}/signals", response_model=list[SignalOut])
    def strategy_signals(
        key: str, who: Viewer, limit: Annotated[int, Query(ge=1, le=SIGNALS_KEPT)] = 100
    ) -> list[dict[str, Any]]:
        return manager_of(host).recent_signals(key, limit)

    @r.get("/{key}/status")
    def strategy_status(key: str, who: Viewer) -> dict[str, Any]:
        return manager_of(host).status(key)

    return r


__all__ = [
    "ACTIVE",
    "ERROR",
    "INACTIVE",
    "Evaluation",
    "Instance",
    "RunOnce",
    "StrategyCreate",
    "StrategyManager",
    "StrategyUpdate",
    "bar_data",
    "build_instance",
    "check_name",
    "evaluate",
    "jsonable",
    "merged_bar",
    "signal_view",
    "strategies_router",
    "strategy_class",
    "validate_params",
    "validate_symbols",
]
