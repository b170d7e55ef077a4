"""A self-contained HTML report of a run: one file, no network.

The charts are interactive (``interactive``): each symbol's candles with the strategy's indicators and the trades
marked, then equity and drawdown, sharing one time axis for zoom, pan and crosshair. The charting library is
inlined, so the file opens the same offline, in a mail attachment or years later. Given only the result (a report
rebuilt from its JSON) the price panes show each symbol's close instead of candles. The output depends only on
its inputs: no clock is read, so the same run always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from alphintra.strategies.report._format import DEFINITIONS, fmt_money, fmt_param, fmt_pct, fmt_ts, metric_rows
from alphintra.strategies.report.interactive import CSS as CHART_CSS
from alphintra.strategies.report.interactive import (
    IndicatorRequest,
    charts_html,
    close_panes,
    price_panes,
    result_panes,
)
from alphintra.strategies.result import BacktestResult

if TYPE_CHECKING:
    import polars as pl

MAX_TRADE_ROWS = 10_000

_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #687086; --line: #d9dde6; --up: #13854e; --down: #c62f3a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1000px; padding: 24px; background: #fafbfc; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin-bottom: 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f2f6; font-weight: 600; }
tr.section td { background: #f6f7f9; font-weight: 600; color: var(--muted); }
.metrics { display: grid; grid-template-columns: repeat(2, 1fr); gap: 16px; }
.pos { color: var(--up); } .neg { color: var(--down); }
.note { background: #fff7e0; border-left: 3px solid #e0a800; padding: 6px 10px; margin: 6px 0; }
.halt { background: #fdecee; border-left: 3px solid var(--down); padding: 6px 10px; margin: 6px 0; }
footer { color: var(--muted); margin-top: 32px; font-size: 12px; }
"""


def _sign_class(value: object) -> str:
    if value is None:
        return "num"
    return "num pos" if value > 0 else "num neg" if value < 0 else "num"  # type: ignore[operator]


def _metrics_html(result: BacktestResult) -> str:
    rows = metric_rows(result.metrics, result.currency)
    sections: dict[str, list[tuple[str, str]]] = {}
    for section, label, value in rows:
        sections.setdefault(section, []).append((label, value))
    tables = []
    names = list(sections)
    for half in (names[: len(names) // 2], names[len(names) // 2 :]):
        body = []
        for section in half:
            body.append(f'<tr class="section"><td colspan="2">{escape(section)}</td></tr>')
            body.extend(
                f'<tr><td>{escape(label)}</td><td class="num">{escape(value)}</td></tr>'
                for label, value in sections[section]
            )
        tables.append(f"<table>{''.join(body)}</table>")
    notes = "".join(f"<dt>{escape(label)}</dt><dd>{escape(meaning)}</dd>" for label, meaning in DEFINITIONS)
    return f'<div class="metrics">{"".join(tables)}</div><dl class="definitions">{notes}</dl>'


def _trades_html(result: BacktestResult) -> str:
    trades = result.trades
    if not trades:
        return "<p>No closed trades.</p>"
    head = "".join(
        f'<th class="{"num" if num else ""}">{name}</th>'
        for name, num in [
            ("#", True),
            ("symbol", False),
            ("side", False),
            ("entry", False),
            ("exit", False),
            ("qty", True),
            ("entry px", True),
            ("exit px", True),
            ("pnl", True),
            ("return", True),
            ("fees", True),
        ]
    )
    rows = []
    for no, t in enumerate(trades[:MAX_TRADE_ROWS], start=1):
        ret = float(t.pnl / (t.qty * t.entry_price))
        rows.append(
            "<tr>"
            f'<td class="num">{no}</td><td>{escape(t.symbol)}</td><td>{t.side.value}</td>'
            f"<td>{escape(fmt_ts(t.entry_ts))}</td><td>{escape(fmt_ts(t.exit_ts))}</td>"
            f'<td class="num">{t.qty:f}</td><td class="num">{t.entry_price:f}</td>'
            f'<td class="num">{t.exit_price:f}</td>'
            f'<td class="{_sign_class(t.pnl)}">{escape(fmt_money(t.pnl, result.currency))}</td>'
            f'<td class="{_sign_class(ret)}">{escape(fmt_pct(ret))}</td>'
            f'<td class="num">{escape(fmt_money(t.fees))}</td>'
            "</tr>"
        )
    more = ""
    if len(trades) > MAX_TRADE_ROWS:
        more = f"<p>First {MAX_TRADE_ROWS} of {len(trades)} trades; the JSON report holds them all.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def render_html(
    result: BacktestResult,
    bars: Mapping[str, pl.DataFrame] | None = None,
    indicators: Mapping[str, Sequence[IndicatorRequest]] | None = None,
) -> str:
    """The complete HTML document of a run; ``bars`` (each symbol's frame as the run read it) give candlesticks
    with the ``indicators`` listed for the symbol, else each symbol's close is drawn."""
    params = ", ".join(f"{k}={fmt_param(v)}" for k, v in result.params.items()) or "-"
    facts = [
        ("Run", result.run_id),
        ("Strategy", result.strategy),
        ("Parameters", params),
        ("Symbols", ", ".join(result.symbols)),
        ("Timeframe", result.timeframe),
        ("Period", f"{fmt_ts(result.start_ns)} → {fmt_ts(result.end_ns)}"),
        ("Mode", result.mode),
        ("Fills", str(len(result.fills))),
    ]
    m = result.metrics
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(result.strategy)} · {escape(result.run_id)}</title>",
        f"<style>{_CSS}{CHART_CSS}</style></head><body>",
        f"<h1>{escape(result.strategy)}</h1>",
        f'<div class="sub">total return {escape(fmt_pct(m.total_return))} · max drawdown '
        f"{escape(fmt_pct(m.max_drawdown))} · {m.num_trades} trades</div>",
        "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts) + "</dl>",
    ]
    for halt in result.halts:
        parts.append(
            f'<div class="halt">halt at {escape(fmt_ts(halt.ts))} by {escape(halt.source)}: {escape(halt.reason)}</div>'
        )
    parts.extend(f'<div class="note">{escape(note)}</div>' for note in result.notes)
    parts += ["<h2>Performance</h2>", _metrics_html(result)]
    panes = []
    for series in result.prices:
        frame = (bars or {}).get(series.symbol)
        if frame is not None and frame.height:
            trades = [t for t in result.trades if t.symbol == series.symbol]
            wanted = (indicators or {}).get(series.symbol, ())
            places = _decimals_of(series.points)
            panes += price_panes(series.symbol, frame, wanted, trades=trades, precision=places)
        else:
            panes += close_panes(result, series.symbol)
    if result.equity:
        panes += result_panes(result)
    if panes:
        parts += ["<h2>Charts</h2>", charts_html(panes, result.timeframe)]
    parts += ["<h2>Trades</h2>", _trades_html(result)]
    parts.append("<footer>Alphintra backtest report</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _decimals_of(points: Sequence[tuple[int, Decimal]]) -> int | None:
    """Decimals of the closes as the run priced them (on the instrument's tick grid)."""
    exponents = [p.as_tuple().exponent for _, p in points[:500]]
    places = [-e for e in exponents if isinstance(e, int)]
    return max(max(places, default=0), 0) if places else None


__all__ = ["MAX_TRADE_ROWS", "render_html"]
