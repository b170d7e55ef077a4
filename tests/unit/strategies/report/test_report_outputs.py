"""Reports of a small, known run: result round trip, Rich tables, plotext charts, HTML, files and run record."""

from __future__ import annotations

import json
import os
import re
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from alphintra.engine.core.enums import LiquiditySide, OrderSide
from alphintra.errors import ValidationError
from alphintra.strategies.report import (
    drawdown_chart,
    equity_chart,
    execution_record,
    from_json,
    load_result,
    metrics_table,
    price_chart,
    render_html,
    render_text,
    report_dir,
    summary,
    to_json,
    trades_table,
    write_report,
)
from alphintra.strategies.result import (
    BacktestResult,
    ClosedTrade,
    Fill,
    Halt,
    PriceSeries,
    TradeSide,
    drawdown_series,
)

H = 3_600 * 10**9
T0 = 1_704_067_200 * 10**9  # 2024-01-01 00:00 UTC
CLOSES = [Decimal(c) for c in ("100", "102", "101", "105", "103", "99", "104", "108", "107", "110")]
EQUITY = [Decimal(e) for e in ("1000", "1000", "1002", "1002", "1006", "1004", "1004", "1004", "1008", "1007")]


def make_result(run_id: str = "run-1", *, notes: tuple[str, ...] = ()) -> BacktestResult:
    trades = [
        ClosedTrade("BTC/USDT", TradeSide.LONG, Decimal(1), T0 + H, T0 + 4 * H, CLOSES[1], CLOSES[4],
                    Decimal("0.8"), Decimal("0.2"), "t1"),
        ClosedTrade("BTC/USDT", TradeSide.SHORT, Decimal(1), T0 + 4 * H, T0 + 5 * H, CLOSES[4], CLOSES[5],
                    Decimal("3.8"), Decimal("0.2"), "t2"),
        ClosedTrade("BTC/USDT", TradeSide.LONG, Decimal(1), T0 + 7 * H, T0 + 9 * H, CLOSES[7], CLOSES[9],
                    Decimal("1.8"), Decimal("0.2"), "t3"),
    ]  # fmt: skip
    fills = [
        Fill(T0 + H, "o1", "BTC/USDT", OrderSide.BUY, Decimal(1), CLOSES[1], Decimal("0.1"), LiquiditySide.TAKER),
        Fill(T0 + 4 * H, "o2", "BTC/USDT", OrderSide.SELL, Decimal(1), CLOSES[4], Decimal("0.1")),
    ]
    return BacktestResult.build(
        run_id=run_id,
        strategy="sma_cross",
        params={"fast": 3, "slow": 8, "band": 0.25, "size": Decimal("0.5"), "mode": "close", "w": [1, Decimal("2.5")]},
        symbols=["BTC/USDT"],
        timeframe="1h",
        start_ns=T0,
        end_ns=T0 + 10 * H,
        equity=[(T0 + i * H, e) for i, e in enumerate(EQUITY)],
        trades=trades,
        fills=fills,
        prices=[PriceSeries("BTC/USDT", tuple((T0 + i * H, c) for i, c in enumerate(CLOSES)))],
        currency="USDT",
        halts=(Halt(T0 + 6 * H, "risk", "daily loss limit <reached>"),),
        notes=notes,
        started_at_ns=1_750_000_000_123_456_789,
        completed_at_ns=1_750_000_005_000_000_000,
    )


def test_build_derives_drawdown_and_metrics_from_fills_and_prices() -> None:
    r = make_result()
    assert r.drawdown == drawdown_series(r.equity)
    assert min(dd for _, dd in r.drawdown) == r.metrics.max_drawdown == pytest.approx(1004 / 1006 - 1, abs=1e-15)
    assert r.metrics.fees == Decimal("0.2")  # from the fills, not the trades' 0.6
    assert r.metrics.traded_notional == Decimal(205)
    assert r.metrics.buy_and_hold_return == pytest.approx(0.1, abs=1e-12)
    assert r.metrics.num_trades == 3 and r.metrics.periods_per_year == 8760.0
    assert r.trades[1].gross_pnl == Decimal(4)


def test_json_round_trip_is_exact_and_strict() -> None:
    r = make_result(notes=("warm-up of 8 bars",))
    text = to_json(r)
    data = json.loads(text)
    assert data["params"]["size"] == {"$decimal": "0.5"}
    assert data["params"]["w"] == [1, {"$decimal": "2.5"}]
    assert data["equity"][2] == [T0 + 2 * H, "1002"]
    assert data["fills"][1]["liquidity"] is None
    back = from_json(text)
    assert back == r
    assert isinstance(back.params["size"], Decimal) and back.params["band"] == 0.25
    assert "NaN" not in text


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(schema=99), "schema"),
        (lambda d: d["equity"].append([1, "x"]), "equity"),
        (lambda d: d["trades"][0].update(side="FLAT"), "trade.side"),
        (lambda d: d["params"].update(bad={"$float": 1}), "params.bad"),
        (lambda d: d.update(run_id="../escape"), "run_id"),
    ],
)
def test_bad_json_is_refused_naming_the_field(mutate: object, field: str) -> None:
    data = make_result().to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ValidationError) as err:
        BacktestResult.from_dict(data)
    assert err.value.field == field
    with pytest.raises(ValidationError) as err:
        from_json("{not json")
    assert err.value.field == "json"


