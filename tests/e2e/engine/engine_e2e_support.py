"""Helpers of the engine end-to-end tests: a real daemon process on a short temporary data home, the CLI
entry point with the trading groups joined, waiting on conditions, and the books-balance check."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import alphintra
from alphintra.daemon.client import EngineClient
from alphintra.daemon.runfiles import probe_daemon
from tests.waiting import wait_for

REPO = Path(alphintra.__file__).resolve().parent.parent
START_CASH = Decimal("100000")
FEE = Decimal("0.001")  # maker and taker fee of the demo instruments

# The real entry point with the groups under test joined, whether or not the root app registers them yet.
CLI = """
import sys
from alphintra.cli import engine, market, order, portfolio, trades, watch
from alphintra.cli.main import app, main
names = {group.name for group in app.registered_groups}
for name, sub in (("engine", engine.app), ("order", order.app), ("trades", trades.app),
                  ("portfolio", portfolio.app), ("market", market.app), ("watch", watch.app)):
    if name not in names:
        app.add_typer(sub, name=name)
main(sys.argv[1:])
"""


def register_groups() -> None:
    """Join the trading groups to the in-process root app (for ``run_cli``) if it does not have them yet."""
    from alphintra.cli import market, order, portfolio, trades, watch
    from alphintra.cli.main import app

    names = {group.name for group in app.registered_groups}
    for name, sub in (
        ("order", order.app),
        ("trades", trades.app),
        ("portfolio", portfolio.app),
        ("market", market.app),
        ("watch", watch.app),
    ):
        if name not in names:
            app.add_typer(sub, name=name)


class Daemon:
    """One data home (short path: a unix socket path must stay under 104 bytes) and its daemon process."""

    def __init__(self, root: Path, extra_env: dict[str, str] | None = None, database_url: str | None = None) -> None:
        self.root = root
        # None: state.db in the home; else the trading state lives there (a PostgreSQL scratch schema).
        self.database_url = database_url
        self.socket = root / "engine.sock"
        self.pid_file = root / "engine.pid"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
        self.env["ALPHINTRA_HOME"] = str(root)
        self.env["ALPHINTRA_PAPER__FEED"] = "none"  # prices move only through the admin tick endpoint
        # These tests count what a spot buy locks (open_buy_lock, assert_books_balance): a spot account, explicitly
        # (the default account is margin, as in a backtest)
        self.env["ALPHINTRA_ACCOUNTS__MAIN__MODE"] = "spot"
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + self.env.get("PYTHONPATH", "")
        if database_url is not None:
            self.env["ALPHINTRA_DATABASE_URL"] = database_url
        self.env.update(extra_env or {})

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-c", CLI, *args]

    def cli(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), env=self.env, capture_output=True, text=True, timeout=timeout, input=input
        )

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def start(self) -> int:
        done = self.cli("engine", "start", "--wait", "60")
        assert done.returncode == 0, done.stderr
        return self.pid

    @property
    def pid(self) -> int:
        return int(self.pid_file.read_text())

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; the journal is all that survives."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _alive(pid), "the killed daemon to exit")

    def stop(self) -> None:
        probe = probe_daemon(self.pid_file)
        if probe.running and probe.pid:
            os.kill(probe.pid, signal.SIGTERM)
            wait_for(lambda: not probe_daemon(self.pid_file).running, "the daemon to stop", timeout=30)

    def client(self, timeout: float = 10) -> EngineClient:
        return EngineClient(socket_path=self.socket, timeout=timeout)

    def tick(self, symbol: str, price: str) -> dict[str, Any]:
        with self.client() as c:
            return dict(c.post("/api/v1/market-data/ticks", {"symbol": symbol, "price": price}))

    def order(self, order_id: str) -> dict[str, Any]:
        with self.client() as c:
            return dict(c.get(f"/api/v1/orders/{order_id}"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not reaped yet) still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@contextlib.contextmanager
def daemon_home(extra_env: dict[str, str] | None = None, backend: str | None = None) -> Any:
    """A daemon's home; its trading state in state.db there, or on ``backend="postgresql"`` in a scratch schema
    of the real server (dropped after the daemon stops). A test that opens state.db itself passes "sqlite"."""
    from tests.pg_support import state_database

    with state_database(backend) as url, tempfile.TemporaryDirectory(prefix="ae", dir="/tmp") as name:
        daemon = Daemon(Path(name), extra_env, url)
        try:
            yield daemon
        finally:
            daemon.stop()


def expected_books(client: EngineClient) -> dict[str, Decimal]:
    """Each asset's total implied by the fills alone: the starting cash, every fill's cost or proceeds, every fee."""
    totals: dict[str, Decimal] = {"USD": START_CASH}
    symbols = {s["symbol"]: s for s in client.get("/api/v1/market-data/symbols")}
    for t in client.get("/api/v1/trades", params={"limit": 10_000}):
        inst = symbols[t["symbol"]]
        base, quote = inst["base"], inst["quote"]
        qty, px = Decimal(t["quantity"]), Decimal(t["price"])
        sign = 1 if t["side"] == "BUY" else -1
        totals[base] = totals.get(base, Decimal(0)) + sign * qty
        totals[quote] = totals.get(quote, Decimal(0)) - sign * qty * px
        totals[t["fee_asset"]] = totals.get(t["fee_asset"], Decimal(0)) - Decimal(t["fee"])
    return totals


def assert_books_balance(client: EngineClient) -> None:
    """Balances and positions equal what the fills imply, to the last digit; equity is cash plus marked positions."""
    expected = expected_books(client)
    balances = {b["asset"]: b for b in client.get("/api/v1/portfolio/balances")}
    for asset, total in expected.items():
        got = Decimal(balances[asset]["total"]) if asset in balances else Decimal(0)
        assert got == total, f"{asset}: balance {got} but the fills imply {total}"
        if asset in balances:
            b = balances[asset]
            assert Decimal(b["available"]) + Decimal(b["locked"]) == Decimal(b["total"])
    positions = {p["symbol"]: p for p in client.get("/api/v1/portfolio/positions")}
    symbols = {s["symbol"]: s for s in client.get("/api/v1/market-data/symbols")}
    marked = Decimal(0)
    for symbol, p in positions.items():
        assert Decimal(p["quantity"]) == expected.get(symbols[symbol]["base"], Decimal(0)), symbol
        marked += Decimal(p["quantity"]) * Decimal(p["mark"])
    summary = client.get("/api/v1/portfolio")
    assert Decimal(summary["cash"]) == expected["USD"]
    assert Decimal(summary["equity"]) == expected["USD"] + marked


def open_buy_lock(orders: list[dict[str, Any]]) -> Decimal:
    """USD a set of open limit buys must hold locked: leaves x price plus the fee on it."""
    return sum(
        (
            (Decimal(o["leaves_quantity"]) * Decimal(o["price"]) * (1 + FEE))
            for o in orders
            if o["side"] == "BUY" and o["order_type"] == "LIMIT" and o["status"] in ("ACCEPTED", "PARTIALLY_FILLED")
        ),
        Decimal(0),
    )


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
