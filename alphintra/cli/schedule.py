"""`alphintra schedule`: strategies evaluated on a cron, by the daemon or by the system's crontab.

With a daemon running every command goes through it (it fires the jobs); without one they journal the change
themselves and update the stored schedules (the daemon loads them at its next start), and `run-now` evaluates
in-process like `strategy run-once`. `schedule crontab` prints crontab lines that do the same firings without any
daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, info, ns_time, parse_params, print_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from alphintra.engine.risk.records import RiskRecord
    from alphintra.engine.risk.state import RiskState
    from alphintra.storage.state import StateStore

app = typer.Typer(help="Schedules: run a strategy's evaluation on a cron (daemon or crontab).", no_args_is_help=True)

_COLUMNS = ["id", "cron", "strategy", "symbols", "params", "enabled", "next_run", "last_status", "runs"]


def _store() -> StateStore:
    from alphintra.config.settings import get_settings
    from alphintra.storage.state import StateStore

    store = StateStore(get_settings().effective_database_url)
    store.create_all()
    return store


def _daemon() -> Any:
    """A client when a daemon runs for this data home, else None."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.runfiles import probe_daemon

    settings = get_settings()
    if not probe_daemon(settings.paths.pid_file).running:
        return None
    return EngineClient.local(settings)


def _journal(store: StateStore, build: Callable[[RiskState, int], list[RiskRecord]]) -> None:
    """No daemon: the change is journaled here (the daemon rebuilds the store from the journal at start)."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.trading.riskstate import offline_write

    offline_write(get_settings(), store, build)


def _known(state: RiskState, job_id: str) -> str:
    if job_id not in state.schedules:
        from alphintra.errors import NotFoundError

        raise NotFoundError(f"schedule {job_id!r} does not exist")
    return job_id


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _path(job_id: str) -> str:
    from urllib.parse import quote

    return "/api/v1/schedules/" + quote(job_id, safe="")


def _when(ns: int | None) -> str:
    return ns_time(ns, millis=False) or "-"


def _rows(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": v["id"],
            "cron": v["cron"],
            "strategy": v["strategy"],
            "symbols": ",".join(v["symbols"]),
            "params": " ".join(f"{k}={val}" for k, val in v["params"].items()),
            "enabled": v["enabled"],
            "next_run": _when(v["next_run_at"]),
            "last_status": v["last_status"] or "-",
            "runs": v["run_count"],
        }
        for v in views
    ]


def _show(view: dict[str, Any], as_json: bool, message: str) -> None:
    if as_json:
        print_json(view)
    else:
        info(message)


@app.command("add")
def add(
    cron: Annotated[
        str,
        typer.Option("--cron", help='Cron: "*/5 * * * *" (crontab) or 6 fields with seconds first ("*/2 * * * * *").'),
    ],
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy type evaluated at each firing.")],
    symbols: Annotated[
        list[str] | None, typer.Option("--symbol", "-s", help="Symbol (repeatable).", show_default=False)
    ] = None,
    params: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter key=value (repeatable).", show_default=False)
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Schedule id and order tag (default: STRATEGY-SYMBOL).")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of the cron fields.")] = "UTC",
    paused: Annotated[bool, typer.Option("--paused", help="Add it paused.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Evaluate STRATEGY on a cron: one evaluation, rebalance or DCA buy per firing."""
    from datetime import UTC, datetime

    from alphintra.daemon.trading.scheduler import ScheduleCreate, added_record, job_view, next_fire_times, validate_job
    from alphintra.errors import ConflictError, ValidationError

    if not symbols:
        raise ValidationError("--symbol", "give the symbols the strategy trades", None)
    job_id = name or "-".join([strategy, *symbols]).replace("/", "").lower()
    body = ScheduleCreate(
        name=job_id,
        cron=cron,
        strategy=strategy,
        symbols=symbols,
        params=parse_params(params or []),
        timezone=tz,
        enabled=not paused,
    )
    engine = _daemon()
    if engine is not None:
        with engine:
            view = engine.post("/api/v1/schedules", body.model_dump())
        where = "the daemon fires it"
    else:
        spec, checked = validate_job(body)

        def build(state: RiskState, now: int) -> list[RiskRecord]:
            if body.name in state.schedules:
                raise ConflictError(f"a schedule named {body.name!r} already exists")
            return [added_record(body, spec, checked, now, _who())]

        store = _store()
        _journal(store, build)
        first = next_fire_times(spec, datetime.now(UTC), 1) if not paused else []
        view = job_view(store.upsert_job({"id": job_id, "next_run_at": first[0] if first else None}))
        where = "no daemon runs: it fires once `alphintra engine start` runs, or use `alphintra schedule crontab`"
    _show(view, as_json, f"schedule {view['id']} added ({view['cron']}, next {_when(view['next_run_at'])}); {where}")


