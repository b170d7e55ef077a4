"""Performance metrics of one backtest (or paper/live session): one function, one frozen result.

Inputs are an equity curve, one point per bar ``(ts_ns, equity)``, and the closed round-trip trades. Money stays
``Decimal`` (net profit, fees, expectancy ...); ratios are floats. A figure that is undefined for the input (the
Sharpe ratio of a flat curve, the profit factor without a losing trade) is ``None``, never NaN or infinity, so
every result serialises to strict JSON.

Definitions (``E_0 .. E_n`` the equity points, ``P`` = periods per year, ``N = n`` the number of bar returns):

- bar return ``r_i = E_i / E_{i-1} - 1`` for ``i = 1..n``. If equity reaches zero or below (ruin), the returns
  stop at that bar: nothing can be compounded from nothing.
- total return ``E_n / E_0 - 1``.
- annual return (CAGR) ``(E_n / E_0) ** (P / N) - 1``; ``-1`` after ruin; ``None`` without returns or when the
  figure overflows a float (a few bars extrapolated to a year).
- volatility ``std(r, ddof=1) * sqrt(P)``.
- risk-free rate: ``risk_free`` is annual; per bar it is ``rf = (1 + risk_free) ** (1 / P) - 1``, and the excess
  return is ``x_i = r_i - rf``.
- Sharpe ``mean(x) / std(x, ddof=1) * sqrt(P)``; ``None`` with fewer than two returns or zero deviation
  (below 1e-14 per bar, which is float noise).
- Sortino ``mean(x) / DD * sqrt(P)`` with the downside deviation over all bars
  ``DD = sqrt(sum(min(x_i, 0) ** 2) / N)``; ``None`` when no bar is below the risk-free rate.
- drawdown at bar ``i``: ``E_i / max(E_0..E_i) - 1`` (a fraction <= 0). Max drawdown is its minimum, reported
  negative (``-0.25`` is a 25 % fall); ``max_drawdown_pct_amount`` is that same fall in money (<= 0).
- money drawdown at bar ``i``: ``E_i - max(E_0..E_i)``; ``max_drawdown_amount`` is its minimum (<= 0), the most
  money ever given back from a peak. It is not the money of the largest percentage fall: a book that grew gives
  back more money in a smaller percentage fall later (sma_cross on GOOG: -19,831.53 at -26 % vs -5,349.84 at -53 %).
- drawdown duration: the longest stretch from a peak to the first bar at or above it again (recovery), or to the
  last bar if equity never recovers; given in bars (``recovery_index - peak_index``) and in nanoseconds.
- Calmar ``annual return / |max drawdown|``; ``None`` without a drawdown.
- trades (each ``pnl`` is net of its fees): a win has ``pnl > 0``; win rate ``wins / trades``; gross profit the
  sum of positive pnl, gross loss the sum of ``|pnl|`` of negative ones; profit factor ``gross profit / gross
  loss``; expectancy ``mean(pnl)`` (money per trade); average trade return ``mean(pnl / (qty * entry_price))``;
  average win / loss the mean pnl of winners / losers.
- exposure: the fraction of bars with a position. Given directly, or as one flag per bar, or else derived from
  the trades: bar ``i`` is exposed when some trade has ``entry_ts <= ts_i < exit_ts``.
- traded notional: given, or else ``sum(qty * (entry_price + exit_price))`` over the trades; turnover is traded
  notional divided by the mean equity (how many times the book was traded over the whole run, not annualised).
- fees: given, or else the sum of the trades' fees.
- buy-and-hold return ``close_last / close_first - 1`` of the benchmark closes, for comparison.

``periods_per_year(timeframe, calendar)`` gives ``P`` (its one home is ``alphintra.engine.risk.periods``): crypto and
FX trade around the clock (``"24x7"``: 365 days of 24 hours), equities on 252 sessions of 6.5 hours (``"equity"``).
Weekly bars are 365/7 (24x7) or 52 (equity); monthly bars are 12 in both calendars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, Protocol, Union

import numpy as np
import numpy.typing as npt

from alphintra.engine.risk.periods import Calendar, periods_per_year, timeframe_seconds
from alphintra.errors import ValidationError

# A per-bar deviation below this is float noise (a curve compounding at an exact constant rate), not risk.
_TINY = 1e-14


class TradeLike(Protocol):
    """What the metrics read of a closed round-trip trade (``alphintra.strategies.result.ClosedTrade`` fits)."""

    @property
    def qty(self) -> Decimal: ...
    @property
    def entry_ts(self) -> int: ...
    @property
    def exit_ts(self) -> int: ...
    @property
    def entry_price(self) -> Decimal: ...
    @property
    def exit_price(self) -> Decimal: ...
    @property
    def pnl(self) -> Decimal: ...
    @property
    def fees(self) -> Decimal: ...


EquityInput = Union[Sequence[tuple[int, Decimal]], tuple[npt.NDArray[Any], npt.NDArray[Any]], "EquityCurve"]


@dataclass(frozen=True, slots=True)
class Metrics:
    """The figures of one run; see the module docstring for every definition."""

    bars: int
    start_ts: int | None
    end_ts: int | None
    periods_per_year: float
    start_equity: Decimal
    end_equity: Decimal
    net_profit: Decimal
    total_return: float
    annual_return: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float
    max_drawdown_amount: Decimal
    max_drawdown_pct_amount: Decimal
    max_drawdown_duration_bars: int
    max_drawdown_duration_ns: int
    num_trades: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: Decimal | None
    avg_trade_return: float | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal
    exposure: float | None
    turnover: float | None
    traded_notional: Decimal
    fees: Decimal
    buy_and_hold_return: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as Decimal strings, ratios as floats, undefined figures as None."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metrics:
        """The inverse of ``to_dict``; unknown or missing keys raise ValidationError."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValidationError("metrics", "has unknown keys", ", ".join(unknown))
        kwargs: dict[str, Any] = {}
        data = dict(data)
        if "max_drawdown_pct_amount" not in data and "max_drawdown_amount" in data:
            # Reports saved before the money drawdown was its own figure held the % trough's money there.
            data["max_drawdown_pct_amount"] = data["max_drawdown_amount"]
        for name in names:
            if name not in data:
                raise ValidationError(f"metrics.{name}", "is required")
            raw = data[name]
            if raw is None:
                kwargs[name] = None
            elif name in _MONEY_FIELDS:
                kwargs[name] = _decimal(f"metrics.{name}", raw)
            elif name in _INT_FIELDS:
                if isinstance(raw, bool) or not isinstance(raw, int):
                    raise ValidationError(f"metrics.{name}", "must be an integer", raw)
                kwargs[name] = raw
            else:
                if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
                    raise ValidationError(f"metrics.{name}", "must be a finite number or null", raw)
                kwargs[name] = float(raw)
        return cls(**kwargs)


