"""Limits, halts, alerts, schedules and running strategies are journal records: a real daemon that loses its
state.db (stopped, or SIGKILLed) comes back still halted, with its limits enforced and every one of them back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_e2e_support import Daemon, daemon_home

from alphintra.errors import AlphintraError

DCA = {"name": "d1", "strategy": "dca", "symbols": ["BTC/USD"], "params": {"every_bars": 1000, "amount": "100"}}
JOB = {
    "name": "dca-eth",
    "cron": "0 0 1 1 *",  # once a year: nothing fires by itself during the test
    "strategy": "dca",
    "symbols": ["ETH/USD"],
    "params": {"every_bars": 1, "amount": "300"},
}


def _order(c: Any, symbol: str, quantity: str) -> dict[str, Any]:
    return dict(c.post("/api/v1/orders", {"symbol": symbol, "side": "BUY", "quantity": quantity}))


def _refused(c: Any, symbol: str, quantity: str) -> AlphintraError:
    with pytest.raises(AlphintraError) as info:
        _order(c, symbol, quantity)
    return info.value


def _cli_json(d: Daemon, *args: str) -> Any:
    done = d.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _seen(d: Daemon) -> dict[str, Any]:
    """Everything a user sees of the risk and control state, through the CLI and the API."""
    with d.client() as c:
        strategies = [
            {k: s[k] for k in ("id", "name", "strategy", "symbols", "params", "status", "running")}
            for s in c.get("/api/v1/strategies")
        ]
        schedules = [{k: j[k] for k in ("id", "cron", "strategy", "enabled")} for j in c.get("/api/v1/schedules")]
        api_limits = c.get("/api/v1/risk/limits")
        api_alerts = c.get("/api/v1/risk/alerts")
    return {
        "limits": _cli_json(d, "risk", "limits", "show"),
        "history": _cli_json(d, "risk", "limits", "show", "--history"),
        "alerts": _cli_json(d, "risk", "alerts"),
        "api_limits": api_limits,
        "api_alerts": api_alerts,
        "strategies": strategies,
        "schedules": schedules,
    }


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_lost_state_db_keeps_the_halt_the_limit_and_the_rest(how: str) -> None:
    with daemon_home(backend="sqlite") as d:
        d.start()
        done = d.cli("risk", "limits", "set", "max_order_notional", "50000", "--by", "alice", "--reason", "desk cap")
        assert done.returncode == 0, done.stderr
        with d.client() as c:
            assert _order(c, "GOOG", "1")["status"] == "FILLED"
            over = _refused(c, "BTC/USD", "1")  # 60,000 > 50,000
            assert "max_order_notional" in over.message
            created = c.post("/api/v1/strategies", DCA)
            assert c.post(f"/api/v1/strategies/{created['id']}/start", {})["running"] is True
            assert c.post("/api/v1/schedules", JOB)["id"] == "dca-eth"
        halted = d.cli("risk", "halt", "--reason", "desk closed", "--by", "bob")
        assert halted.returncode == 0, halted.stderr
        before = _seen(d)
        assert [h["rule"] for h in before["limits"]["halts"]] == ["manual"]
        assert [a["severity"] for a in before["alerts"]] == ["CRITICAL"]
        assert [s["running"] for s in before["strategies"]] == [True]
        if how == "stop":
            d.stop()
        else:
            d.kill()
        state_db = Path(d.root) / "state.db"
        assert state_db.exists()
        state_db.unlink()
        d.start()
        with d.client() as c:
            answer = c._http.post("/api/v1/orders", json={"symbol": "GOOG", "side": "BUY", "quantity": "1"})
            body = answer.json()
            # The engine refuses it with RejectReason.HALTED; the API names the rule's field, "halt".
            assert (answer.status_code, body["error"], body["field"]) == (422, "order_rejected", "halt"), body
            assert "all trading is halted" in body["detail"] and "desk closed" in body["detail"]
        assert _seen(d) == before
        resumed = d.cli("risk", "resume", "--by", "carol", "--reason", "desk open")
        assert resumed.returncode == 0, resumed.stderr
        with d.client() as c:
            assert _order(c, "GOOG", "1")["status"] == "FILLED"
            assert "max_order_notional" in _refused(c, "BTC/USD", "1").message  # the limit is still enforced


def test_an_old_home_imports_its_stored_limits_and_halts_once() -> None:
    """A home from before these records: limits, history and a halt only in state.db (the CLI wrote them with no
    daemon, straight to the store). The first start imports them into the journal; a later loss of state.db
    then changes nothing."""
    with daemon_home(backend="sqlite") as d:
        from alphintra.storage.state import StateStore

        store = StateStore(f"sqlite:///{d.root / 'state.db'}")
        store.create_all()
        store.set_risk_limit("max_order_qty", "5", changed_by="old-admin", reason="before the upgrade")
        store.set_risk_limit("max_order_qty", "3", changed_by="old-admin")
        from alphintra.engine.risk.breakers import Halt, store_halt
        from alphintra.engine.risk.limits import Scope

        store_halt(store, Halt(Scope.SYMBOL, "GOOG", "manual", "old news", "old-admin", 1_700_000_000_000_000_000))
        store.close()
        d.start()
        imported = _seen(d)
        assert [(x["name"], x["value"], x["updated_by"]) for x in imported["limits"]["limits"]] == [
            ("max_order_qty", "3", "old-admin")
        ]
        assert [(h["scope"], h["scope_id"], h["reason"]) for h in imported["limits"]["halts"]] == [
            ("symbol", "GOOG", "old news")
        ]
        assert [(h["name"], h["old_value"], h["new_value"]) for h in imported["history"]] == [
            ("max_order_qty", "5", "3"),
            ("max_order_qty", None, "5"),
            ("trading_halt", None, "1"),  # newest first: the halt is dated 2023
        ]
        with d.client() as c:
            assert "GOOG is halted" in _refused(c, "GOOG", "1").message
            assert "max_order_qty" in _refused(c, "ETH/USD", "4").message
        d.stop()
        (d.root / "state.db").unlink()
        d.start()
        assert _seen(d) == imported
        journal = "".join(p.read_text() for p in sorted((d.root / "journal").glob("segment-*.jsonl")))
        assert journal.count('"RiskStateImported"') == 1


@pytest.mark.both_backends
def test_cli_halt_cancels_and_flattens_and_resume_is_an_alert() -> None:
    """`risk halt --cancel-orders --flatten` does what the API's flags do; `risk resume` is logged and alerted."""
    with daemon_home() as d:
        d.start()
        with d.client() as c:
            assert _order(c, "GOOG", "2")["status"] == "FILLED"
            limit = {"symbol": "GOOG", "side": "BUY", "quantity": "1", "type": "LIMIT", "price": "700"}
            working = c.post("/api/v1/orders", limit)
            assert working["status"] == "ACCEPTED"
        done = d.cli("risk", "halt", "--reason", "desk closed", "--by", "bob", "--cancel-orders", "--flatten")
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == "halted all trading (bob): desk closed (orders canceled, positions closed)"
        with d.client() as c:
            assert d.order(working["id"])["status"] == "CANCELED"
            positions = {p["symbol"]: p["quantity"] for p in c.get("/api/v1/portfolio/positions")}
            assert Decimal(positions.get("GOOG", "0")) == 0
        resumed = _cli_json(d, "risk", "resume", "--by", "carol", "--reason", "desk open")
        assert resumed == {"resumed": True, "scope": "global", "scope_id": "*", "by": "carol"}
        alerts = _cli_json(d, "risk", "alerts")
        assert [(a["id"], a["severity"], a["rule"]) for a in alerts] == [
            (2, "INFO", "manual"),
            (1, "CRITICAL", "manual"),
        ]
        assert alerts[0]["message"].startswith("resumed all trading (by ") and alerts[0]["message"].endswith(
            "): desk open"
        )
        from alphintra.daemon.server import LOG_FILE

        lines = [json.loads(x) for x in (d.root / "logs" / LOG_FILE).read_text().splitlines() if x.strip()]
        resumed_lines = [str(x["msg"]) for x in lines if str(x.get("msg", "")).startswith("trading resumed")]
        assert len(resumed_lines) == 1 and resumed_lines[0].endswith(": desk open"), resumed_lines
        assert resumed_lines[0].startswith("trading resumed (all trading) by ")  # the caller's user
