"""Strategies: status, PnL of their own fills, start / stop, and their parameters."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from alphintra.tui.base import Panel, SyncTable, signed, workstation
from alphintra.tui.models import Strategy
from alphintra.tui.state import TuiState

STATUS_STYLES = {"ACTIVE": "bold green", "RUNNING": "bold green", "ERROR": "bold red", "STOPPED": "dim"}


class StrategiesPanel(Panel):
    KINDS = frozenset({"strategies", "fills", "ticker"})
    TITLE = "Strategies"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("e", "edit", "Parameters"),
    ]

    def compose(self) -> ComposeResult:
        yield SyncTable("Name", "Strategy", "Symbols", "Status", "Running", "PnL", "Error", id="strategies")
        yield Static(id="strategy-detail")

    @property
    def table(self) -> SyncTable:
        return self.query_one("#strategies", SyncTable)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        rows = []
        for s in state.strategies:
            rows.append(
                (
                    s.name,
                    (
                        Text(s.name, style="bold"),
                        s.strategy,
                        ",".join(s.symbols),
                        Text(s.status, style=STATUS_STYLES.get(s.status, "")),
                        "yes" if s.running else "no",
                        signed(state.strategy_pnl(s.name)),
                        Text(s.error or "", style="red"),
                    ),
                )
            )
        self.table.sync(rows)
        self._detail()

    def selected(self) -> Strategy | None:
        key = self.table.selected_key
        return next((s for s in workstation(self).state.strategies if s.name == key), None)

    @on(DataTable.RowHighlighted, "#strategies")
    def _detail(self) -> None:
        chosen = self.selected()
        text = Text()
        if chosen is not None:
            text.append(f"{chosen.name}", style="bold")
            text.append(f" ({chosen.strategy} on {', '.join(chosen.symbols)})\n", style="dim")
            text.append("parameters ", style="dim")
            text.append(json.dumps(dict(chosen.params), sort_keys=True, default=str))
            if chosen.error:
                text.append(f"\nerror: {chosen.error}", style="red")
        self.query_one("#strategy-detail", Static).update(text)

    def _run(self, what: str) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("no strategy selected", severity="warning")
            return
        app = workstation(self)
        if what == "start":
            app.act(app.source.start_strategy(chosen.name), f"{chosen.name} started")
        else:
            app.act(app.source.stop_strategy(chosen.name), f"{chosen.name} stopped")

    def action_start(self) -> None:
        self._run("start")

    def action_stop(self) -> None:
        self._run("stop")

    def action_edit(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("no strategy selected", severity="warning")
            return
        from alphintra.tui.screens.dialogs import ParamsDialog

        app = workstation(self)

        def done(params: dict[str, object] | None) -> None:
            if params is not None:
                app.act(app.source.update_strategy(chosen.name, params), f"{chosen.name} parameters saved")

        self.app.push_screen(ParamsDialog(chosen), done)


__all__ = ["StrategiesPanel"]
