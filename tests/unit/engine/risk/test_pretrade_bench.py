"""The risk benchmark runs every limit on the common (passing) path and reports its figures."""

from __future__ import annotations

from alphintra.benchmarks.risk import ALL_LIMITS, build, generate_orders, run
from alphintra.engine.risk import LIMITS


def test_benchmark_sets_every_limit_and_every_order_passes() -> None:
    assert set(ALL_LIMITS) >= {n for n, s in LIMITS.items() if s.measure.value != "setting"}
    node, risk = build()
    for init in generate_orders(500):
        risk.check(node, init, node.instruments.get(init.symbol))  # raises if any order is refused


def test_benchmark_reports_latency_figures() -> None:
    result = run(300, matching_orders=0)
    assert result["orders"] == 300 and "matching" not in result
    assert 0 < result["p50_us"] <= result["p90_us"] <= result["p99_us"]
    assert result["within_budget"] == (result["p50_us"] <= 5.0)
