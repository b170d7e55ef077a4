"""A self-contained HTML report of a run: one file, no scripts, no network.

Charts are inline SVG drawn here (equity, drawdown, and each symbol's close with trade entries and exits), so
the file opens the same offline, in a mail attachment or years later. Hovering a trade marker shows its details
through SVG ``<title>`` tooltips, which need no JavaScript. The output depends only on the result: no clock is
read, so the same run always gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from alphintra.strategies.report._format import DEFINITIONS, fmt_money, fmt_param, fmt_pct, fmt_ts, metric_rows
from alphintra.strategies.report._series import thin
from alphintra.strategies.result import BacktestResult, ClosedTrade, TradeSide

MAX_TRADE_ROWS = 10_000

_W, _H = 960, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 16, 14, 30
_MAX_POINTS = 1_600

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
svg { background: #fff; border: 1px solid var(--line); width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.grid line { stroke: #eceef3; } .axis { stroke: #9aa1b1; }
.note { background: #fff7e0; border-left: 3px solid #e0a800; padding: 6px 10px; margin: 6px 0; }
.halt { background: #fdecee; border-left: 3px solid var(--down); padding: 6px 10px; margin: 6px 0; }
.entry-long { fill: var(--up); } .entry-short { fill: var(--down); } .exit { fill: #2f5fd0; }
footer { color: var(--muted); margin-top: 32px; font-size: 12px; }
"""


@dataclass(frozen=True, slots=True)
class ChartMark:
    ts: int
    value: float
    shape: str  # "up", "down" or "dot"
    css: str
    tip: str


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= mult * power:
            return mult * power
    return 10.0 * power


def _y_range(values: Sequence[float]) -> tuple[float, float, list[float]]:
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(hi) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo, 5)
    lo_t, hi_t = math.floor(lo / step) * step, math.ceil(hi / step) * step
    # Rounded (and +0.0 to turn -0.0 into 0.0) so that labels read 0.3, not 0.30000000000000004.
    ticks = [round(lo_t + i * step, 12) + 0.0 for i in range(round((hi_t - lo_t) / step) + 1)]
    return lo_t, hi_t, ticks


def _tick_label(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:,.1f}%" if abs(value) < 1000 else f"{value:,.0f}%"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:,.1f}k"
    return f"{value:,.2f}" if magnitude < 100 else f"{value:,.0f}"


def _marker_path(x: float, y: float, shape: str) -> str:
    if shape == "up":
        return f"M{x:.1f},{y - 1:.1f} l-5,9 h10 z"
    if shape == "down":
        return f"M{x:.1f},{y + 1:.1f} l-5,-9 h10 z"
    return f"M{x - 3.5:.1f},{y:.1f} a3.5,3.5 0 1,0 7,0 a3.5,3.5 0 1,0 -7,0"


def svg_chart(
    points: Sequence[tuple[int, float]],
    *,
    label: str,
    stroke: str = "#2f5fd0",
    unit: str = "",
    fill_to_zero: bool = False,
    marks: Sequence[ChartMark] = (),
    width: int = _W,
    height: int = _H,
) -> str:
    """One time series as an inline SVG line chart with date and value axes (and optional markers)."""
    pts = thin(points, _MAX_POINTS)
    t0, t1 = pts[0][0], pts[-1][0]
    values = [v for _, v in pts] + [m.value for m in marks] + ([0.0] if fill_to_zero else [])
    lo, hi, ticks = _y_range(values)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM

    def x(ts: int) -> float:
        return _LEFT + (plot_w * (ts - t0) / (t1 - t0) if t1 > t0 else plot_w / 2)

    def y(v: float) -> float:
        return _TOP + plot_h * (hi - v) / (hi - lo)

    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"'
        ' xmlns="http://www.w3.org/2000/svg">',
        '<g class="grid">',
    ]
    for tick in ticks:
        ty = y(tick)
        out.append(f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{escape(_tick_label(tick, unit))}</text>')
    out.append("</g>")
    count = 6 if t1 > t0 else 1
    for i in range(count):
        ts = t0 + (t1 - t0) * i // max(count - 1, 1)
        anchor = "start" if i == 0 else "end" if i == count - 1 else "middle"
        out.append(f'<text x="{x(ts):.1f}" y="{height - 10}" text-anchor="{anchor}">{escape(fmt_ts(ts))}</text>')
    out.append(f'<line class="axis" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}"/>')
    line = " ".join(f"{'M' if i == 0 else 'L'}{x(ts):.1f},{y(v):.1f}" for i, (ts, v) in enumerate(pts))
    if fill_to_zero:
        zero = y(0.0)
        area = f"{line} L{x(t1):.1f},{zero:.1f} L{x(t0):.1f},{zero:.1f} Z"
        out.append(f'<path d="{area}" fill="{stroke}" fill-opacity="0.18" stroke="none"/>')
    out.append(f'<path d="{line}" fill="none" stroke="{stroke}" stroke-width="1.5"/>')
    for m in marks:
        out.append(
            f'<path class="mark {m.css}" d="{_marker_path(x(m.ts), y(m.value), m.shape)}">'
            f"<title>{escape(m.tip)}</title></path>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _trade_marks(trades: Sequence[ClosedTrade]) -> list[ChartMark]:
    marks: list[ChartMark] = []
    for no, t in enumerate(trades, start=1):
        long = t.side is TradeSide.LONG
        marks.append(
            ChartMark(
                t.entry_ts,
                float(t.entry_price),
                "up" if long else "down",
                "entry-long" if long else "entry-short",
                f"#{no} {t.side.value} entry {fmt_ts(t.entry_ts)} @ {t.entry_price} x {t.qty}",
            )
        )
        marks.append(
            ChartMark(
                t.exit_ts,
                float(t.exit_price),
                "dot",
                "exit",
                f"#{no} exit {fmt_ts(t.exit_ts)} @ {t.exit_price}, pnl {t.pnl}",
            )
        )
    return marks


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


def render_html(result: BacktestResult) -> str:
    """The complete HTML document of a run."""
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
        f"<style>{_CSS}</style></head><body>",
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
    if result.equity:
        equity = [(ts, float(v)) for ts, v in result.equity]
        parts += ["<h2>Equity</h2>", svg_chart(equity, label="equity")]
        drawdown = [(ts, dd * 100.0) for ts, dd in result.drawdown]
        parts += [
            "<h2>Drawdown</h2>",
            svg_chart(drawdown, label="drawdown", stroke="#c62f3a", unit="%", fill_to_zero=True, height=200),
        ]
    for series in result.prices:
        if not series.points:
            continue
        closes = [(ts, float(px)) for ts, px in series.points]
        marks = _trade_marks([t for t in result.trades if t.symbol == series.symbol])
        parts += [
            f"<h2>{escape(series.symbol)} close with trades</h2>",
            svg_chart(closes, label=f"{series.symbol} close", stroke="#4b5563", marks=marks),
        ]
    parts += ["<h2>Trades</h2>", _trades_html(result)]
    parts.append("<footer>Alphintra backtest report</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


__all__ = ["MAX_TRADE_ROWS", "ChartMark", "render_html", "svg_chart"]
