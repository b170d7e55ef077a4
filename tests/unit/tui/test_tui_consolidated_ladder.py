"""The TUI ladder of a symbol listed on several venues shows their consolidated book: each level at its price after
its venue's taker fee, with the venue, in the order of the engine's merge."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Static
from tui_fixed import SIZE, fixed_app, settle

from alphintra.engine.book_merge import VenueBook, consolidate
from alphintra.tui.widgets.market import BookLadder

pytestmark = pytest.mark.anyio
D = Decimal
KEY = "BTC/USDT@a"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_ladder_shows_the_merge_of_the_venues_books_with_each_levels_venue() -> None:
    a = VenueBook("a", KEY, D("0.001"), [(D("29990"), D(1))], [(D("30000"), D("0.3")), (D("30010"), D("0.5"))])
    b = VenueBook("b", "BTC/USDT@b", D("0.002"), [(D("29985"), D(1))], [(D("29995"), D("0.4"))])
    merged = consolidate("BTC/USDT", [a, b])
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")  # the market screen
        await settle(pilot)
        app.buffer.put("book", KEY, {**merged.to_dict(), "symbol": KEY, "ts": "2026-01-01T00:00:00Z"})
        app.flush()
        ladder = app.screen.query_one(BookLadder)
        ladder.refresh_state(app.state, KEY)
        await pilot.pause()
        body = ladder.query_one("#book-body", Static)
        lines = [body.render_line(y).text for y in range(body.size.height)]
    rows = [line.split() for line in lines if line.strip()]
    # asks best last (just above the spread), bids best first; the price column is the all-in price
    shown_asks = [(r[0], r[-1]) for r in rows[: len(merged.asks)]][::-1]
    shown_bids = [(r[0], r[-1]) for r in rows[len(merged.asks) + 1 :]]
    assert shown_asks == [(f"{lvl.all_in:,.2f}", lvl.venue) for lvl in merged.asks]
    assert shown_bids == [(f"{lvl.all_in:,.2f}", lvl.venue) for lvl in merged.bids]
    assert [venue for _, venue in shown_asks] == ["a", "a", "b"]  # 30030, 30040.01, 30054.99
    assert ladder.border_title == f"Order book {KEY} · all venues, after taker fees"
