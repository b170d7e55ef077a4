"""What one backtest run produces, as plain frozen data: the input of every report and of the run record.

The backtester builds a ``BacktestResult``; reports (text, charts, HTML, JSON) and the ``strategy_executions``
record read it and nothing else. ``to_dict`` gives strict JSON (Decimals as strings, timestamps as integer
nanoseconds since the epoch, UTC) and ``from_dict`` reads it back to an equal object.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum, unique
from typing import Any

from alphintra.engine.core.enums import LiquiditySide, OrderSide
from alphintra.engine.core.frozen import quick_init
from alphintra.errors import ValidationError
from alphintra.strategies.metrics import Calendar, EquityCurve, Metrics, compute_metrics, periods_per_year

SCHEMA_VERSION = 1
# A run id names a directory under reports/: no separators, no "..", nothing a shell or a URL would mangle.
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")

Scalar = str | int | float | bool | Decimal | None
# A list parameter (weights, a symbol basket) is a list of scalars; it comes back from JSON as a list.
ParamValue = Scalar | list[Scalar]
EquityPoint = tuple[int, Decimal]


@unique
class TradeSide(StrEnum):
    """Direction of a round trip: LONG buys first, SHORT sells first."""

    LONG = "LONG"
    SHORT = "SHORT"


def _money(field_name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValidationError(field_name, "must be a Decimal (or its text)", value)
    try:
        result = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        raise ValidationError(field_name, "must be a Decimal (or its text)", value) from None
    if not result.is_finite():
        raise ValidationError(field_name, "must be finite", value)
    return result


def _ns(field_name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field_name, "must be integer nanoseconds since the epoch", value)
    return value


def _text(field_name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(field_name, "must be text", value)
    return value


@quick_init
@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One closed round trip. ``pnl`` is realised profit net of ``fees`` (both legs' fees; negative when maker
    rebates exceed what was paid, so fees are not checked for sign)."""

    symbol: str
    side: TradeSide
    qty: Decimal
    entry_ts: int
    exit_ts: int
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    trade_id: str = ""

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValidationError("trade.qty", "must be > 0", str(self.qty))
        if self.entry_price <= 0 or self.exit_price <= 0:
            raise ValidationError("trade.price", "entry and exit prices must be > 0")
        if self.exit_ts < self.entry_ts:
            raise ValidationError("trade.exit_ts", "must not be before entry_ts", self.exit_ts)

    @property
    def gross_pnl(self) -> Decimal:
        """Price move times quantity in the trade's direction, before fees."""
        move = self.exit_price - self.entry_price
        return move * self.qty if self.side is TradeSide.LONG else -move * self.qty

    def to_dict(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "entry_ts": self.entry_ts,
            "exit_ts": self.exit_ts,
            "entry_price": str(self.entry_price),
            "exit_price": str(self.exit_price),
            "pnl": str(self.pnl),
            "fees": str(self.fees),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClosedTrade:
        try:
            side = TradeSide(data["side"])
        except (KeyError, ValueError):
            raise ValidationError("trade.side", "must be LONG or SHORT", data.get("side")) from None
        return cls(
            symbol=_text("trade.symbol", data.get("symbol")),
            side=side,
            qty=_money("trade.qty", data.get("qty")),
            entry_ts=_ns("trade.entry_ts", data.get("entry_ts")),
            exit_ts=_ns("trade.exit_ts", data.get("exit_ts")),
            entry_price=_money("trade.entry_price", data.get("entry_price")),
            exit_price=_money("trade.exit_price", data.get("exit_price")),
            pnl=_money("trade.pnl", data.get("pnl")),
            fees=_money("trade.fees", data.get("fees")),
            trade_id=_text("trade.trade_id", data.get("trade_id", "")),
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, as the plan's ``trades`` table records it."""

    ts: int
    order_id: str
    symbol: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    fee: Decimal
    liquidity: LiquiditySide | None = None
    trade_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "order_id": self.order_id,
            "trade_id": self.trade_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "price": str(self.price),
            "fee": str(self.fee),
            "liquidity": None if self.liquidity is None else self.liquidity.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fill:
        try:
            side = OrderSide(data["side"])
            raw_liq = data.get("liquidity")
            liquidity = None if raw_liq is None else LiquiditySide(raw_liq)
        except (KeyError, ValueError):
            raise ValidationError("fill.side", "must be BUY/SELL with liquidity MAKER/TAKER/null", data) from None
        return cls(
            ts=_ns("fill.ts", data.get("ts")),
            order_id=_text("fill.order_id", data.get("order_id")),
            symbol=_text("fill.symbol", data.get("symbol")),
            side=side,
            qty=_money("fill.qty", data.get("qty")),
            price=_money("fill.price", data.get("price")),
            fee=_money("fill.fee", data.get("fee")),
            liquidity=liquidity,
            trade_id=_text("fill.trade_id", data.get("trade_id", "")),
        )


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Closing prices of one symbol, one point per bar, for the price chart and the buy-and-hold comparison."""

    symbol: str
    points: tuple[EquityPoint, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "points": [[ts, str(px)] for ts, px in self.points]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceSeries:
        return cls(_text("prices.symbol", data.get("symbol")), _points("prices.points", data.get("points")))


@dataclass(frozen=True, slots=True)
class Halt:
    """A stop of trading during the run (risk limit, kill switch, strategy error), with its reason."""

    ts: int
    source: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"ts": self.ts, "source": self.source, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Halt:
        return cls(
            _ns("halt.ts", data.get("ts")),
            _text("halt.source", data.get("source")),
            _text("halt.reason", data.get("reason")),
        )


def _points(field_name: str, raw: object) -> tuple[EquityPoint, ...]:
    if not isinstance(raw, list | tuple):
        raise ValidationError(field_name, "must be a list of [ts_ns, value] pairs", type(raw).__name__)
    out: list[EquityPoint] = []
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValidationError(field_name, "must be a list of [ts_ns, value] pairs", item)
        out.append((_ns(field_name, item[0]), _money(field_name, item[1])))
    return tuple(out)


def drawdown_series(equity: Sequence[EquityPoint] | EquityCurve) -> tuple[tuple[int, float], ...]:
    """Drawdown at every point: ``equity / running peak - 1`` (a fraction <= 0).

    Computed in floats exactly as ``metrics`` does, so the chart's lowest point is ``Metrics.max_drawdown``.
    """
    import numpy as np

    if isinstance(equity, EquityCurve):
        stamps, values = equity.ts.tolist(), equity.values
    else:
        # Any series, unchecked (a chart of a ruined account is still a chart).
        stamps = [ts for ts, _ in equity]
        values = np.fromiter((float(v) for _, v in equity), dtype=np.float64, count=len(stamps))
    peaks = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peaks > 0, values / peaks - 1.0, 0.0)
    return tuple(zip(stamps, drawdown.tolist(), strict=True))


def _encode_param(name: str, value: object) -> object:
    if isinstance(value, list):
        return [_encode_scalar(name, item) for item in value]
    return _encode_scalar(name, value)


def _encode_scalar(name: str, value: object) -> object:
    if isinstance(value, Decimal):
        # Tagged so that from_dict gives back a Decimal, not the text of one.
        return {"$decimal": str(value)}
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"params.{name}", "must be finite", value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValidationError(f"params.{name}", "must be text, a number, a boolean, a Decimal, null or a list", value)


def _decode_param(name: str, raw: object) -> ParamValue:
    if isinstance(raw, list):
        return [_decode_scalar(name, item) for item in raw]
    return _decode_scalar(name, raw)


def _decode_scalar(name: str, raw: object) -> Scalar:
    if isinstance(raw, dict):
        if set(raw) != {"$decimal"}:
            raise ValidationError(f"params.{name}", "an object must be {'$decimal': text}", raw)
        return _money(f"params.{name}", raw["$decimal"])
    if raw is None or isinstance(raw, str | int | float | bool):
        return raw
    raise ValidationError(f"params.{name}", "must be text, a number, a boolean, a Decimal, null or a list", raw)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a report shows about one run.

    ``equity`` has one ``(ts_ns, equity)`` point per bar; ``drawdown`` the matching fractions (see
    ``drawdown_series``); ``prices`` the close of each traded symbol. ``started_at_ns`` / ``completed_at_ns`` are
    the wall-clock times of the run itself (for the run record), not of the data.
    """

    run_id: str
    strategy: str
    params: Mapping[str, ParamValue]
    symbols: tuple[str, ...]
    timeframe: str
    start_ns: int
    end_ns: int
    equity: tuple[EquityPoint, ...]
    drawdown: tuple[tuple[int, float], ...]
    prices: tuple[PriceSeries, ...]
    trades: tuple[ClosedTrade, ...]
    fills: tuple[Fill, ...]
    metrics: Metrics
    halts: tuple[Halt, ...] = ()
    notes: tuple[str, ...] = ()
    mode: str = "backtest"
    currency: str = ""
    started_at_ns: int | None = None
    completed_at_ns: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.run_id, str) or not _RUN_ID.fullmatch(self.run_id):
            raise ValidationError("run_id", "must be 1-128 of A-Z a-z 0-9 . _ - and not start with . or -", self.run_id)
        if self.end_ns < self.start_ns:
            raise ValidationError("end_ns", "must not be before start_ns", self.end_ns)
        if len(self.drawdown) != len(self.equity):
            raise ValidationError("drawdown", f"must have one point per equity point ({len(self.equity)})")
        for name, value in self.params.items():
            _encode_param(name, value)
        try:
            json.dumps(self.extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                "extra", "must hold only JSON values (text, numbers, lists, objects)", str(exc)
            ) from None

    @classmethod
    def build(
        cls,
        *,
        run_id: str,
        strategy: str,
        params: Mapping[str, ParamValue],
        symbols: Sequence[str],
        timeframe: str,
        start_ns: int,
        end_ns: int,
        equity: Sequence[EquityPoint],
        trades: Sequence[ClosedTrade] = (),
        fills: Sequence[Fill] = (),
        prices: Sequence[PriceSeries] = (),
        calendar: Calendar = "24x7",
        risk_free: float = 0.0,
        exposure: float | None = None,
        halts: Sequence[Halt] = (),
        notes: Sequence[str] = (),
        mode: str = "backtest",
        currency: str = "",
        started_at_ns: int | None = None,
        completed_at_ns: int | None = None,
        extra: Mapping[str, Any] | None = None,
        curve: EquityCurve | None = None,
    ) -> BacktestResult:
        """Derive drawdown and metrics from the raw series: the one way the backtester needs to call.

        Fees and traded notional come from the fills when there are any (so open positions count too), else
        from the trades; buy and hold is measured on the first price series. ``curve`` is ``equity`` already in
        array form, when the caller has it (a backtest does), so a long series is not converted twice.
        """
        fees = sum((f.fee for f in fills), Decimal(0)) if fills else None
        notional = sum((f.qty * f.price for f in fills), Decimal(0)) if fills else None
        if curve is None:
            curve = EquityCurve.of(list(equity))
        metrics = compute_metrics(
            curve,
            list(trades),
            periods_per_year=periods_per_year(timeframe, calendar),
            risk_free=risk_free,
            # Buy and hold needs the first and the last close only.
            benchmark_close=[prices[0].points[0][1], prices[0].points[-1][1]] if prices and prices[0].points else None,
            fees_total=fees,
            traded_notional=notional,
            exposure=exposure,
        )
        return cls(
            run_id=run_id,
            strategy=strategy,
            params=dict(params),
            symbols=tuple(symbols),
            timeframe=timeframe,
            start_ns=start_ns,
            end_ns=end_ns,
            equity=tuple(equity),
            drawdown=drawdown_series(curve),
            prices=tuple(prices),
            trades=tuple(trades),
            fills=tuple(fills),
            metrics=metrics,
            halts=tuple(halts),
            notes=tuple(notes),
            mode=mode,
            currency=currency,
            started_at_ns=started_at_ns,
            completed_at_ns=completed_at_ns,
            extra=dict(extra or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "run_id": self.run_id,
            "strategy": self.strategy,
            "params": {k: _encode_param(k, v) for k, v in self.params.items()},
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "mode": self.mode,
            "currency": self.currency,
            "started_at_ns": self.started_at_ns,
            "completed_at_ns": self.completed_at_ns,
            "metrics": self.metrics.to_dict(),
            "equity": [[ts, str(v)] for ts, v in self.equity],
            "drawdown": [[ts, dd] for ts, dd in self.drawdown],
            "prices": [p.to_dict() for p in self.prices],
            "trades": [t.to_dict() for t in self.trades],
            "fills": [f.to_dict() for f in self.fills],
            "halts": [h.to_dict() for h in self.halts],
            "notes": list(self.notes),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestResult:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValidationError("schema", f"must be {SCHEMA_VERSION}", data.get("schema"))
        raw_params = data.get("params")
        if not isinstance(raw_params, dict):
            raise ValidationError("params", "must be an object", raw_params)
        drawdown: list[tuple[int, float]] = []
        for item in data.get("drawdown") or []:
            if not isinstance(item, list | tuple) or len(item) != 2 or not isinstance(item[1], int | float):
                raise ValidationError("drawdown", "must be a list of [ts_ns, fraction] pairs", item)
            drawdown.append((_ns("drawdown", item[0]), float(item[1])))
        started, completed = data.get("started_at_ns"), data.get("completed_at_ns")
        extra = data.get("extra") or {}
        if not isinstance(extra, dict):
            raise ValidationError("extra", "must be an object", extra)
        return cls(
            run_id=_text("run_id", data.get("run_id")),
            strategy=_text("strategy", data.get("strategy")),
            params={k: _decode_param(k, v) for k, v in raw_params.items()},
            symbols=tuple(_text("symbols", s) for s in data.get("symbols") or []),
            timeframe=_text("timeframe", data.get("timeframe")),
            start_ns=_ns("start_ns", data.get("start_ns")),
            end_ns=_ns("end_ns", data.get("end_ns")),
            equity=_points("equity", data.get("equity")),
            drawdown=tuple(drawdown),
            prices=tuple(PriceSeries.from_dict(p) for p in data.get("prices") or []),
            trades=tuple(ClosedTrade.from_dict(t) for t in data.get("trades") or []),
            fills=tuple(Fill.from_dict(f) for f in data.get("fills") or []),
            metrics=Metrics.from_dict(data.get("metrics") or {}),
            halts=tuple(Halt.from_dict(h) for h in data.get("halts") or []),
            notes=tuple(_text("notes", n) for n in data.get("notes") or []),
            mode=_text("mode", data.get("mode", "backtest")),
            currency=_text("currency", data.get("currency", "")),
            started_at_ns=None if started is None else _ns("started_at_ns", started),
            completed_at_ns=None if completed is None else _ns("completed_at_ns", completed),
            extra=extra,
        )


__all__ = [
    "SCHEMA_VERSION",
    "BacktestResult",
    "ClosedTrade",
    "EquityPoint",
    "Fill",
    "Halt",
    "ParamValue",
    "PriceSeries",
    "TradeSide",
    "drawdown_series",
]
