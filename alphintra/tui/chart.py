"""A terminal price chart: candles or a line, one column per bar, with the trader's orders and fills drawn on it.

Drawn by hand into a Rich ``Text`` rather than through a plotting library: it is a pure function of its inputs
(a snapshot test sees the same picture every time), it needs no global plotting state, and it is cheap enough to
redraw on every frame. Screen positions are floats (display only); the prices printed on the axis come from the
exact decimals.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from rich.text import Text

from alphintra.formatting import amount
from alphintra.tui.models import Candle

UP_STYLE = "green"
DOWN_STYLE = "red"
LINE_STYLE = "cyan"
AXIS_STYLE = "dim"
NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Mark:
    """A horizontal line at a price (a working order), labelled on the axis."""

    price: Decimal
    label: str
    style: str


@dataclass(frozen=True, slots=True)
class Point:
    """A marker at a time and price (a fill)."""

    time: int
    price: Decimal
    glyph: str
    style: str


def _fmt(price: Decimal, decimals: int) -> str:
    return amount(price, decimals)


def render_chart(
    candles: Sequence[Candle],
    width: int,
    height: int,
    *,
    mode: str = "candles",
    marks: Sequence[Mark] = (),
    points: Sequence[Point] = (),
    decimals: int = 2,
    empty: str = "no data",
    fit: bool = False,
) -> Text:
    """The chart as text of exactly ``height`` lines; ``fit`` squeezes every bar in (buckets), else the newest show."""
    if width < 10 or height < 3 or not candles:
        return Text(empty, style=AXIS_STYLE)
    prices = [c.high for c in candles] + [c.low for c in candles]
    sample = [_fmt(p, decimals) for p in prices[:1] + prices[-1:]] + [m.label + _fmt(m.price, decimals) for m in marks]
    axis_w = max(len(s) for s in sample) + 3
    plot_w = max(1, width - axis_w)
    plot_h = height - 1
    shown = bucket(candles, plot_w) if fit else list(candles[-plot_w:])
    visible = [c.high for c in shown] + [c.low for c in shown] + [m.price for m in marks]
    visible += [p.price for p in points if p.time >= shown[0].time]
    hi, lo = max(visible), min(visible)
    span = float(hi - lo) or 1.0

    def row(price: Decimal) -> int:
        return min(plot_h - 1, max(0, round(float(hi - price) / span * (plot_h - 1))))

    cells: list[list[tuple[str, str]]] = [[(" ", "")] * plot_w for _ in range(plot_h)]

    for m in marks:
        r = row(m.price)
        cells[r] = [(ch if ch != " " else "╌", st or m.style) for ch, st in cells[r]]

    previous: int | None = None
    for x, candle in enumerate(shown):
        if mode == "line":
            r = row(candle.close)
            if previous is not None and abs(previous - r) > 1:
                step = 1 if r > previous else -1
                for between in range(previous + step, r, step):
                    cells[between][x] = ("│", LINE_STYLE)
            cells[r][x] = ("•", LINE_STYLE)
            previous = r
            continue
        style = UP_STYLE if candle.close >= candle.open else DOWN_STYLE
        for r in range(row(candle.high), row(candle.low) + 1):
            cells[r][x] = ("│", style)
        for r in range(row(max(candle.open, candle.close)), row(min(candle.open, candle.close)) + 1):
            cells[r][x] = ("█", style)

    times = [c.time for c in shown]
    for p in points:
        if p.time < times[0]:
            continue
        x = bisect_right(times, p.time) - 1
        cells[row(p.price)][x] = (p.glyph, p.style)

    labels: dict[int, tuple[str, str]] = {}
    for r in sorted({0, plot_h - 1, *range(0, plot_h, 4)}):
        price = hi - (hi - lo) * Decimal(r) / Decimal(max(1, plot_h - 1))
        labels[r] = (_fmt(price, decimals), AXIS_STYLE)
    for m in marks:
        labels[row(m.price)] = (f"{m.label}{_fmt(m.price, decimals)}", f"reverse {m.style}")

    out = Text(no_wrap=True, overflow="crop")
    for r in range(plot_h):
        for ch, st in cells[r]:
            out.append(ch, st or None)
        label, st = labels.get(r, ("", ""))
        out.append(" ┤" if label else " │", AXIS_STYLE)
        out.append(label[: axis_w - 2], st or None)
        out.append("\n")
    out.append(_time_axis(times, plot_w), AXIS_STYLE)
    return out


def bucket(candles: Sequence[Candle], width: int) -> list[Candle]:
    """At most ``width`` bars, each merging a run of consecutive ones (first open, extremes, last close)."""
    if len(candles) <= width:
        return list(candles)
    out = []
    for i in range(width):
        lo, hi = i * len(candles) // width, (i + 1) * len(candles) // width
        group = candles[lo:hi]
        out.append(
            Candle(
                group[0].time,
                group[0].open,
                max(c.high for c in group),
                min(c.low for c in group),
                group[-1].close,
                sum((c.volume for c in group), Decimal(0)),
            )
        )
    return out


def _time_axis(times: Sequence[int], width: int) -> str:
    """Time labels (UTC) every dozen columns; dates once bars are a day or longer apart."""
    daily = len(times) > 1 and times[1] - times[0] >= NS_PER_DAY
    years = len(times) > 1 and times[-1] - times[0] > 300 * NS_PER_DAY
    pattern = "%Y-%m" if years else "%m-%d" if daily else "%H:%M"
    line = [" "] * width
    x = 0
    while x < len(times):
        label = datetime.fromtimestamp(times[x] / 1e9, UTC).strftime(pattern)
        if x + len(label) > width:
            break
        line[x : x + len(label)] = label
        x += 12
    return "".join(line)


__all__ = ["Mark", "Point", "bucket", "render_chart"]