@app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """Schedules, their next firing and how their last run went."""
    from alphintra.daemon.trading.scheduler import job_view

    engine = _daemon()
    if engine is not None:
        with engine:
            views = engine.get("/api/v1/schedules")
    else:
        views = [job_view(row) for row in _store().list_jobs()]
    emit(views if as_json else _rows(views), as_json, columns=None if as_json else _COLUMNS, title="schedules")


@app.command("remove")
def remove(job_id: Annotated[str, typer.Argument(help="Schedule id.")], as_json: JsonOption = False) -> None:
    """Delete a schedule."""
    engine = _daemon()
    if engine is not None:
        with engine:
            out = engine.delete(_path(job_id))
    else:
        from alphintra.engine.risk.records import ScheduleRemoved

        _journal(_store(), lambda state, now: [ScheduleRemoved(now, _known(state, job_id), _who())])
        out = {"removed": job_id}
    _show(out, as_json, f"schedule {job_id} removed")


def _toggle(job_id: str, enabled: bool, as_json: bool) -> None:
    from datetime import UTC, datetime

    from alphintra.daemon.trading.scheduler import job_spec, job_view, next_fire_times

    engine = _daemon()
    if engine is not None:
        with engine:
            view = engine.post(_path(job_id) + ("/resume" if enabled else "/pause"))
    else:
        from alphintra.engine.risk.records import SchedulePaused, ScheduleResumed

        store = _store()
        kind = ScheduleResumed if enabled else SchedulePaused
        _journal(store, lambda state, now: [kind(now, _known(state, job_id), _who())])
        row = store.get_job(job_id)
        first = next_fire_times(job_spec(row), datetime.now(UTC), 1) if enabled else []
        view = job_view(store.upsert_job({"id": job_id, "next_run_at": first[0] if first else None}))
    state = f"resumed (next {_when(view['next_run_at'])})" if enabled else "paused"
    _show(view, as_json, f"schedule {job_id} {state}")


@app.command("pause")
def pause(job_id: Annotated[str, typer.Argument(help="Schedule id.")], as_json: JsonOption = False) -> None:
    """Stop firing a schedule (kept, with its history)."""
    _toggle(job_id, False, as_json)


@app.command("resume")
def resume(job_id: Annotated[str, typer.Argument(help="Schedule id.")], as_json: JsonOption = False) -> None:
    """Fire a paused schedule again, from its next cron time."""
    _toggle(job_id, True, as_json)


@app.command("run-now")
def run_now(job_id: Annotated[str, typer.Argument(help="Schedule id.")], as_json: JsonOption = False) -> None:
    """Fire a schedule once now (paused or not); exits non-zero when the evaluation fails."""
    from alphintra.cli.strategy import perform_run_once
    from alphintra.errors import OperationFailed

    engine = _daemon()
    if engine is not None:
        with engine:
            result = engine.post(_path(job_id) + "/run")
        if not result["ok"]:
            raise OperationFailed(f"schedule {job_id} failed: {result['error']}")
    else:
        store = _store()
        row = store.get_job(job_id)
        args = row.args or {}
        try:
            result = perform_run_once(
                str(args.get("strategy", "")),
                list(args.get("symbols") or []),
                dict(args.get("params") or {}),
                row.id,
            )
        except Exception as exc:
            store.record_job_run(job_id, status="FAILED", error=str(exc))
            raise
        store.record_job_run(job_id, status="OK")
    if as_json:
        print_json(result)
        return
    info(f"schedule {job_id} ran: {len(result['orders'])} order(s), {result['fills']} fill(s)")


@app.command("crontab")
def crontab() -> None:
    """Print crontab lines that fire every schedule with `strategy run-once` (no daemon needed)."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.trading.scheduler import crontab_lines

    rows = _store().list_jobs()
    for line in crontab_lines(rows, home=str(get_settings().paths.root)):
        typer.echo(line)
