"""Rich renderables for the terminal: the run header, the metrics table, the trade list, optimiser results.

Everything here returns renderables (``Table``, ``Group``) instead of printing, so the CLI decides where they go
and tests can render them into a string with ``render_text``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from alphintra.strategies.metrics import Metrics
from alphintra.strategies.report._format import (
    METRIC_ROWS,
    MISSING,
    fmt_money,
    fmt_param,
    fmt_pct,
    fmt_ts,
    metric_rows,
)
from alphintra.strategies.result import BacktestResult, ClosedTrade, TradeSide

if TYPE_CHECKING:
    import polars as pl


def _signed(text: str, value: Any) -> Text:
    style = "" if value is None else ("green" if value > 0 else "red" if value < 0 else "")
    return Text(text, style=style)


def metrics_table(metrics: Metrics, *, currency: str = "", title: str | None = "Performance") -> Table:
    """Every metric in report order, grouped in sections (Returns, Risk, Trades, Activity)."""
    table = Table(title=title, show_header=True, header_style="bold cyan", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    section = ""
    for row_section, label, value in metric_rows(metrics, currency):
        if row_section != section:
            if section:
                table.add_section()
            section = row_section
        table.add_row(label, value)
    return table


def trades_table(
    trades: Sequence[ClosedTrade], *, currency: str = "", limit: int | None = 50, title: str | None = "Trades"
) -> Table:
    """Closed round trips, newest last; with ``limit`` only the last ``limit`` are listed (a caption says so)."""
    # limit 0 lists none (``list[-0:]`` would be every trade).
    shown = list(trades) if limit is None or len(trades) <= limit else list(trades)[-limit:] if limit > 0 else []
    first_no = len(trades) - len(shown) + 1
    caption = None if len(shown) == len(trades) else f"last {len(shown)} of {len(trades)} trades"
    table = Table(title=title, caption=caption, header_style="bold cyan", title_justify="left")
    for name, justify in [
        ("#", "right"),
        ("symbol", "left"),
        ("side", "left"),
        ("entry", "left"),
        ("exit", "left"),
        ("qty", "right"),
        ("entry px", "right"),
        ("exit px", "right"),
        ("pnl", "right"),
        ("return", "right"),
        ("fees", "right"),
    ]:
        # Times and money never wrap: a wrapped timestamp reads as two values.
        table.add_column(name, justify=justify, no_wrap=name in {"entry", "exit", "pnl", "return"})  # type: ignore[arg-type]
    for no, t in enumerate(shown, start=first_no):
        ret = float(t.pnl / (t.qty * t.entry_price))
        table.add_row(
            str(no),
            t.symbol,
            Text(t.side.value, style="green" if t.side is TradeSide.LONG else "magenta"),
            fmt_ts(t.entry_ts),
            fmt_ts(t.exit_ts),
            format(t.qty, "f"),
            format(t.entry_price, "f"),
            format(t.exit_price, "f"),
            _signed(fmt_money(t.pnl, currency), t.pnl),
            _signed(fmt_pct(ret), ret),
            fmt_money(t.fees),
        )
    return table


def header(result: BacktestResult) -> Table:
    """Who, what and when of a run, as a two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    params = ", ".join(f"{k}={fmt_param(v)}" for k, v in result.params.items()) or "-"
    for label, value in [
        ("run", result.run_id),
        ("strategy", result.strategy),
        ("params", params),
        ("symbols", ", ".join(result.symbols)),
        ("timeframe", result.timeframe),
        ("period", f"{fmt_ts(result.start_ns)} → {fmt_ts(result.end_ns)}"),
        ("mode", result.mode),
    ]:
        grid.add_row(label, value)
    return grid


def summary(result: BacktestResult, *, trade_limit: int | None = 20) -> Group:
    """The whole terminal report of a run: header, metrics, trades, then halts and notes if any.

    ``trade_limit`` 0 leaves the trade list out; ``None`` lists every trade.
    """
    parts: list[RenderableType] = [header(result), metrics_table(result.metrics, currency=result.currency)]
    if trade_limit != 0:
        parts.append(trades_table(result.trades, currency=result.currency, limit=trade_limit))
    if result.halts:
        halts = Table(title="Halts", header_style="bold red", title_justify="left")
        for col in ("time", "source", "reason"):
            halts.add_column(col)
        for h in result.halts:
            halts.add_row(fmt_ts(h.ts), h.source, h.reason)
        parts.append(halts)
    parts.extend(Text(f"note: {note}", style="yellow") for note in result.notes)
    return Group(*parts)


def results_table(
    frame: pl.DataFrame,
    *,
    sort_by: str | None = None,
    descending: bool = True,
    columns: Sequence[str] | None = None,
    top: int | None = 20,
    title: str | None = "Optimisation results",
) -> Table:
    """An optimiser results frame as a table, sorted by any column (nulls last) and cut to ``top`` rows."""
    from alphintra.errors import ValidationError

    if sort_by is not None:
        if sort_by not in frame.columns:
            raise ValidationError("sort_by", f"must be one of the result columns: {', '.join(frame.columns)}", sort_by)
        frame = frame.sort(sort_by, descending=descending, nulls_last=True)
    cols = list(columns or frame.columns)
    unknown = [c for c in cols if c not in frame.columns]
    if unknown:
        raise ValidationError("columns", "must be result columns", ", ".join(unknown))
    rows = frame.select(cols).head(top) if top is not None else frame.select(cols)
    table = Table(title=title, header_style="bold cyan", title_justify="left")
    for col in cols:
        numeric = frame.schema[col].is_numeric()
        table.add_column(col, justify="right" if numeric else "left", style="bold" if col == sort_by else None)
    kinds = [_column_kind(col) for col in cols]
    for row in rows.iter_rows():
        table.add_row(*(_result_cell(v, kind) for v, kind in zip(row, kinds, strict=True)))
    return table


_KINDS = {name: kind for _, name, _, kind in METRIC_ROWS}


def _column_kind(col: str) -> str | None:
    """The metric kind of a results column (walk-forward columns carry an ``is_``/``oos_`` prefix)."""
    for prefix in ("", "is_", "oos_"):
        if col.startswith(prefix) and col[len(prefix) :] in _KINDS:
            return _KINDS[col[len(prefix) :]]
    return None


def _result_cell(value: Any, kind: str | None) -> str:
    """Returns, drawdowns and rates as percentages (0.0123 -> 1.23 %), like every other report of a run."""
    if value is None:
        return MISSING
    if kind == "pct" and isinstance(value, int | float):
        return fmt_pct(float(value))
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def render_text(renderable: RenderableType, *, width: int = 110, color: bool = False) -> str:
    """Render to a string (plain text unless ``color``): for summary.txt files and tests."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None)
    console.print(renderable)
    return buffer.getvalue()


__all__ = ["header", "metrics_table", "render_text", "results_table", "summary", "trades_table"]
