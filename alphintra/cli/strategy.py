"""`alphintra strategy`: the strategies available and their parameters, running them in the daemon, and one-shot
evaluations that are safe under cron (`run-once`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, console, emit, info, ns_time, parse_params, print_json

app = typer.Typer(
    help="Strategies: list them, show their parameters, run them in the daemon, evaluate one once.",
    no_args_is_help=True,
)


@app.command("list")
def list_strategies(as_json: JsonOption = False) -> None:
    """Built-in, plug-in and user strategies."""
    from alphintra.strategies import registry

    rows = []
    for name, cls in registry.available().items():
        desc = registry.describe(cls)
        rows.append({"name": name, "symbols": desc["symbols_required"] or "any", "description": desc["description"]})
    emit(rows, as_json, title="strategies")


@app.command("new")
def new_cmd(
    name: Annotated[str, typer.Argument(help="Name of the new strategy (lowercase letters, digits, _).")],
    template: Annotated[str, typer.Option("--template", help="Starting point: trend, mean_reversion or ml.")] = "trend",
    as_json: JsonOption = False,
) -> None:
    """Write a documented strategy file NAME.py into the user strategies folder, ready to backtest."""
    from alphintra.strategies.scaffold import new_strategy

    path = new_strategy(name, template)
    if as_json:
        print_json({"name": name, "template": template, "path": str(path)})
        return
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    console.print(f"try: alphintra backtest run {name} -s GOOG", highlight=False, soft_wrap=True)


@app.command("info")
def info_cmd(
    name: Annotated[str, typer.Argument(help="Strategy name.")],
    as_json: JsonOption = False,
) -> None:
    """A strategy's description and typed parameters (defaults and bounds)."""
    from alphintra.strategies import registry

    desc = registry.describe(registry.get(name))
    if as_json:
        print_json(desc)
        return
    console.print(f"[bold]{desc['name']}[/bold] — {desc['description']}")
    emit(
        [
            {
                "param": p["name"],
                "type": p["type"],
                "default": p["default"],
                "bounds": " ".join(f"{k}={v}" for k, v in p["constraints"].items()),
                "description": p["description"],
            }
            for p in desc["params"]
        ],
        False,
        title="parameters",
    )


# -- running strategies (through the daemon) -------------------------------------------------------------------

SymbolsOption = Annotated[
    list[str] | None, typer.Option("--symbol", "-s", help="Symbol to trade (repeat for several).", show_default=False)
]
ParamsOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Strategy parameter key=value (repeatable).", show_default=False),
]


def _engine() -> Any:
    from alphintra.daemon.client import EngineClient

    return EngineClient.local()


def _path(name: str) -> str:
    from urllib.parse import quote

    return "/api/v1/strategies/" + quote(name, safe="")