def test_trade_and_result_validation() -> None:
    with pytest.raises(ValidationError) as err:
        ClosedTrade("X", TradeSide.LONG, Decimal(0), 0, 1, Decimal(1), Decimal(1), Decimal(0), Decimal(0))
    assert err.value.field == "trade.qty"
    with pytest.raises(ValidationError) as err:
        ClosedTrade("X", TradeSide.LONG, Decimal(1), 5, 1, Decimal(1), Decimal(1), Decimal(0), Decimal(0))
    assert err.value.field == "trade.exit_ts"
    for bad in ("", ".hidden", "a/b", "x" * 129, "ü"):
        with pytest.raises(ValidationError) as err:
            make_result(bad)
        assert err.value.field == "run_id"


def test_rich_summary_lists_metrics_trades_halts_and_notes() -> None:
    r = make_result(notes=("warm-up of 8 bars",))
    text = render_text(summary(r), width=140)
    assert "sma_cross" in text and "fast=3, slow=8, band=0.25, size=0.5, mode=close, w=[1, 2.5]" in text
    assert re.search(r"Total return\s+│\s+0\.70 %", text)
    assert re.search(r"Profit factor\s+│\s+-", text)  # no losing trade: undefined, not infinite
    assert re.search(r"Win rate\s+│\s+100\.00 %", text)
    assert "2024-01-01 04:00" in text and "SHORT" in text and "3.80 USDT" in text
    assert "daily loss limit <reached>" in text and "note: warm-up of 8 bars" in text


def test_trade_list_limit_shows_the_last_trades_with_a_caption() -> None:
    r = make_result()
    text = render_text(trades_table(r.trades, limit=2), width=140)
    assert "last 2 of 3 trades" in text
    numbers = re.findall(r"^│ (\d) │", text, flags=re.M)
    assert numbers == ["2", "3"]
    assert "Longest drawdown (time)" in render_text(metrics_table(r.metrics))


def test_terminal_charts_render_title_axes_and_markers() -> None:
    r = make_result()
    eq = equity_chart(r, width=60, height=12)
    assert "Equity USDT" in eq and "1008" in eq and "\x1b[" not in eq
    assert len(eq.splitlines()) >= 12
    dd = drawdown_chart(r, width=60, height=8)
    assert "Drawdown %" in dd and "-0.1" in dd
    px = price_chart(r, width=60, height=12)
    assert px.count("▲") >= 2 and px.count("▼") >= 1 and "●" in px
    assert "2024-01-01" in px
    with pytest.raises(ValidationError) as err:
        price_chart(r, "ETH/USDT")
    assert err.value.field == "symbol"
    with pytest.raises(ValidationError) as err:
        equity_chart(r, width=5)
    assert err.value.field == "width"


