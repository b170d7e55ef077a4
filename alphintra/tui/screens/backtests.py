"""Backtests: past runs with their headline metrics; Enter opens one (all metrics and the equity curve)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from alphintra.errors import AlphintraError
from alphintra.tui.base import SyncTable, right, signed, workstation
from alphintra.tui.chart import render_chart
from alphintra.tui.models import BacktestDetail, BacktestRun, Candle
from alphintra.tui.screens.workspace import WorkspaceScreen


def _pct(value: float | None) -> Text:
    if value is None:
        return right("-")
    style = "green" if value > 0 else "red" if value < 0 else ""
    return right(f"{value * 100:+.2f}%", style)


def _num(value: float | None, places: int = 2) -> Text:
    return right("-" if value is None else f"{value:.{places}f}")


def equity_candles(detail: BacktestDetail) -> list[Candle]:
    """The equity curve as flat bars, so the chart's line mode can draw it."""
    return [Candle(ts, v, v, v, v, Decimal(0)) for ts, v in detail.equity]


class BacktestsScreen(WorkspaceScreen):
    NAME = "Backtests"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+r", "reload", "Reload")]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[BacktestRun] = []
        self.detail: BacktestDetail | None = None

    def body(self) -> ComposeResult:
        with Horizontal(id="backtests"):
            with Vertical(id="bt-list", classes="panel"):
                yield SyncTable(
                    "Run", "Strategy", "Symbols", "TF", "Return", "Sharpe", "Max DD", "Trades", id="bt-runs"
                )
            with Vertical(id="bt-detail", classes="panel"):
                yield Static(id="bt-metrics")
                yield Static(id="bt-equity")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#bt-list").border_title = "Backtest runs"
        self.query_one("#bt-detail").border_title = "Run"
        self.query_one("#bt-detail").border_subtitle = "Enter opens the highlighted run"

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.action_reload()

    def action_reload(self) -> None:
        self._load_runs()

    @work(exclusive=True, group="backtests", exit_on_error=False)
    async def _load_runs(self) -> None:
        try:
            self.runs = await workstation(self).source.backtests()
        except AlphintraError as exc:
            self.notify(exc.message, title="Backtests", severity="error")
            self.runs = []
        rows = [
            (
                r.id,
                (
                    r.id,
                    r.strategy,
                    r.symbols,
                    r.timeframe,
                    _pct(r.total_return),
                    _num(r.sharpe),
                    _pct(r.max_drawdown),
                    right(str(r.trades) if r.trades is not None else "-"),
                ),
            )
            for r in self.runs
        ]
        self.query_one("#bt-runs", SyncTable).sync(rows)
        if self.runs and self.detail is None:
            self._open(self.runs[0].id)
        elif not self.runs:
            self.query_one("#bt-metrics", Static).update(
                Text("no backtest runs yet (alphintra backtest run ...)", style="dim")
            )

    @on(DataTable.RowSelected, "#bt-runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    @work(exclusive=True, group="backtest-detail", exit_on_error=False)
    async def _open(self, run_id: str) -> None:
        try:
            self.detail = await workstation(self).source.backtest(run_id)
        except AlphintraError as exc:
            self.notify(exc.message, title="Backtest", severity="error")
            return
        self._show()

    def on_resize(self) -> None:
        if self.detail is not None:
            self._show()

    def _show(self) -> None:
        d = self.detail
        if d is None:
            return
        self.query_one("#bt-detail").border_title = f"Run {d.run_id}"
        table = Table.grid(padding=(0, 2))
        for _ in range(4):
            table.add_column(no_wrap=True)
        items = [(label, _metric(d.metrics.get(key), kind)) for label, key, kind in METRICS if key in d.metrics]
        for i in range(0, len(items), 2):
            cells: list[Text | str] = []
            for name, value in items[i : i + 2]:
                cells += [Text(name, style="dim"), value]
            table.add_row(*cells)
        header = Text(f"{d.strategy} on {', '.join(d.symbols)} {d.timeframe} · {d.trades} trades\n", style="bold")
        box = Table.grid()
        box.add_row(header)
        box.add_row(table)
        self.query_one("#bt-metrics", Static).update(box)
        # The curve fills what the metrics leave, which is known only once they are laid out.
        self.call_after_refresh(self._draw_equity)

    def _draw_equity(self) -> None:
        d = self.detail
        if d is None:
            return
        equity = self.query_one("#bt-equity", Static)
        width, height = equity.size.width, equity.size.height
        chart = render_chart(equity_candles(d), width, height, mode="line", fit=True, empty="no equity curve saved")
        equity.update(chart)


# (label, key in the run's metrics, how to show it)
METRICS = (
    ("Total return", "total_return", "pct"),
    ("Annual return", "annual_return", "pct"),
    ("Sharpe", "sharpe", "num"),
    ("Sortino", "sortino", "num"),
    ("Max drawdown", "max_drawdown", "pct"),
    ("Volatility", "volatility", "pct"),
    ("Trades", "num_trades", "int"),
    ("Win rate", "win_rate", "pct"),
    ("Profit factor", "profit_factor", "num"),
    ("Exposure", "exposure", "pct"),
    ("Net profit", "net_profit", "money"),
    ("Fees", "fees", "money"),
    ("End equity", "end_equity", "money"),
    ("Buy and hold", "buy_and_hold_return", "pct"),
)


def _metric(value: object, kind: str) -> Text:
    if value is None:
        return Text("-")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return Text(str(value))
    if kind == "pct":
        return signed(number * 100, 2, "%")
    if kind == "int":
        return Text(f"{number:,.0f}")
    if kind == "money":
        return Text(f"{number:,.2f}")
    return Text(f"{number:,.2f}")


__all__ = ["BacktestsScreen", "equity_candles"]
