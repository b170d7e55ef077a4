"""Interactive charts for the HTML pages: candlesticks with trades and indicators, equity, drawdown.

The pages stay one self-contained file: the charting library (TradingView's Lightweight Charts, vendored under
``vendor/`` with its licence) and the small script that lays the panes out are inlined, and the data travels as
JSON inside the page. Nothing is fetched from the network, so the file opens offline. The output depends only on
its inputs (no clock is read), so the same run always gives the same bytes.
"""

from __future__ import annotations

import bisect
import inspect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from alphintra.errors import ValidationError
from alphintra.strategies.report._series import thin

if TYPE_CHECKING:
    import polars as pl

    from alphintra.strategies.result import BacktestResult, ClosedTrade

# More candles than this are merged (n bars into one) so a minute-bar year still opens quickly.
MAX_CANDLES = 20_000
# Indicators drawn over the price; the others get a pane of their own.
OVERLAYS = frozenset({"sma", "ema", "wma", "bollinger", "donchian", "vwap"})
# Outputs that are not prices, left out when the indicator is drawn over the price.
_NOT_PRICES = frozenset({"percent_b", "bandwidth"})
_PALETTE = ("#2f5fd0", "#e0a800", "#8e44ad", "#16a085", "#d35400", "#7f8c8d", "#c0392b", "#27ae60")
_NS = 1_000_000_000

CSS = """
#charts .pane { background: #fff; border: 1px solid var(--line, #d9dde6); margin: 0 0 10px; padding: 6px 8px; }
#charts h3 { font-size: 13px; margin: 0; }
#charts .legend { font: 12px ui-monospace, monospace; color: #4b5563; min-height: 16px; white-space: pre; }
#charts .chart { width: 100%; position: relative; }
"""


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator to draw: its name and keyword parameters (``sma`` with ``period=20``)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        args = ",".join(str(v) for _, v in self.params)
        return f"{self.name}({args})" if args else self.name


def _indicator_parameters(name: str) -> list[str]:
    """The names of the indicator's parameters after its input series, in order."""
    from alphintra.strategies.indicators import lookup

    spec = lookup(name)
    names = list(inspect.signature(spec.vectorised).parameters)
    return names[len(spec.inputs) :]


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_indicators(text: str, *, field: str = "--indicators") -> list[IndicatorRequest]:
    """``sma:20,rsi:14,macd:12:26:9`` -> requests: each item is a name then its parameters in order."""
    requests = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ValidationError(field, "must be a comma-separated list like sma:20,rsi:14", text)
        name, *values = item.split(":")
        try:
            names = _indicator_parameters(name)
        except ValidationError as exc:
            raise ValidationError(field, exc.rule, name) from None
        if len(values) > len(names):
            raise ValidationError(field, f"{name} takes at most {len(names)} parameter(s) ({', '.join(names)})", item)
        try:
            numbers = [_number(v) for v in values]
        except ValueError:
            raise ValidationError(field, "parameters must be numbers", item) from None
        requests.append(IndicatorRequest(name.lower(), tuple(zip(names, numbers, strict=False))))
    return requests


def strategy_indicators(lines_by_symbol: Mapping[str, Sequence[Any]]) -> dict[str, list[IndicatorRequest]]:
    """The indicators a strategy asked for (its ``Lines.by_symbol``), once each, by symbol."""
    found: dict[str, list[IndicatorRequest]] = {}
    for symbol, lines in lines_by_symbol.items():
        seen = found.setdefault(symbol, [])
        for line in lines:
            req = IndicatorRequest(line.name, tuple(line.params.items()))
            if req not in seen:
                seen.append(req)
    return found


@cache
def _asset(name: str, *parts: str) -> str:
    return resources.files("alphintra.strategies.report").joinpath(*parts, name).read_text(encoding="utf-8")


