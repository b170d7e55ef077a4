"""The daemon's side of risk: ``/api/v1/risk`` (limits, live metrics, alerts) and the alert watch.

Limits, halts and alerts are journal records (``engine.risk.records``) folded by the host's risk keeper
(``riskstate.py``); the state store holds their projection, which the reads here serve. ``PUT /risk/limits``
(admins only) validates every change before writing any, journals them (``RiskLimitSet``, with what each replaced
and ``by`` = the caller's user) on the engine thread and hands the new limit set to the node's pre-trade engine in
the same batch, so the next order sees it; the answer comes once the change is durable and projected.

The alert watch (:class:`RiskWatch`) observes the account after every bar the engine trades: session loss, drawdown
from the session's peak equity, gross exposure and leverage, against warning (80 % of the limit) and breach (the
limit) thresholds derived from the global/account limits ``max_daily_loss``, ``max_drawdown_pct``,
``max_gross_exposure`` and ``max_leverage``. A level change (and only a change: no repeats while the condition
persists) is journaled (``RiskAlertRaised``, projected into ``risk_alerts``), published on the ``risk/alerts`` stream
and counted by ``alphintra_risk_alerts_total{rule=...}``. When the node's risk engine offers live ``figures`` they
are used (its session and peak); otherwise they are computed here from the ledger, the session being this daemon's
run. ``/risk/metrics`` also carries the historical 1-day VaR and ES (95 % and 99 %) of the live book: today's
positions at their live marks held through each of the last 250 daily returns stored in the market data (the
same figures as `alphintra risk metrics`, which measures the stored positions instead).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from alphintra.config.logs import get_logger
from alphintra.daemon.auth import Principal, require_role
from alphintra.daemon.fields import Money
from alphintra.daemon.ownership import Visible
from alphintra.daemon.protocol import NotReadyError, PermissionDeniedError, Role
from alphintra.daemon.trading.riskstate import alert_record_view
from alphintra.engine.risk.alerts import Alert, AlertLevel, Threshold, ThresholdMonitor
from alphintra.engine.risk.limits import (
    HALT_NAME,
    LIMITS,
    LimitSet,
    check_scope,
    fmt,
    load_limits,
    parse_value,
)
from alphintra.engine.risk.metrics import PortfolioSnapshot, RiskConfig, as_history, compute_risk_report
from alphintra.engine.risk.records import RiskAlertAcknowledged, RiskLimitSet
from alphintra.engine.risk.state import RiskState
from alphintra.errors import AlphintraError, ConflictError, NotFoundError, ValidationError
from alphintra.formatting import iso_dt

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import Host
    from alphintra.daemon.trading.riskstate import RiskKeeper
    from alphintra.engine.node import TradingNode
    from alphintra.storage.state import RiskAlert, RiskLimit, StateStore

log = get_logger("daemon.risk")

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Trader = Annotated[Principal, Depends(require_role("trader"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]

# limit name -> the live figure it bounds
WATCHED = {
    "max_daily_loss": "daily_loss",
    "max_drawdown_pct": "drawdown_pct",
    "max_gross_exposure": "gross_exposure",
    "max_leverage": "leverage",
}
WARNING_FRACTION = Decimal("0.8")
# The store's severities for the monitor's level changes.
SEVERITY = {AlertLevel.WARNING: "WARNING", AlertLevel.BREACH: "CRITICAL", AlertLevel.CLEARED: "INFO"}
_OFF = {"none", "off", "unset", "-", ""}


def _ns(value: datetime | None) -> str | None:
    """A stored time as the API writes times: ISO-8601 UTC text."""
    return iso_dt(value)


VAR_TIMEFRAME = "1d"
VAR_LEVELS = {"95": 0.95, "99": 0.99}  # key suffix -> confidence


def live_var(market_root: FilePath, book: PortfolioSnapshot | str) -> dict[str, Any]:
    """Historical VaR/ES of ``book`` over the stored daily closes, as positive losses in account currency.

    Runs on the request thread: it reads Parquet, which must not stall the engine. ``book`` is the live
    snapshot, or why there is none; figures that cannot be computed are None with the reason in ``var_detail``.
    """
    keys = [f"{name}_{suffix}" for suffix in VAR_LEVELS for name in ("var", "es")]
    out: dict[str, Any] = {"var_method": "historical", "var_timeframe": VAR_TIMEFRAME, "var_observations": 0}
    if isinstance(book, str):
        return out | dict.fromkeys(keys) | {"var_detail": book}
    if not book.symbols:
        return out | dict.fromkeys(keys, 0.0) | {"var_detail": "no open positions"}
    config = RiskConfig(confidences=tuple(VAR_LEVELS.values()))
    try:
        from alphintra.storage.market import MarketData

        returns = MarketData(market_root).close_returns(book.symbols, VAR_TIMEFRAME, window=config.window)
        report = compute_risk_report(as_history(returns, drop_missing=True), book, config)
    except AlphintraError as exc:
        return out | dict.fromkeys(keys) | {"var_detail": f"no {VAR_TIMEFRAME} return history: {exc.message}"}
    for suffix, confidence in VAR_LEVELS.items():
        estimate = report.estimate("historical", confidence)
        out[f"var_{suffix}"] = round(estimate.var, 2)
        out[f"es_{suffix}"] = round(estimate.es, 2)
    out["var_observations"] = report.observations
    return out


def thresholds_for(limits: LimitSet, account: str) -> list[Threshold]:
    """Warning at 80 % and breach at 100 % of the tightest global/account limit of each watched figure."""
    out = []
    for name, metric in WATCHED.items():
        values = [v for v in (limits.get(name), limits.get(name, "account", account)) if v is not None]
        if not values:
            continue
        limit = min(values)
        out.append(Threshold(metric, breach=limit, warning=limit * WARNING_FRACTION))
    return out


class RiskWatch:
    """Live account figures and threshold alerts for one trading host (engine thread, except ``close``)."""

    def __init__(self, host: Host, store: StateStore, limits: LimitSet | None = None) -> None:
        self.host = host
        self.store = store
        self.limits = limits if limits is not None else load_limits(store)
        self.monitor = ThresholdMonitor(thresholds_for(self.limits, host.account))
        self.peak: Decimal | None = None
        self.raised: list[Alert] = []

    @property
    def node(self) -> TradingNode:
        node = self.host.node
        assert node is not None
        return node

    def set_limits(self, limits: LimitSet) -> None:
        """Engine thread: new thresholds; levels of figures still watched carry over (no repeated alert)."""
        self.limits = limits
        self.monitor = ThresholdMonitor.from_snapshot(
            self.monitor.snapshot(), thresholds_for(limits, self.host.account)
        )

    def figures(self) -> dict[str, Any]:
        node = self.node
        account = self.host.account
        engine_figures = getattr(node.risk, "figures", None)
        if callable(engine_figures):
            figs = dict(engine_figures(node, account))
            figs.setdefault("source", "risk engine")
            return figs
        equity = self.host.equity()
        start = self.host.start_equity if self.host.start_equity is not None else equity
        self.peak = equity if self.peak is None else max(self.peak, equity)
        gross = net = Decimal(0)
        positions: dict[str, Decimal] = {}
        for symbol, pos in node.ledger.positions(account).items():
            if pos.quantity == 0:
                continue
            positions[symbol] = pos.quantity
            mark = node.last_prices.get(symbol) or pos.mark
            if mark is None:
                continue
            value = pos.quantity * mark
            gross += abs(value)
            net += value
        return {
            "account": account,
            "equity": equity,
            "session_start_equity": start,
            "session_pnl": equity - start,
            "daily_loss": max(Decimal(0), start - equity),
            "peak_equity": self.peak,
            "drawdown_pct": (self.peak - equity) / self.peak * 100 if self.peak > 0 else Decimal(0),
            "gross_exposure": gross,
            "net_exposure": net,
            "leverage": gross / equity if equity > 0 else None,
            "positions": positions,
            "open_orders": node.open_count(),
            "source": "ledger",
        }

    def book(self, equity: Decimal) -> PortfolioSnapshot | str:
        """Engine thread: the open positions at their live marks, or why they cannot be valued."""
        node = self.node
        held = [p for p in node.ledger.positions(self.host.account).values() if p.quantity != 0]
        try:
            return PortfolioSnapshot.from_positions(held, equity, prices=node.last_prices)
        except ValidationError as exc:
            return f"the book cannot be valued: {exc.message}"

    def observe(self) -> list[Alert]:
        """Engine thread, after a bar: feed the monitor; journal, store, publish and count each level change."""
        if not self.monitor.thresholds:
            return []
        try:
            return self._observe()
        except Exception as exc:  # a broken figure must never fail the bar the engine is trading
            log.error("risk watch failed: %s", exc, exc_info=exc)
            return []

    def _observe(self) -> list[Alert]:
        figs = self.figures()
        values = {metric: figs.get(metric) for metric in WATCHED.values()}
        now = self.node.clock.now_ns()
        alerts = self.monitor.observe_many({k: v for k, v in values.items() if v is not None}, now)
        for alert in alerts:
            self._raise(alert)
        return alerts

    def _raise(self, alert: Alert) -> None:
        rule = next(name for name, metric in WATCHED.items() if metric == alert.metric)
        verb = "cleared" if alert.level is AlertLevel.CLEARED else f"reached its {alert.level.value.lower()} level"
        message = f"{alert.metric} {fmt(alert.value)} {verb} (threshold {fmt(alert.threshold)}, limit {rule})"
        account = self.host.account
        self.raised.append(alert)
        keeper = self.host.risk_keeper
        data: dict[str, Any] = {"rule": rule, "account": account, "message": message, **alert.to_dict()}
        if keeper is not None:  # journaled, then projected into the store (``risk_alerts``)
            rec = keeper.raise_alert(
                SEVERITY[alert.level],
                rule,
                message,
                account=account,
                value=alert.value,
                threshold=alert.threshold,
                ts=alert.ts_ns,
            )
            # the stored alert's id: a screen keyed by id (the TUI) keeps each alert apart
            data["id"] = rec.alert_id
        hub = self.host.hub()
        if hub is not None:
            hub.publish("risk/alerts", "alert", data, account=account)
        metrics = self.host.metrics()
        if metrics is not None and alert.level is not AlertLevel.CLEARED:
            metrics.risk_alerts_total.labels(rule=rule).inc()
        log.warning("risk alert: %s", message, extra={"rule": rule, "level": alert.level.value})

    def close(self) -> None:
        """Nothing of its own to flush: its alerts are journal records, projected by the host's risk keeper."""


