"""The study side of `alphintra optimize`: run or resume an Optuna study (``--search``), `optimize show`, `optimize
list`. Kept apart from ``cli.optimize`` so that the plain sweeps do not import Optuna."""

from __future__ import annotations

import time
from typing import Any

from alphintra.cli.common import console, print_json, progress


def default_storage() -> str:
    from alphintra.config.settings import get_settings

    paths = get_settings().paths
    paths.root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{paths.studies}"


def _new_name(strategy: str, storage: str) -> str:
    """``sma_cross-20261207-031522``, with a suffix if a study of that second exists (names are never reused)."""
    from alphintra.strategies import study as st

    taken = {row["study"] for row in st.study_summaries(storage)}
    base = f"{strategy}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    name, n = base, 1
    while name in taken or any(t.startswith(f"{name}.w") for t in taken):
        n += 1
        name = f"{base}-{n}"
    return name


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def pareto_lines(losses: list[str], rows: list[dict[str, Any]], names: list[str], trials: int) -> list[str]:
    """The Pareto front as plain lines, one per trial: ``#12  fast=10 slow=40  sharpe=0.8123 drawdown=-0.1502``."""
    from alphintra.strategies.study import LOSSES

    higher = [n for n in losses if LOSSES[n].maximize]
    lower = [n for n in losses if not LOSSES[n].maximize]
    better = "; ".join(
        f"{word} is better: {', '.join(names)}" for word, names in (("higher", higher), ("lower", lower)) if names
    )
    lines = [f"Pareto front: {len(rows)} of {trials} trials ({better})"]
    for row in rows:
        params = " ".join(f"{k}={row[k]}" for k in names)
        values = " ".join(f"{n}={_fmt(row.get(LOSSES[n].metric))}" for n in losses)
        lines.append(f"  #{row['trial']}  {params}  {values}")
    return lines


def run_study_command(
    plan: dict[str, Any],
    *,
    strategy: str,
    space: Any,
    config: Any,
    frames: Any,
    check: Any,
    study: str | None,
    storage: str | None,
    seed: int,
    workers: int | None,
    walk_forward: str | None,
    anchored: bool,
    top: int,
    as_json: bool,
    cluster: Any = None,
) -> None:
    from alphintra.cli.optimize import _iso_times, _windows, data_bounds
    from alphintra.strategies import study as st
    from alphintra.strategies.backtest import backtest_objective

    url = storage or default_storage()
    name = study or _new_name(strategy, url)
    search, losses, slices = plan["search"], plan["losses"], plan["slices"]
    trials = plan["trials"] or (space.size if search == "grid" else 100)
    attrs = {
        "strategy": strategy,
        "symbols": list(config.symbols),
        "timeframe": config.timeframe,
        "params": list(space.names),
    }
    spec = st.StudySpec(name, url, search, losses, trials, seed, slices, workers or 1, attrs)
    args = (config, frames)
    if walk_forward:
        windows = _windows(frames, walk_forward, anchored)
        with progress("walk-forward study", None) as advance:
            wf, outcomes = st.walk_forward_study(
                backtest_objective, space, windows, spec, args=args, check=check, progress=advance, cluster=cluster
            )
        table = wf.frame()
        overall = None if wf.oos_metrics is None else wf.oos_metrics.to_dict()
        refused = sum(o.refused for o in outcomes)
        example = next((o.refused_example for o in outcomes if o.refused_example), None)
        if as_json:
            print_json(
                {
                    "study": name,
                    "search": search,
                    "losses": [loss.name for loss in losses],
                    "windows": _iso_times(table.to_dicts()),
                    "out_of_sample": overall and _iso_times([overall])[0],
                    **_counts(outcomes, refused, example),
                }
            )
            return
        from alphintra.strategies.report import metrics_table, results_table

        console.print(
            results_table(table, sort_by=None, top=None, title=f"walk-forward study {name} by {losses[0].name}")
        )
        _print_counts(name, search, losses, outcomes, refused, example, strategy)
        if wf.oos_metrics is not None:
            console.print(metrics_table(wf.oos_metrics, title="out-of-sample (stitched)"))
        return
    bounds = data_bounds(frames) if slices > 1 else None
    total = trials if search != "grid" else min(trials, space.size)
    with progress(f"study {name}", total) as advance:
        outcome = st.run_study(
            backtest_objective,
            space,
            spec,
            args=args,
            bounds=bounds,
            check=check,
            progress=advance,
            cluster=cluster,
        )
    loaded = st.open_study(url, name)
    rows = st.trial_rows(loaded)
    if as_json:
        out: dict[str, Any] = {
            "study": name,
            "search": search,
            "losses": [loss.name for loss in losses],
            **_counts([outcome], outcome.refused, outcome.refused_example),
            "runs": _iso_times(rows[:top]),
        }
        if len(losses) > 1:
            out["pareto"] = _iso_times(st.pareto_rows(loaded))
        print_json(out)
        return
    _print_rows(rows[:top], list(space.names), [loss.metric for loss in losses], f"{name}: best {min(top, len(rows))}")
    _print_counts(name, search, losses, [outcome], outcome.refused, outcome.refused_example, strategy)
    if len(losses) > 1:
        for line in pareto_lines(
            [loss.name for loss in losses], st.pareto_rows(loaded), list(space.names), len(loaded.trials)
        ):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def _counts(outcomes: list[Any], refused: int, example: str | None) -> dict[str, Any]:
    """The plain sweep's keys (``combinations``: parameter sets drawn, ``skipped``: refused by the strategy)
    plus the study's own counts."""
    return {
        "combinations": sum(o.finished for o in outcomes) + refused,
        "skipped": refused,
        "skipped_example": example,
        "trials": sum(o.finished for o in outcomes),
        "evaluations": sum(o.evaluations for o in outcomes),
        "pruned": sum(o.pruned for o in outcomes),
        "failed": sum(o.failed for o in outcomes),
        "repeats": sum(o.repeats for o in outcomes),
        "resumed": sum(o.resumed for o in outcomes),
    }


