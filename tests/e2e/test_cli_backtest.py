"""The backtest, optimize and strategy command groups through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path


def test_backtest_run_json_report_and_listing(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli(
        "backtest",
        "run",
        "sma_cross",
        "-s",
        "GOOG",
        "--fee",
        "0.2%",
        "--cash",
        "10000",
        "-p",
        "fast=10",
        "-p",
        "slow=20",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["metrics"]["end_equity"] == "55843.07578"
    assert data["metrics"]["num_trades"] == 93
    # The most money given back from a peak, and the money of the deepest percentage fall (-33.93 %).
    assert (data["metrics"]["max_drawdown_amount"], data["metrics"]["max_drawdown_pct_amount"]) == (
        "-18341.32980",
        "-5293.70392",
    )
    run_id = data["run_id"]
    assert (isolated_home / "reports" / run_id / "report.html").read_text().startswith("<!DOCTYPE html>")
    listed = run_cli("backtest", "list", "--json")
    assert [r["id"] for r in json.loads(listed.out)] == [run_id]
    shown = run_cli("backtest", "show", run_id, "--json")
    assert json.loads(shown.out)["metrics"]["end_equity"] == "55843.07578"


def test_bad_backtest_input_exits_2_with_the_field(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    bad = run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "-p", "fast=30", "-p", "slow=20")
    assert bad.code == 2
    assert "fast (30) must be below slow (20)" in bad.err
    assert run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "--fee", "abc").code == 2
    missing = run_cli("backtest", "run", "sma_cross", "-s", "NOPE")
    assert missing.code == 1 and "no ohlcv data for NOPE" in missing.err
    unknown = run_cli("backtest", "run", "nope", "-s", "GOOG")
    assert unknown.code == 2 and "unknown strategy 'nope'" in unknown.err
    assert "Traceback" not in bad.err + missing.err + unknown.err


def test_strategy_list_and_info(run_cli) -> None:  # type: ignore[no-untyped-def]
    names = {row["name"] for row in json.loads(run_cli("strategy", "list", "--json").out)}
    assert {
        "sma_cross",
        "donchian",
        "mean_reversion",
        "pairs",
        "grid",
        "dca",
        "market_making",
        "arbitrage",
        "portfolio",
        "ml_lightgbm",
    } <= names
    info = json.loads(run_cli("strategy", "info", "sma_cross", "--json").out)
    assert [p["name"] for p in info["params"]][:2] == ["fast", "slow"]


def test_optimize_ranks_runs(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli(
        "optimize", "sma_cross", "-s", "GOOG", "-p", "fast=5:10:5", "-p", "slow=20", "--workers", "1", "--json"
    )
    assert result.code == 0, result.err
    rows = json.loads(result.out)["runs"]
    assert [(r["fast"], r["slow"]) for r in rows] in ([(10, 20), (5, 20)], [(5, 20), (10, 20)])
    assert rows[0]["sharpe"] >= rows[1]["sharpe"]


def test_optimize_skips_invalid_combinations_up_front_and_says_how_many(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    args = ("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=10:30:10", "-p", "slow=20:30:10", "--workers", "1")
    result = run_cli(*args, "--json", "--metric", "total_return")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    example = "fast=20 slow=20: fast (20) must be below slow (20)"
    assert {k: out[k] for k in ("combinations", "skipped", "skipped_example")} == {
        "combinations": 6,
        "skipped": 3,
        "skipped_example": example,
    }
    # only the valid sets ran: no failed rows for fast >= slow
    assert [(r["fast"], r["slow"], r["error"]) for r in out["runs"]] == [
        (10, 20, None),
        (10, 30, None),
        (20, 30, None),
    ]
    text = run_cli(*args, "--metric", "total_return")
    assert text.code == 0, text.err
    assert f"skipped 3 of 6 parameter sets that sma_cross refuses, e.g. {example}" in " ".join(text.out.split())
    assert "top 3 of 3 by total_return" in text.out
    refused = run_cli("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=30", "-p", "slow=20:30:10")
    assert refused.code == 2
    assert " ".join(refused.err.split()) == (
        "error: --param: every combination is invalid, e.g. fast=30 slow=20: fast (30) must be below slow (20)"
    )


def test_no_skip_shows_every_bar_and_gives_the_same_result(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    common = ("backtest", "run", "sma_cross", "-s", "GOOG", "--fee", "0.2%", "--cash", "10000", "--json")
    skipped = json.loads(run_cli(*common).out)
    checked = run_cli(*common, "--no-skip")
    assert checked.code == 0, checked.err
    full = json.loads(checked.out)
    assert full["metrics"] == skipped["metrics"]
    assert full["equity"] == skipped["equity"] and full["fills"] == skipped["fills"]


def test_the_readme_strategy_runs_as_a_user_strategy(isolated_home: Path) -> None:
    """The README's example, dropped into the user strategies folder, is listed, described and backtested."""
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("```python\n", readme.index("## Writing a strategy")) + len("```python\n")
    folder = isolated_home / "strategies"
    folder.mkdir(parents=True)
    (folder / "breakout.py").write_text(readme[start : readme.index("```", start)])

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        # A fresh process: the strategy registry loads the user folder once per process.
        return subprocess.run([sys.executable, "-m", "alphintra", *argv], capture_output=True, text=True, timeout=120)

    assert cli("data", "sample").returncode == 0
    info = cli("strategy", "info", "breakout", "--json")
    assert info.returncode == 0, info.stderr
    assert [p["name"] for p in json.loads(info.stdout)["params"]] == ["period"]
    run = cli("backtest", "run", "breakout", "-s", "GOOG", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["metrics"]["num_trades"] > 10


def test_two_backtests_in_the_same_second_keep_their_own_ids_and_reports(  # type: ignore[no-untyped-def]
    run_cli, isolated_home: Path, monkeypatch
) -> None:
    import types

    import alphintra.strategies.backtest as backtest

    # Both runs start (and end) at the same wall-clock nanosecond, with the same seed: the old id
    # '<strategy>-<second>-<seed>' was the same for both, the second report overwrote the first.
    frozen = types.SimpleNamespace(time_ns=lambda: 1_765_000_000_123_456_789)
    monkeypatch.setattr(backtest, "time", frozen)
    assert run_cli("data", "sample").code == 0
    ids = []
    for fast in ("10", "12"):
        done = run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "-p", f"fast={fast}", "-p", "slow=20", "--json")
        assert done.code == 0, done.err
        ids.append(json.loads(done.out)["run_id"])
    assert ids[0] != ids[1]
    assert all(i.startswith("sma_cross-1765000000-") for i in ids)
    for run_id, fast in zip(ids, (10, 12), strict=True):
        saved = json.loads((isolated_home / "reports" / run_id / "result.json").read_text())
        assert (saved["run_id"], saved["params"]["fast"]) == (run_id, fast)
        shown = json.loads(run_cli("backtest", "show", run_id, "--json").out)
        assert shown["params"]["fast"] == fast
    listed = json.loads(run_cli("backtest", "list", "--json").out)
    assert sorted(r["id"] for r in listed) == sorted(ids)