# -- API ---------------------------------------------------------------------------------------------------------


class LimitChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    value: Decimal | str | None = Field(description="a number, or null / 'off' to remove the limit")
    scope: str = Field(default="global", description="global, account, strategy, symbol, tag or venue")
    scope_id: str = Field(default="*", description="* (global), or the account, strategy, symbol, tag or venue")


class LimitsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: list[LimitChange] = Field(min_length=1, max_length=500)
    reason: str | None = Field(default=None, max_length=1000)
    by: By = None


def limit_view(row: RiskLimit) -> dict[str, Any]:
    return {
        "name": row.name,
        "scope": row.scope,
        "scope_id": row.scope_id,
        "value": str(row.value),
        "updated_by": row.updated_by,
        "updated_at": _ns(row.updated_at),
    }


def alert_view(row: RiskAlert) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": _ns(row.time),
        "severity": row.severity,
        "rule": row.rule,
        "message": row.message,
        "account": row.account_id,
        "strategy": row.strategy,
        "symbol": row.symbol,
        "value": None if row.value is None else str(row.value),
        "threshold": None if row.threshold is None else str(row.threshold),
        "acknowledged": row.acknowledged,
        "acknowledged_by": row.acknowledged_by,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _value(change: LimitChange) -> Decimal | None:
    raw = change.value
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in _OFF):
        return None
    return parse_value(change.name, raw)


