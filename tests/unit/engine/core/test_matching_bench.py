from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from alphintra.benchmarks.matching import ADD, CANCEL, MARKET, generate_flow, run
from alphintra.cli.bench import app


def test_flow_is_seeded_and_has_the_intended_mix() -> None:
    flow = generate_flow(20_000, seed=3)
    assert flow == generate_flow(20_000, seed=3)
    assert flow != generate_flow(20_000, seed=4)
    mix = Counter(cmd[0] for cmd in flow)
    assert abs(mix[ADD] / 20_000 - 0.6) < 0.02
    assert abs(mix[CANCEL] / 20_000 - 0.3) < 0.02
    assert abs(mix[MARKET] / 20_000 - 0.1) < 0.02
    added = {cmd[1] for cmd in flow if cmd[0] == ADD}
    assert all(cmd[1] in added for cmd in flow if cmd[0] == CANCEL)  # cancels target orders that were placed


def test_run_reports_both_books_on_the_same_work() -> None:
    result = run(3_000, seed=1, reference_orders=1_000, repeat=1)
    assert result["orders"] == 3_000 and result["engine"]["orders"] == 3_000
    assert result["reference"]["orders"] == 1_000 and result["engine_on_prefix"]["orders"] == 1_000
    for key in ("orders_per_sec", "orders_per_cpu_sec", "p50_us", "p99_us"):
        assert result["engine"][key] > 0 and result["reference"][key] > 0
    assert result["engine"]["p50_us"] <= result["engine"]["p99_us"]
    assert result["reference"]["trades"] > 0
    assert result["speedup"] > 0 and result["speedup_cpu"] > 0
    assert result["orders_per_sec"] == result["engine"]["orders_per_sec"]


def test_cli_prints_json_and_a_table() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["matching", "--orders", "2000", "--reference-orders", "500", "--repeat", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["engine"]["orders"] == 2000 and data["reference"]["orders"] == 500
    table = runner.invoke(app, ["matching", "--orders", "2000", "--reference-orders", "500", "--repeat", "1"])
    assert table.exit_code == 0, table.output
    assert "naive, prefix" in table.stdout and "speed-up" in table.stdout
    assert runner.invoke(app, ["matching", "--orders", "0"]).exit_code == 2
