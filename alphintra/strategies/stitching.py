"""Walk-forward stitching of trades: each window's trades, its open positions closed at the window's last close,
scaled like the window's equity, so the stitched trades add up to the stitched net profit.

An out-of-sample window may end holding a position. Its profit is in the window's equity (marked at the last
close) but in no closed trade, so a stitched report used to show a positive net profit next to a profit factor
below 1. ``window_trades`` closes such a position at the window's last close as a trade marked
``OPEN_AT_WINDOW_END`` (entry: the position's first-in-first-out lots, entry fees included; no exit fee, nothing
was sold). ``scaled_trades`` then multiplies quantity, PnL and fees by the factor ``stitch_equity`` applied to the
window's equity (a window starts with the capital the previous one ended with).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from alphintra.engine.core.enums import OrderSide
from alphintra.strategies.result import BacktestResult, ClosedTrade, EquityPoint, TradeSide

OPEN_AT_WINDOW_END = "open-at-window-end"


def _open_lots(result: BacktestResult, symbol: str) -> list[tuple[Decimal, Decimal, int, Decimal]]:
    """(signed qty, price, ts, fee) of the lots still open after every fill of ``symbol``, first in first out."""
    lots: deque[list[Any]] = deque()  # [signed qty, price, ts, fee per unit]
    for fill in result.fills:
        if fill.symbol != symbol or fill.qty == 0:
            continue
        signed = fill.qty if fill.side is OrderSide.BUY else -fill.qty
        fee_per_unit = fill.fee / fill.qty
        remaining = signed
        while remaining != 0 and lots and (lots[0][0] > 0) != (remaining > 0):
            head = lots[0]
            take = min(abs(head[0]), abs(remaining))
            head[0] = head[0] - take if head[0] > 0 else head[0] + take
            remaining = remaining - take if remaining > 0 else remaining + take
            if head[0] == 0:
                lots.popleft()
        if remaining != 0:
            lots.append([remaining, fill.price, fill.ts, fee_per_unit])
    return [(q, p, t, abs(q) * f) for q, p, t, f in lots]


def window_trades(result: BacktestResult) -> list[ClosedTrade]:
    """The window's closed trades, plus each position still open closed at the window's last close."""
    trades = list(result.trades)
    last_close = {series.symbol: series.points[-1] for series in result.prices if series.points}
    for symbol in sorted({fill.symbol for fill in result.fills}):
        lots = _open_lots(result, symbol)
        if not lots or symbol not in last_close:
            continue
        qty = abs(sum((q for q, *_ in lots), Decimal(0)))
        if qty == 0:
            continue
        entry = sum((abs(q) * p for q, p, _, _ in lots), Decimal(0)) / qty
        fees = sum((f for *_, f in lots), Decimal(0))
        exit_ts, exit_price = last_close[symbol]
        side = TradeSide.LONG if lots[0][0] > 0 else TradeSide.SHORT
        gross = (exit_price - entry) * qty if side is TradeSide.LONG else (entry - exit_price) * qty
        trades.append(
            ClosedTrade(
                symbol,
                side,
                qty,
                lots[0][2],
                max(exit_ts, lots[0][2]),
                entry,
                exit_price,
                gross - fees,
                fees,
                OPEN_AT_WINDOW_END,
            )
        )
    return trades


def stitch_scales(curves: Sequence[Sequence[EquityPoint]]) -> list[Decimal]:
    """The factor ``stitch_equity`` applies to each curve (1 for the first, and for empty curves)."""
    scales: list[Decimal] = []
    end: Decimal | None = None
    for curve in curves:
        if not curve:
            scales.append(Decimal(1))
            continue
        scale = Decimal(1) if end is None else end / curve[0][1]
        scales.append(scale)
        end = curve[-1][1] * scale
    return scales


def scaled_trades(trades: Sequence[ClosedTrade], scale: Decimal) -> list[ClosedTrade]:
    if scale == 1:
        return list(trades)
    return [replace(t, qty=t.qty * scale, pnl=t.pnl * scale, fees=t.fees * scale) for t in trades]


__all__ = ["OPEN_AT_WINDOW_END", "scaled_trades", "stitch_scales", "window_trades"]
