"""Layout snapshots of every screen at fixed sizes with the recorded data set (pytest-textual-snapshot).

Update after an intended change with ``pytest tests/unit/tui/test_tui_snapshots.py --snapshot-update`` and look at
the pictures in the report before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from tui_fixed import SIZE, SMALL, fixed_app, settle

Snap = Callable[..., bool]


def keys(*presses: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run


def test_dashboard(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys())


def test_dashboard_light_theme(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(dark=False), terminal_size=SIZE, run_before=keys())


def test_dashboard_at_100x30(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SMALL, run_before=keys())


def test_trade_daily_candles(snap_compare: Snap) -> None:
    # f four times: 1m -> 5m -> 15m -> 1h -> 1d, the timeframe of the recorded GOOG history.
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys("2", "f", "f", "f", "f"))


def test_trade_line_chart_at_100x30(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SMALL, run_before=keys("2", "f", "f", "f", "f", "v"))


def test_trade_ticket_confirmation(snap_compare: Snap) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await keys("2", "o", "3", "tab", "7", "9", "0", "enter")(pilot)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=run)


def test_strategies(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys("3"))


def test_risk(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys("4"))


def test_backtests(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys("5"))


def test_help(snap_compare: Snap) -> None:
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=keys("f1"))