@app.command("start")
def start_cmd(
    name: Annotated[str, typer.Argument(help="Saved strategy name (created first when --strategy is given).")],
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Strategy type: save NAME with it, then start.", show_default=False)
    ] = None,
    symbols: SymbolsOption = None,
    params: ParamsOption = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="Trade in this account (a live account runs it on its exchange; default: the first account on "
            "the first symbol's venue). Saved with the strategy.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a saved strategy in the daemon (it keeps running, and resumes after a daemon restart, until stopped).
    NAME may be a strategy type when --symbol is given: it is saved under that name."""
    from alphintra.errors import ValidationError
    from alphintra.strategies import registry

    if strategy is None and (symbols or params) and name in registry.available():
        strategy = name  # `strategy start sma_cross -s BTC/USDT`: the type, saved under its own name
    with _engine() as engine, _as_option("account", "--account"):
        if strategy is not None:
            if not symbols:
                raise ValidationError("--symbol", "give the symbols the strategy trades", None)
            body = {
                "name": name,
                "strategy": strategy,
                "symbols": symbols,
                "params": parse_params(params or []),
                "description": description,
            }
            engine.post("/api/v1/strategies", body if account is None else {**body, "account": account})
        elif symbols or params:
            raise ValidationError("--strategy", "is needed with --symbol/--param (they define a new strategy)", None)
        elif account is not None:
            engine.put(_path(name), {"account": account})  # the saved strategy trades there from now on
        row = engine.post(_path(name) + "/start")
    if as_json:
        print_json(row)
        return
    where = f" in account {row['account']}" if row.get("account") else ""
    info(f"strategy {row['name']} started ({row['strategy']} on {', '.join(row['symbols'])}{where})")


@contextmanager
def _as_option(field: str, option: str) -> Iterator[None]:
    """The daemon names a body field (``account``); the user typed an option (``--account``): name that."""
    from alphintra.daemon.protocol import RemoteValidationError
    from alphintra.errors import ValidationError

    try:
        yield
    except RemoteValidationError as exc:
        if exc.field != field:
            raise
        raise ValidationError(option, exc.message.removeprefix(f"{field}: ")) from None


@app.command("stop")
def stop_cmd(
    name: Annotated[str, typer.Argument(help="Saved strategy name or id.")],
    keep_orders: Annotated[bool, typer.Option("--keep-orders", help="Leave its working orders in the market.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Stop a running strategy (its working orders are canceled unless --keep-orders)."""
    with _engine() as engine:
        row = engine.post(_path(name) + "/stop", params={"cancel_orders": not keep_orders})
    if as_json:
        print_json(row)
        return
    info(f"strategy {row['name']} stopped")


@app.command("status")
def status_cmd(
    name: Annotated[str | None, typer.Argument(help="One strategy (default: all saved strategies).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Saved strategies and whether they run; with NAME, its live figures (bars, orders, positions, errors)."""
    with _engine() as engine:
        if name is None:
            rows = engine.get("/api/v1/strategies")
            emit(
                [
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "strategy": r["strategy"],
                        "symbols": ",".join(r["symbols"]),
                        "status": r["status"],
                        "running": r["running"],
                        "error": r["error"] or "",
                    }
                    for r in rows
                ]
                if not as_json
                else rows,
                as_json,
                title="strategies",
            )
            return
        status = engine.get(_path(name) + "/status")
        if not as_json and status.get("started_at") is not None:
            status = {**status, "started_at": ns_time(status["started_at"])}
        emit(status, as_json, title=f"strategy {name}")


@app.command("signals")
def signals_cmd(
    name: Annotated[str, typer.Argument(help="Saved strategy name or id.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many, newest first.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then stream new signals until Ctrl-C.")] = False,
    as_json: JsonOption = False,
) -> None:
    """A strategy's recent signals (kept in the daemon's memory), optionally followed live."""
    with _engine() as engine:
        rows = engine.get(_path(name) + "/signals", params={"limit": limit})
        shown = rows if as_json else [{**r, "ts": ns_time(r.get("ts"))} for r in rows]
        emit(shown, as_json, columns=["ts", "name", "value", "data"], title=f"signals of {name}")
        if not follow:
            return
        strategy_id = engine.get(_path(name))["id"]
        try:
            with engine.subscribe(f"strategies/{strategy_id}/signals") as stream:
                for message in stream:
                    if message.type != "signal":
                        continue
                    if as_json:
                        print_json(message.data)
                    else:
                        d = message.data
                        console.print(f"{ns_time(d['ts'])}  {d['name']}  {d['value']}  {d['data']}", highlight=False)
        except KeyboardInterrupt:
            return


# -- one evaluation, safe under cron ---------------------------------------------------------------------------


def _log_line(record: dict[str, Any]) -> None:
    """One JSON line per run in $ALPHINTRA_HOME/logs/run-once.log (what cron jobs leave behind)."""
    import json
    from datetime import UTC, datetime

    from alphintra.config.settings import get_settings

    logs = get_settings().paths.logs
    logs.mkdir(parents=True, exist_ok=True)
    line = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), **record}
    with (logs / "run-once.log").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, default=str) + "\n")


