"""A daemon (a real process) runs two simulated venues from the configuration, each with its own instruments and
account: orders route by their instrument's venue into that venue's account, balances stay apart across a restart,
`venue list|reconcile|resume` see both, and the TUI's orders table shows each order's venue."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_e2e_support import Daemon, daemon_home

from alphintra.daemon.client import AsyncEngineClient
from alphintra.tui.app import AlphintraApp
from alphintra.tui.base import SyncTable
from alphintra.tui.source import EngineDataSource

D = Decimal
CONFIG = """
[venues.stocks]
kind = "simulated"
[venues.crypto]
kind = "simulated"

[accounts.broker]
venue = "stocks"
starting_cash = 50000

[accounts.desk]
venue = "crypto"
mode = "spot"
starting_cash = 20000

[[instruments]]
symbol = "GOOG"
tick_size = "0.01"
lot_size = "1"
venue = "stocks"

[[instruments]]
symbol = "BTC/USD"
tick_size = "0.01"
lot_size = "0.0001"
min_notional = 10
venue = "crypto"
"""


def two_venue_home(d: Daemon) -> None:
    config = d.root / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    d.env["ALPHINTRA_CONFIG"] = str(config)
    d.env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE")  # the accounts are the file's (no "main" here)


def ok(d: Daemon, *args: str) -> Any:
    done = d.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def balances(d: Daemon, account: str) -> dict[str, Decimal]:
    return {b["asset"]: D(b["total"]) for b in ok(d, "portfolio", "balances", "--account", account) if D(b["total"])}


@pytest.mark.both_backends
def test_two_simulated_venues_keep_orders_and_balances_apart() -> None:
    with daemon_home() as d:
        two_venue_home(d)
        d.start()
        d.tick("GOOG", "100")
        d.tick("BTC/USD", "20000")
        goog = ok(d, "order", "buy", "GOOG", "2", "--yes")
        btc = ok(d, "order", "buy", "BTC/USD", "0.01", "--yes")
        assert (goog["account"], goog["venue"], goog["status"]) == ("broker", "stocks", "FILLED")
        assert (btc["account"], btc["venue"], btc["status"]) == ("desk", "crypto", "FILLED")
        # each fill is booked in its own account only, to the cent (fee 0.1 % of the notional, in USD)
        fills = {t["order_id"]: t for t in ok(d, "trades", "list")}
        g, b = fills[goog["id"]], fills[btc["id"]]
        goog_cost = D(g["quantity"]) * D(g["price"]) + D(g["fee"])
        btc_cost = D(b["quantity"]) * D(b["price"]) + D(b["fee"])
        assert D(g["fee"]) == (D(g["quantity"]) * D(g["price"]) * D("0.001")).normalize()
        broker_expected = {"USD": D(50000) - goog_cost, "GOOG": D(2)}
        desk_expected = {"USD": D(20000) - btc_cost, "BTC": D("0.01")}
        assert balances(d, "broker") == broker_expected
        assert balances(d, "desk") == desk_expected
        # the spot account on the crypto venue cannot sell what it does not hold (its own balance, not the broker's)
        refused = d.cli("order", "sell", "BTC/USD", "1", "--yes", "--json")
        assert (refused.returncode, refused.stderr) == (
            2,
            "error: balances.BTC: account 'desk' needs 1 BTC but has 0.01 BTC available\n",
        )
        listed = {o["id"]: o["venue"] for o in ok(d, "order", "list")}
        assert listed[goog["id"]] == "stocks" and listed[btc["id"]] == "crypto"
        with d.client() as c:
            accounts = [(a["account"], a["venue"], a["currency"]) for a in c.get("/api/v1/portfolio/accounts")]
        assert accounts == [("broker", "stocks", "USD"), ("desk", "crypto", "USD")]
        venues = {v["name"]: v for v in ok(d, "venue", "list")}
        assert (venues["stocks"]["state"], venues["stocks"]["accounts"], venues["stocks"]["symbols"]) == (
            "connected",
            ["broker"],
            ["GOOG"],
        )
        assert (venues["crypto"]["state"], venues["crypto"]["accounts"], venues["crypto"]["symbols"]) == (
            "connected",
            ["desk"],
            ["BTC/USD"],
        )
        assert venues["crypto"]["capabilities"]["keeps_state"] is False
        reports = ok(d, "venue", "reconcile")
        assert [(r["venue"], r["clean"], r["fills_booked"], r["halted"]) for r in reports] == [
            ("stocks", True, [], None),
            ("crypto", True, [], None),
        ]
        assert ok(d, "venue", "resume", "crypto") == {"venue": "crypto", "resumed": False, "was": None}
        # a restart replays the journal: the same two accounts, nothing booked twice, ids continue per venue
        d.stop()
        d.start()
        assert balances(d, "broker") == broker_expected
        assert balances(d, "desk") == desk_expected
        again = ok(d, "order", "buy", "BTC/USD", "0.01", "--yes")
        trade_ids = [t["id"] for t in ok(d, "trades", "list")]
        assert len(trade_ids) == len(set(trade_ids)) == 3 and again["venue"] == "crypto"
        bad = d.cli("portfolio", "balances", "--account", "nobody", "--json")
        assert bad.returncode != 0 and "no account 'nobody' (configured: broker, desk)" in bad.stderr


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_tui_shows_each_open_orders_venue() -> None:
    with daemon_home() as d:
        two_venue_home(d)
        d.start()
        d.tick("GOOG", "100")
        d.tick("BTC/USD", "20000")
        goog = ok(d, "order", "buy", "GOOG", "1", "--limit", "90", "--yes")
        btc = ok(d, "order", "buy", "BTC/USD", "0.01", "--limit", "19000", "--yes")
        source = EngineDataSource(AsyncEngineClient(socket_path=Path(d.socket)), poll_interval=0.3, max_backoff=0.5)
        app = AlphintraApp(source, symbol="GOOG", mode="trade")
        async with app.run_test(size=(160, 42)) as pilot:
            deadline = time.monotonic() + 20
            while len(app.screen.query_one("#orders", SyncTable).keys) < 2:
                assert time.monotonic() < deadline, "timed out waiting for both open orders"
                await pilot.pause(0.05)
            table = app.screen.query_one("#orders", SyncTable)
            rows = {key: [str(cell) for cell in table.get_row(key)] for key in table.keys}
            assert str(table.columns[list(table.columns)[2]].label) == "Venue"
            assert rows[goog["id"]][1:3] == ["GOOG", "stocks"]
            assert rows[btc["id"]][1:3] == ["BTC/USD", "crypto"]