_MONEY_FIELDS = frozenset(
    {
        "start_equity",
        "end_equity",
        "net_profit",
        "max_drawdown_amount",
        "max_drawdown_pct_amount",
        "expectancy",
        "avg_win",
        "avg_loss",
        "best_trade",
        "worst_trade",
        "gross_profit",
        "gross_loss",
        "traded_notional",
        "fees",
    }
)
_INT_FIELDS = frozenset(
    {"bars", "start_ts", "end_ts", "max_drawdown_duration_bars", "max_drawdown_duration_ns", "num_trades"}
)


def _decimal(field: str, value: object) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValidationError(field, "must be a decimal number", value)
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValidationError(field, "must be a decimal number", value) from None
    elif isinstance(value, float | np.floating):
        # repr gives the shortest text that reads back as the same float: 0.1 stays 0.1, not 0.1000000000000000055.
        result = Decimal(repr(float(value)))
    elif isinstance(value, np.integer):
        result = Decimal(int(value))
    else:
        raise ValidationError(field, "must be a decimal number", value)
    if not result.is_finite():
        raise ValidationError(field, "must be finite", value)
    return result


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _well_formed(equity: object) -> tuple[npt.NDArray[np.int64], list[Decimal], npt.NDArray[np.float64]] | None:
    """Timestamps, values and float values of a list of (int, finite Decimal) pairs, checked in C-speed passes
    (a backtest's equity has a point per bar); None if it is anything else, and the slow path names the bad point."""
    if not isinstance(equity, list | tuple) or not equity:
        return None
    if set(map(type, equity)) != {tuple} or set(map(len, equity)) != {2}:
        return None
    stamps = list(map(itemgetter(0), equity))
    money = list(map(itemgetter(1), equity))
    if set(map(type, stamps)) != {int} or set(map(type, money)) != {Decimal}:
        return None
    return _finite_arrays(stamps, money)


