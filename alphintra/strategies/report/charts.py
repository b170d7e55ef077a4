"""Terminal charts (plotext) of a run: equity, drawdown, and price with the trades marked.

Each function returns the chart as a string (plotext's ``build``) instead of printing it, so the CLI prints it
and tests can inspect it. plotext keeps one global figure, so drawing is serialised by a lock.

plotext changed its whole API in 6.0 (one ``figure`` object with signals instead of module functions); both
5.x and 6.x are supported, because the dependency is declared as ``plotext>=5.2``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from alphintra.errors import ValidationError
from alphintra.strategies.report._format import fmt_ts
from alphintra.strategies.report._series import thin
from alphintra.strategies.result import BacktestResult, TradeSide

_LOCK = threading.Lock()
_NS = 1_000_000_000
_DAY = 86_400 * _NS


@dataclass(frozen=True, slots=True)
class Markers:
    """Points drawn without lines on top of a chart (trade entries and exits).

    They carry no legend entry: a legend box sits inside the canvas and would hide the first trades, so the
    chart's title explains the symbols instead.
    """

    label: str
    symbol: str
    points: tuple[tuple[int, float], ...]


def _check_size(width: int, height: int) -> None:
    if width < 20:
        raise ValidationError("width", "must be at least 20 columns", width)
    if height < 5:
        raise ValidationError("height", "must be at least 5 rows", height)


def _ticks(points: Sequence[tuple[int, float]], width: int) -> tuple[list[float], list[str]]:
    """Evenly spaced date labels that fit the width (x is seconds since the first point)."""
    start, end = points[0][0], points[-1][0]
    count = max(2, min(6, width // 18))
    if end == start:
        return [0.0], [fmt_ts(start)]
    stamps = [start + (end - start) * i // (count - 1) for i in range(count)]
    if end - start >= 2 * _DAY:
        # Spread over days, a label reads as a date: on midnight, not on a time of day no bar has.
        stamps = [s - s % _DAY for s in stamps]
    return [(s - start) / _NS for s in stamps], [fmt_ts(s) for s in stamps]


def _build(
    lines: Sequence[tuple[str, Sequence[tuple[int, float]]]],
    markers: Sequence[Markers],
    *,
    title: str,
    width: int,
    height: int,
    color: bool,
    fill: bool,
) -> str:
    import plotext as plt

    origin = lines[0][1][0][0]
    tick_pos, tick_labels = _ticks(lines[0][1], width)

    def xs(pts: Sequence[tuple[int, float]]) -> list[float]:
        return [(ts - origin) / _NS for ts, _ in pts]

    def ys(pts: Sequence[tuple[int, float]]) -> list[float]:
        return [v for _, v in pts]

    with _LOCK:
        if hasattr(plt, "figure") and hasattr(plt.figure, "signal"):
            fig = plt.figure
            fig.clear()
            fig.plot_size(width, height)
            for label, pts in lines:
                sig = fig.signal(xs(pts), ys(pts))
                sig.lines()
                if fill:
                    sig.fillx()
                if len(lines) > 1:
                    sig.label(label)
                fig.draw(sig)
            for mark in markers:
                if mark.points:
                    fig.draw(fig.signal(xs(mark.points), ys(mark.points), marker=mark.symbol))
            fig.title(title)
            fig.ruler("x").ticks(tick_pos, tick_labels)
            text: str = fig.build().string(colorless=not color)
            fig.clear()
            return text
        plt.clf()
        plt.plotsize(width, height)
        if not color:
            plt.theme("clear")
        for label, pts in lines:
            plt.plot(xs(pts), ys(pts), label=label if len(lines) > 1 else None, fillx=fill)
        for mark in markers:
            if mark.points:
                plt.scatter(xs(mark.points), ys(mark.points), marker=mark.symbol)
        plt.title(title)
        plt.xticks(tick_pos, tick_labels)
        built: str = plt.build()
        plt.clf()
        # The clear theme still leaves reset codes behind.
        return built if color else str(plt.uncolorize(built))


def line_chart(
    points: Sequence[tuple[int, float]],
    *,
    title: str,
    width: int = 100,
    height: int = 20,
    color: bool = False,
    fill: bool = False,
    max_points: int | None = None,
) -> str:
    """One time series ``(ts_ns, value)`` as a terminal line chart, thinned to what the width can show."""
    _check_size(width, height)
    if not points:
        raise ValidationError("points", "must not be empty", 0)
    thinned = thin(points, max_points or width * 4)
    return _build([(title, thinned)], [], title=title, width=width, height=height, color=color, fill=fill)


def lines_chart(
    lines: Sequence[tuple[str, Sequence[tuple[int, float]]]],
    *,
    title: str,
    width: int = 100,
    height: int = 20,
    color: bool = False,
) -> str:
    """Several time series on one terminal chart (a price and its moving averages), each thinned to the width."""
    _check_size(width, height)
    drawn = [(label, thin(points, width * 4)) for label, points in lines if points]
    if not drawn:
        raise ValidationError("points", "must not be empty", 0)
    return _build(drawn, [], title=title, width=width, height=height, color=color, fill=False)


def equity_chart(result: BacktestResult, *, width: int = 100, height: int = 20, color: bool = False) -> str:
    points = [(ts, float(v)) for ts, v in result.equity]
    title = f"Equity {result.currency}".rstrip()
    return line_chart(points, title=title, width=width, height=height, color=color)


def drawdown_chart(result: BacktestResult, *, width: int = 100, height: int = 12, color: bool = False) -> str:
    points = [(ts, dd * 100.0) for ts, dd in result.drawdown]
    return line_chart(points, title="Drawdown %", width=width, height=height, color=color, fill=True)


def price_chart(
    result: BacktestResult, symbol: str | None = None, *, width: int = 100, height: int = 20, color: bool = False
) -> str:
    """The close of ``symbol`` (default: the first) with entries (▲ long, ▼ short) and exits (●) marked."""
    _check_size(width, height)
    if not result.prices:
        raise ValidationError("prices", "the result holds no price series", result.run_id)
    chosen = symbol or result.prices[0].symbol
    series = next((p for p in result.prices if p.symbol == chosen), None)
    if series is None or not series.points:
        raise ValidationError("symbol", "must be a symbol with prices in the result", chosen)
    points = thin([(ts, float(px)) for ts, px in series.points], width * 4)
    trades = [t for t in result.trades if t.symbol == chosen]
    markers = [
        Markers(
            "long entry", "▲", tuple((t.entry_ts, float(t.entry_price)) for t in trades if t.side is TradeSide.LONG)
        ),
        Markers(
            "short entry", "▼", tuple((t.entry_ts, float(t.entry_price)) for t in trades if t.side is TradeSide.SHORT)
        ),
        Markers("exit", "●", tuple((t.exit_ts, float(t.exit_price)) for t in trades)),
    ]
    title = f"{chosen} close  (▲ long entry  ▼ short entry  ● exit)"
    return _build([(chosen, points)], markers, title=title, width=width, height=height, color=color, fill=False)


__all__ = ["drawdown_chart", "equity_chart", "line_chart", "lines_chart", "price_chart"]
