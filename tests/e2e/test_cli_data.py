"""`alphintra data` end to end on its own Typer app, with ALPHINTRA_HOME in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from alphintra.cli.data import app
from alphintra.errors import NotFoundError, ValidationError

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("ALPHINTRA_HOME", str(path))
    return path


def run_json(*args: str) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # notes such as "wrote 5 rows" go to stderr


def test_sample_list_show_and_export(home: Path, tmp_path: Path) -> None:
    loaded = run_json("sample")
    assert [(r["dataset"], r["added"]) for r in loaded] == [  # type: ignore[union-attr,index]
        ("ohlcv NASDAQ:GOOG 1d", 2148),
        ("ohlcv FX:EUR/USD 1h", 5000),
        ("ohlcv BITSTAMP:BTC/USD 1M", 156),
    ]
    listing = run_json("list")
    assert {(d["symbol"], d["rows"]) for d in listing} == {("GOOG", 2148), ("EUR/USD", 5000), ("BTC/USD", 156)}  # type: ignore[union-attr,index]
    shown = run_json("show", "--symbol", "GOOG", "--timeframe", "1d", "--limit", "2")
    assert shown == [
        {
            "time": "2013-02-28T00:00:00+00:00",
            "open": 801.1,
            "high": 806.99,
            "low": 801.03,
            "close": 801.2,
            "volume": 2265800.0,
            "quote_volume": None,
            "trades_count": None,
        },
        {
            "time": "2013-03-01T00:00:00+00:00",
            "open": 797.8,
            "high": 807.14,
            "low": 796.15,
            "close": 806.19,
            "volume": 2175400.0,
            "quote_volume": None,
            "trades_count": None,
        },
    ]
    table = runner.invoke(app, ["show", "-s", "GOOG", "--start", "2004-08-19", "--end", "2004-08-21", "--oldest"])
    assert table.exit_code == 0 and "100.34" in table.output and "108.31" in table.output
    out = tmp_path / "goog.csv"
    exported = run_json("export", str(out), "--symbol", "GOOG", "--format", "csv", "--start", "2010-01-01")
    assert exported == {"path": str(out), "rows": 795, "format": "csv"}
    assert pl.read_csv(out).height == 795


def test_import_twice_is_idempotent(home: Path) -> None:
    args = ["import", "/work/shared/data/GOOG.csv", "-s", "GOOG", "-e", "NASDAQ", "-t", "1d"]
    first = run_json(*args)
    second = run_json(*args)
    assert first[0]["total"] == second[0]["total"] == 2148  # type: ignore[index]
    assert second[0]["added"] == 0  # type: ignore[index]


def test_generate_resample_validate_and_remove(home: Path) -> None:
    run_json("generate", "--symbols", "2", "--periods", "2880", "--seed", "3", "--trades", "50")
    resampled = run_json("resample", "--from", "1m", "--to", "1h", "--to", "1d")
    assert sorted((r["dataset"], r["total"]) for r in resampled) == [  # type: ignore[union-attr,index]
        ("ohlcv SYNTH:SYN00 1d", 2),
        ("ohlcv SYNTH:SYN00 1h", 48),
        ("ohlcv SYNTH:SYN01 1d", 2),
        ("ohlcv SYNTH:SYN01 1h", 48),
    ]
    report = run_json("validate", "--symbol", "SYN00", "--timeframe", "1h", "--z", "1000")
    assert report["ok"] is True and report["rows"] == 48  # type: ignore[index]
    removed = run_json("remove", "--symbol", "SYN01", "--yes")
    assert len(removed) == 3  # type: ignore[arg-type]
    kinds = {(d["kind"], d["symbol"]) for d in run_json("list")}  # type: ignore[union-attr,index]
    assert ("ohlcv", "SYN01") not in kinds and ("trades", "SYN01") in kinds


def test_validate_a_file_and_write_a_fixed_copy(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "dup.csv"
    src.write_text(
        "time,open,high,low,close,volume\n"
        "2024-01-01 00:00,1,1,1,1,1\n2024-01-01 01:00,2,2,2,2,2\n"
        "2024-01-01 01:00,3,3,3,3,3\n2024-01-01 04:00,4,4,4,4,4\n"
    )
    fixed = tmp_path / "fixed.csv"
    report = run_json("validate", str(src), "-t", "1h", "--drop-duplicates", "--fill-gaps", "-o", str(fixed))
    assert [(f["check"], f["row"]) for f in report["findings"]] == [("duplicate", 4), ("gap", 5)]  # type: ignore[index]
    again = run_json("validate", str(fixed), "-t", "1h")
    assert again["ok"] is True and again["rows"] == 5  # type: ignore[index]
    table = runner.invoke(app, ["validate", str(src), "-t", "1h", "--strict"])
    assert table.exit_code == 1 and "duplicate" in table.output and "same time as line 3" in table.output


def test_errors_name_the_rule(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = runner.invoke(app, ["import", str(empty), "-s", "X", "-e", "E", "-t", "1d"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.message == f"{empty}: file is empty"
    result = runner.invoke(app, ["import", str(empty), "-s", "X", "-e", "E", "-t", "2d"])
    assert isinstance(result.exception, ValidationError) and result.exception.field == "timeframe"
    result = runner.invoke(app, ["show", "-s", "NOPE"])
    assert isinstance(result.exception, NotFoundError)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and "no market data yet" in result.output


def test_the_root_error_handler_maps_a_bad_import_to_exit_code_2(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alphintra.cli.main import report_error

    bad = tmp_path / "bad.csv"
    bad.write_text("time,open,high,low,close\n2024-01-01,1,1,1,1\n")
    result = runner.invoke(app, ["import", str(bad), "-s", "X", "-e", "E", "-t", "1d"])
    assert isinstance(result.exception, ValidationError)
    assert report_error(result.exception) == 2
    printed = "".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert f"error:{bad}:column'volume':isrequired" in printed
    assert not (home / "market" / "ohlcv").exists()  # nothing half-written


def test_export_format_follows_the_extension_and_a_directory_is_refused(home: Path, tmp_path: Path) -> None:
    run_json("sample")
    out = tmp_path / "goog.csv"
    assert run_json("export", str(out), "--symbol", "GOOG") == {"path": str(out), "rows": 2148, "format": "csv"}
    assert out.read_text().splitlines()[0].startswith("time,symbol,exchange,timeframe,open,high,low,close")
    forced = tmp_path / "goog.data"
    assert run_json("export", str(forced), "--symbol", "GOOG", "-f", "csv")["format"] == "csv"  # type: ignore[index]
    assert run_json("export", str(tmp_path / "goog.parquet"), "--symbol", "GOOG")["format"] == "parquet"  # type: ignore[index]
    with pytest.raises(ValidationError, match=r"PATH: is a directory; give the file to write, such as goog\.csv"):
        runner.invoke(app, ["export", str(tmp_path), "--symbol", "GOOG"], catch_exceptions=False)


def test_tz_is_checked_before_the_file_is_read(home: Path) -> None:
    rule = r"--tz: must be an IANA time zone such as UTC or America/New_York \(got 'Mars/Base'\)"
    for command in ("validate", "import"):
        with pytest.raises(ValidationError, match=rule):
            runner.invoke(
                app, [command, "/work/shared/data/GOOG.csv", "-s", "GOOG", "--tz", "Mars/Base"], catch_exceptions=False
            )
    assert run_json("validate", "/work/shared/data/GOOG.csv", "--tz", "America/New_York")["rows"] == 2148  # type: ignore[index]


def test_every_data_command_takes_the_symbol_as_an_option(home: Path) -> None:
    import typer

    group = typer.main.get_command(app)
    forms = {}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if param.name in ("symbol", "names") and not getattr(param, "hidden", False):
                forms[name] = tuple(param.opts)
    assert forms == {
        name: ("--symbol", "-s")
        for name in ("import", "generate", "list", "show", "validate", "resample", "export", "remove", "download")
    }
    run_json("sample")
    # the positional form of earlier releases still works; given twice, both must agree
    shown = run_json("show", "GOOG", "--limit", "1")
    assert [row["time"] for row in shown] == ["2013-03-01T00:00:00+00:00"]  # type: ignore[index]
    clash = runner.invoke(app, ["show", "GOOG", "-s", "EUR/USD"])
    assert isinstance(clash.exception, ValidationError)
    assert clash.exception.message == "--symbol: is given twice with different values (got 'GOOG, EUR/USD')"
    missing = runner.invoke(app, ["show"])
    assert isinstance(missing.exception, ValidationError)
    assert missing.exception.message == "--symbol: is required, e.g. --symbol GOOG"


def test_import_warns_about_rows_validate_would_flag_and_strict_refuses_them(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,open,high,low,close,volume\n"
        "2024-01-01,10,11,9,10.5,100\n"
        "2024-01-02,10.5,10,9,10.8,100\n"  # high below the close
        "2024-01-02,10.5,11,9,10.8,100\n"  # the same time again
        "2024-01-05,10.8,11,10,10.9,100\n"  # two days missing
    )
    found = (
        "3 findings (duplicate 1, gap 1, high_below_open_close 1); "
        "first: line 3 high_below_open_close: high 10 < max(open 10.5, close 10.8)"
    )
    args = ("data", "import", str(bad), "-s", "BAD", "-e", "X", "-t", "1d")
    refused = run_cli(*args, "--strict", "--json")
    assert (refused.code, refused.out) == (2, "")
    assert " ".join(refused.err.split()) == f"error: {bad}: strict import refuses {found}; nothing was imported"
    assert json.loads(run_cli("data", "list", "--json").out) == []  # nothing written
    warned = run_cli(*args, "--json")
    assert warned.code == 0, warned.err
    assert [r["total"] for r in json.loads(warned.out)] == [3]
    assert " ".join(warned.err.split()) == (
        f"warning: {bad}: {found}; `alphintra data validate {bad} -t 1d` lists them all, `--strict` refuses such a file"
    )
    good = tmp_path / "good.csv"
    good.write_text("time,open,high,low,close,volume\n2024-01-01,10,11,9,10.5,100\n2024-01-02,10.5,11,9,10.8,100\n")
    clean = run_cli("data", "import", str(good), "-s", "GOOD", "-e", "X", "-t", "1d", "--strict", "--json")
    assert (clean.code, clean.err) == (0, "")
    assert [r["total"] for r in json.loads(clean.out)] == [2]
    trades = run_cli("data", "import", str(good), "-s", "GOOD", "-e", "X", "--kind", "trades", "--strict")
    assert (trades.code, " ".join(trades.err.split())) == (
        2,
        "error: --strict: checks bars: it applies to OHLCV imports only",
    )


def test_validate_with_an_exchange_calendar_reports_no_holiday_gaps(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    weekdays = json.loads(run_cli("data", "validate", "--symbol", "GOOG", "--weekdays", "--json").out)
    assert weekdays["counts"]["gap"] == 77  # the exchange's holidays, on weekdays
    xnys = json.loads(run_cli("data", "validate", "--symbol", "GOOG", "--calendar", "XNYS", "--json").out)
    assert xnys["counts"]["gap"] == 0 and xnys["counts"]["outlier"] == 5
    both = run_cli("data", "validate", "--symbol", "GOOG", "--calendar", "XNYS", "--weekdays")
    assert both.code == 2 and "--calendar: cannot be combined with --weekdays" in both.err
    bad = run_cli("data", "validate", "--symbol", "GOOG", "--calendar", "NOPE")
    assert bad.code == 2 and "--calendar: must be an exchange calendar such as XNYS" in " ".join(bad.err.split())


def test_resample_to_days_follows_the_calendar_given_or_configured(  # type: ignore[no-untyped-def]
    run_cli, isolated_home: Path, tmp_path: Path
) -> None:
    # Ten round-the-clock days of minutes from Sat 2024-11-23: XNYS holds 5 sessions (Thanksgiving closed).
    made = run_cli("data", "generate", "-s", "AAA", "-s", "BBB", "-p", "14400", "-t", "1m", "--start", "2024-11-23")
    assert made.code == 0, made.err
    config = tmp_path / "xdg-config" / "alphintra" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[[instruments]]\nsymbol = "BBB"\ntick_size = "0.01"\nlot_size = "1"\ncalendar = "XNYS"\n')
    done = run_cli("data", "resample", "--from", "1m", "--to", "1d", "--to", "1w", "--json")
    assert done.code == 0, done.err
    totals = sorted((r["dataset"], r["total"]) for r in json.loads(done.out))
    assert totals == [
        ("ohlcv SYNTH:AAA 1d", 10),  # no calendar: UTC days
        ("ohlcv SYNTH:AAA 1w", 3),  # the first weekend ends the UTC week of Nov 18
        ("ohlcv SYNTH:BBB 1d", 5),  # the configured XNYS: one bar per session
        ("ohlcv SYNTH:BBB 1w", 2),  # trading weeks: its weekend has no session
    ]
    given = run_cli("data", "resample", "-s", "AAA", "--from", "1m", "--to", "1d", "--calendar", "XNYS", "--json")
    assert given.code == 0, given.err
    (written,) = json.loads(given.out)
    # --calendar on AAA: 5 session bars, each replacing the UTC day bar of its date (the store keeps the other 5).
    assert (written["received"], written["added"], written["replaced"], written["total"]) == (5, 0, 5, 10)
    bad = run_cli("data", "resample", "-s", "AAA", "--to", "1d", "--calendar", "NOPE")
    assert bad.code == 2 and "--calendar: must be an exchange calendar such as XNYS" in " ".join(bad.err.split())