def _finite_arrays(
    stamps: list[int], money: list[Decimal]
) -> tuple[npt.NDArray[np.int64], list[Decimal], npt.NDArray[np.float64]] | None:
    """The array forms of integer stamps and Decimal values; None if a value is not finite."""
    try:
        values = np.fromiter(map(float, money), dtype=np.float64, count=len(money))
    except ValueError:  # a signalling NaN
        return None
    if not np.isfinite(values).all():
        return None
    return np.fromiter(stamps, dtype=np.int64, count=len(stamps)), money, values


def _equity_arrays(equity: EquityInput) -> tuple[npt.NDArray[np.int64], list[Decimal], npt.NDArray[np.float64]]:
    if isinstance(equity, EquityCurve):
        return equity.ts, equity.money, equity.values
    fast = _well_formed(equity)
    if fast is not None:
        ts, money, values = fast
        _check_curve(ts, money)
        return ts, money, values
    if isinstance(equity, tuple) and len(equity) == 2 and all(isinstance(a, np.ndarray) for a in equity):
        ts_raw: npt.NDArray[Any] = equity[0]  # type: ignore[assignment]
        eq_raw: npt.NDArray[Any] = equity[1]  # type: ignore[assignment]
        if ts_raw.shape != eq_raw.shape or ts_raw.ndim != 1:
            raise ValidationError("equity", "timestamps and values must be 1-d arrays of the same length")
        ts = ts_raw.astype(np.int64)
        money = [_decimal("equity", v) for v in eq_raw.tolist()]
    else:
        ts_list: list[int] = []
        money = []
        for point in equity:
            try:
                stamp, value = point
            except (TypeError, ValueError):
                raise ValidationError("equity", "each point must be a (ts_ns, equity) pair", point) from None
            if isinstance(stamp, bool) or not isinstance(stamp, int | np.integer):
                raise ValidationError("equity", "timestamps must be integer nanoseconds", stamp)
            ts_list.append(int(stamp))
            money.append(_decimal("equity", value))
        ts = np.asarray(ts_list, dtype=np.int64)
    _check_curve(ts, money)
    return ts, money, np.fromiter(map(float, money), dtype=np.float64, count=len(money))


def _check_curve(ts: npt.NDArray[np.int64], money: list[Decimal]) -> None:
    if len(money) == 0:
        raise ValidationError("equity", "must have at least one point", 0)
    if len(ts) > 1 and bool(np.any(np.diff(ts) <= 0)):
        raise ValidationError("equity", "timestamps must be strictly increasing")
    if money[0] <= 0:
        raise ValidationError("equity", "must start above zero", str(money[0]))


@dataclass(frozen=True, slots=True)
class EquityCurve:
    """An equity series checked once, in the three forms the metrics and the drawdown chart read."""

    ts: npt.NDArray[np.int64]
    money: list[Decimal]
    values: npt.NDArray[np.float64]  # float(money), for statistics

    @classmethod
    def of(cls, equity: EquityInput) -> EquityCurve:
        return cls(*_equity_arrays(equity))

    @classmethod
    def from_columns(cls, stamps: list[int], money: list[Decimal]) -> EquityCurve:
        """From integer stamps and Decimal values kept as two columns (a backtest's), with the same checks."""
        arrays = _finite_arrays(stamps, money)
        if arrays is None:
            return cls.of(list(zip(stamps, money, strict=True)))  # the checking path names the bad point
        _check_curve(arrays[0], money)
        return cls(*arrays)


