"""The help screen: every key, by screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Alphintra TUI

**Screens**: `1` Dashboard · `2` Trade · `3` Strategies · `4` Risk · `5` Backtests · `ctrl+p` command palette ·
`f1` this help · `f2` light/dark theme · `ctrl+q` quit

**Watchlist**: type in the search box to filter; `Enter` or a click selects the symbol for the book, chart and
order entry. `Escape` leaves a text field, so that the single keys work again.

**Trade**: `o` jumps to the order form; `Enter` in the form or `ctrl+s` reviews the order, which is checked
against tick, lot and minimum notional as you type, with notional, fee and buying power after the order.
`y` sends, `n` goes back. `f` switches the chart's timeframe, `v` candles or line. Your working orders are
lines on the chart (B / S on the axis), your fills ▲ ▼ markers.

**Open orders**: `c` cancels the highlighted order, `m` modifies its quantity or price, `ctrl+x` cancels all.

**Strategies**: `s` start, `x` stop (and cancel its orders), `e` edit parameters (JSON).

**Risk**: `h` halts all trading, `u` resumes (both ask for a reason); `a` acknowledges the highlighted alert.

**Backtests**: `Enter` opens a run (metrics and equity curve); `ctrl+r` reloads the list.

A lost engine shows a red banner; the TUI reconnects by itself. Errors appear as notifications (top right).
Times are UTC.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["HELP", "HelpScreen"]
