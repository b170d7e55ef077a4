"""`ml drift` while a real daemon runs: the daemon owns the journal, so the drift alert goes through its API
(``POST /api/v1/risk/alerts``) and is journaled there -- shown by `risk alerts` and ``GET /api/v1/risk/alerts``."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
from engine_e2e_support import Daemon, daemon_home

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "ml"))
from ml_data import stationary

from alphintra.storage.journal import read_journal

CUT = "2024-01-03T10:20:00"  # bar 3500: the model is trained before it, drift is measured after it


def _cli(d: Daemon, *args: str, code: int = 0) -> Any:
    done = d.cli(*args, "--json", timeout=120)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def _bars(d: Daemon) -> None:
    from alphintra.storage.market import MarketStore

    base = stationary(5000, 1)
    wild = pl.concat(
        [
            base.head(3500).with_columns(pl.lit("WILD").alias("symbol")),
            stationary(1500, 2, vol=0.004, start_price=float(base["close"][3499]), first=3500, symbol="WILD"),
        ]
    )
    with MarketStore(d.root / "market") as store:
        store.write_bars(base, timeframe="1m")
        store.write_bars(wild, timeframe="1m")


def test_ml_drift_alert_is_journaled_by_the_running_daemon() -> None:
    with daemon_home(backend="sqlite") as d:
        _bars(d)
        train = ("ml", "train", "-s", "GBM", "-t", "1m", "--features", "minimal", "--end", CUT)
        _cli(d, *train, "--trees", "10", "--folds", "2", "--name", "gbm", "--promote")
        d.start()
        report = _cli(d, "ml", "drift", "gbm", "-s", "WILD", "--start", CUT, code=1)
        assert report["drift"] is True and "ret_1" in report["drifted"]
        alert = report["alert"]
        assert (alert["journaled"], alert["id"], alert["rule"], alert["severity"]) == (True, 1, "ml_drift", "WARNING")
        assert alert["message"].startswith("model gbm v1: drift in ret_1")
        assert alert["message"].endswith(f" [ml drift, by {getpass.getuser()}]")  # the socket's owner

        shown = _cli(d, "risk", "alerts")
        assert [(a["id"], a["rule"], a["severity"], a["symbol"], a["strategy"]) for a in shown] == [
            (1, "ml_drift", "WARNING", "WILD", "ml")
        ]
        assert shown[0]["message"] == alert["message"]
        with d.client() as c:
            served = c.get("/api/v1/risk/alerts")
        assert [(a["id"], a["rule"], a["message"], a["threshold"]) for a in served] == [
            (1, "ml_drift", alert["message"], "0.25")
        ]
        d.stop()
        # The daemon journaled it (the CLI did not open the journal while the daemon held it).
        raised = [e.record for e in read_journal(d.root / "journal") if e.record["type"] == "RiskAlertRaised"]
        assert [(r["alert_id"], r["rule"], r["symbol"]) for r in raised] == [(1, "ml_drift", "WILD")]
