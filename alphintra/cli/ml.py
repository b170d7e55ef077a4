"""`alphintra ml`: feature sets, training, the model registry, predictions and drift.

polars, numpy and LightGBM are imported inside the commands (shell completion re-runs this module on every Tab).
Exit codes: 2 for bad input (unknown feature set or model, missing data, too few rows, a leaky feature), 1 when
``ml drift`` finds drift (its report is still printed), 0 otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import (
    JsonOption,
    TimerangeOpt,
    console,
    emit,
    info,
    parse_params,
    print_json,
    print_table,
    progress,
    time_range,
)

if TYPE_CHECKING:
    from alphintra.ml.drift import DriftReport
    from alphintra.ml.registry import LoadedModel
    from alphintra.ml.train import DataSpec

app = typer.Typer(
    help="Machine learning: features, training, model registry, predictions, drift.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Model name (see `alphintra ml list`).", show_default=False)]
VersionOpt = Annotated[int | None, typer.Option("--version", help="Model version (default: the promoted one).")]
SymbolOpt = Annotated[str | None, typer.Option("--symbol", "-s", help="Symbol (default: the model's).")]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", "-t", help="Timeframe (default: the model's).")]
ExchangeOpt = Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange of the stored data.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="From this UTC date/time (inclusive).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Up to this UTC date/time (exclusive).")]

_LGB_PARAMS = {
    "num_trees": int,  # boosting rounds (as `ml search` reports them); overrides --trees
    "num_leaves": int,
    "learning_rate": float,
    "min_data_in_leaf": int,
    "feature_fraction": float,
    "bagging_fraction": float,
    "bagging_freq": int,
    "lambda_l1": float,
    "lambda_l2": float,
    "max_depth": int,
    "min_gain_to_split": float,
}


def _lgb_params(pairs: list[str]) -> dict[str, Any]:
    from alphintra.errors import ValidationError

    out: dict[str, Any] = {}
    for key, text in parse_params(pairs).items():
        kind = _LGB_PARAMS.get(key)
        if kind is None:
            raise ValidationError(f"--param {key}", f"must be one of {', '.join(sorted(_LGB_PARAMS))}", text)
        try:
            out[key] = kind(text)
        except ValueError:
            raise ValidationError(
                f"--param {key}", f"must be a{'n integer' if kind is int else ' number'}", text
            ) from None
    return out


def _data_spec(
    model: LoadedModel,
    symbol: str | None,
    timeframe: str | None,
    exchange: str | None,
    start: str | None,
    end: str | None,
) -> DataSpec:
    from alphintra.ml.train import DataSpec

    data = model.version.meta["data"]
    return DataSpec(
        symbol or data["symbol"],
        timeframe or data["timeframe"],
        exchange if exchange is not None else (data.get("exchange") if symbol is None else None),
        start,
        end,
    )


def _load(name: str, version: int | None) -> LoadedModel:
    from alphintra.ml.registry import load

    return load(name, version)


# -- feature sets --------------------------------------------------------------------------------------------------


@app.command("features")
def features(
    name: Annotated[str | None, typer.Argument(help="A feature set name or .toml file (omit to list them).")] = None,
    symbol: Annotated[
        str | None, typer.Option("--symbol", "-s", help="Compute the set over this symbol's bars.")
    ] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Timeframe of the bars.")] = "1d",
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    rows: Annotated[int, typer.Option("--rows", "-n", help="Newest rows shown.")] = 5,
    check: Annotated[
        bool, typer.Option("--check", help="Also run the look-ahead check and the batch-vs-serving comparison.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List feature sets, show one, or compute one over stored bars (--symbol)."""
    start, end = time_range(start, end, timerange)
    from alphintra.ml import featureset

    if name is None:
        sets = featureset.available()
        emit(
            [
                {"name": n, "version": s.version, "features": len(s.features), "description": s.description}
                for n, s in sets.items()
            ],
            as_json,
            columns=["name", "version", "features", "description"],
            title="feature sets",
        )
        return
    chosen = featureset.resolve(name)
    if symbol is None:
        data = {**chosen.to_dict(), "fingerprint": chosen.fingerprint, "other_symbols": chosen.other_symbols}
        if as_json:
            print_json(data)
            return
        console.print(f"{chosen.label}: {chosen.description}  [dim]fingerprint {chosen.fingerprint[:16]}[/dim]")
        print_table(
            [
                {"name": s.name, "kind": s.kind, "params": ", ".join(f"{k}={v}" for k, v in s.params.items())}
                for s in chosen.features
            ],
            ["name", "kind", "params"],
        )
        return
    from alphintra.ml.leakage import check_no_lookahead
    from alphintra.ml.train import DataSpec, load_bars

    bars, others = load_bars(DataSpec(symbol, timeframe, exchange, start, end), chosen)
    if check:
        check_no_lookahead(chosen, bars, others)
        info(f"{chosen.label}: no feature reads a later bar; batch and serving forms agree to 1e-9")
    frame = featureset.compute_batch(chosen, bars, others)
    shown = frame.tail(max(0, rows))
    records = [{k: v for k, v in row.items()} for row in shown.to_dicts()]
    if as_json:
        print_json(
            {
                "feature_set": chosen.label,
                "bars": bars.height,
                "usable_rows": frame.drop_nulls().height,
                "checked": check,
                "rows": records,
            }
        )
        return
    emit(records, False, title=f"{chosen.label} on {symbol} {timeframe}")


