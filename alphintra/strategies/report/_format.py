"""How every report writes numbers, times and metric names, so the terminal, HTML and text agree."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alphintra.strategies.metrics import Metrics

_NS = 1_000_000_000

# (section, field, label, kind); kind picks the formatter. Order is the order of every metrics table.
METRIC_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("Returns", "total_return", "Total return", "pct"),
    ("Returns", "annual_return", "Annual return (CAGR)", "pct"),
    ("Returns", "buy_and_hold_return", "Buy & hold return", "pct"),
    ("Returns", "net_profit", "Net profit", "money"),
    ("Returns", "start_equity", "Start equity", "money"),
    ("Returns", "end_equity", "End equity", "money"),
    ("Risk", "volatility", "Volatility (annual)", "pct"),
    ("Risk", "sharpe", "Sharpe", "ratio"),
    ("Risk", "sortino", "Sortino", "ratio"),
    ("Risk", "calmar", "Calmar", "ratio"),
    ("Risk", "max_drawdown", "Max drawdown", "pct"),
    ("Risk", "max_drawdown_amount", "Max drawdown (money)", "money"),
    ("Risk", "max_drawdown_pct_amount", "Max % drawdown in money", "money"),
    ("Risk", "max_drawdown_duration_bars", "Longest drawdown (bars)", "int"),
    ("Risk", "max_drawdown_duration_ns", "Longest drawdown (time)", "duration"),
    ("Trades", "num_trades", "Trades", "int"),
    ("Trades", "win_rate", "Win rate", "pct"),
    ("Trades", "profit_factor", "Profit factor", "ratio"),
    ("Trades", "expectancy", "Expectancy (per trade)", "money"),
    ("Trades", "avg_trade_return", "Average trade return", "pct"),
    ("Trades", "avg_win", "Average win", "money"),
    ("Trades", "avg_loss", "Average loss", "money"),
    ("Trades", "best_trade", "Best trade", "money"),
    ("Trades", "worst_trade", "Worst trade", "money"),
    ("Activity", "exposure", "Exposure", "pct"),
    ("Activity", "turnover", "Turnover (x equity)", "ratio"),
    ("Activity", "traded_notional", "Traded notional", "money"),
    ("Activity", "fees", "Fees", "money"),
    ("Activity", "bars", "Bars", "int"),
)

# What the less obvious figures mean, printed under the metrics of the text and HTML reports (docs/figures.md
# says the same at length).
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Max drawdown", "the deepest fall of equity from its running peak, in percent of that peak"),
    ("Max drawdown (money)", "the most money equity ever gave back from a running peak (not always the deepest %)"),
    ("Max % drawdown in money", "the money lost in the deepest percentage fall"),
)

MISSING = "-"
_CENT = Decimal("0.01")
_HUGE = Decimal(10) ** 20


def fmt_pct(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:,.2f} %"


def fmt_ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.3f}"


def fmt_money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return MISSING
    # Two decimals are enough to read a report; the JSON keeps every digit.
    text = (
        f"{value.quantize(Decimal('0.01')):,}" if value.is_finite() and abs(value) < Decimal(10) ** 20 else str(value)
    )
    return f"{text} {currency}".rstrip()


def fmt_ts(ts_ns: int | None) -> str:
    if ts_ns is None:
        return MISSING
    moment = datetime.fromtimestamp(ts_ns // _NS, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M") if moment.hour or moment.minute else moment.strftime("%Y-%m-%d")


def fmt_duration(ns: int | None) -> str:
    if ns is None:
        return MISSING
    seconds = ns // _NS
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours or (days and minutes):
        parts.append(f"{hours}h")
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return " ".join(parts)


def fmt_metric(kind: str, value: Any, currency: str = "") -> str:
    if kind == "pct":
        return fmt_pct(value)
    if kind == "ratio":
        return fmt_ratio(value)
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "duration":
        return fmt_duration(value)
    return MISSING if value is None else f"{value:,}"


def metric_rows(metrics: Metrics, currency: str = "") -> list[tuple[str, str, str]]:
    """``(section, label, formatted value)`` for every reported metric, in report order."""
    return [
        (section, label, fmt_metric(kind, getattr(metrics, name), currency))
        for section, name, label, kind in METRIC_ROWS
    ]


def fmt_param(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(fmt_param(v) for v in value) + "]"
    return format(value, "f") if isinstance(value, Decimal) else str(value)