def _seconds(frame: pl.DataFrame) -> list[int]:
    import polars as pl

    return (frame["time"].cast(pl.Int64) // _NS).to_list()


def _decimals(values: Sequence[float]) -> int:
    """The fewest decimals (at most 8) that show every value exactly, from a sample."""
    sample = [v for v in values[:500] if v is not None and math.isfinite(v)]
    for places in range(9):
        if all(abs(v - round(v, places)) < 1e-9 * max(1.0, abs(v)) for v in sample):
            return places
    return 8


def _merge(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """At most ``limit`` candles: groups of n consecutive bars become one (first open, max high, ...)."""
    import polars as pl

    if frame.height <= limit:
        return frame
    size = math.ceil(frame.height / limit)
    return (
        frame.with_row_index("_i")
        .group_by((pl.col("_i") // size).alias("_g"), maintain_order=True)
        .agg(
            pl.col("time").first(),
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .drop("_g")
    )


def _line(times: Sequence[int], values: Sequence[float | None]) -> list[dict[str, Any]]:
    # A missing value (warm-up) stays as a time with no value, so the line starts where the indicator does.
    return [
        {"time": t} if v is None or not math.isfinite(v) else {"time": t, "value": v}
        for t, v in zip(times, values, strict=True)
    ]


def _series(kind: str, name: str, data: list[dict[str, Any]], precision: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "data": data, "precision": precision, **extra}


def _trade_markers(trades: Sequence[ClosedTrade], times: Sequence[int]) -> list[dict[str, Any]]:
    """Entry and exit markers on the candle each happened in (the last one starting at or before it)."""
    from alphintra.strategies.report._format import fmt_ts
    from alphintra.strategies.result import TradeSide

    def snap(ts_ns: int) -> int:
        i = bisect.bisect_right(times, ts_ns // _NS) - 1
        return times[max(i, 0)]

    marks = []
    for no, t in enumerate(trades, start=1):
        long = t.side is TradeSide.LONG
        marks.append(
            (
                snap(t.entry_ts),
                {
                    "position": "belowBar" if long else "aboveBar",
                    "color": "#13854e" if long else "#c62f3a",
                    "shape": "arrowUp" if long else "arrowDown",
                    "text": f"#{no} {t.side.value} {t.qty} @ {t.entry_price}",
                    "id": f"entry-{no}",
                },
            )
        )
        marks.append(
            (
                snap(t.exit_ts),
                {
                    "position": "aboveBar" if long else "belowBar",
                    "color": "#2f5fd0",
                    "shape": "circle",
                    "text": f"#{no} exit @ {t.exit_price} ({fmt_ts(t.exit_ts)})",
                    "id": f"exit-{no}",
                },
            )
        )
    marks.sort(key=lambda m: m[0])  # the library wants markers in time order
    return [{"time": ts, **mark} for ts, mark in marks]


@dataclass(frozen=True, slots=True)
class IndicatorLines:
    """One indicator computed over a frame: drawn over the price or in a pane of its own, and its named lines."""

    request: IndicatorRequest
    overlay: bool
    lines: tuple[tuple[str, list[float | None]], ...]


def indicator_lines(frame: pl.DataFrame, indicators: Sequence[IndicatorRequest]) -> list[IndicatorLines]:
    """Each indicator over every row of ``frame``; an overlay leaves out its outputs that are not prices."""
    from alphintra.strategies.indicators import compute, lookup

    groups = []
    for req in indicators:
        values = compute(req.name, frame, **dict(req.params))
        overlay = lookup(req.name).name in OVERLAYS
        outputs = [c for c in values.columns if not (overlay and c in _NOT_PRICES)]
        named = tuple(
            (req.label if len(outputs) == 1 else f"{req.label} {out}", values[out].to_list()) for out in outputs
        )
        groups.append(IndicatorLines(req, overlay, named))
    return groups


def price_panes(
    symbol: str,
    frame: pl.DataFrame,
    indicators: Sequence[IndicatorRequest] = (),
    *,
    trades: Sequence[ClosedTrade] = (),
    precision: int | None = None,
) -> list[dict[str, Any]]:
    """The candlestick pane of ``symbol`` (overlays and trade markers on it), then one pane per oscillator."""
    if frame.height == 0:
        raise ValidationError("bars", f"no bars to chart for {symbol}", 0)
    # Indicators read every bar; merging (for very long series) happens after, on what is drawn.
    groups = indicator_lines(frame, indicators)
    drawn = _merge(frame, MAX_CANDLES)
    step = math.ceil(frame.height / MAX_CANDLES) if frame.height > MAX_CANDLES else 1
    times = _seconds(drawn)
    places = precision if precision is not None else _decimals(frame["close"].to_list())
    candles = [
        {"time": t, "open": o, "high": h, "low": lo, "close": c}
        for t, o, h, lo, c in zip(
            times, *(drawn[col].to_list() for col in ("open", "high", "low", "close")), strict=True
        )
    ]
    price = _series("candles", symbol, candles, places, markers=_trade_markers(trades, times))
    main: dict[str, Any] = {"title": f"{symbol} price", "height": 340, "series": [price]}
    panes = [main]
    colour = 0
    for group in groups:
        target: dict[str, Any] = main if group.overlay else {"title": group.request.label, "height": 140, "series": []}
        for name, values in group.lines:
            column = values[::step]
            line = _series(
                "line",
                name,
                _line(times, column),
                places if group.overlay else 2,
                color=_PALETTE[colour % len(_PALETTE)],
            )
            colour += 1
            target["series"].append(line)
        if not group.overlay:
            panes.append(target)
    return panes


def result_panes(result: BacktestResult) -> list[dict[str, Any]]:
    """Equity and drawdown of a run, one point per bar."""
    from alphintra.formatting import currency_places

    places = currency_places(result.currency)
    # A long minute run has millions of points: thinned as the candles are, keeping each bucket's extremes.
    equity_points = thin([(ts // _NS, float(v)) for ts, v in result.equity], MAX_CANDLES)
    drawdown_points = thin([(ts // _NS, round(dd * 100.0, 4)) for ts, dd in result.drawdown], MAX_CANDLES)
    equity = _line([t for t, _ in equity_points], [v for _, v in equity_points])
    drawdown = _line([t for t, _ in drawdown_points], [v for _, v in drawdown_points])
    return [
        {
            "title": f"Equity {result.currency}".rstrip(),
            "height": 220,
            "series": [_series("area", "equity", equity, places, color="#2f5fd0")],
        },
        {
            "title": "Drawdown %",
            "height": 140,
            "series": [_series("area", "drawdown", drawdown, 2, color="#c62f3a", unit="%", invert=True)],
        },
    ]


def close_panes(result: BacktestResult, symbol: str) -> list[dict[str, Any]]:
    """Without the bars (a report rebuilt from its JSON): the symbol's close as a line, with its trades."""
    series = next((p for p in result.prices if p.symbol == symbol), None)
    if series is None or not series.points:
        return []
    points = thin([(ts // _NS, float(px)) for ts, px in series.points], MAX_CANDLES)
    times = [t for t, _ in points]
    closes = [v for _, v in points]
    line = _series("line", f"{symbol} close", _line(times, closes), _decimals(closes), color="#4b5563")
    line["markers"] = _trade_markers([t for t in result.trades if t.symbol == symbol], times)
    return [{"title": f"{symbol} close", "height": 300, "series": [line]}]


def charts_html(panes: Sequence[Mapping[str, Any]], timeframe: str) -> str:
    """The chart block of a page: a container, the data as JSON, the library and the layout script, inlined."""
    from alphintra.storage.market.timeframes import parse_timeframe

    tf = parse_timeframe(timeframe)
    day = 86_400 * _NS
    bar = tf.approx_nanos
    spec = {"timeVisible": bar < day, "secondsVisible": bar < 60 * _NS, "panes": list(panes)}
    # "</" would end the script element early; JSON allows the escaped form.
    data = json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return "\n".join(
        [
            '<div id="charts"></div>',
            f'<script type="application/json" id="chart-spec">{data}</script>',
            f"<script>{_asset('lightweight-charts.standalone.production.js', 'vendor')}</script>",
            f"<script>{_asset('interactive.js')}</script>",
        ]
    )


def plot_page(
    symbol: str, timeframe: str, frame: pl.DataFrame, indicators: Sequence[IndicatorRequest] = (), *, title: str = ""
) -> str:
    """A complete page charting stored bars of ``symbol`` with indicators (``alphintra plot --html``)."""
    from html import escape

    heading = title or f"{symbol} {timeframe}"
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{escape(heading)}</title>",
                "<style>body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 24px;"
                f" background: #fafbfc; color: #1d2330; }} h1 {{ font-size: 20px; }}{CSS}</style></head><body>",
                f"<h1>{escape(heading)}</h1>",
                charts_html(price_panes(symbol, frame, indicators), timeframe),
                "</body></html>",
            ]
        )
        + "\n"
    )


__all__ = [
    "MAX_CANDLES",
    "OVERLAYS",
    "IndicatorLines",
    "IndicatorRequest",
    "charts_html",
    "close_panes",
    "indicator_lines",
    "parse_indicators",
    "plot_page",
    "price_panes",
    "result_panes",
    "strategy_indicators",
]
