"""Dashboard: the whole account at a glance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid

from alphintra.tui.screens.workspace import WorkspaceScreen
from alphintra.tui.widgets.account import Balances, EngineLog, Fills, OpenOrders, Positions
from alphintra.tui.widgets.market import Watchlist


class DashboardScreen(WorkspaceScreen):
    NAME = "Dashboard"

    def body(self) -> ComposeResult:
        with Grid(id="dashboard"):
            yield Watchlist(id="dash-watch")
            yield Positions(id="dash-positions")
            yield Balances(id="dash-balances")
            yield OpenOrders(id="dash-orders")
            yield Fills(id="dash-fills")
            yield EngineLog(id="dash-log")


__all__ = ["DashboardScreen"]
