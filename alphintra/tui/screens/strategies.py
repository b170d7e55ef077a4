"""Strategies: what runs, how it does, start / stop and parameters; with the fills and the engine log below."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from alphintra.tui.screens.workspace import WorkspaceScreen
from alphintra.tui.widgets.account import EngineLog, Fills
from alphintra.tui.widgets.strategies import StrategiesPanel


class StrategiesScreen(WorkspaceScreen):
    NAME = "Strategies"

    def body(self) -> ComposeResult:
        with Vertical(id="strategies-screen"):
            yield StrategiesPanel(id="strat-panel")
            with Horizontal(id="strat-bottom"):
                yield Fills(id="strat-fills")
                yield EngineLog(id="strat-log")


__all__ = ["StrategiesScreen"]
