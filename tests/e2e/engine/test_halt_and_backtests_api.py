"""The kill switch and the past-runs API against a real daemon process."""

from __future__ import annotations

import json

import pytest
from engine_e2e_support import daemon_home

from alphintra.errors import AlphintraError


@pytest.mark.both_backends
def test_halt_refuses_orders_until_an_admin_resumes() -> None:
    with daemon_home() as d:
        d.start()
        with d.client() as c:
            first = c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1"})
            assert first["status"] == "FILLED"
            halted = c.post("/api/v1/risk/halt", {"scope": "global", "reason": "desk closed"})
            assert halted["halted"] is True
            with pytest.raises(AlphintraError) as refused:
                c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1"})
            assert "halt" in refused.value.message.lower()
            limits = c.get("/api/v1/risk/limits")
            assert [h["scope"] for h in limits["halts"]] == ["global"]
            resumed = c.post("/api/v1/risk/resume", {"scope": "global", "reason": "desk open"})
            assert resumed == {"resumed": True, "halts": []}
            again = c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1"})
            assert again["status"] == "FILLED"


def test_backtests_are_listed_and_opened_through_the_api() -> None:
    with daemon_home() as d:
        d.env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE")  # the default margin account, as `make demo` runs it
        assert d.cli("data", "sample").returncode == 0
        run = d.cli("backtest", "run", "sma_cross", "-s", "GOOG", "--fee", "0.2%", "--cash", "10000", "--json")
        assert run.returncode == 0, run.stderr
        run_id = json.loads(run.stdout)["run_id"]
        d.start()
        with d.client() as c:
            rows = c.get("/api/v1/backtests")
            assert [r["id"] for r in rows] == [run_id]
            result = c.get(f"/api/v1/backtests/{run_id}")
            assert result["metrics"]["end_equity"] == "55843.07578"
            with pytest.raises(AlphintraError) as missing:
                c.get("/api/v1/backtests/nope")
            assert "no saved run" in missing.value.message


def test_risk_cli_reaches_a_running_engine_at_once() -> None:
    """`risk halt|resume|limits set` with a daemon up change the live engine, not only the stored state."""
    with daemon_home() as d:
        d.start()
        halted = d.cli("risk", "halt", "--symbol", "GOOG", "--reason", "news", "--by", "night-desk")
        assert halted.returncode == 0, halted.stderr
        with d.client() as c:
            # --by reaches the journal's record and the alert, not the API caller's name.
            assert [h["updated_by"] for h in c.get("/api/v1/risk/limits")["halts"]] == ["night-desk"]
            assert c.get("/api/v1/risk/alerts")[0]["message"] == "halted symbol GOOG: news (by night-desk)"
            with pytest.raises(AlphintraError) as refused:
                c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "1"})
            assert "halt" in refused.value.message.lower()
            assert c.post("/api/v1/orders", {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.01"})["status"] == (
                "FILLED"
            )
        assert d.cli("risk", "resume", "--symbol", "GOOG").returncode == 0
        limited = d.cli("risk", "limits", "set", "max_order_qty", "2", "--symbol", "GOOG")
        assert limited.returncode == 0, limited.stderr
        with d.client() as c:
            assert c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "2"})["status"] == "FILLED"
            with pytest.raises(AlphintraError) as over:
                c.post("/api/v1/orders", {"symbol": "GOOG", "side": "BUY", "quantity": "3"})
            assert "max_order_qty" in over.value.message
