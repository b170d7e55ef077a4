"""The Alphintra workstation: a Textual app over one ``DataSource``.

Updates from the source land in an ``UpdateBuffer``; once per frame the app drains it into ``TuiState`` and tells
the visible screen which kinds of data changed, so a flood of book messages costs one redraw per frame. Commands
run as workers through ``act``: a failure becomes a notification, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import Screen

from alphintra.errors import AlphintraError
from alphintra.tui.buffer import UpdateBuffer
from alphintra.tui.screens.backtests import BacktestsScreen
from alphintra.tui.screens.dashboard import DashboardScreen
from alphintra.tui.screens.help import HelpScreen
from alphintra.tui.screens.risk import RiskScreen
from alphintra.tui.screens.strategies import StrategiesScreen
from alphintra.tui.screens.trade import TradeScreen
from alphintra.tui.screens.workspace import WorkspaceScreen
from alphintra.tui.source import DataSource
from alphintra.tui.state import TuiState

log = logging.getLogger(__name__)

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"
MODE_NAMES = {
    "dashboard": "Dashboard",
    "trade": "Trade",
    "strategies": "Strategies",
    "risk": "Risk",
    "backtests": "Backtests",
}
CANDLE_REFRESH_S = 5.0


class WorkstationCommands(Provider):
    """Palette entries: screens, symbols, theme, cancel-all, help."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app
        assert isinstance(app, AlphintraApp)
        out: list[tuple[str, Callable[[], Any], str]] = [
            (f"Go to {title}", partial(app.switch_mode, mode), f"show the {title} screen")
            for mode, title in MODE_NAMES.items()
        ]
        out += [
            (f"Select {symbol}", partial(app.select_symbol, symbol), "book, chart and order entry follow it")
            for symbol in app.state.symbols
        ]
        out += [
            ("Toggle light / dark theme", app.action_toggle_theme, "switch between the light and dark theme"),
            ("Cancel all open orders", app.action_cancel_all, "ask the engine to cancel every working order"),
            ("Help", app.action_help, "keys of every screen"),
        ]
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class AlphintraApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Alphintra"
    COMMANDS: ClassVar = App.COMMANDS | {WorkstationCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "dashboard": DashboardScreen,
        "trade": TradeScreen,
        "strategies": StrategiesScreen,
        "risk": RiskScreen,
        "backtests": BacktestsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('dashboard')", "Dashboard"),
        Binding("2", "switch_mode('trade')", "Trade"),
        Binding("3", "switch_mode('strategies')", "Strategies"),
        Binding("4", "switch_mode('risk')", "Risk"),
        Binding("5", "switch_mode('backtests')", "Backtests"),
        Binding("f1", "help", "Help"),
        Binding("f2", "toggle_theme", "Theme"),
        Binding("escape", "leave_input", "Leave field", show=False),
    ]

    symbol: reactive[str] = reactive("", init=False)
    timeframe: reactive[str] = reactive("1m", init=False)

    def __init__(
        self,
        source: DataSource,
        *,
        symbol: str | None = None,
        mode: str = "dashboard",
        frame_rate: float = 30.0,
        dark: bool = True,
        subtitle: str = "",
    ) -> None:
        super().__init__()
        self.source = source
        self.state = TuiState()
        self.buffer = UpdateBuffer()
        self.frames = 0
        self._frame_interval = 1.0 / frame_rate
        self._initial_mode = mode
        self._initial_symbol = symbol
        self.theme = DARK_THEME if dark else LIGHT_THEME
        self.sub_title = subtitle

    # -- life --------------------------------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        await self.switch_mode(self._initial_mode)
        await self.source.start(self.buffer.put)
        self.set_interval(self._frame_interval, self.flush, name="frame")
        self.set_interval(CANDLE_REFRESH_S, self._refresh_candles, name="candles")

    async def on_unmount(self) -> None:
        try:
            await self.source.close()
        except Exception:  # closing must not turn a clean exit into a traceback
            log.exception("closing the data source failed")

    # -- the frame ---------------------------------------------------------------------------------------------------

    def flush(self) -> set[str]:
        """Fold every pending update into the state and redraw what changed; returns the changed kinds."""
        updates = self.buffer.drain()
        if not updates:
            return set()
        changed = self.state.apply(updates)
        if not self.symbol and self.state.symbols:
            self.symbol = self._initial_symbol if self._initial_symbol in self.state.symbols else self.state.symbols[0]
        self.frames += 1
        self._redraw(changed)
        return changed

    def _redraw(self, changed: set[str] | None) -> None:
        # Once the app is exiting its screens lose their widgets one by one while the frame timer still fires; a
        # frame in between would look up a table that has just gone. The state still takes the updates.
        # (``is_attached`` turns false as soon as the app is told to exit.)
        if not self.is_running:
            return
        for screen in self.screen_stack:
            if isinstance(screen, WorkspaceScreen) and screen.is_mounted and screen.is_attached:
                screen.refresh_panels(changed)

    def watch_symbol(self, symbol: str) -> None:
        self.act(self.source.set_focus(symbol))
        self.load_candles()
        self._redraw({"symbol", "book", "orders", "candles"})

    def watch_timeframe(self) -> None:
        self.load_candles()
        self._redraw({"timeframe"})

    def _refresh_candles(self) -> None:
        if isinstance(self.screen, TradeScreen):
            self.load_candles()

    def load_candles(self) -> None:
        if self.symbol:
            self.act(self.source.load_candles(self.symbol, self.timeframe))

    # -- commands ----------------------------------------------------------------------------------------------------

    def select_symbol(self, symbol: str) -> None:
        if symbol in self.state.symbols:
            self.symbol = symbol

    def act(self, work: Awaitable[Any], done: str | Callable[[Any], str] | None = None) -> None:
        """Run a command in the background; its failure is a notification, its success optionally one too."""

        async def run() -> None:
            try:
                result = await work
            except AlphintraError as exc:
                self.notify(exc.message, title="Engine", severity="error", timeout=8)
                self.state.add_log("ERROR", exc.message)
                self._redraw({"log"})
                return
            except Exception as exc:  # never crash the workstation on an unexpected answer
                log.exception("command failed")
                self.notify(f"{type(exc).__name__}: {exc}", title="Unexpected error", severity="error", timeout=8)
                return
            if done is not None:
                message = done(result) if callable(done) else done
                self.notify(message, timeout=4)
                self.state.add_log("INFO", message)
                self._redraw({"log"})

        self.run_worker(run(), group="commands", exit_on_error=False)

    def action_leave_input(self) -> None:
        """Escape from a text field back to the screen's first table, where the single-key bindings work."""
        tables = self.screen.query("SyncTable")
        if tables:
            tables.first().focus()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.theme == DARK_THEME else DARK_THEME

    def action_cancel_all(self) -> None:
        self.act(self.source.cancel_all(), "cancel requested for every open order")


__all__ = ["MODE_NAMES", "AlphintraApp", "WorkstationCommands"]
