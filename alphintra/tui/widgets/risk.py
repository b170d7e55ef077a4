"""Risk: how much of each watched limit is used, the account's risk figures, halts, and the alerts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from alphintra.tui.base import Panel, SyncTable, clock, money, workstation
from alphintra.tui.models import LimitUsage
from alphintra.tui.state import TuiState

SEVERITY_STYLES = {"CRITICAL": "bold red", "WARNING": "yellow", "INFO": "dim"}
# (label, key in /risk/metrics, is a percentage)
FIGURES = (
    ("Equity", "equity", False),
    ("Session PnL", "session_pnl", False),
    ("Daily loss", "daily_loss", False),
    ("Drawdown", "drawdown_pct", True),
    ("Gross exposure", "gross_exposure", False),
    ("Net exposure", "net_exposure", False),
    ("Leverage", "leverage", False),
    ("Volatility", "volatility_pct", True),
    ("VaR 95% 1d", "var_95", False),
    ("Open orders", "open_orders", False),
)


def usage_bar(usage: LimitUsage, width: int) -> Text:
    """A bar filled to the used fraction: green, yellow past the warning level, red at the breach."""
    fraction = min(1.0, max(0.0, usage.fraction))
    filled = round(width * fraction)
    warning = usage.warning if usage.warning is not None else usage.breach * Decimal("0.8")
    style = "red" if usage.value >= usage.breach else "yellow" if usage.value >= warning else "green"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    return bar


def _figure(raw: object, percent: bool) -> str:
    if raw is None:
        return "n/a"
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return str(raw)
    return f"{money(value)}%" if percent else money(value) if value != value.to_integral() else money(value, 0)


class RiskPanel(Panel):
    """Usage bars and figures; the risk screen's h halts all trading, u resumes it."""

    KINDS = frozenset({"risk"})
    TITLE = "Risk"

    def compose(self) -> ComposeResult:
        yield Static(id="risk-usage")
        yield Static(id="risk-figures")

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        risk = state.risk
        usage = Table.grid(padding=(0, 1), expand=True)
        usage.add_column(no_wrap=True)
        usage.add_column(ratio=1, no_wrap=True)
        usage.add_column(justify="right", no_wrap=True)
        bar_w = max(8, self.size.width - 44)
        if risk is None or not risk.usage:
            usage.add_row(Text("no watched limits set", style="dim"), "", "")
        else:
            for item in risk.usage:
                used = f"{money(item.value)} / {money(item.breach)} ({item.fraction * 100:.0f}%)"
                usage.add_row(item.metric.replace("_", " "), usage_bar(item, bar_w), used)
        self.query_one("#risk-usage", Static).update(usage)

        figures = Table.grid(padding=(0, 2))
        figures.add_column(style="dim", no_wrap=True)
        figures.add_column(justify="right", no_wrap=True)
        figures.add_column(style="dim", no_wrap=True)
        figures.add_column(justify="right", no_wrap=True)
        metrics = risk.metrics if risk else {}
        cells = [(label, _figure(metrics.get(key), pct)) for label, key, pct in FIGURES]
        for left, right in zip(cells[0::2], cells[1::2], strict=False):
            figures.add_row(left[0], left[1], right[0], right[1])
        halts = list(risk.halted) if risk else []
        halts += [f"{h.get('scope')}:{h.get('scope_id')}" for h in state.limits.get("halts", []) if isinstance(h, dict)]
        status = Text("\nTrading ", style="dim")
        if halts:
            status.append(f"HALTED ({', '.join(sorted(set(halts)))})", style="bold white on red")
        else:
            status.append("active", style="bold green")
        box = Table.grid()
        box.add_row(figures)
        box.add_row(status)
        self.query_one("#risk-figures", Static).update(box)

    def action_halt(self) -> None:
        from alphintra.tui.screens.dialogs import ReasonDialog

        app = workstation(self)

        def done(reason: str | None) -> None:
            if reason:
                app.act(app.source.halt(reason), "trading halted")

        self.app.push_screen(ReasonDialog("Halt all trading", "Why halt?"), done)

    def action_resume(self) -> None:
        from alphintra.tui.screens.dialogs import ReasonDialog

        app = workstation(self)

        def done(reason: str | None) -> None:
            if reason:
                app.act(app.source.resume(reason), "trading resumed")

        self.app.push_screen(ReasonDialog("Resume trading", "Why resume?"), done)


class AlertsPanel(Panel):
    KINDS = frozenset({"alerts"})
    TITLE = "Alerts"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "ack", "Acknowledge")]

    def compose(self) -> ComposeResult:
        yield SyncTable("Time", "Severity", "Rule", "Message", "Ack", id="alerts")

    @property
    def table(self) -> SyncTable:
        return self.query_one("#alerts", SyncTable)

    def refresh_state(self, state: TuiState, symbol: str) -> None:
        alerts = sorted(state.alerts.values(), key=lambda a: (a.time, a.id), reverse=True)
        unacked = sum(1 for a in alerts if not a.acknowledged)
        self.border_title = f"Alerts ({unacked} new)" if unacked else "Alerts"
        rows = [
            (
                str(a.id),
                (
                    clock(a.time, with_date=True),
                    Text(a.severity, style=SEVERITY_STYLES.get(a.severity, "")),
                    a.rule,
                    a.message,
                    "✓" if a.acknowledged else "",
                ),
            )
            for a in alerts
        ]
        self.table.sync(rows)

    def action_ack(self) -> None:
        key = self.table.selected_key
        if key is None:
            self.notify("no alert selected", severity="warning")
            return
        app = workstation(self)
        app.act(app.source.ack_alert(int(key)), f"alert {key} acknowledged")


__all__ = ["AlertsPanel", "RiskPanel", "usage_bar"]
