"""`alphintra risk`: limits (with their history), live metrics, alerts, stress tests and the kill switch.

Everything here works without a daemon. Limits, halts and alerts are journal records: with a daemon running a
change goes through its API (it journals it and applies it at once); without one the command journals it itself
(the daemon replays it at its next start) and updates the trading state store, the projection every listing here
reads. Metrics and stress tests value the stored positions with the stored market data. Halts show as the
reserved limit ``trading_halt``, so ``risk limits show --history`` shows who halted and resumed, when and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, info, print_table

if TYPE_CHECKING:
    from alphintra.engine.risk.metrics import PortfolioSnapshot, ReturnHistory
    from alphintra.storage.state import StateStore

app = typer.Typer(help="Risk limits, metrics, alerts, stress tests and trading halts.", no_args_is_help=True)
limits_app = typer.Typer(help="Show and change risk limits (every change is kept with who, when and why).")
app.add_typer(limits_app, name="limits", no_args_is_help=True)

StrategyOption = Annotated[str | None, typer.Option("--strategy", help="Scope: one strategy.", show_default=False)]
SymbolOption = Annotated[str | None, typer.Option("--symbol", help="Scope: one symbol.", show_default=False)]
AccountOption = Annotated[str | None, typer.Option("--account", help="Scope: one account.", show_default=False)]
TagOption = Annotated[
    str | None, typer.Option("--tag", help="Scope: one instrument tag, e.g. sector=tech.", show_default=False)
]
VenueOption = Annotated[
    str | None,
    typer.Option("--venue", help="Scope: one venue (every account and instrument on it).", show_default=False),
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: the login name).", show_default=False)
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the history).", show_default=False)]
TimeframeOption = Annotated[str, typer.Option("--timeframe", help="Bars the returns are computed from.")]
WindowOption = Annotated[int, typer.Option("--window", min=2, help="Return periods used.")]

# The stress module's names for the limits it can evaluate.
_STRESS_NAMES = {
    "max_daily_loss": "daily_loss",
    "max_drawdown_pct": "max_drawdown_pct",
    "max_leverage": "max_leverage",
    "max_gross_exposure": "max_gross_exposure",
    "max_concentration_pct": "max_position_pct",
}
_OFF = {"none", "off", "unset", "-"}


def _store() -> StateStore:
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import StateStore

    store = StateStore(get_settings().effective_database_url)
    store.create_all()
    return store


def _live_engine() -> Any:
    """A client of the running daemon, or None. A running engine must hear of halts and limit changes at once:
    writing only the store would leave it trading on the old rules until its next restart."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.runfiles import probe_daemon

    if not probe_daemon(get_settings().paths.pid_file).running:
        return None
    return EngineClient.local()


def _by(by: str | None) -> dict[str, str]:
    """The API body's ``by`` when --by names someone (the daemon records its caller otherwise)."""
    return {"by": by.strip()} if by and by.strip() else {}


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _scope(
    account: str | None,
    strategy: str | None,
    symbol: str | None,
    tag: str | None = None,
    venue: str | None = None,
) -> tuple[str, str]:
    from alphintra.errors import ValidationError

    options = (("account", account), ("strategy", strategy), ("symbol", symbol), ("tag", tag), ("venue", venue))
    given = [(name, value) for name, value in options if value is not None]
    if len(given) > 1:
        flags = ", ".join(f"--{name}" for name, _ in given)
        raise ValidationError("scope", f"give at most one of {flags} (one scope per limit)", flags)
    return given[0] if given else ("global", "*")


def _limit_row(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "scope": row.scope,
        "scope_id": row.scope_id,
        "value": row.value,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
    }


# -- limits ----------------------------------------------------------------------------------------------------


