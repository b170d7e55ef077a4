"""The app on the recorded data set: the order ticket's live checks, per-frame coalescing under load, the lost-engine
banner, errors as notifications, symbol selection, theme and help."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from textual.widgets import Input, Static
from tui_fixed import SIZE, fixed_app, settle

from alphintra.tui.app import DARK_THEME, LIGHT_THEME
from alphintra.tui.models import Connection
from alphintra.tui.recorded import READ_ONLY
from alphintra.tui.screens.dialogs import ConfirmOrderDialog
from alphintra.tui.screens.help import HelpScreen
from alphintra.tui.widgets.market import BookLadder
from alphintra.tui.widgets.order_form import OrderForm

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def static_text(widget: Static) -> str:
    """The text a widget shows on screen, line by line."""
    return "\n".join(widget.render_line(y).text.rstrip() for y in range(widget.size.height)).strip("\n")


def book(price: str) -> dict[str, object]:
    return {"symbol": "GOOG", "bids": [[price, "6", 1]], "asks": [["900.00", "6", 1]], "ts": 1}


async def test_the_ticket_checks_as_you_type_and_a_refused_order_is_a_notification() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "o")
        await settle(pilot)
        form = app.screen.query_one(OrderForm)
        errors = form.query_one("#of-errors", Static)
        assert app.focused is form.query_one("#of-qty", Input)

        await pilot.press(*"2.5")
        await pilot.click("#of-price")
        await pilot.press(*"700.005")
        await pilot.pause()
        assert form.checked.errors == {
            "quantity": "must be a multiple of lot 1",
            "price": "must be a multiple of tick 0.01",
        }
        shown = " ".join(static_text(errors).split())  # the panel wraps long lines
        assert shown == "✗ quantity: must be a multiple of lot 1 ✗ price: must be a multiple of tick 0.01"
        assert form.query_one("#of-qty", Input).has_class("-invalid")

        form.fill(quantity="2", price="700")
        await pilot.pause()
        assert static_text(errors) == ""
        preview = " ".join(static_text(form.query_one("#of-preview", Static)).split())
        # 2 x 700 at the maker fee of 0.1 %, against the recorded 86,297.46 USD available.
        assert "Notional 1,400.00 USD" in preview
        assert "Fee 1.40 (0.10%)" in preview
        assert "Buying power 86,297.46 → 84,896.06" in preview

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmOrderDialog)
        assert app.screen.payload == {
            "symbol": "GOOG",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "2",
            "price": "700",
            "time_in_force": "GTC",
        }
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmOrderDialog)
        assert [n.message for n in app._notifications] == [READ_ONLY]
        assert app.state.log[-1].text == READ_ONLY
        assert app.is_running


async def test_a_thousand_book_updates_cost_one_redraw_per_frame() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        ladder = app.screen.query_one(BookLadder)
        draws = 0
        original = ladder.refresh_state

        def counting(*args: object) -> None:
            nonlocal draws
            draws += 1
            original(*args)  # type: ignore[arg-type]

        ladder.refresh_state = counting  # type: ignore[method-assign]
        for i in range(1000):
            app.buffer.put("book", "GOOG", book(f"{700 + i / 100:.2f}"))
        assert app.flush() == {"book"}
        await pilot.pause()
        assert draws == 1
        assert app.state.books["GOOG"].bids[0][0] == Decimal("709.99")
        assert "709.99" in static_text(ladder.query_one("#book-body", Static))


@pytest.mark.serial
async def test_the_screen_stays_responsive_under_a_thousand_updates_a_second() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        frames_before, received_before = app.frames, app.buffer.received
        started = time.monotonic()

        async def feed() -> None:
            # 1,000 book messages over about a second, in bursts of ten as a socket would deliver them.
            for burst in range(100):
                for i in range(10):
                    app.buffer.put("book", "GOOG", book(f"{800 + (burst * 10 + i) / 100:.2f}"))
                    app.buffer.put("ticker", "GOOG", {"symbol": "GOOG", "last": "801", "ts": burst})
                await asyncio.sleep(0.01)

        feeder = asyncio.create_task(feed())
        await pilot.press("2")
        await pilot.press("4")
        await pilot.press("2")
        await feeder
        await settle(pilot)
        elapsed = time.monotonic() - started
        assert app.screen.name is None and type(app.screen).__name__ == "TradeScreen"
        # Every message was taken (plus the candles the Trade screen loads), ...
        assert app.buffer.received - received_before >= 2000
        frames = app.frames - frames_before
        # ... yet there was at most one redraw per frame (30 a second), however many messages arrived.
        assert 1 <= frames <= elapsed * 30 + 4
        assert app.state.books["GOOG"].bids[0][0] == Decimal("809.99")


async def test_a_lost_engine_shows_a_banner_until_it_is_back() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        banner = app.screen.query_one("#banner", Static)
        assert banner.display is False
        app.buffer.put("connection", "engine", Connection(False, "no engine is running (socket /tmp/x.sock)", 3))
        app.flush()
        await pilot.pause()
        assert banner.display is True
        assert static_text(banner) == (
            "⚠ engine connection lost: no engine is running (socket /tmp/x.sock) — reconnecting (attempt 3)"
        )
        app.buffer.put("connection", "engine", Connection(True))
        app.flush()
        await pilot.pause()
        assert banner.display is False


async def test_a_read_only_engine_shows_a_banner_until_it_can_write_again() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        banner = app.screen.query_one("#banner", Static)
        why = "journal write failed: [Errno 28] No space left on device"
        app.buffer.put("connection", "engine", Connection(True, read_only=why))
        app.flush()
        await pilot.pause()
        assert banner.display is True
        assert static_text(banner) == (
            f"⚠ engine READ-ONLY — new orders are refused until it can write its journal: {why}"
        )
        assert (app.state.log[-1].level, app.state.log[-1].text) == ("ERROR", f"engine read-only: {why}")
        app.buffer.put("connection", "engine", Connection(True))
        app.flush()
        await pilot.pause()
        assert banner.display is False
        assert app.state.log[-1].text == "engine writable again"


async def test_enter_on_the_watchlist_selects_the_symbol_everywhere() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.symbol == "GOOG"
        await pilot.press("2")
        await settle(pilot)
        app.screen.query_one("#watch-table").focus()
        await pilot.press("up", "enter")
        await settle(pilot)
        assert app.symbol == "ETH/USD"
        assert app.screen.query_one(OrderForm).border_title == "Order entry · ETH/USD"
        assert app.screen.query_one(BookLadder).border_title == "Order book ETH/USD"


async def test_cancel_on_a_recording_notifies_and_keeps_the_order() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders").focus()
        await pilot.press("c")
        await settle(pilot)
        assert [n.message for n in app._notifications] == [READ_ONLY]
        assert len(app.state.open_orders()) == 3


async def test_theme_toggle_and_help() -> None:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == DARK_THEME
        await pilot.press("f2")
        assert app.theme == LIGHT_THEME
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_no_frame_is_drawn_while_the_app_shuts_down() -> None:
    """Shutting down removes widgets one by one while the frame timer still runs: a frame in between looked for
    a table that had just gone (NoMatches, seen in CI). Once the app is exiting, updates are folded, not drawn."""
    from alphintra.tui.base import SyncTable
    from alphintra.tui.widgets.account import Positions

    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(Positions)
        await panel.query_one("#positions", SyncTable).remove()  # as the shutdown does, child before parent
        app.exit()
        app.buffer.put("positions", "all", [])
        assert app.flush() == {"positions"}  # folded into the state; drawing it would have raised
        assert app.state.positions == []
