"""The base of every main screen: header, connection banner, panels, footer; panels redraw from the app's state."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from alphintra.tui.base import Panel, workstation
from alphintra.tui.widgets.account import ConnectionBanner


class WorkspaceScreen(Screen[None]):
    NAME: ClassVar[str] = ""
    # Start on a table, not a text box, so that the screen keys (1-5, c, m ...) work at once.
    AUTO_FOCUS = "SyncTable"

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield ConnectionBanner(id="banner")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        raise NotImplementedError

    _panels: list[Panel] | None = None

    def on_mount(self) -> None:
        self.sub_title = self.NAME

    def on_screen_resume(self) -> None:
        self.refresh_panels(None)

    def refresh_panels(self, changed: set[str] | None) -> None:
        """Redraw the panels that show a changed kind (all of them when ``changed`` is None)."""
        app = workstation(self)
        state, symbol = app.state, app.symbol
        if changed is None or "connection" in changed:
            self.query_one(ConnectionBanner).show(state)
        if self._panels is None:
            # Panels are fixed once composed; querying the DOM every frame cost half of a frame's work.
            self._panels = list(self.query(Panel))
        for panel in self._panels:
            if changed is None or panel.wants(changed):
                panel.refresh_state(state, symbol)


__all__ = ["WorkspaceScreen"]