@contextmanager
def run_lock(name: str, wait: float) -> Iterator[None]:
    """An exclusive lock on $ALPHINTRA_HOME/locks/run-once-NAME.lock so overlapping cron runs never collide."""
    import fcntl
    import os
    import time

    from alphintra.config.settings import get_settings
    from alphintra.errors import ConflictError

    locks = get_settings().paths.locks
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / f"run-once-{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConflictError(
                        f"another run of {name!r} holds {path}", detail="the previous run is still going; skipped"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _daemon_running() -> bool:
    from alphintra.config.settings import get_settings
    from alphintra.daemon.runfiles import probe_daemon

    return probe_daemon(get_settings().paths.pid_file).running


def run_once_local(strategy: str, symbols: list[str], params: dict[str, Any], name: str) -> dict[str, Any]:
    """Without a daemon: replay the journal into a one-shot engine, evaluate once, make it durable, stop."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.trading.host import TradingHost
    from alphintra.daemon.trading.strategies import Evaluation, build_instance, check_name, evaluate

    check_name(name, "--name")
    host = TradingHost(get_settings(), services=False)
    host.start()
    try:

        def run() -> Evaluation:
            node = host.node
            assert node is not None
            instance = build_instance(
                node,
                key=f"once:{name}",
                name=name,
                strategy_type=strategy,
                symbols=symbols,
                params=params,
                account=host.account,
            )
            try:
                if instance.error is not None:
                    return Evaluation(
                        name, strategy, instance.symbols, node.clock.now_ns(), error=instance.error.message
                    )
                feed = host.feed

                def recent(symbol: str) -> list[Any]:
                    sf = feed.symbols.get(symbol) if feed is not None else None
                    return list(sf.bars) if sf is not None else []

                return evaluate(node, instance, recent)
            finally:
                instance.runner.detach()

        return host.call(run).to_dict()
    finally:
        host.stop()


def perform_run_once(
    strategy: str, symbols: list[str], params: dict[str, Any], name: str, *, wait: float = 0.0
) -> dict[str, Any]:
    """One evaluation under the run lock: through the daemon when one runs, else in-process. Logs one line;
    raises OperationFailed (non-zero exit) when the evaluation failed."""
    from alphintra.errors import AlphintraError, OperationFailed

    record: dict[str, Any] = {"name": name, "strategy": strategy, "symbols": symbols}
    result: dict[str, Any]
    try:
        with run_lock(name, wait):
            if _daemon_running():
                record["via"] = "daemon"
                with _engine() as engine:
                    result = engine.post(
                        "/api/v1/strategies/run-once",
                        {"strategy": strategy, "symbols": symbols, "params": params, "name": name},
                    )
            else:
                record["via"] = "in-process"
                result = run_once_local(strategy, symbols, params, name)
    except AlphintraError as exc:
        _log_line({**record, "ok": False, "error": exc.message})
        raise
    except Exception as exc:
        _log_line({**record, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        raise
    _log_line({**record, "ok": result["ok"], "orders": result["orders"], "error": result["error"]})
    if not result["ok"]:
        raise OperationFailed(f"run-once {name} failed: {result['error']}")
    return result


@app.command("run-once")
def run_once_cmd(
    strategy: Annotated[str, typer.Argument(help="Strategy type (`alphintra strategy list`).")],
    symbols: SymbolsOption = None,
    params: ParamsOption = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Lock and order tag (default: the strategy type).", show_default=False)
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0.0, help="Seconds to wait for a previous run's lock (default: skip).")
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """One evaluation of a strategy (a DCA buy, a rebalance), safe under cron: holds a lock, logs a line to
    $ALPHINTRA_HOME/logs/run-once.log and exits non-zero on failure. Uses the daemon when one runs."""
    from alphintra.errors import ValidationError

    if not symbols:
        raise ValidationError("--symbol", "give the symbols the strategy trades", None)
    result = perform_run_once(strategy, symbols, parse_params(params or []), name or strategy, wait=wait)
    if as_json:
        print_json(result)
        return
    info(f"{result['name']}: {len(result['orders'])} order(s), {result['fills']} fill(s)")
    for sig in result["signals"]:
        console.print(f"  signal {sig['name']} = {sig['value']}", highlight=False)