def _chart_spec(page: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<script type="application/json" id="chart-spec">(.*?)</script>', page, flags=re.S)
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_html_is_self_contained_and_marks_every_trade() -> None:
    r = make_result(notes=("a <b>note</b> & more",))
    page = render_html(r)
    assert page.startswith("<!DOCTYPE html>")
    # The charting library is inlined (with its licence banner): nothing is loaded from the network.
    assert not re.search(r"(src|href)=\"?https?:", page) and "<script src" not in page
    assert "TradingView Lightweight Charts" in page
    assert "a &lt;b&gt;note&lt;/b&gt; &amp; more" in page
    assert "daily loss limit &lt;reached&gt;" in page
    spec = _chart_spec(page)
    assert [p["title"] for p in spec["panes"]] == ["BTC/USDT close", "Equity USDT", "Drawdown %"]
    assert spec["timeVisible"] is True  # hourly bars: the axis shows times of day
    close = spec["panes"][0]["series"][0]
    times = [point["time"] for point in close["data"]]
    markers = close["markers"]
    assert [m["shape"] for m in markers].count("circle") == 3  # one exit per trade
    assert sorted(m["shape"] for m in markers if m["shape"] != "circle") == ["arrowDown", "arrowUp", "arrowUp"]
    assert "#2 SHORT 1 @ 103" in [m["text"] for m in markers]
    assert all(m["time"] in times for m in markers)  # every marker sits on a bar of the line
    assert [m["time"] for m in markers] == sorted(m["time"] for m in markers)
    assert page.count('<tr><td class="num">') == 3  # one row per trade
    assert render_html(r) == page  # deterministic: no clock read


def test_html_with_bars_draws_candles_and_the_indicators() -> None:
    import polars as pl

    from alphintra.strategies.report import IndicatorRequest

    r = make_result()
    frame = pl.DataFrame(
        {
            "time": [T0 + i * H for i in range(len(CLOSES))],
            "open": [float(c) for c in CLOSES],
            "high": [float(c) + 1 for c in CLOSES],
            "low": [float(c) - 1 for c in CLOSES],
            "close": [float(c) for c in CLOSES],
            "volume": [1.0] * len(CLOSES),
        }
    ).with_columns(pl.col("time").cast(pl.Datetime("ns", "UTC")))
    wanted = {"BTC/USDT": [IndicatorRequest("sma", (("period", 2),)), IndicatorRequest("rsi", (("period", 2),))]}
    spec = _chart_spec(render_html(r, {"BTC/USDT": frame}, wanted))
    assert [p["title"] for p in spec["panes"]] == ["BTC/USDT price", "rsi(2)", "Equity USDT", "Drawdown %"]
    candles, sma = spec["panes"][0]["series"]
    assert candles["type"] == "candles" and len(candles["data"]) == len(CLOSES)
    assert candles["data"][0] == {"time": T0 // 10**9, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0}
    assert sma["name"] == "sma(2)" and sma["data"][0] == {"time": T0 // 10**9}  # warm-up: no value yet
    assert sma["data"][1]["value"] == (float(CLOSES[0]) + float(CLOSES[1])) / 2


def test_write_report_puts_files_under_the_run_directory(isolated_home: Path) -> None:
    r = make_result("bt-42")
    files = write_report(r)
    assert files.directory == isolated_home / "reports" / "bt-42" == report_dir("bt-42")
    assert sorted(p.name for p in files.directory.iterdir()) == ["report.html", "result.json", "summary.txt"]
    assert load_result(files.json) == r  # type: ignore[arg-type]
    txt = files.txt.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "Performance" in txt and "Equity USDT" in txt and "Drawdown %" in txt
    # The files follow the umask: the CLI and the daemon run with a private one (077), so reports in the home are
    # owner-only like everything else there (issue 13); no temporary file is left behind.
    old = os.umask(0o077)
    try:
        private = write_report(make_result("bt-43"))
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in private.directory.iterdir()} == {0o600}
    assert not [p for p in files.directory.iterdir() if p.name.endswith(".tmp")]
    only_json = write_report(r, isolated_home / "elsewhere", formats=["json"])
    assert only_json.html is None and only_json.json == isolated_home / "elsewhere" / "bt-42" / "result.json"
    with pytest.raises(ValidationError) as err:
        write_report(r, formats=["pdf"])
    assert (err.value.field, err.value.value) == ("formats", "pdf")


def test_write_report_never_writes_into_another_runs_directory(isolated_home: Path) -> None:
    first = write_report(make_result("bt-7", notes=("first",)))
    second = write_report(make_result("bt-7", notes=("second",)))  # the same id again: a new directory
    assert (first.run_id, second.run_id) == ("bt-7", "bt-7-2")
    assert load_result(first.json).notes == ("first",)  # type: ignore[arg-type]
    again = load_result(second.json)  # type: ignore[arg-type]
    assert (again.run_id, again.notes) == ("bt-7-2", ("second",))
    assert execution_record(make_result("bt-7"), files=second)["config"]["run_id"] == "bt-7-2"


def test_execution_record_matches_the_strategy_executions_row() -> None:
    r = make_result()
    record = execution_record(r)
    assert record["execution_type"] == "backtest" and record["status"] == "COMPLETED"
    assert record["config"]["params"]["size"] == {"$decimal": "0.5"}
    assert record["config"]["timeframe"] == "1h"
    assert record["results"]["metrics"]["net_profit"] == "7"
    assert record["results"]["halts"] == [{"ts": T0 + 6 * H, "source": "risk", "reason": "daily loss limit <reached>"}]
    started = record["started_at"]
    assert started.isoformat() == "2025-06-15T15:06:40.123456+00:00"
    json.dumps({k: v for k, v in record.items() if not k.endswith("_at")}, allow_nan=False)


def test_extra_must_be_json() -> None:
    with pytest.raises(ValidationError) as err:
        BacktestResult.build(
            run_id="x", strategy="s", params={}, symbols=["X"], timeframe="1h", start_ns=0, end_ns=H,
            equity=[(0, Decimal(1))], extra={"when": object()},
        )  # fmt: skip
    assert err.value.field == "extra"


def test_results_table_sorts_by_any_column_and_cuts_to_top() -> None:
    import polars as pl

    from alphintra.strategies.report import results_table

    frame = pl.DataFrame(
        {"run": [0, 1, 2], "fast": [5, 10, 15], "sharpe": [0.5, None, 1.25], "error": [None, "boom", None]}
    )
    text = render_text(results_table(frame, sort_by="sharpe", top=2), width=100)
    rows = re.findall(r"^│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\S+)\s*│", text, flags=re.M)
    assert rows == [("2", "15", "1.25"), ("0", "5", "0.5")]
    with pytest.raises(ValidationError) as err:
        results_table(frame, sort_by="sortino")
    assert err.value.field == "sort_by"
    with pytest.raises(ValidationError) as err:
        results_table(frame, columns=["fast", "nope"])
    assert err.value.field == "columns"
