"""Risk: limit usage, figures, halts and alerts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical

from alphintra.tui.screens.workspace import WorkspaceScreen
from alphintra.tui.widgets.account import Positions
from alphintra.tui.widgets.risk import AlertsPanel, RiskPanel


class RiskScreen(WorkspaceScreen):
    NAME = "Risk"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "halt", "Halt trading"),
        Binding("u", "resume", "Resume trading"),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="risk-screen"):
            yield RiskPanel(id="risk-panel")
            yield AlertsPanel(id="risk-alerts")
            yield Positions(id="risk-positions")

    def action_halt(self) -> None:
        self.query_one(RiskPanel).action_halt()

    def action_resume(self) -> None:
        self.query_one(RiskPanel).action_resume()


__all__ = ["RiskScreen"]