def _watch(host: Host) -> RiskWatch:
    watch = getattr(host, "risk_watch", None)
    if watch is None:
        raise NotReadyError("the risk watch is not running")
    assert isinstance(watch, RiskWatch)
    return watch


def risk_router(host: Host) -> APIRouter:
    r = APIRouter(prefix="/risk", tags=["risk"])

    def limits_now(store: StateStore) -> dict[str, Any]:
        rows = store.list_risk_limits()
        return {
            "limits": [limit_view(x) for x in rows if x.name != HALT_NAME],
            "halts": [limit_view(x) for x in rows if x.name == HALT_NAME],
        }

    @r.get("/limits")
    def get_limits(who: Viewer) -> dict[str, Any]:
        return limits_now(_watch(host).store)

    @r.put("/limits")
    def put_limits(body: LimitsUpdate, who: Admin) -> dict[str, Any]:
        watch = _watch(host)
        store = watch.store
        # Every change is checked before any is written: a bad entry must not leave half a change behind.
        checked = []
        for i, change in enumerate(body.limits):
            if change.name not in LIMITS:
                raise ValidationError(
                    f"limits[{i}].name", f"unknown limit (known: {', '.join(sorted(LIMITS))})", change.name
                )
            scope, scope_id = check_scope(change.name, change.scope, change.scope_id)
            checked.append((change.name, _value(change), scope, scope_id))
        keeper = _keeper(host)
        by = author(who, body.by)

        def build(state: RiskState) -> list[RiskLimitSet]:
            # Engine thread: each change is journaled with what it replaced, and the gate sees the new limits in
            # the same batch (the journal and the engine never disagree, not even for one order).
            now = _node(host).clock.now_ns()
            records = []
            for name, value, scope, scope_id in checked:
                before = state.limit(name, scope.value, scope_id)
                if before == value:
                    continue  # no change, no record (as the store's history never had one)
                if value is None and before is None:
                    raise NotFoundError(f"risk limit {name!r} ({scope.value} {scope_id}) is not set")
                records.append(RiskLimitSet(now, name, scope.value, scope_id, before, value, by, body.reason))
            return records

        def apply() -> int:
            records = build(keeper.state)
            for rec in records:
                keeper.record(rec)
            limits = keeper.state.limits
            engine = _node_risk(host)
            setter = getattr(engine, "set_limits", None)
            if callable(setter):
                setter(limits)
            watch.set_limits(limits)
            return len(records)

        changes = host.call(apply)
        keeper.wait_projected()
        log.info("risk limits changed", extra={"by": by, "caller": who.user, "changes": changes})
        return limits_now(store)

    @r.get("/metrics")
    def metrics(who: Viewer) -> dict[str, Any]:
        watch = _watch(host)

        def run() -> tuple[dict[str, Any], PortfolioSnapshot | str]:
            figs = watch.figures()
            figs["alert_levels"] = {k: v.name for k, v in watch.monitor.active().items()}
            figs["thresholds"] = [t.to_dict() for t in watch.monitor.thresholds.values()]
            return figs, watch.book(figs["equity"])

        figs, book = host.call(run)
        figs.update(live_var(host.settings.paths.market, book))
        out: dict[str, Any] = _jsonable(figs)
        return out

    @r.get("/alerts")
    def alerts(
        who: Viewer,
        seen: Visible,
        severity: str | None = None,
        unacknowledged: bool = False,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[dict[str, Any]]:
        store = _watch(host).store
        rows = store.list_alerts(severity=severity, unacknowledged=unacknowledged, limit=limit, accounts=seen.accounts)
        return [alert_view(x) for x in rows]

    @r.post("/alerts", status_code=201)
    def raise_alert(body: AlertIn, who: Trader) -> dict[str, Any]:
        """An alert from outside the engine (a monitor such as `ml drift`), journaled like the engine's own."""
        keeper = _keeper(host)
        message = f"{body.message} [{body.source}, by {who.user}]"
        rec = host.call(lambda: keeper.alert(body.severity, body.rule, message, **body.about()))
        keeper.wait_projected()
        return alert_record_view(rec)

    @r.post("/alerts/{alert_id}/ack")
    def acknowledge(alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: Trader) -> dict[str, Any]:
        store = _watch(host).store

        def build(state: RiskState) -> list[RiskAlertAcknowledged]:
            alert = state.alerts.get(alert_id)
            if alert is None:
                raise NotFoundError(f"alert {alert_id} does not exist")
            if alert["acknowledged"]:
                return []  # the first acknowledgement stands
            return [RiskAlertAcknowledged(_node(host).clock.now_ns(), alert_id, who.user)]

        _keeper(host).write(build)
        rows = [a for a in store.list_alerts(limit=100_000) if a.id == alert_id]
        if not rows:
            raise NotFoundError(f"alert {alert_id} does not exist")
        return alert_view(rows[0])

    @r.post("/halt")
    def halt(body: HaltRequest, who: Trader) -> dict[str, Any]:
        """The kill switch: any trader may stop trading (all, a strategy or a symbol); the halt is stored.

        A user limited to their own accounts halts an account only if it is theirs, and cancels or flattens only
        in their accounts (``access.py`` refuses the rest before this runs)."""
        risk = _risk_engine(host)
        by = author(who, body.by)

        def run() -> dict[str, Any]:
            assert host.node is not None
            done = risk.halt(
                host.node,
                body.scope,
                body.scope_id,
                by=by,
                reason=body.reason,
                cancel_orders=body.cancel_orders,
                flatten=body.flatten,
            )
            return {"halted": done is not None, "halts": [h.to_dict() for h in risk.halts]}

        out = host.call(run)
        _keeper(host).wait_projected()
        return out

    @r.post("/resume")
    def resume(body: ResumeRequest, who: Admin) -> dict[str, Any]:
        """Only an explicit command resumes trading after a halt (manual or a circuit breaker)."""
        risk = _risk_engine(host)
        by = author(who, body.by)

        def run() -> dict[str, Any]:
            assert host.node is not None
            risk.resume(host.node, body.scope, body.scope_id, by=by, reason=body.reason)
            return {"resumed": True, "halts": [h.to_dict() for h in risk.halts]}

        out = host.call(run)
        _keeper(host).wait_projected()
        return out

    return r


# Who a change is recorded as made by, when not the caller: printable, no control characters, no padding.
By = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$",
        description="who the change is recorded as made by (default: the caller); an admin may name someone else",
    ),
]