def _print_counts(
    name: str, search: str, losses: Any, outcomes: list[Any], refused: int, example: str | None, strategy: str
) -> None:
    c = _counts(outcomes, refused, example)
    console.print(
        f"study {name} ({search}, {','.join(loss.name for loss in losses)}): {c['trials']} trials, "
        f"{c['evaluations']} evaluations, {c['pruned']} pruned, {c['repeats']} repeats, {c['failed']} failed"
        + (f"; {c['resumed']} resumed from the storage" if c["resumed"] else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if refused:
        console.print(
            f"skipped {refused} parameter sets that {strategy} refuses, e.g. {example}", highlight=False, markup=False
        )


def _print_rows(rows: list[dict[str, Any]], names: list[str], metrics: list[str], title: str) -> None:
    import polars as pl

    from alphintra.strategies.report import results_table

    if not rows:
        console.print("no trial completed", highlight=False)
        return
    frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    shown = ["trial", *names, *metrics, "total_return", "sharpe", "max_drawdown", "num_trades", "win_rate"]
    columns = [c for c in dict.fromkeys(shown) if c in frame.columns]
    console.print(results_table(frame, columns=columns, sort_by=None, top=None, title=title))


def show_study(name: str, storage: str | None, top: int, as_json: bool) -> None:
    from alphintra.strategies import study as st

    url = storage or default_storage()
    loaded = st.open_study(url, name)
    setup = loaded.user_attrs.get("setup", {})
    losses: list[str] = setup.get("losses", [])
    rows = st.trial_rows(loaded)
    names: list[str] = loaded.user_attrs.get("params", [])
    importance = st.importances(loaded)
    pareto = st.pareto_rows(loaded) if len(losses) > 1 else None
    summary = next((s for s in st.study_summaries(url) if s["study"] == name), {})
    if as_json:
        from alphintra.cli.optimize import _iso_times

        out: dict[str, Any] = {**summary, "best": _iso_times(rows[:top]), "importance": importance}
        if pareto is not None:
            out["pareto"] = _iso_times(pareto)
        print_json(out)
        return
    console.print(
        f"study {name}: {loaded.user_attrs.get('strategy')} on {','.join(loaded.user_attrs.get('symbols', []))}, "
        f"{setup.get('search')} by {','.join(losses)}; {summary.get('trials')} trials, "
        f"{summary.get('complete')} complete, {summary.get('pruned')} pruned",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    from alphintra.strategies.study import LOSSES

    _print_rows(rows[:top], names, [LOSSES[n].metric for n in losses], f"{name}: best {min(top, len(rows))}")
    if importance:
        text = ", ".join(f"{k} {v:.2f}" for k, v in importance.items())
        console.print(f"parameter importance for {losses[0]}: {text}", highlight=False, markup=False, soft_wrap=True)
    if pareto is not None:
        for line in pareto_lines(losses, pareto, names, int(summary.get("trials") or 0)):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def list_command(storage: str | None, as_json: bool) -> None:
    from alphintra.strategies import study as st

    rows = st.study_summaries(storage or default_storage())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no studies", highlight=False)
        return
    from rich.table import Table

    table = Table(title="studies")
    for column in ("study", "strategy", "search", "losses", "trials", "complete", "pruned"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(",".join(v) if isinstance(v, list) else str(v) for v in row.values()))
    console.print(table)
