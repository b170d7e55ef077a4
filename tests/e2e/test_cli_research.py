"""Research commands through the real entry point: bias checks, strategy comparisons, time ranges, scaffolding."""

from __future__ import annotations

import json
from pathlib import Path

PEEK = '''
import polars as pl

from alphintra.strategies.base import Strategy


class Peek(Strategy):
    """Reads the next bar's close: look-ahead."""

    name = "peek"

    def on_start(self):
        self.row = -1

    def wake(self, symbol, bars):
        self.upcoming = bars["close"].shift(-1).to_list()
        return None

    def on_bar(self, bar):
        self.row += 1
        nxt = self.upcoming[self.row]
        self.signal("next_close", float("nan") if nxt is None else nxt)
        self.target_percent(bar.symbol, 1 if nxt is not None and nxt > bar.close else 0)
'''


def test_bias_passes_sma_cross_with_a_plain_report(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    result = run_cli("backtest", "bias", "sma_cross", "-s", "GOOG", "--cuts", "3", "--trims", "1")
    assert result.code == 0, result.err
    assert result.out == (
        "bias check of sma_cross on GOOG 1d (2,148 bars)\n"
        "look-ahead: future cut after 3 bars; warm-up: 1 shorter history\n"
        "no look-ahead and no warm-up dependence found\n"
    )


def test_bias_flags_a_user_strategy_that_reads_the_next_close(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    folder = isolated_home / "strategies"
    folder.mkdir(parents=True)
    (folder / "peek.py").write_text(PEEK)
    result = run_cli("backtest", "bias", "peek", "-s", "GOOG", "--cuts", "2", "--trims", "1", "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["passed"] is False and data["bars"] == 2148
    subjects = {f["subject"]: f for f in data["findings"]}
    assert set(subjects) <= {"signal next_close", "fills"} and "signal next_close" in subjects
    found = subjects["signal next_close"]
    assert found["kind"] == "lookahead" and found["other"] == "-"
    assert found["first_bar"] == data["lookahead_cuts"][0] == "2008-11-21T00:00:00+00:00"
    bad = run_cli("backtest", "bias", "peek", "-s", "GOOG", "--trims", "0")
    assert bad.code == 2 and "--trims: must be at least 1 (got 0)" in bad.err


def test_timerange_selects_the_same_bars_as_start_and_end(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    common = ("backtest", "run", "sma_cross", "-s", "GOOG", "--json", "--seed", "1")
    by_dates = json.loads(run_cli(*common, "--start", "2010-01-01", "--end", "2011-01-01").out)
    by_range = json.loads(run_cli(*common, "--timerange", "20100101-20110101").out)
    assert by_range["metrics"] == by_dates["metrics"] and by_range["metrics"]["bars"] == 252
    open_end = run_cli("data", "show", "GOOG", "--timerange", "20130225-", "--json", "--limit", "0")
    days = [row["time"][:10] for row in json.loads(open_end.out)]
    assert days == ["2013-02-25", "2013-02-26", "2013-02-27", "2013-02-28", "2013-03-01"]  # to the last stored bar
    both = run_cli(
        "data", "export", str(isolated_home / "x.csv"), "-s", "GOOG", "--end", "2012-01-01", "--timerange", "-20120101"
    )
    assert both.code == 2
    assert "--timerange: cannot be combined with --end: give one or the other" in both.err
    for argv in (("plot", "GOOG"), ("backtest", "bias", "sma_cross", "-s", "GOOG")):
        bad = run_cli(*argv, "--timerange", "2012")
        assert bad.code == 2 and "--timerange: must be YYYYMMDD-YYYYMMDD" in bad.err


def test_optimize_timerange_sweeps_the_same_bars_as_start_and_end(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    sweep = ("optimize", "sma_cross", "-s", "GOOG", "-p", "fast=5:10:5", "-p", "slow=20:30:10", "--workers", "1")
    by_dates = run_cli(*sweep, "--start", "2011-01-01", "--end", "2012-07-01", "--json")
    by_range = run_cli(*sweep, "--timerange", "20110101-20120701", "--json")
    assert by_dates.code == 0 and by_range.code == 0, by_dates.err + by_range.err
    dated, ranged = json.loads(by_dates.out)["runs"], json.loads(by_range.out)["runs"]
    assert [(r["fast"], r["slow"], r["sharpe"], r["bars"]) for r in ranged] == [
        (r["fast"], r["slow"], r["sharpe"], r["bars"]) for r in dated
    ]
    assert len(ranged) == 4 and {r["bars"] for r in ranged} == {377}
    both = run_cli(*sweep, "--start", "2011-01-01", "--timerange", "20110101-")
    assert both.code == 2
    assert "--timerange: cannot be combined with --start: give one or the other" in both.err
    # The ml commands check the range before they look for the model.
    both = run_cli("ml", "predict", "nosuch", "--start", "2011-01-01", "--end", "2012-01-01", "--timerange", "-2012")
    assert both.code == 2
    message = " ".join(both.err.split())  # the error console wraps at its width
    assert "--timerange: cannot be combined with --start and --end: give one or the other" in message


def test_strategy_list_prints_one_comparison_row_per_strategy(run_cli, isolated_home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from alphintra.cli.common import console

    monkeypatch.setattr(console, "width", 120)
    assert run_cli("data", "sample").code == 0
    common = ("backtest", "run", "-s", "GOOG", "--cash", "10000", "--fee", "0.2%")
    result = run_cli(*common, "--strategy-list", "sma_cross,donchian,mean_reversion")
    assert result.code == 0, result.err
    rows = [line for line in result.out.splitlines() if line.startswith("│")]
    assert rows == [
        "│ sma_cross      │ 458.43 % │ 22.37 % │   0.83 │ -33.93 % │     93 │  52.69 % │      55,843.08 │ 10,540.32 │",
        "│ donchian       │ 185.51 % │ 13.10 % │   0.69 │ -33.61 % │     39 │  48.72 % │      28,550.58 │  3,408.16 │",
        "│ mean_reversion │  55.87 % │  5.35 % │   0.37 │ -37.90 % │     39 │  66.67 % │      15,586.69 │  2,054.70 │",
    ]
    assert (
        "│ strategy       │   return │  annual │ sharpe │   max dd │ trades │ win rate │ end equity USD │  fees USD │"
        in (result.out.replace("┃", "│"))
    )
    # Each run is stored like a single one: `backtest compare` puts them side by side again, by run id.
    listed = json.loads(run_cli("backtest", "list", "--json").out)
    ids = {row["strategy"]: row["id"] for row in listed}
    assert set(ids) == {"sma_cross", "donchian", "mean_reversion"}
    compared = run_cli("backtest", "compare", ids["sma_cross"], ids["mean_reversion"], "--json")
    assert compared.code == 0, compared.err
    data = json.loads(compared.out)
    assert [(r["run_id"], r["strategy"]) for r in data] == [
        (ids["sma_cross"], "sma_cross"),
        (ids["mean_reversion"], "mean_reversion"),
    ]
    first = data[0]
    assert (first["end_equity"], first["net_profit"], first["fees"], first["num_trades"]) == (
        "55843.07578",
        "45843.07578",
        "10540.32422",
        93,
    )
    assert (first["start"], first["end"], first["currency"]) == (
        "2004-08-19T00:00:00+00:00",
        "2013-03-02T00:00:00+00:00",
        "USD",
    )
    monkeypatch.setattr(console, "width", 200)
    table = run_cli("backtest", "compare", ids["donchian"], ids["sma_cross"])
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in table.out.splitlines() if line.startswith("│ ")]
    assert cells == [
        ["donchian", ids["donchian"], "185.51 %"],
        ["sma_cross", ids["sma_cross"], "458.43 %"],
    ]


def test_comparison_input_errors_exit_2_naming_the_option(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    cases = [
        (
            ("backtest", "run", "sma_cross", "-s", "GOOG", "--strategy-list", "donchian"),
            "--strategy-list: cannot be combined with a STRATEGY argument",
        ),
        (("backtest", "run", "-s", "GOOG"), "STRATEGY: give a strategy name or --strategy-list"),
        (
            ("backtest", "run", "-s", "GOOG", "--strategy-list", "sma_cross,,dca"),
            "--strategy-list: must be comma-separated strategy names",
        ),
        (
            ("backtest", "run", "-s", "GOOG", "--strategy-list", "dca,dca"),
            "--strategy-list: each strategy may be listed once (got 'dca')",
        ),
        (
            ("backtest", "run", "-s", "GOOG", "--strategy-list", "dca,sma_cross", "-p", "fast=3"),
            "--param: cannot be combined with --strategy-list",
        ),
        (("backtest", "compare", "only-one"), "RUN_IDS: give at least two runs to compare"),
    ]
    for argv, message in cases:
        result = run_cli(*argv)
        assert result.code == 2, (argv, result.err)
        assert message in " ".join(result.err.split()), (argv, result.err)
    # A strategy that cannot trade the symbols is refused before any run is made or recorded.
    refused = run_cli("backtest", "run", "-s", "GOOG", "--strategy-list", "sma_cross,pairs")
    assert refused.code == 2 and json.loads(run_cli("backtest", "list", "--json").out) == []
    assert run_cli("backtest", "compare", "nope-1", "nope-2").code == 1


def test_strategy_new_writes_a_file_that_backtests_unchanged(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    trades = {}
    for template in ("trend", "mean_reversion", "ml"):
        name = f"my_{template}"
        made = run_cli("strategy", "new", name, "--template", template, "--json")
        assert made.code == 0, made.err
        path = isolated_home / "strategies" / f"{name}.py"
        assert json.loads(made.out) == {"name": name, "template": template, "path": str(path)}
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f'"""{name}: ') and f'name = "{name}"' in text and "__NAME__" not in text
        ran = run_cli("backtest", "run", name, "-s", "GOOG", "--json")
        assert ran.code == 0, ran.err
        trades[template] = json.loads(ran.out)["metrics"]["num_trades"]
    assert trades == {"trend": 25, "mean_reversion": 39, "ml": 377}
    # Its parameters are the documented ones, and it passes the bias check as written.
    info = json.loads(run_cli("strategy", "info", "my_trend", "--json").out)
    assert [p["name"] for p in info["params"]] == ["fast", "slow", "allow_short", "fraction"]
    assert run_cli("backtest", "bias", "my_ml", "-s", "GOOG", "--cuts", "2", "--trims", "1").code == 0
    plain = run_cli("strategy", "new", "another")
    assert (
        plain.out
        == f"wrote {isolated_home / 'strategies' / 'another.py'}\ntry: alphintra backtest run another -s GOOG\n"
    )


def test_strategy_new_refuses_bad_names_and_never_overwrites(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("strategy", "new", "mine").code == 0
    before = (isolated_home / "strategies" / "mine.py").read_text()
    cases = [
        (("strategy", "new", "Mine"), "NAME: must start with a lowercase letter and use only a-z, 0-9 and _"),
        (("strategy", "new", "x-y"), "NAME: must start with a lowercase letter"),
        (
            ("strategy", "new", "sma_cross"),
            "NAME: a strategy of that name exists already: choose another (got 'sma_cross')",
        ),
        (("strategy", "new", "mine"), "NAME: a strategy of that name exists already"),
        (
            ("strategy", "new", "other", "--template", "nope"),
            "--template: must be one of trend, mean_reversion, ml (got 'nope')",
        ),
    ]
    for argv, message in cases:
        result = run_cli(*argv)
        assert result.code == 2, (argv, result.err)
        assert message in " ".join(result.err.split()), (argv, result.err)
    assert (isolated_home / "strategies" / "mine.py").read_text() == before
    assert sorted(p.name for p in (isolated_home / "strategies").iterdir()) == ["mine.py"]


def test_a_symbol_on_an_exchange_calendar_annualises_over_trading_days(  # type: ignore[no-untyped-def]
    run_cli, isolated_home: Path, tmp_path: Path
) -> None:
    assert run_cli("data", "generate", "-s", "BRK/B", "-p", "300", "-t", "1d", "--seed", "1").code == 0
    args = ("backtest", "run", "sma_cross", "-s", "BRK/B", "--exchange", "SYNTH", "--json")
    plain = json.loads(run_cli(*args).out)
    assert plain["metrics"]["periods_per_year"] == 365.0  # a "/" in the name reads as a 24x7 market
    config = tmp_path / "xdg-config" / "alphintra" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[[instruments]]\nsymbol = "BRK/B"\ntick_size = "0.01"\nlot_size = "1"\ncalendar = "XNYS"\n')
    on_calendar = json.loads(run_cli(*args).out)
    assert on_calendar["metrics"]["periods_per_year"] == 252.0
