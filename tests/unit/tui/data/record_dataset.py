"""Record the fixed data set of the TUI's snapshot tests and screenshots from a real paper daemon.

    python tests/unit/tui/data/record_dataset.py tests/unit/tui/data/dataset.json

Starts a daemon on a temporary data home with the shipped GOOG sample and two backtests, sets risk limits,
trades a little by hand and through a DCA strategy, then saves what the TUI's live source would load
(``alphintra.tui.recorded.record``) plus the backtest runs. Not a test; run it again only to change the pictures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from alphintra.daemon.client import EngineClient
from alphintra.tui.recorded import record

API = "/api/v1"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="atr", dir="/tmp") as name:
        home = Path(name)
        env = dict(os.environ, ALPHINTRA_HOME=str(home))

        def cli(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "alphintra", *args], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"alphintra {' '.join(args)} failed: {done.stderr}")
            return done.stdout

        cli("data", "sample")
        cli("backtest", "run", "sma_cross", "-s", "GOOG", "--seed", "7")
        cli("backtest", "run", "donchian", "-s", "GOOG", "--seed", "7")
        runs = json.loads(cli("backtest", "list", "--json"))
        cli("engine", "start")
        try:
            with EngineClient(socket_path=home / "engine.sock", timeout=10) as engine:
                post = engine.post
                post(f"{API}/orders", json={"symbol": "GOOG", "side": "BUY", "type": "MARKET", "quantity": "8"})
                post(f"{API}/orders", json={"symbol": "ETH/USD", "side": "BUY", "type": "MARKET", "quantity": "1.5"})
                post(f"{API}/orders", json={"symbol": "GOOG", "side": "SELL", "type": "MARKET", "quantity": "2"})
                post(
                    f"{API}/orders",
                    json={"symbol": "GOOG", "side": "BUY", "type": "LIMIT", "quantity": "5", "price": "780"},
                )
                post(
                    f"{API}/orders",
                    json={"symbol": "GOOG", "side": "SELL", "type": "LIMIT", "quantity": "3", "price": "860"},
                )
                post(
                    f"{API}/orders",
                    json={"symbol": "ETH/USD", "side": "SELL", "type": "STOP", "quantity": "0.5", "stop_price": "2900"},
                )
                # Limits set after the trades, from the account's own figures, so the usage bars show something.
                figures = engine.get(f"{API}/risk/metrics")
                gross = Decimal(figures["gross_exposure"])
                engine.put(
                    f"{API}/risk/limits",
                    json={
                        "limits": [
                            {"name": "max_daily_loss", "value": "1500", "scope": "global"},
                            {
                                "name": "max_gross_exposure",
                                "value": str((gross * Decimal("1.12")).quantize(Decimal(1))),
                                "scope": "global",
                            },
                            {"name": "max_leverage", "value": "2", "scope": "global"},
                            {"name": "max_drawdown_pct", "value": "5", "scope": "global"},
                        ],
                        "reason": "desk limits",
                    },
                )
                post(
                    f"{API}/strategies",
                    json={
                        "name": "dca-eth",
                        "strategy": "dca",
                        "symbols": ["ETH/USD"],
                        "params": {"amount": "150", "every_bars": 4},
                    },
                )
                post(f"{API}/strategies/dca-eth/start")
                post(
                    f"{API}/strategies",
                    json={"name": "sma-goog", "strategy": "sma_cross", "symbols": ["GOOG"], "params": {}},
                )
                time.sleep(12)  # let the paper market move and the strategy buy a few times
                data = record(engine, timeframes=("1m", "1d"), candles=120)
        finally:
            cli("engine", "stop")
        data["backtests"] = runs
        details = {}
        for run in runs:
            result = json.loads((home / "reports" / run["id"] / "result.json").read_text())
            # The curve is all the screen draws; prices, fills and trades would only bloat the file.
            result["equity"] = result["equity"][:: max(1, len(result["equity"]) // 300)]
            result["prices"], result["fills"], result["drawdown"] = [], [], []
            details[run["id"]] = result
        data["backtest_details"] = details
        data["log"] = [
            {"ts": line_ts, "level": level, "text": text}
            for line_ts, level, text in (
                (data["tickers"][0]["ts"] - 9_000_000_000, "INFO", "engine started (paper, account main)"),
                (data["tickers"][0]["ts"] - 8_000_000_000, "INFO", "risk limits changed by admin: desk limits"),
                (data["tickers"][0]["ts"] - 7_000_000_000, "INFO", "strategy dca-eth started on ETH/USD"),
            )
        ]
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