@limits_app.command("show")
def limits_show(
    history: Annotated[bool, typer.Option("--history", help="Show the change history instead.")] = False,
    catalogue: Annotated[bool, typer.Option("--catalogue", help="List every limit name and what it means.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Only this limit.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="History rows.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The limits in force and the active halts (or, with --history, who changed what, when and why)."""
    from alphintra.engine.risk.breakers import load_halts
    from alphintra.engine.risk.limits import HALT_NAME, LIMITS

    if catalogue:
        rows = [
            {
                "name": s.name,
                "unit": s.unit,
                "scopes": ",".join(sorted(sc.value for sc in s.scopes)),
                "description": s.description,
            }
            for s in LIMITS.values()
        ]
        emit(rows, as_json, title="Risk limits")
        return
    store = _store()
    if history:
        changes = store.risk_limit_history(name=name, limit=limit)
        hist: list[dict[str, Any]] = [
            {
                "name": c.name,
                "scope": c.scope,
                "scope_id": c.scope_id,
                "old_value": c.old_value,
                "new_value": c.new_value,
                "changed_by": c.changed_by,
                "changed_at": c.changed_at,
                "reason": c.reason,
            }
            for c in changes
        ]
        if not as_json:
            hist = [
                {
                    "when": h["changed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    "limit": h["name"],
                    "where": h["scope"] if h["scope"] == "global" else f"{h['scope']} {h['scope_id']}",
                    "old": h["old_value"],
                    "new": h["new_value"],
                    "by": h["changed_by"],
                    "reason": h["reason"],
                }
                for h in hist
            ]
        emit(hist, as_json, title="Risk limit history (newest first)")
        return
    limits = [
        _limit_row(r) for r in store.list_risk_limits() if r.name != HALT_NAME and (name is None or r.name == name)
    ]
    halts = [h.to_dict() for h in load_halts(store)]
    if as_json:
        emit({"limits": limits, "halts": halts}, True)
        return
    print_table(limits, title="Risk limits", empty="no risk limits set (see: alphintra risk limits show --catalogue)")
    if halts:
        print_table(
            [{k: h[k] for k in ("scope", "scope_id", "rule", "by", "reason")} for h in halts], title="Trading halts"
        )


@limits_app.command("set")
def limits_set(
    key: Annotated[str, typer.Argument(help="Limit name, e.g. max_order_notional (see show --catalogue).")],
    value: Annotated[str, typer.Argument(help="New value; 'none' removes the limit.")],
    strategy: StrategyOption = None,
    symbol: SymbolOption = None,
    account: AccountOption = None,
    tag: TagOption = None,
    venue: VenueOption = None,
    by: ByOption = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set (or with 'none' remove) a limit, globally or for one account, strategy, symbol, tag or venue.

    A --venue limit covers every order on that venue, of all its accounts; the max_total_* limits count one
    symbol (--symbol BTC/USDT, the native symbol) over every venue (see show --catalogue)."""
    from alphintra.engine.risk.limits import check_scope, parse_value, spec

    scope, scope_id = _scope(account, strategy, symbol, tag, venue)
    spec(key)
    sc, sid = check_scope(key, scope, scope_id)
    new = None if value.strip().lower() in _OFF else parse_value(key, value)
    store = _store()
    old_row = store.get_risk_limit(key, scope=sc.value, scope_id=sid)
    old = None if old_row is None else old_row.value
    if new is None and old is None:
        from alphintra.errors import NotFoundError

        raise NotFoundError(f"risk limit {key} is not set for {sc.value} {sid}")
    client = _live_engine()
    if client is None:
        from alphintra.engine.risk.records import RiskLimitSet

        who = _who(by)
        _journal(store, lambda state, now: [RiskLimitSet(now, key, sc.value, sid, old, new, who, reason)])
    else:
        with client:  # the daemon checks, stores (with its caller as the author) and applies the change live
            change = {"name": key, "value": None if new is None else str(new), "scope": sc.value, "scope_id": sid}
            client.put("/api/v1/risk/limits", {"limits": [change], "reason": reason, **_by(by)})
    result = {"name": key, "scope": sc.value, "scope_id": sid, "old_value": old, "new_value": new}
    if as_json:
        emit(result, True)
        return
    where = "global" if sc.value == "global" else f"{sc.value} {sid}"
    shown_old = "unset" if old is None else format(old, "f")
    shown_new = "unset" if new is None else format(new, "f")
    info(f"{key} ({where}): {shown_old} -> {shown_new}")


# -- halts -----------------------------------------------------------------------------------------------------


@app.command("halt")
def halt(
    strategy: StrategyOption = None,
    symbol: SymbolOption = None,
    account: AccountOption = None,
    reason: ReasonOption = None,
    by: ByOption = None,
    cancel_orders: Annotated[
        bool, typer.Option("--cancel-orders", help="Also cancel the working orders the halt covers.")
    ] = False,
    flatten: Annotated[
        bool, typer.Option("--flatten", help="Also close the positions it covers (reduce-only market orders).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Stop new orders: all trading, or one strategy, symbol or account. Lasts until `risk resume`."""
    import time

    from alphintra.engine.risk.breakers import Halt, check_halt_scope

    scope, scope_id = _scope(account, strategy, symbol)
    sc, sid = check_halt_scope(scope, scope_id)
    who = _who(by)
    record = Halt(sc, sid, "manual", reason or "halted from the command line", who, time.time_ns())
    client = _live_engine()
    if client is None:
        if cancel_orders or flatten:
            from alphintra.errors import ValidationError

            flag = "--cancel-orders" if cancel_orders else "--flatten"
            raise ValidationError(flag, "needs a running engine (start it with `alphintra engine start`)")
        done = _store_halt(record)
    else:
        with client:  # the running engine halts now (and journals the halt itself)
            body = {
                "scope": sc.value,
                "scope_id": sid,
                "reason": record.reason,
                "cancel_orders": cancel_orders,
                "flatten": flatten,
                **_by(by),
            }
            done = bool(client.post("/api/v1/risk/halt", body)["halted"])
    if as_json:
        emit({"halted": done, **record.to_dict(), "cancel_orders": cancel_orders, "flatten": flatten}, True)
        return
    if not done:
        info(f"{record.where} was already halted")
        return
    also = [text for flag, text in ((cancel_orders, "orders canceled"), (flatten, "positions closed")) if flag]
    info(f"halted {record.where} ({who}): {record.reason}" + (f" ({', '.join(also)})" if also else ""))


def _store_halt(halt: Any) -> bool:
    """No daemon: journal the halt and its alert (the next start enforces it); False when already halted."""
    from alphintra.engine.risk.breakers import halt_alert, halted_record
    from alphintra.engine.risk.records import RiskAlertRaised, RiskRecord
    from alphintra.engine.risk.state import RiskState

    def build(state: RiskState, now: int) -> list[RiskRecord]:
        if (halt.scope.value, halt.scope_id) in state.halts:
            return []
        row = halt_alert(halt)
        alert = RiskAlertRaised(
            halt.at_ns,
            state.alert_id(),
            row["severity"],
            row["rule"],
            row["message"],
            row["account_id"],
            row["strategy"],
            row["symbol"],
            row["value"],
            row["threshold"],
        )
        return [halted_record(halt), alert]

    return bool(_journal(_store(), build))


def _journal(store: StateStore, build: Any) -> list[Any]:
    """No daemon: journal the change here (the journal is the truth; the daemon rebuilds the store from it)."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.trading.riskstate import offline_write

    return offline_write(get_settings(), store, build)


@app.command("resume")
def resume(
    strategy: StrategyOption = None,
    symbol: SymbolOption = None,
    account: AccountOption = None,
    reason: ReasonOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a halt (the only way trading resumes after a manual halt or a circuit breaker); raises an alert."""
    from alphintra.engine.risk.breakers import check_halt_scope

    scope, scope_id = _scope(account, strategy, symbol)
    sc, sid = check_halt_scope(scope, scope_id)
    who = _who(by)
    client = _live_engine()
    if client is None:
        _store_resume(sc.value, sid, who, reason or "resumed from the command line")
    else:
        with client:
            body = {"scope": sc.value, "scope_id": sid, "reason": reason or "resumed from the command line", **_by(by)}
            client.post("/api/v1/risk/resume", body)
    if as_json:
        emit({"resumed": True, "scope": sc.value, "scope_id": sid, "by": who}, True)
        return
    info(f"resumed {'all trading' if sc.value == 'global' else sc.value + ' ' + sid} ({who})")


def _store_resume(scope: str, scope_id: str, who: str, reason: str) -> None:
    """No daemon: journal the resumption and its alert, as the daemon does (``RiskKeeper.on_resume``)."""
    from alphintra.engine.risk.records import RiskAlertRaised, RiskRecord, TradingResumed
    from alphintra.engine.risk.state import RiskState
    from alphintra.errors import NotFoundError

    def build(state: RiskState, now: int) -> list[RiskRecord]:
        halt = state.halts.get((scope, scope_id))
        if halt is None:
            raise NotFoundError(f"{'trading' if scope == 'global' else scope + ' ' + scope_id} is not halted")
        message = f"resumed {halt.where} (by {who}): {reason}"
        alert = RiskAlertRaised(
            now,
            state.alert_id(),
            "INFO",
            halt.rule,
            message,
            account=scope_id if scope == "account" else None,
            strategy=scope_id if scope == "strategy" else None,
            symbol=scope_id if scope == "symbol" else None,
        )
        return [TradingResumed(now, scope, scope_id, who, reason), alert]

    _journal(_store(), build)


# -- alerts ----------------------------------------------------------------------------------------------------


@app.command("alerts")
def alerts(
    severity: Annotated[
        str | None, typer.Option("--severity", help="INFO, WARNING or CRITICAL.", show_default=False)
    ] = None,
    unacknowledged: Annotated[bool, typer.Option("--unacknowledged", help="Only alerts nobody acknowledged.")] = False,
    ack: Annotated[int | None, typer.Option("--ack", help="Acknowledge this alert id.", show_default=False)] = None,
    by: ByOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent alerts shown.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Risk alerts, newest first (threshold crossings, halts); --ack ID acknowledges one."""
    store = _store()
    if ack is not None:
        _acknowledge(store, ack, _who(by))
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "time": a.time,
            "severity": a.severity,
            "rule": a.rule,
            "message": a.message,
            "account": a.account_id,
            "strategy": a.strategy,
            "symbol": a.symbol,
            "value": a.value,
            "threshold": a.threshold,
            "acknowledged": a.acknowledged,
        }
        for a in store.list_alerts(severity=severity, unacknowledged=unacknowledged, limit=limit)
    ]
    if not as_json:
        rows = [
            {
                "id": r["id"],
                "time": r["time"].strftime("%Y-%m-%d %H:%M:%S"),
                "severity": r["severity"],
                "rule": r["rule"],
                "message": r["message"],
                "ack": "yes" if r["acknowledged"] else "",
            }
            for r in rows
        ]
    emit(rows, as_json, title="Risk alerts")


def _acknowledge(store: StateStore, alert_id: int, who: str) -> None:
    client = _live_engine()
    if client is not None:
        with client:  # the daemon journals it (with its caller as the author)
            client.post(f"/api/v1/risk/alerts/{alert_id}/ack", {})
        return
    from alphintra.engine.risk.records import RiskAlertAcknowledged, RiskRecord
    from alphintra.engine.risk.state import RiskState
    from alphintra.errors import NotFoundError

    def build(state: RiskState, now: int) -> list[RiskRecord]:
        alert = state.alerts.get(alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
        return [] if alert["acknowledged"] else [RiskAlertAcknowledged(now, alert_id, who)]

    _journal(store, build)


# -- metrics and stress ----------------------------------------------------------------------------------------


def _book(store: StateStore, account: str | None) -> tuple[PortfolioSnapshot, dict[str, Decimal]]:
    """The stored positions (of one account, or all) valued at the latest stored price, and the equity."""
    from alphintra.engine.risk.metrics import PortfolioSnapshot
    from alphintra.errors import NotFoundError, ValidationError
    from alphintra.storage.market import MarketData

    market = MarketData()
    accounts = {a.id: a for a in store.list_accounts()}
    if account is not None and account not in accounts:
        raise NotFoundError(f"no account {account!r} in the trading state")
    quantities: dict[str, Decimal] = {}
    prices: dict[str, Decimal] = {}
    for pos in store.list_positions(account=account):
        quantities[pos.symbol] = quantities.get(pos.symbol, Decimal(0)) + pos.quantity
        try:
            prices[pos.symbol] = Decimal(repr(market.last_price(pos.symbol).price))
        except NotFoundError:
            if pos.market_value is not None and pos.quantity:
                prices[pos.symbol] = pos.market_value / pos.quantity
            else:
                prices[pos.symbol] = pos.average_price
    cash = Decimal(0)
    for bal in store.list_balances(account=account):
        acct = accounts.get(bal.account_id)
        currency = (acct.base_currency if acct is not None else None) or "USD"
        if bal.asset == currency:
            cash += bal.total_balance
    equity = cash + sum((q * prices[s] for s, q in quantities.items()), Decimal(0))
    if equity <= 0:
        raise ValidationError("equity", "must be > 0 to measure risk (no cash or positions stored?)", equity)
    snapshot = PortfolioSnapshot(quantities, prices, equity, _tags(quantities))
    return snapshot, {"cash": cash, "equity": equity}


def _tags(symbols: Iterable[str]) -> dict[str, list[str]]:
    """Each symbol's tags and asset class, from its [[instruments]] entry or else derived from the symbol."""
    from alphintra.config.settings import get_settings
    from alphintra.engine.core.instrument import Instrument

    settings = get_settings()
    configured = {i.symbol: i.to_instrument(settings.base_currency) for i in settings.instruments}
    out: dict[str, list[str]] = {}
    for symbol in symbols:
        inst = configured.get(symbol) or Instrument.create(symbol, default_quote=settings.base_currency)
        out[symbol] = sorted({*inst.tags, inst.asset_class})
    return out


def _returns(symbols: tuple[str, ...], timeframe: str, window: int) -> ReturnHistory:
    """Simple returns of the stored closes, aligned on time (rows missing for any symbol are dropped)."""
    from alphintra.engine.risk.metrics import as_history
    from alphintra.storage.market import MarketData

    return as_history(MarketData().close_returns(symbols, timeframe, window=window), drop_missing=True)


@app.command("metrics")
def metrics(
    account: AccountOption = None,
    timeframe: TimeframeOption = "1d",
    window: WindowOption = 250,
    as_json: JsonOption = False,
) -> None:
    """VaR/ES (historical, parametric, Monte-Carlo), volatility, exposure and leverage of the stored positions."""
    from alphintra.engine.risk.metrics import RiskConfig, compute_risk_report

    store = _store()
    snapshot, money = _book(store, account)
    if not snapshot.symbols:
        emit({"equity": money["equity"], "positions": 0, "detail": "no open positions"}, as_json)
        return
    from alphintra.engine.risk.periods import calendar_for
    from alphintra.errors import AlphintraError

    calendar = calendar_for(tag for tags in _tags(snapshot.symbols).values() for tag in tags)
    try:
        history = _returns(snapshot.symbols, timeframe, window)
        report = compute_risk_report(
            history, snapshot, RiskConfig(window=window, timeframe=timeframe, calendar=calendar)
        )
    except AlphintraError as exc:
        # Like the API: the book's figures without VaR, and why (no stored bars of this timeframe, too few rows).
        _emit_book_without_var(snapshot, f"no {timeframe} return history: {exc.message}", as_json)
        return
    if as_json:
        emit(report.to_dict(), True)
        return
    rows = [
        {"method": e.method, "confidence": e.confidence, "VaR": round(e.var, 2), "ES": round(e.es, 2)}
        for e in report.estimates
    ]
    print_table(rows, title=f"Value at risk, {report.horizon} ({report.observations} {timeframe} returns)")
    summary = {
        "equity": report.equity,
        "gross exposure": report.exposure.gross,
        "net exposure": report.exposure.net,
        "leverage": round(report.leverage, 4),
        "volatility (annualised)": round(report.volatility_annualised, 4),
    }
    emit(summary, False, title="Book")


def _emit_book_without_var(snapshot: Any, reason: str, as_json: bool) -> None:
    from alphintra.engine.risk.metrics import Exposure

    exposure = Exposure.of(snapshot.values.values())
    book = {
        "equity": snapshot.equity,
        "gross exposure": exposure.gross,
        "net exposure": exposure.net,
        "leverage": exposure.gross / snapshot.equity,
    }
    if as_json:
        leverage = book["leverage"]
        data = {"symbols": list(snapshot.symbols), "equity": snapshot.equity, "exposure": exposure.to_dict()}
        emit(data | {"leverage": leverage, "estimates": [], "var_detail": reason}, True)
        return
    info(f"[yellow]VaR not computed: {reason}[/yellow]")
    emit(book, False, title="Book")


@app.command("stress")
def stress(
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="One scenario (default: all).", show_default=False)
    ] = None,
    account: AccountOption = None,
    timeframe: TimeframeOption = "1d",
    window: WindowOption = 250,
    as_json: JsonOption = False,
) -> None:
    """What the stored positions would lose in stress scenarios, and which stored limits that would break."""
    from alphintra.engine.risk.stress import SCENARIOS, get_scenario, run_scenario
    from alphintra.errors import AlphintraError

    chosen = [get_scenario(scenario)] if scenario is not None else list(SCENARIOS.values())
    store = _store()
    snapshot, _ = _book(store, account)
    history: ReturnHistory | None = None
    if snapshot.symbols:
        try:
            history = _returns(snapshot.symbols, timeframe, window)
        except AlphintraError as exc:
            info(f"[yellow]no return history ({exc.message}); history-based scenarios are skipped[/yellow]")
    limits = _stress_limits(store, account)
    results: list[dict[str, Any]] = []
    for sc in chosen:
        try:
            result = run_scenario(sc, snapshot, history=history, limits=limits)
        except AlphintraError as exc:
            if scenario is not None:
                raise
            results.append({"scenario": sc.name, "kind": sc.kind, "skipped": exc.message})
            continue
        results.append(result.to_dict())
    if as_json:
        emit(results, True)
        return
    rows = [
        {
            "scenario": r["scenario"],
            "pnl": Decimal(r["pnl"]) if "pnl" in r else None,
            "pnl %": Decimal(r["pnl_pct"]) if "pnl_pct" in r else None,
            "breaches": ", ".join(b["limit"] for b in r.get("breaches", [])) or ("skipped" if "skipped" in r else "-"),
        }
        for r in results
    ]
    print_table(rows, title=f"Stress tests (equity {snapshot.equity})")


def _stress_limits(store: StateStore, account: str | None) -> dict[str, Decimal]:
    """The global (or the account's, when tighter) limits the stress module can evaluate, under its names."""
    out: dict[str, Decimal] = {}
    for row in store.list_risk_limits():
        target = _STRESS_NAMES.get(row.name)
        if target is None or row.scope not in ("global", "account"):
            continue
        if row.scope == "account" and row.scope_id != account:
            continue
        out[target] = min(out.get(target, row.value), row.value)
    return out


__all__ = ["app"]
