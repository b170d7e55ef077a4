from __future__ import annotations

from alphintra.benchmarks.node import run


def test_every_order_fills_once_and_writes_its_five_records() -> None:
    result = run(200, batch=50, repeat=1, matching_orders=0)
    assert result["orders"] == 200
    # OrderInitialized, Reserved, OrderSubmitted, OrderAccepted, OrderFilled per filled order.
    assert result["records_per_order"] == 5.0
    cycle, batched = result["cycle"], result["batched"]
    assert 0 < cycle["p50_us"] <= cycle["p99_us"] <= cycle["max_us"]
    assert cycle["orders_per_sec"] > 0 and batched["orders_per_sec"] > 0 and batched["orders_per_cpu_sec"] > 0
    assert batched["batch"] == 50 and "fsync" in batched["fsync"]
    assert "matching" not in result
    assert result["within_budget"] is (cycle["p50_us"] <= result["budget_p50_us"])
