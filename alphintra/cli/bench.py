"""``alphintra bench``: the project's benchmarks, each measured against a baseline in the same run."""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, emit, info

app = typer.Typer(help="Benchmarks", no_args_is_help=True)


@app.callback()
def bench() -> None:
    """Benchmarks: each measures the project's code and a baseline in the same run (the machine may be noisy)."""


@app.command("matching")
def matching(
    orders: Annotated[int, typer.Option("--orders", min=1, help="Orders in the seeded flow.")] = 1_000_000,
    reference_orders: Annotated[
        int, typer.Option("--reference-orders", min=1, help="Prefix of the flow replayed by the naive reference book.")
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the order flow.")] = 42,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Throughput passes per book; the best counts.")] = 3,
    as_json: JsonOption = False,
) -> None:
    """Matching engine vs a naive sorted-list book: orders/s and per-order latency on the same flow."""
    from alphintra.benchmarks.matching import run

    info(f"replaying {orders:,} orders (reference: first {min(orders, reference_orders):,}) ...")
    result = run(orders, seed=seed, reference_orders=reference_orders, repeat=repeat)
    if as_json:
        emit(result, True)
        return
    rows = [
        {
            "book": name,
            "orders": result[key]["orders"],
            "orders/s": result[key]["orders_per_sec"],
            "orders/CPU-s": result[key]["orders_per_cpu_sec"],
            "p50 µs": result[key].get("p50_us"),
            "p99 µs": result[key].get("p99_us"),
        }
        for name, key in (
            ("engine", "engine"),
            ("engine, prefix", "engine_on_prefix"),
            ("naive, prefix", "reference"),
        )
    ]
    title = f"Matching benchmark - speed-up {result['speedup']}x wall, {result['speedup_cpu']}x CPU, same prefix"
    emit(rows, False, title=title)


@app.command("risk")
def risk(
    orders: Annotated[int, typer.Option("--orders", min=1, help="Orders checked by the pre-trade gate.")] = 200_000,
    matching_orders: Annotated[
        int, typer.Option("--matching-orders", min=0, help="Orders for the matching figure beside it (0: skip).")
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Pre-trade risk check cost with every limit on, printed beside the matching figure of the same run."""
    from alphintra.benchmarks.risk import run

    emit(run(orders, seed=seed, matching_orders=matching_orders), as_json, title="Risk benchmark")


@app.command("backtest")
def backtest(
    bars: Annotated[int, typer.Option("--bars", min=100, help="Synthetic one-minute bars.")] = 200_000,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="Also run backtrader.")] = False,
    as_json: JsonOption = False,
) -> None:
    """sma_cross over synthetic bars on alphintra (and backtrader with --baseline, from the bench extra)."""
    from alphintra.benchmarks.backtest import run

    emit(run(bars, baseline=baseline), as_json, title="Backtest benchmark")
