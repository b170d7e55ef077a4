"""The TUI against a real paper daemon (a subprocess on a short temporary data home), driven with Textual's Pilot.

An order typed into the ticket and confirmed reaches the engine and shows in open orders; `c` cancels it there; a
marketable order fills and lands in positions; a stopped engine raises the banner and the TUI reconnects by itself
when the engine is back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

import alphintra
from alphintra.daemon.client import AsyncEngineClient, EngineClient
from alphintra.daemon.runfiles import probe_daemon
from alphintra.tui.app import AlphintraApp
from alphintra.tui.base import SyncTable
from alphintra.tui.screens.dialogs import ConfirmOrderDialog
from alphintra.tui.source import EngineDataSource
from alphintra.tui.widgets.order_form import OrderForm

REPO = Path(alphintra.__file__).resolve().parent.parent
SIZE = (140, 42)
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Engine:
    """A daemon process for one test, started and stopped with the real CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "engine.sock"
        self.env = dict(os.environ, ALPHINTRA_HOME=str(root))
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + self.env.get("PYTHONPATH", "")

    def cli(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "alphintra", *args], env=self.env, capture_output=True, text=True, timeout=90
        )
        assert done.returncode == 0, done.stderr

    def start(self) -> None:
        self.cli("engine", "start")

    def stop(self) -> None:
        self.cli("engine", "stop")

    def client(self) -> EngineClient:
        return EngineClient(socket_path=self.socket, timeout=10)

    def app(self, **kwargs: Any) -> AlphintraApp:
        source = EngineDataSource(AsyncEngineClient(socket_path=self.socket), poll_interval=0.3, max_backoff=0.5)
        return AlphintraApp(source, symbol="GOOG", **kwargs)


@pytest.fixture
def engine() -> Iterator[Engine]:
    # A short path of its own: a unix socket path may not exceed 107 bytes.
    with tempfile.TemporaryDirectory(prefix="at", dir="/tmp") as name:
        eng = Engine(Path(name))
        eng.start()
        try:
            yield eng
        finally:
            probe = probe_daemon(eng.root / "engine.pid")
            if probe.running and probe.pid:
                os.kill(probe.pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
                while probe_daemon(eng.root / "engine.pid").running and time.monotonic() < deadline:
                    time.sleep(0.05)


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Let the app run until ``condition`` holds (the app's own frames deliver the data)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def table_rows(app: AlphintraApp, selector: str) -> dict[str, list[str]]:
    table = app.screen.query_one(selector, SyncTable)
    return {key: [str(cell) for cell in table.get_row(key)] for key in table.keys}


async def submit(pilot: Pilot[Any], app: AlphintraApp) -> None:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmOrderDialog), "the confirmation")
    await pilot.press("y")


async def test_place_cancel_and_fill_through_the_screens(engine: Engine) -> None:
    app = engine.app(mode="trade")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: app.state.connection.connected and "GOOG" in app.state.tickers, "the engine's data"
        )
        bid = app.state.tickers["GOOG"].bid
        assert bid is not None
        price = str((bid * Decimal("0.9")).quantize(Decimal("0.01")))

        # A resting limit buy, typed into the ticket.
        await pilot.press("o", "2")
        await pilot.click("#of-price")
        await pilot.press(*price)
        form = app.screen.query_one(OrderForm)
        await wait_until(pilot, lambda: form.checked.ok, "a valid ticket")
        await submit(pilot, app)
        await wait_until(pilot, lambda: len(table_rows(app, "#orders")) == 1, "the order in open orders")
        ((order_id, cells),) = table_rows(app, "#orders").items()
        assert cells[1:6] == ["GOOG", "sim", "BUY", "LIMIT", "2"]  # the venue: the default simulated one
        assert cells[7] == f"{Decimal(price):,.2f}"
        with engine.client() as client:
            placed = client.get(f"/api/v1/orders/{order_id}")
        # The API writes plain decimals without trailing zeros ("720.6" for a typed "720.60"): compare values.
        assert (placed["status"], Decimal(placed["price"]), placed["quantity"]) == ("ACCEPTED", Decimal(price), "2")

        # c on the highlighted row cancels it.
        app.screen.query_one("#orders", SyncTable).focus()
        await pilot.press("c")
        await wait_until(pilot, lambda: table_rows(app, "#orders") == {}, "the order to leave open orders")
        with engine.client() as client:
            assert client.get(f"/api/v1/orders/{order_id}")["status"] == "CANCELED"

        # A market buy fills at once and shows as a position on the dashboard.
        form.fill(order_type="MARKET", quantity="3", price="")
        await wait_until(pilot, lambda: form.checked.ok, "a valid market ticket")
        await submit(pilot, app)
        await pilot.press("1")
        await wait_until(pilot, lambda: "GOOG" in table_rows(app, "#positions"), "the GOOG position")
        position = table_rows(app, "#positions")["GOOG"]
        assert position[1] == "3"
        with engine.client() as client:
            filled = client.get("/api/v1/orders", params={"symbol": "GOOG", "status": "FILLED"})
            positions = client.get("/api/v1/portfolio/positions")
        assert [(o["side"], o["quantity"]) for o in filled] == [("BUY", "3")]
        assert [(p["symbol"], p["quantity"]) for p in positions] == [("GOOG", "3")]
        assert position[2] == f"{Decimal(positions[0]['average_price']):,.2f}"
        await wait_until(pilot, lambda: any(r[1] == "GOOG" for r in table_rows(app, "#fills").values()), "the fill")


async def test_a_stopped_engine_raises_the_banner_and_the_tui_reconnects(engine: Engine) -> None:
    app = engine.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.connection.connected, "the first connection")
        banner = app.screen.query_one("#banner", Static)
        assert banner.display is False

        engine.stop()
        await wait_until(pilot, lambda: banner.display is True, "the banner")
        assert app.state.connection.connected is False
        assert app.is_running

        engine.start()
        await wait_until(pilot, lambda: app.state.connection.connected, "the reconnection", timeout=30)
        await wait_until(pilot, lambda: banner.display is False, "the banner to go")
        texts = [line.text for line in app.state.log]
        lost = next(i for i, t in enumerate(texts) if t.startswith("engine connection lost"))
        assert texts[lost + 1 :].count("connected to the engine") == 1
