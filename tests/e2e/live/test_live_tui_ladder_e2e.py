"""The TUI against a live daemon trading on the fake exchange (real daemon, real fake, real ccxt), driven with
Textual's Pilot: the ladder holds the exchange's own depth, level for level, follows it when the exchange's book
moves with no trade at all (the venue's book stream, not a bar), and names its venue and the connection state."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from engine_e2e_support import daemon_home
from live_e2e_support import VENUE, live_home
from textual.pilot import Pilot
from textual.widgets import Static

from alphintra.daemon.client import AsyncEngineClient
from alphintra.tui.app import AlphintraApp
from alphintra.tui.source import EngineDataSource
from alphintra.tui.widgets.market import BookLadder
from alphintra.venues.fake.testing import FakeHandle, running_fake

SYMBOL = "BTC/USDT"
Levels = list[tuple[Decimal, Decimal]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


def fake_depth(fake: FakeHandle, limit: int = 20) -> tuple[Levels, Levels]:
    """The exchange's book as any client reads it (its public REST depth)."""
    with urllib.request.urlopen(f"{fake.rest_url}/depth?symbol=BTCUSDT&limit={limit}", timeout=10) as resp:
        raw = json.loads(resp.read())
    return (
        [(Decimal(p), Decimal(q)) for p, q in raw["bids"]],
        [(Decimal(p), Decimal(q)) for p, q in raw["asks"]],
    )


def ladder(app: AlphintraApp) -> tuple[Levels, Levels]:
    book = app.state.books.get(SYMBOL)
    if book is None:
        return [], []
    return [(p, q) for p, q, _ in book.bids], [(p, q) for p, q, _ in book.asks]


def screen_text(widget: Static) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


@pytest.mark.anyio
async def test_the_ladder_is_the_exchanges_book_with_its_venue_and_connection(fake: FakeHandle) -> None:
    fake.admin("POST", "price", {"symbol": SYMBOL, "price": "30000"})
    with daemon_home() as d:
        live_home(d, fake)
        d.start()
        source = EngineDataSource(AsyncEngineClient(socket_path=Path(d.socket)), poll_interval=0.3, max_backoff=0.5)
        app = AlphintraApp(source, symbol=SYMBOL, mode="trade")
        async with app.run_test(size=(160, 48)) as pilot:
            first = fake_depth(fake)
            assert first[0] and first[1] and first[0][0][0] < Decimal(30000) < first[1][0][0]
            await wait_until(pilot, lambda: ladder(app) == first, "the ladder to hold the exchange's depth")
            panel = app.screen.query_one(BookLadder)
            await wait_until(pilot, lambda: f"· {VENUE} connected" in str(panel.border_title), "venue and state")
            assert str(panel.border_title) == f"Order book {SYMBOL} · {VENUE} connected"
            # someone else's order joins the best bid: the book changes, nothing trades and no price moves, so
            # only the venue's book stream can bring it to the ladder
            other = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "1000000"}})
            maker = ccxt.binance(fake.ccxt_config(apiKey=other["api_key"], secret=other["api_secret"]))
            best_bid, size = first[0][0]
            maker.create_order(SYMBOL, "limit", "buy", 0.5, float(best_bid), {"timeInForce": "GTC"})
            joined = fake_depth(fake)
            assert joined[0][0] == (best_bid, size + Decimal("0.5")) and joined[1] == first[1]
            await wait_until(pilot, lambda: ladder(app) == joined, "the ladder to show the joined bid")
            # the exchange's book moves: the ladder follows it level for level
            fake.admin("POST", "price", {"symbol": SYMBOL, "price": "31000"})
            moved = fake_depth(fake)
            assert moved[1][0][0] > Decimal(31000)
            await wait_until(pilot, lambda: ladder(app) == moved, "the ladder to follow the exchange's book")
            # and draws both sides' best levels on screen (with the instrument's tick: 0.01 at the fake)
            body = app.screen.query_one("#book-body", Static)
            best = (f"{moved[1][0][0]:,.2f}", f"{moved[0][0][0]:,.2f}")
            await wait_until(pilot, lambda: all(p in screen_text(body) for p in best), f"{best} drawn")
