"""`alphintra ml` through the real entry point: train -> list -> promote -> backtest and paper with the promoted
model, on GOOG daily and on generated minute bars; refusals exit 2; drift raises a risk alert; anomalies."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ml"))
from ml_data import plant, stationary


def _ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_goog_train_list_promote_backtest_paper_rollback(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    base = ("ml", "train", "-s", "GOOG", "--end", "2012-01-01", "--trees", "20", "--folds", "3", "--json")
    first = _ok(run_cli(*base))
    assert (first["name"], first["version"], first["task"]) == ("GOOG-1d-core", 1, "classification")
    assert first["feature_set"]["name"] == "core" and first["data"]["last"].startswith("2011-12-")
    assert 0.0 < first["metrics"]["auc"] < 1.0 and first["libraries"]["lightgbm"]
    second = _ok(
        run_cli(
            *base,
            "--features",
            "minimal",
            "--name",
            "GOOG-1d-core",
            "--label",
            "triple_barrier",
            "--horizon",
            "5",
            "--take-profit",
            "0.03",
            "--stop-loss",
            "0.03",
        )
    )
    assert second["version"] == 2
    listed = _ok(run_cli("ml", "list", "--json"))
    assert [(r["name"], r["version"], r["promoted"]) for r in listed] == [
        ("GOOG-1d-core", 1, False),
        ("GOOG-1d-core", 2, False),
    ]
    _ok(run_cli("ml", "promote", "GOOG-1d-core", "1", "--json"))
    run = _ok(
        run_cli(
            "backtest",
            "run",
            "ml",
            "-s",
            "GOOG",
            "-p",
            "model=GOOG-1d-core",
            "-p",
            "threshold=0.51",
            "--start",
            "2012-01-01",
            "--json",
        )
    )
    assert run["strategy"] == "ml" and run["metrics"]["num_trades"] > 0
    paper = _ok(
        run_cli(
            "backtest",
            "run",
            "ml",
            "-s",
            "GOOG",
            "-p",
            "model=GOOG-1d-core",
            "-p",
            "threshold=0.51",
            "--start",
            "2012-09-01",
            "--paper",
            "1e9",
            "--json",
        )
    )
    assert paper["mode"] == "paper" and paper["metrics"]["num_trades"] > 0
    promoted = _ok(run_cli("ml", "promote", "GOOG-1d-core", "2", "--json"))
    assert promoted["promoted"] == 2 and promoted["history"] == [1]
    assert _ok(run_cli("ml", "rollback", "GOOG-1d-core", "--json"))["promoted"] == 1
    shown = _ok(run_cli("ml", "show", "GOOG-1d-core", "--json"))
    assert shown["version"] == 1 and shown["promoted"] is True and len(shown["data"]["sha256"]) == 64
    predicted = _ok(run_cli("ml", "predict", "GOOG-1d-core", "--last", "3", "--json"))
    assert len(predicted["predictions"]) == 3 and predicted["predictions"][-1]["time"].endswith("+00:00")
    ab = _ok(
        run_cli(
            "ml",
            "compare",
            "GOOG-1d-core",
            "1",
            "2",
            "--start",
            "2012-06-01",
            "--paper",
            "1e9",
            "-p",
            "threshold=0.51",
            "--json",
        )
    )
    assert [(r["version"], r["mode"]) for r in ab["runs"]] == [(1, "paper"), (2, "paper")]
    assert ab["agreement"]["v1_vs_v2"]["rows"] > 100 and 0 <= ab["agreement"]["v1_vs_v2"]["same_direction"] <= 1
    scored = _ok(run_cli("ml", "evaluate", "GOOG-1d-core", "--start", "2012-01-01", "--json"))
    assert scored["metrics"]["rows"] == 257  # 291 bars from 2012, less the 33-bar warm-up and the last label


def test_minute_bars_regression_train_promote_backtest(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "generate", "-n", "1", "--periods", "2500", "-t", "1m").code == 0
    trained = _ok(
        run_cli(
            "ml",
            "train",
            "-s",
            "SYN00",
            "-t",
            "1m",
            "--features",
            "minimal",
            "--task",
            "regression",
            "--end",
            "2024-01-02T06:00:00",
            "--trees",
            "20",
            "--folds",
            "3",
            "--promote",
            "-p",
            "num_leaves=7",
            "--json",
        )
    )
    assert trained["promoted"] is True and trained["params"]["num_leaves"] == 7
    run = _ok(
        run_cli(
            "backtest",
            "run",
            "ml",
            "-s",
            "SYN00",
            "-t",
            "1m",
            "-p",
            "model=SYN00-1m-minimal",
            "--start",
            "2024-01-02T06:00:00",
            "--json",
        )
    )
    assert run["metrics"]["num_trades"] > 0
    paper = _ok(
        run_cli(
            "backtest",
            "run",
            "ml",
            "-s",
            "SYN00",
            "-t",
            "1m",
            "-p",
            "model=SYN00-1m-minimal",
            "--start",
            "2024-01-02T06:00:00",
            "--end",
            "2024-01-02T09:00:00",
            "--paper",
            "1e9",
            "--json",
        )
    )
    assert paper["mode"] == "paper" and paper["metrics"]["num_trades"] > 0


def test_refusals_exit_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from alphintra.ml.features import register_kind

    def peek(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
        return bars["close"].shift(-1) / bars["close"] - 1.0

    class Behind:
        def __init__(self, params: Mapping[str, Any]) -> None:
            self.last: float | None = None

        def update(self, bar: Any) -> float | None:
            last, self.last = self.last, bar.close
            return None if last is None else bar.close / last - 1.0

    register_kind("e2e_peek", peek, Behind)
    assert run_cli("data", "sample").code == 0
    leaky = tmp_path / "leaky.toml"
    leaky.write_text('name = "leaky"\nversion = 1\n[[features]]\nname = "next_ret"\nkind = "e2e_peek"\n')
    refused = run_cli("ml", "train", "-s", "GOOG", "--features", str(leaky))
    assert refused.code == 2 and "feature next_ret: reads bars after its row" in refused.err
    unknown = run_cli("ml", "train", "-s", "GOOG", "--features", "nope")
    assert unknown.code == 2 and "unknown feature set 'nope'" in unknown.err
    missing = run_cli("ml", "train", "-s", "NOPE")
    assert missing.code == 2 and "--symbol: has no stored bars" in missing.err
    few = run_cli("ml", "train", "-s", "GOOG", "--end", "2004-12-01")
    assert few.code == 2 and "too few bars" in few.err
    bad_param = run_cli("ml", "train", "-s", "GOOG", "-p", "boosting=dart")
    assert bad_param.code == 2 and "--param boosting: must be one of" in bad_param.err
    assert run_cli("ml", "show", "nope").code == 2
    assert "Traceback" not in refused.err + unknown.err + missing.err + few.err


def test_drift_alert_on_shifted_series_only(run_cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    from alphintra.storage.market import MarketStore

    base = stationary(5000, 1)
    wild = pl.concat(
        [
            base.head(3500).with_columns(pl.lit("WILD").alias("symbol")),
            stationary(1500, 2, vol=0.004, start_price=float(base["close"][3499]), first=3500, symbol="WILD"),
        ]
    )
    with MarketStore(isolated_home / "market") as store:
        store.write_bars(base, timeframe="1m")
        store.write_bars(wild, timeframe="1m")
    cut = "2024-01-03T10:20:00"  # bar 3500
    _ok(
        run_cli(
            "ml",
            "train",
            "-s",
            "GBM",
            "-t",
            "1m",
            "--features",
            "minimal",
            "--end",
            cut,
            "--trees",
            "20",
            "--folds",
            "3",
            "--name",
            "gbm",
            "--promote",
            "--json",
        )
    )
    quiet = run_cli("ml", "drift", "gbm", "--start", cut, "--json")
    assert quiet.code == 0, quiet.err
    assert json.loads(quiet.out)["drift"] is False and json.loads(quiet.out)["alert"] is None
    assert _ok(run_cli("risk", "alerts", "--json")) == []
    loud = run_cli("ml", "drift", "gbm", "-s", "WILD", "--start", cut, "--json")
    assert loud.code == 1
    report = json.loads(loud.out)
    assert report["drift"] is True and {"ret_1", "atr_pct"} <= set(report["drifted"])
    assert report["alert"]["journaled"] is True and report["alert"]["rule"] == "ml_drift"
    alerts = _ok(run_cli("risk", "alerts", "--json"))
    assert [(a["rule"], a["severity"], a["symbol"]) for a in alerts] == [("ml_drift", "WARNING", "WILD")]
    assert alerts[0]["message"].startswith("model gbm v1: drift in ret_1")


def test_validate_anomalies_on_a_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ml_data import goog

    bars, rows = plant(goog())
    path = tmp_path / "planted.csv"
    bars.select("time", "open", "high", "low", "close", "volume").write_csv(path)
    found = run_cli("data", "validate", str(path), "--anomalies", "--weekdays", "--json")
    assert found.code == 0, found.err
    assert sorted(a["row"] for a in json.loads(found.out)["anomalies"]) == sorted(rows.values())
    assert run_cli("data", "validate", str(path), "--anomalies", "--strict").code == 1


def test_features_and_search_commands(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("data", "sample").code == 0
    sets = {row["name"]: row for row in _ok(run_cli("ml", "features", "--json"))}
    assert sets["core"]["features"] == 23 and sets["minimal"]["version"] == 1
    shown = _ok(run_cli("ml", "features", "minimal", "--json"))
    assert (shown["name"], shown["version"]) == ("minimal", 1)
    assert len(shown["fingerprint"]) == 64 and [f["name"] for f in shown["features"]][:2] == ["ret_1", "ret_5"]
    computed = _ok(run_cli("ml", "features", "minimal", "-s", "GOOG", "--check", "--rows", "2", "--json"))
    assert computed["checked"] is True and computed["usable_rows"] == 2148 - 19 and len(computed["rows"]) == 2
    found = _ok(
        run_cli(
            "ml",
            "search",
            "-s",
            "GOOG",
            "--features",
            "minimal",
            "-p",
            "num_leaves=4,8",
            "-p",
            "num_trees=10",
            "--folds",
            "2",
            "--metric",
            "log_loss",
            "--json",
        )
    )
    assert found["runs"] == 2 and found["failures"] == 0
    assert found["best"]["num_leaves"] == found["top"][0]["num_leaves"]
    assert found["top"][0]["log_loss"] <= found["top"][1]["log_loss"]