def test_backtest_list_and_optimize_show_returns_as_percentages(run_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from alphintra.cli.common import console

    monkeypatch.setattr(console, "width", 200)
    assert run_cli("data", "sample").code == 0
    ran = run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "-p", "fast=10", "-p", "slow=20", "--json")
    metrics = json.loads(ran.out)["metrics"]
    listed = run_cli("backtest", "list")
    row = next(line for line in listed.out.splitlines() if "sma_cross" in line and "│" in line)
    assert f"{metrics['total_return'] * 100:,.2f} %" in row
    assert f"{metrics['max_drawdown'] * 100:,.2f} %" in row
    swept = run_cli("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=10", "-p", "slow=20", "--metric", "total_return")
    assert swept.code == 0, swept.err
    best = next(line for line in swept.out.splitlines() if line.startswith("│"))
    assert f"{metrics['total_return'] * 100:,.2f} %" in best
    unknown = run_cli("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=10", "--metric", "profit")
    assert unknown.code == 2
    message = " ".join(unknown.err.split())
    assert message.startswith("error: --metric: must be one of: start_equity, end_equity, net_profit, total_return,")
    assert message.endswith("buy_and_hold_return (got 'profit')") and "sort_by" not in message


def test_cash_zero_is_refused_not_replaced_by_the_default(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    for bad in ("0", "-5"):
        result = run_cli("backtest", "run", "sma_cross", "-s", "GOOG", "--cash", bad, "--json")
        assert result.code == 2
        assert result.out == ""
        assert result.err.strip() == f"error: cash: must be > 0 (got '{bad}')"


def test_slippage_zero_is_zero_not_the_configured_default(run_cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "slippy.toml"
    config.write_text("[backtest]\nslippage_bps = 50\n")
    monkeypatch.setenv("ALPHINTRA_CONFIG", str(config))
    assert run_cli("data", "sample").code == 0
    args = ("backtest", "run", "sma_cross", "-s", "GOOG", "--cash", "10000", "--fee", "0.2%", "-p", "fast=10")
    zero = run_cli(*args, "-p", "slow=20", "--slippage", "0", "--json")
    assert zero.code == 0, zero.err
    assert json.loads(zero.out)["metrics"]["end_equity"] == "55843.07578"


def test_trades_zero_lists_no_trades(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    args = ("backtest", "run", "sma_cross", "-s", "GOOG", "--cash", "10000", "-p", "fast=10", "-p", "slow=20")
    none = run_cli(*args, "--trades", "0", "--no-chart")
    assert none.code == 0, none.err
    assert "entry px" not in none.out and _trade_rows(none.out) == 0
    assert "Performance" in none.out
    two = run_cli(*args, "--trades", "2", "--no-chart")
    assert "last 2 of 93 trades" in two.out
    assert _trade_rows(two.out) == 2


def _trade_rows(out: str) -> int:
    """Rows of the trade list: the only table with more than two columns (a narrow terminal elides cells)."""
    return sum(1 for line in out.splitlines() if line.startswith("│") and line.count("│") > 8)


def test_walk_forward_stitched_trades_add_up_to_its_net_profit(run_cli) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    assert run_cli("data", "sample").code == 0
    args = ("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=10", "-p", "slow=20", "--walk-forward", "730d:365d")
    args += ("--cash", "10000")  # the default is the account's starting cash (100,000); the figures are for 10,000
    result = run_cli(*args, "--workers", "1", "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert (out["combinations"], out["skipped"], out["skipped_example"]) == (1, 0, None)
    oos = out["out_of_sample"]
    # GOOG trades on the equity calendar, inside the windows and stitched alike.
    assert oos["periods_per_year"] == 252.0
    net = Decimal(oos["net_profit"])
    assert net.quantize(Decimal("0.01")) == Decimal("10773.77")
    # Positions open at a window's end are closed there as trades, and trades are scaled like the equity: the
    # trades' profit minus loss is the net profit (it was 6,007.71 of 10,773.77, with 365 periods a year).
    assert abs(Decimal(oos["gross_profit"]) - Decimal(oos["gross_loss"]) - net) < Decimal("1e-15")
    assert abs(Decimal(oos["expectancy"]) * oos["num_trades"] - net) < Decimal("1e-15")
    assert oos["num_trades"] == 61 and oos["profit_factor"] > 1


def test_a_strategy_that_cannot_buy_one_lot_says_so(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli("backtest", "run", "dca", "-s", "GOOG", "--json")  # 100 USD a time; a GOOG share costs more
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (len(data["fills"]), data["notes"]) == (
        0,
        [
            "dca: 430 buy signals could not buy one lot (1 GOOG at 100.34 USD or more needs 100.44 USD with fees; "
            "at most 100.00 USD per signal)",
            "no fills: 430 signals, 0 orders filled",
        ],
    )
