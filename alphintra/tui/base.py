"""Pieces every screen and panel shares: the app's interface as panels see it, the panel base, number formatting.

Panels never call the daemon or hold data of their own: they read the app's ``TuiState`` when the kinds of data
they show have changed (``KINDS``), and ask the app to run commands (``act``), which turns any failure into a
notification.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable

from alphintra.formatting import amount

if TYPE_CHECKING:
    from alphintra.tui.source import DataSource
    from alphintra.tui.state import TuiState


class Workstation(Protocol):
    """What panels may use of the app."""

    state: TuiState
    source: DataSource
    symbol: str
    timeframe: str

    def act(self, work: Awaitable[Any], done: str | Callable[[Any], str] | None = None) -> None: ...

    def select_symbol(self, symbol: str) -> None: ...

    def load_candles(self) -> None: ...


def workstation(widget: Widget) -> Workstation:
    return cast(Workstation, widget.app)


class Panel(Widget):
    """A bordered box that redraws from the state when one of its ``KINDS`` changed."""

    KINDS: ClassVar[frozenset[str]] = frozenset()
    TITLE: ClassVar[str] = ""

    def on_mount(self) -> None:
        self.border_title = self.TITLE
        self.add_class("panel")

    def wants(self, changed: set[str]) -> bool:
        return bool(self.KINDS & changed)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        raise NotImplementedError


class SyncTable(DataTable[RenderableType]):
    """A DataTable updated in place by row key, so the cursor stays on the same row while data streams in."""

    def __init__(self, *columns: str, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self._column_names = columns

    def on_mount(self) -> None:
        for name in self._column_names:
            self.add_column(name, key=name)

    @property
    def keys(self) -> list[str]:
        return [str(key.value) for key in self.rows]

    @property
    def selected_key(self) -> str | None:
        keys = self.keys
        if not keys or not 0 <= self.cursor_row < len(keys):
            return None
        return keys[self.cursor_row]

    def sync(self, rows: Sequence[tuple[str, Sequence[RenderableType]]]) -> None:
        keys = [key for key, _ in rows]
        if keys == self.keys:
            names = list(self._column_names)
            for key, cells in rows:
                for name, cell in zip(names, cells, strict=True):
                    if self.get_cell(key, name) != cell:
                        self.update_cell(key, name, cell, update_width=True)
            return
        selected = self.selected_key
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False)
        # DataTable measures new rows when idle but keeps the lines it rendered with the old column widths (Textual
        # 8.2), so a rebuilt table would show cut-off cells until something else redraws it.
        self.call_after_refresh(self._repaint)

    def _repaint(self) -> None:
        self._clear_caches()
        self.refresh()


# -- formatting -----------------------------------------------------------------------------------------------------


def money(value: Decimal | None, places: int = 2) -> str:
    # alphintra.formatting rounds half-even in its own decimal context; an f-string would round with the thread's,
    # which ccxt leaves at ROUND_HALF_UP (a 4.50225 fee showed as 4.5023 after a venue call in the same process).
    return amount(value, places)


def qty(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), ",f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def signed(value: Decimal | float | None, places: int = 2, suffix: str = "") -> Text:
    """Green for gains, red for losses."""
    if value is None:
        return Text("-")
    style = "green" if value > 0 else "red" if value < 0 else ""
    sign = "+" if value > 0 else ""
    return Text(f"{sign}{amount(value, places)}{suffix}", style=style, justify="right")


def side_text(side: str) -> Text:
    return Text(side, style="bold green" if side == "BUY" else "bold red")


def clock(ns: int, with_date: bool = False) -> str:
    """UTC wall time of a nanosecond timestamp (UTC so that every trader and every snapshot sees the same)."""
    if ns <= 0:
        return "-"
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    return moment.strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def places_for(step: Decimal) -> int:
    """How many decimals a price with this tick size shows."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 2


def right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


__all__ = [
    "Panel",
    "SyncTable",
    "Workstation",
    "clock",
    "money",
    "places_for",
    "qty",
    "right",
    "side_text",
    "signed",
    "workstation",
]
