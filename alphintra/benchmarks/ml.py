"""ML benchmark: training time, and the serving path's per-bar latency beside plain ``lightgbm`` in the same run.

On seeded synthetic minute bars:

* **training**: the whole ``train`` (walk-forward folds, scores, final fit) and, as the baseline, one plain
  ``lightgbm.train`` of the final model on the same matrix and parameters; plus the batch feature computation;
* **serving**: per bar, the :class:`~alphintra.ml.featureset.FeatureEngine` update (every feature of the set,
  incrementally) and the compiled trees' prediction, timed together with ``perf_counter_ns``; the baseline is
  ``Booster.predict`` on the same rows, one row per call (what a strategy would do), and once over all rows
  (the batch throughput). p50/p99 in microseconds. The target is p99 <= 1 ms per bar, features included.

The machine may be shared: both sides are measured in the same run, and the garbage collector is left on (a
serving process runs with it). Wall-clock percentiles include the time the process waited for a core; the CPU-time
percentiles (``thread_time_ns``, this thread only) show what the code itself costs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl


def _pcts(values: list[int]) -> dict[str, float]:
    ordered = np.sort(np.asarray(values, dtype=np.float64)) / 1000.0
    return {
        "calls": int(ordered.size),
        "p50_us": round(float(np.percentile(ordered, 50)), 2),
        "p99_us": round(float(np.percentile(ordered, 99)), 2),
        "max_us": round(float(ordered[-1]), 2),
        "mean_us": round(float(ordered.mean()), 2),
    }


def run(
    bars: int = 20_000, *, feature_set: str = "core", trees: int = 100, serve_bars: int = 5_000, seed: int = 7
) -> dict[str, Any]:
    import lightgbm as lgb

    from alphintra.ml.featureset import FeatureEngine, compute_batch, resolve
    from alphintra.ml.labels import LabelSpec
    from alphintra.ml.train import build_dataset, lgb_params, train
    from alphintra.storage.market import generate_bars
    from alphintra.strategies.base import BarData
    from alphintra.strategies.builtins.ml_lightgbm import TreeEnsemble

    fs = resolve(feature_set)
    frame = generate_bars(["SYN00"], periods=bars + serve_bars, timeframe="1m", seed=seed).sort("time")
    history, live = frame.head(bars), frame.tail(serve_bars)

    started = time.perf_counter()
    compute_batch(fs, history)
    batch_features_s = time.perf_counter() - started
    data = build_dataset(fs, history, {}, LabelSpec("forward", 1))
    started = time.perf_counter()
    result = train(data, num_trees=trees, seed=seed, folds=5)
    train_s = time.perf_counter() - started
    params = lgb_params("classification", {}, seed)
    started = time.perf_counter()
    plain = lgb.train(params, lgb.Dataset(data.x, label=data.cls, feature_name=data.names), num_boost_round=trees)
    plain_train_s = time.perf_counter() - started

    # Serving: warm the engine on the history (as a live session warms up), then time the live bars.
    engine = FeatureEngine(fs, "SYN00")
    trees_model = TreeEnsemble(result.booster.dump_model())

    def bars_of(f: pl.DataFrame) -> list[BarData]:
        ts = f["time"].dt.epoch("ns").to_list()
        cols = [f[c].to_list() for c in ("open", "high", "low", "close", "volume")]
        return [BarData("SYN00", t, *row) for t, *row in zip(ts, *cols, strict=True)]

    for bar in bars_of(history.tail(500)):
        engine.update(bar)
    served: list[int] = []
    served_cpu: list[int] = []
    rows: list[list[float]] = []
    predictions: list[float] = []
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    for bar in bars_of(live):
        c0, t0 = cpu(), wall()
        row = engine.update(bar)
        value = trees_model.predict(row) if row is not None else None
        t1, c1 = wall(), cpu()
        if row is not None and value is not None:
            served.append(t1 - t0)
            served_cpu.append(c1 - c0)
            rows.append(row)
            predictions.append(value)
    x = np.asarray(rows, dtype=np.float64)
    one_by_one: list[int] = []
    one_by_one_cpu: list[int] = []
    for i in range(x.shape[0]):
        c0, t0 = cpu(), wall()
        result.booster.predict(x[i : i + 1], num_threads=1)
        t1, c1 = wall(), cpu()
        one_by_one.append(t1 - t0)
        one_by_one_cpu.append(c1 - c0)
    started = time.perf_counter_ns()
    batch = result.booster.predict(x, num_threads=1)
    batch_ns = time.perf_counter_ns() - started
    agreement = float(np.max(np.abs(np.asarray(predictions) - batch))) if predictions else float("nan")

    serving = _pcts(served)
    serving_cpu = _pcts(served_cpu)
    return {
        "feature_set": fs.label,
        "features": len(fs.features),
        "training": {
            "bars": bars,
            "rows": data.rows,
            "trees": trees,
            "batch_features_s": round(batch_features_s, 3),
            "walk_forward_and_final_s": round(train_s, 3),
            "plain_lightgbm_train_s": round(plain_train_s, 3),
            # Same rows, parameters and seed: the registry's final model is exactly the plain fit.
            "final_model_equals_plain_fit": plain.model_to_string() == result.booster.model_to_string(),
        },
        "serving": {
            "incremental_features_and_trees": serving,
            "incremental_features_and_trees_cpu": serving_cpu,
            "plain_lightgbm_predict_one_row": _pcts(one_by_one),
            "plain_lightgbm_predict_one_row_cpu": _pcts(one_by_one_cpu),
            "plain_lightgbm_predict_batch_us_per_row": round(batch_ns / 1000.0 / max(1, x.shape[0]), 3),
            "served_vs_lightgbm_max_abs_diff": agreement,
            "target_p99_us": 1000.0,
            "meets_target_wall": serving["p99_us"] <= 1000.0,
            "meets_target_cpu": serving_cpu["p99_us"] <= 1000.0,
        },
    }


__all__ = ["run"]