def _returns(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if values.size < 2:
        return np.empty(0, dtype=np.float64)
    ruined = np.flatnonzero(values <= 0.0)
    end = int(ruined[0]) if ruined.size else values.size - 1
    prev = values[:end]
    return np.asarray(values[1 : end + 1] / prev - 1.0, dtype=np.float64)


def _drawdown(
    ts: npt.NDArray[np.int64], money: list[Decimal], values: npt.NDArray[np.float64]
) -> tuple[float, Decimal, Decimal, int, int]:
    """(max % drawdown, max money drawdown, money of the max % drawdown, longest duration in bars and ns)."""
    peaks = np.maximum.accumulate(values)
    dd = values / peaks - 1.0
    trough = int(np.argmin(dd))
    if dd[trough] >= 0.0:
        return 0.0, Decimal(0), Decimal(0), 0, 0
    peak = int(np.flatnonzero(values[: trough + 1] == peaks[trough])[0])
    pct_amount = money[trough] - money[peak]
    # The floats find the bars; the money is exact Decimal between them.
    money_trough = int(np.argmin(values - peaks))
    money_peak = int(np.flatnonzero(values[: money_trough + 1] == peaks[money_trough])[0])
    amount = min(money[money_trough] - money[money_peak], pct_amount)
    # Longest peak-to-recovery stretch: walk the underwater runs (vectorised edge detection).
    under = np.concatenate(([False], values < peaks, [False]))
    edges = np.flatnonzero(np.diff(under.astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]  # run covers bars starts..stops-1
    best_bars, best_ns = 0, 0
    last = values.size - 1
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        peak_i = start - 1
        end_i = stop if stop <= last else last
        bars = end_i - peak_i
        if bars > best_bars:
            best_bars, best_ns = bars, int(ts[end_i] - ts[peak_i])
    return float(dd[trough]), amount, pct_amount, best_bars, best_ns


def _exposure(
    ts: npt.NDArray[np.int64],
    trades: Sequence[TradeLike],
    exposure: float | None,
    in_market: Sequence[bool] | npt.NDArray[np.bool_] | None,
) -> float | None:
    if exposure is not None:
        if isinstance(exposure, bool) or not isinstance(exposure, int | float) or not 0.0 <= exposure <= 1.0:
            raise ValidationError("exposure", "must be a fraction between 0 and 1", exposure)
        return float(exposure)
    if in_market is not None:
        flags = np.asarray(in_market, dtype=bool)
        if flags.shape != ts.shape:
            raise ValidationError("in_market", f"must have one flag per equity point ({ts.size})", flags.size)
        return float(flags.mean())
    covered = np.zeros(ts.size + 1, dtype=np.int64)
    for trade in trades:
        lo = int(np.searchsorted(ts, trade.entry_ts, side="left"))
        hi = int(np.searchsorted(ts, trade.exit_ts, side="left"))
        if hi > lo:
            covered[lo] += 1
            covered[hi] -= 1
    return float(np.count_nonzero(np.cumsum(covered[:-1])) / ts.size)


def _benchmark(close: Sequence[Decimal | float] | npt.NDArray[Any] | None) -> float | None:
    if close is None:
        return None
    values = close.tolist() if isinstance(close, np.ndarray) else list(close)
    if not values:
        return None
    first = _decimal("benchmark_close", values[0])
    last = _decimal("benchmark_close", values[-1])
    if first <= 0:
        raise ValidationError("benchmark_close", "first close must be above zero", str(first))
    return float(last / first - 1)


def _mean_decimal(values: Iterable[Decimal]) -> Decimal | None:
    items = list(values)
    return sum(items, Decimal(0)) / len(items) if items else None


def compute_metrics(
    equity: EquityInput,
    trades: Sequence[TradeLike] = (),
    *,
    periods_per_year: float,
    risk_free: float = 0.0,
    benchmark_close: Sequence[Decimal | float] | npt.NDArray[Any] | None = None,
    fees_total: Decimal | None = None,
    traded_notional: Decimal | None = None,
    exposure: float | None = None,
    in_market: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
) -> Metrics:
    """Every metric of one run (definitions in the module docstring).

    ``equity`` is a sequence of ``(ts_ns, equity)`` pairs or a pair of numpy arrays ``(ts_ns, equity)``;
    ``trades`` are closed round trips with ``pnl`` net of fees. ``exposure`` (a fraction) or ``in_market`` (a flag
    per bar) override the exposure derived from the trades; ``fees_total`` and ``traded_notional`` override the
    sums over the trades (use them when fills of still-open positions must count too).
    """
    ppy = periods_per_year
    if isinstance(ppy, bool) or not isinstance(ppy, int | float) or not math.isfinite(ppy) or ppy <= 0:
        raise ValidationError("periods_per_year", "must be a finite number > 0", ppy)
    if isinstance(risk_free, bool) or not isinstance(risk_free, int | float) or not -1.0 < risk_free < 10.0:
        raise ValidationError("risk_free", "must be an annual rate above -1 (e.g. 0.04 for 4 %)", risk_free)
    ts, money, values = _equity_arrays(equity)
    start, end = money[0], money[-1]
    returns = _returns(values)
    n = returns.size

    total_return = float(end / start - 1)
    annual: float | None = None
    if n > 0:
        if end <= 0:
            annual = -1.0
        else:
            try:
                annual = math.exp(math.log(float(end / start)) * ppy / n) - 1.0
            except OverflowError:
                annual = None

    volatility = sharpe = sortino = None
    if n >= 2:
        rf_bar = (1.0 + float(risk_free)) ** (1.0 / ppy) - 1.0
        excess = returns - rf_bar
        std = float(np.std(returns, ddof=1))
        volatility = std * math.sqrt(ppy)
        excess_std = float(np.std(excess, ddof=1))
        mean_excess = float(np.mean(excess))
        if excess_std > _TINY:
            sharpe = _finite(mean_excess / excess_std * math.sqrt(ppy))
        downside = math.sqrt(float(np.sum(np.minimum(excess, 0.0) ** 2)) / n)
        if downside > _TINY:
            sortino = _finite(mean_excess / downside * math.sqrt(ppy))

    max_dd, dd_amount, dd_pct_amount, dd_bars, dd_ns = _drawdown(ts, money, values)
    calmar = _finite(annual / abs(max_dd)) if annual is not None and max_dd < 0.0 else None

    pnls = [t.pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    trade_returns = [float(t.pnl / (t.qty * t.entry_price)) for t in trades if t.qty * t.entry_price != 0]

    if traded_notional is None:
        notional = sum((t.qty * (t.entry_price + t.exit_price) for t in trades), Decimal(0))
    else:
        notional = _decimal("traded_notional", traded_notional)
    mean_equity = float(np.mean(values))
    fees = sum((t.fees for t in trades), Decimal(0)) if fees_total is None else _decimal("fees_total", fees_total)

    return Metrics(
        bars=int(ts.size),
        start_ts=int(ts[0]),
        end_ts=int(ts[-1]),
        periods_per_year=float(ppy),
        start_equity=start,
        end_equity=end,
        net_profit=end - start,
        total_return=total_return,
        annual_return=annual,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        max_drawdown=max_dd,
        max_drawdown_amount=dd_amount,
        max_drawdown_pct_amount=dd_pct_amount,
        max_drawdown_duration_bars=dd_bars,
        max_drawdown_duration_ns=dd_ns,
        num_trades=len(pnls),
        win_rate=len(wins) / len(pnls) if pnls else None,
        profit_factor=float(gross_profit / gross_loss) if gross_loss > 0 else None,
        expectancy=_mean_decimal(pnls),
        avg_trade_return=sum(trade_returns) / len(trade_returns) if trade_returns else None,
        avg_win=_mean_decimal(wins),
        avg_loss=_mean_decimal(losses),
        best_trade=max(pnls) if pnls else None,
        worst_trade=min(pnls) if pnls else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        exposure=_exposure(ts, trades, exposure, in_market),
        turnover=float(notional) / mean_equity if mean_equity > 0.0 else None,
        traded_notional=notional,
        fees=fees,
        buy_and_hold_return=_benchmark(benchmark_close),
    )


__all__ = [
    "Calendar",
    "EquityCurve",
    "EquityInput",
    "Metrics",
    "TradeLike",
    "compute_metrics",
    "periods_per_year",
    "timeframe_seconds",
]