def author(who: Principal, by: str | None) -> str:
    """The name a change is journaled under: the caller, or -- for an admin, such as the CLI on the owner's socket
    passing ``--by`` -- the name given. Anyone else may only name themselves."""
    if by is None or by == who.user:
        return who.user
    if not who.role.allows(Role.ADMIN):
        raise PermissionDeniedError(f"only an admin may record a change as made by someone else ({by!r})")
    return by


# One line of printable text: no control characters (a newline would forge a line in a log or the TUI).
_TEXT = r"^[^\x00-\x1f\x7f]+$"


class AlertIn(BaseModel):
    """An alert raised from outside the risk engine (``POST /risk/alerts``, or a strategy's ``risk_alert``)."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(pattern=r"^[a-z][a-z0-9_.]{0,63}$", description="what fired, e.g. ml_drift")
    severity: Literal["INFO", "WARNING", "CRITICAL"]
    message: str = Field(min_length=1, max_length=1000, pattern=_TEXT)
    source: str = Field(default="api", min_length=1, max_length=64, pattern=_TEXT, description="who watches")
    symbol: str | None = Field(default=None, min_length=1, max_length=40, pattern=_TEXT)  # the store's column
    strategy: str | None = Field(default=None, min_length=1, max_length=64, pattern=_TEXT)
    value: Money | None = None
    threshold: Money | None = None

    def about(self) -> dict[str, Any]:
        """What the alert is about, as :meth:`RiskKeeper.alert` takes it."""
        return {"symbol": self.symbol, "strategy": self.strategy, "value": self.value, "threshold": self.threshold}


class HaltRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = Field(default="global", description="global, account, strategy or symbol")
    scope_id: str = "*"
    reason: str = Field(min_length=1, max_length=500)
    cancel_orders: StrictBool = False  # strict: 0 or "yes" is not a flag (what the OpenAPI document says)
    flatten: StrictBool = False
    by: By = None


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = "global"
    scope_id: str = "*"
    reason: str = Field(default="", max_length=500)
    by: By = None


def _risk_engine(host: Host) -> Any:
    risk = host.node.risk if host.node is not None else None
    if risk is None or not hasattr(risk, "halt"):
        raise ConflictError("this engine runs without a risk engine")
    return risk


def _keeper(host: Host) -> RiskKeeper:
    keeper = getattr(host, "risk_keeper", None)
    if keeper is None:
        raise NotReadyError("the risk state is not loaded")
    return keeper  # type: ignore[no-any-return]


def _node(host: Host) -> TradingNode:
    node = host.node
    assert node is not None
    return node


def _node_risk(host: Host) -> Any:
    return None if host.node is None else host.node.risk


__all__ = [
    "SEVERITY",
    "WARNING_FRACTION",
    "WATCHED",
    "AlertIn",
    "LimitChange",
    "LimitsUpdate",
    "RiskWatch",
    "risk_router",
    "thresholds_for",
]