# -- training ------------------------------------------------------------------------------------------------------


@app.command("train")
def train(
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol whose bars the model learns from.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe.")] = "1d",
    feature_set: Annotated[str, typer.Option("--features", "-f", help="Feature set name or .toml file.")] = "core",
    task: Annotated[str, typer.Option("--task", help="classification (up or not) or regression (the return).")] = (
        "classification"
    ),
    label: Annotated[str, typer.Option("--label", help="forward or triple_barrier.")] = "forward",
    horizon: Annotated[int, typer.Option("--horizon", help="Bars ahead the label looks.")] = 1,
    take_profit: Annotated[float, typer.Option("--take-profit", help="Triple barrier: upper barrier, 0.02 = 2 %.")] = (
        0.02
    ),
    stop_loss: Annotated[float, typer.Option("--stop-loss", help="Triple barrier: lower barrier, 0.02 = 2 %.")] = 0.02,
    name: Annotated[str | None, typer.Option("--name", help="Model name (default: SYMBOL-TIMEFRAME-FEATURES).")] = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    trees: Annotated[int, typer.Option("--trees", min=1, max=5000, help="Boosting rounds.")] = 100,
    folds: Annotated[int, typer.Option("--folds", min=2, max=50, help="Walk-forward test blocks.")] = 5,
    embargo: Annotated[int, typer.Option("--embargo", min=0, help="Rows kept out after each test block.")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same model).")] = 7,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="LightGBM parameter k=v.")] = None,
    promote: Annotated[bool, typer.Option("--promote", help="Promote the new version at once.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Train a LightGBM model walk-forward (purged, embargoed) and register it as the model's next version."""
    start, end = time_range(start, end, timerange)
    from alphintra.errors import ValidationError
    from alphintra.ml import featureset
    from alphintra.ml.labels import LabelSpec
    from alphintra.ml.pipeline import TrainOptions, train_and_register
    from alphintra.ml.registry import Registry, check_name, model_name
    from alphintra.ml.train import DataSpec

    if task not in ("classification", "regression"):
        raise ValidationError("--task", "must be classification or regression", task)
    chosen = featureset.resolve(feature_set)
    label_spec = LabelSpec(label, horizon, take_profit, stop_loss)  # type: ignore[arg-type]
    lgb_params = _lgb_params(param or [])
    trees = int(lgb_params.pop("num_trees", trees))
    options = TrainOptions(task, label_spec, lgb_params, trees, seed, folds, embargo)  # type: ignore[arg-type]
    model = check_name(name or model_name(symbol, timeframe, chosen.name))
    registry = Registry()
    with progress(f"training {model}", total=folds + 1) as advance:
        saved = train_and_register(
            model,
            chosen,
            DataSpec(symbol, timeframe, exchange, start, end),
            options,
            registry=registry,
            progress=advance,
        )
    if promote:
        registry.promote(model, saved.version)
    if as_json:
        print_json({**_meta_view(saved.meta), "promoted": promote})
        return
    _print_model(saved.meta)
    info(
        f"registered {model} v{saved.version}"
        + (" (promoted)" if promote else f"; promote with `alphintra ml promote {model} {saved.version}`")
    )


@app.command("search")
def search(
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol whose bars the model learns from.")],
    param: Annotated[
        list[str],
        typer.Option("--param", "-p", help="LightGBM parameter space: num_leaves=7,15,31 or x=0.01:0.1:0.03."),
    ],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe.")] = "1d",
    feature_set: Annotated[str, typer.Option("--features", "-f", help="Feature set name or .toml file.")] = "core",
    task: Annotated[str, typer.Option("--task", help="classification or regression.")] = "classification",
    label: Annotated[str, typer.Option("--label", help="forward or triple_barrier.")] = "forward",
    horizon: Annotated[int, typer.Option("--horizon", help="Bars ahead the label looks.")] = 1,
    metric: Annotated[
        str, typer.Option("--metric", help="auc, ic, hit_rate (higher is better), log_loss, ece, rmse.")
    ] = ("auc"),
    samples: Annotated[int | None, typer.Option("--samples", min=1, help="Random search: this many sets.")] = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    trees: Annotated[int, typer.Option("--trees", min=1, max=5000, help="Boosting rounds (unless searched).")] = 100,
    folds: Annotated[int, typer.Option("--folds", min=2, max=50, help="Walk-forward test blocks.")] = 5,
    embargo: Annotated[int, typer.Option("--embargo", min=0, help="Rows kept out after each test block.")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the fits and of --samples.")] = 7,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    top: Annotated[int, typer.Option("--top", min=1, help="Best rows shown.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Search LightGBM parameters with the optimiser, scored walk-forward out of sample; train the best with
    `ml train -p ...`."""
    start, end = time_range(start, end, timerange)
    from alphintra.errors import ValidationError
    from alphintra.ml import featureset
    from alphintra.ml.labels import LabelSpec
    from alphintra.ml.search import MAXIMISE
    from alphintra.ml.search import search as run
    from alphintra.ml.train import DataSpec

    if task not in ("classification", "regression"):
        raise ValidationError("--task", "must be classification or regression", task)
    chosen = featureset.resolve(feature_set)
    from alphintra.strategies.optimize import parse_space

    space = parse_space(param)
    total = samples or space.size
    with progress("searching", total=total) as advance:
        result, best = run(
            chosen,
            DataSpec(symbol, timeframe, exchange, start, end),
            param,
            label=LabelSpec(label, horizon),  # type: ignore[arg-type]
            task=task,  # type: ignore[arg-type]
            metric=metric,
            samples=samples,
            seed=seed,
            folds=folds,
            embargo=embargo,
            num_trees=trees,
            workers=workers,
            progress=advance,
        )
    rows = result.sorted(metric, descending=MAXIMISE[metric]).head(top).to_dicts()
    if as_json:
        print_json(
            {
                "metric": metric,
                "best": best,
                "runs": result.frame.height,
                "failures": result.failures,
                "top": _clean(rows),
            }
        )
        return
    print_table(rows, None, title=f"search by {metric} ({result.frame.height} runs)")
    info("best: " + " ".join(f"-p {k}={v}" for k, v in best.items()))


def _meta_view(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "feature_set"} | {
        "feature_set": {k: v for k, v in meta["feature_set"].items() if k != "definition"}
    }


def _print_model(meta: dict[str, Any]) -> None:
    fs = meta["feature_set"]
    data = meta["data"]
    metrics = meta["metrics"]
    console.print(
        f"[bold]{meta['name']} v{meta['version']}[/bold]  {meta['task']}  features {fs['name']}@{fs['version']}  "
        f"label {meta['label']}\n"
        f"data {data['symbol']} {data['timeframe']} {data['first']} .. {data['last']} ({data['rows']} rows, "
        f"sha256 {data['sha256'][:12]})",
        highlight=False,
    )
    shown = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    if "calibration" in metrics:
        shown["ece"] = metrics["calibration"]["ece"]
    print_table([shown], list(shown), title="out-of-sample (walk-forward)")
    top = list(meta.get("importance", {}).items())[:10]
    print_table([{"feature": k, "gain share": v} for k, v in top], ["feature", "gain share"], title="importance")


# -- registry ------------------------------------------------------------------------------------------------------


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Registered models and versions (the promoted one marked)."""
    from alphintra.ml.registry import Registry

    registry = Registry()
    rows: list[dict[str, Any]] = []
    for model in [name] if name else registry.names():
        promoted = registry.state(model)["promoted"]
        rows.extend(v.summary(promoted) for v in registry.versions(model))
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["promoted"] = "*" if row["promoted"] else ""
    print_table(
        rows,
        [
            "name",
            "version",
            "promoted",
            "created_at",
            "task",
            "feature_set",
            "symbol",
            "timeframe",
            "rows",
            "auc",
            "hit_rate",
            "ic",
        ],
        title="models",
        empty="no models yet: try `alphintra ml train -s GOOG`",
    )


@app.command("show")
def show(name: NameArg, version: VersionOpt = None, as_json: JsonOption = False) -> None:
    """A model version's metadata: feature set, label, data range and hash, parameters, metrics, libraries."""
    from alphintra.ml.registry import Registry

    registry = Registry()
    found = registry.get(name, version)
    state = registry.state(name)
    if as_json:
        print_json({**found.meta, "promoted": state["promoted"] == found.version, "registry": state})
        return
    _print_model(found.meta)
    console.print(f"params {found.meta['params']}\nlibraries {found.meta['libraries']}", highlight=False)


@app.command("promote")
def promote(
    name: NameArg,
    version: Annotated[int, typer.Argument(help="Version to serve.", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Make VERSION the one the ml strategy serves."""
    from alphintra.ml.registry import Registry

    state = Registry().promote(name, version)
    if as_json:
        print_json({"name": name, **state})
        return
    info(f"{name}: v{version} promoted")


@app.command("rollback")
def rollback(name: NameArg, as_json: JsonOption = False) -> None:
    """Serve the previously promoted version again."""
    from alphintra.ml.registry import Registry

    state = Registry().rollback(name)
    if as_json:
        print_json({"name": name, **state})
        return
    info(f"{name}: rolled back to v{state['promoted']}")


# -- using a model -------------------------------------------------------------------------------------------------


@app.command("predict")
def predict(
    name: NameArg,
    version: VersionOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    last: Annotated[int, typer.Option("--last", "-n", min=1, help="Newest predictions shown.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The model's predictions on stored bars (P(up) for a classifier, the return for a regression)."""
    start, end = time_range(start, end, timerange)
    from alphintra.formatting import iso_ns
    from alphintra.ml.pipeline import predict_range

    model = _load(name, version)
    found = predict_range(model, _data_spec(model, symbol, timeframe, exchange, start, end))
    rows = [
        {"time": iso_ns(int(t)), "prediction": float(v)}
        for t, v in zip(found.times[-last:], found.values[-last:], strict=True)
    ]
    if as_json:
        print_json({"model": name, "version": model.version.version, "task": model.task, "predictions": rows})
        return
    emit(rows, False, title=f"{name} v{model.version.version} ({model.task})")


@app.command("evaluate")
def evaluate(
    name: NameArg,
    version: VersionOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Score a model on stored bars (out of sample when --start is after its training data)."""
    start, end = time_range(start, end, timerange)
    from alphintra.ml.pipeline import evaluate as run

    model = _load(name, version)
    scores = run(model, _data_spec(model, symbol, timeframe, exchange, start, end))
    if as_json:
        print_json({"model": name, "version": model.version.version, "task": model.task, "metrics": scores})
        return
    shown = {k: v for k, v in scores.items() if not isinstance(v, dict)}
    if "calibration" in scores:
        shown["ece"] = scores["calibration"]["ece"]
    print_table([shown], list(shown), title=f"{name} v{model.version.version}")


@app.command("compare")
def compare(
    name: NameArg,
    versions: Annotated[
        list[int], typer.Argument(help="Two or more versions to run side by side.", show_default=False)
    ],
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", "-s", help="Symbol(s) (default: the model's; repeat for more).")
    ] = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="ml strategy parameter k=v.")] = None,
    paper: Annotated[
        float | None, typer.Option("--paper", help="Paper sessions at this speed (sim seconds per second).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A/B: run versions of a model through the ml strategy on the same bars and compare them in one report."""
    start, end = time_range(start, end, timerange)
    from alphintra.cli.backtest import _coerce_params
    from alphintra.ml.pipeline import compare_versions

    model = _load(name, versions[0] if versions else None)
    data = model.version.meta["data"]
    raw = parse_params(param or [])
    params = _coerce_params("ml", {"model": name, **raw})
    params = {k: params[k] for k in raw}  # only what was given: the rest keep the strategy's defaults
    symbols = tuple(symbol) if symbol else (data["symbol"], *data.get("other_symbols", []))
    report = compare_versions(
        name,
        versions,
        symbols,
        timeframe or data["timeframe"],
        start=start,
        end=end,
        exchange=exchange,
        params=params,
        paper_speed=paper,
    )
    if as_json:
        print_json(report)
        return
    print_table(
        report["runs"],
        [
            "version",
            "mode",
            "end_equity",
            "total_return",
            "sharpe",
            "max_drawdown",
            "num_trades",
            "win_rate",
            "predictions",
            "latency_p99_us",
            "drifting_when_done",
        ],
        title=f"{name}: A/B on {', '.join(report['symbols'])} {report['timeframe']}",
    )
    for pair, figures in report["agreement"].items():
        console.print(f"{pair}: same direction {figures['same_direction']}, correlation {figures['correlation']}")


@app.command("drift")
def drift(
    name: NameArg,
    version: VersionOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    timerange: TimerangeOpt = None,
    psi_breach: Annotated[float, typer.Option("--psi", help="PSI at or above which a feature has drifted.")] = 0.25,
    alert: Annotated[bool, typer.Option("--alert/--no-alert", help="Raise a risk alert when drift is found.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Compare features and predictions over stored bars with the training data (PSI, KS) and the live hit rate;
    exit 1 and raise a risk alert (shown by `alphintra risk alerts`) when anything drifted."""
    start, end = time_range(start, end, timerange)
    from alphintra.errors import ValidationError
    from alphintra.ml.drift import DriftThresholds
    from alphintra.ml.pipeline import drift as run

    if not 0 < psi_breach < 100:
        raise ValidationError("--psi", "must be a number above 0", psi_breach)
    model = _load(name, version)
    data = _data_spec(model, symbol, timeframe, exchange, start, end)
    thresholds = DriftThresholds(psi_warning=min(0.1, psi_breach), psi_breach=psi_breach)
    report = run(model, data, thresholds=thresholds)
    raised = _raise_drift_alert(report, data.symbol) if alert and report.drifted else None
    result = {**_clean(report.to_dict()), "alert": raised}
    if as_json:
        print_json(result)
    else:
        rows = [{**f, "ks_p": f["ks_p"]} for f in [*report.features, report.predictions]]
        print_table(rows, ["name", "psi", "ks", "ks_p", "level"], title=f"drift of {name} v{report.version}")
        if report.hit_rate:
            console.print(f"hit rate: live {report.hit_rate['live']:.4f}, training {report.hit_rate['training']}")
        verdict = f"[red]drift: {', '.join(report.drifted)}[/red]" if report.drifted else "[green]no drift[/green]"
        console.print(verdict)
        if raised:
            info(f"risk alert {raised.get('id')} raised" if raised.get("journaled") else str(raised.get("reason")))
    if report.drifted:
        raise typer.Exit(1)


def _clean(data: Any) -> Any:
    from alphintra.ml.train import clean_metrics

    return clean_metrics(data)


def _raise_drift_alert(report: DriftReport, symbol: str) -> dict[str, Any]:
    """Journal a WARNING risk alert: through the running daemon (which owns the journal), or, with none, as the
    risk commands do without a daemon."""
    from decimal import Decimal

    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.runfiles import probe_daemon
    from alphintra.daemon.trading.riskstate import offline_write
    from alphintra.engine.risk.records import RiskAlertRaised, RiskRecord
    from alphintra.engine.risk.state import RiskState
    from alphintra.storage.state import StateStore

    settings = get_settings()
    alert = {**report.risk_alert(), "symbol": symbol, "strategy": "ml"}
    if probe_daemon(settings.paths.pid_file).running:
        with EngineClient.local() as client:
            answer = client.post("/api/v1/risk/alerts", {**alert, "source": "ml drift"})
        return {"journaled": True, "id": answer["id"], **{k: answer[k] for k in ("rule", "severity", "message")}}
    store = StateStore(settings.effective_database_url)
    store.create_all()
    raised: list[int] = []

    def build(state: RiskState, now: int) -> list[RiskRecord]:
        alert_id = state.alert_id()
        raised.append(alert_id)
        return [
            RiskAlertRaised(
                now,
                alert_id,
                alert["severity"],
                alert["rule"],
                alert["message"],
                None,
                "ml",
                symbol,
                Decimal(alert["value"]),
                Decimal(alert["threshold"]),
            )
        ]

    try:
        offline_write(settings, store, build)
    finally:
        store.close()
    return {"journaled": True, "id": raised[0], **{k: alert[k] for k in ("rule", "severity", "message")}}
