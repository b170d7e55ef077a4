"""Vectorised indicators over polars Series, for research, charts and warming up live strategies.

Every function takes polars Series (any numeric dtype; no nulls, NaN or infinities: those raise the project's
ValidationError naming the input) and returns a Float64 Series, or a DataFrame for indicators with several
outputs, of the same length as the input. Rows before the first defined value hold null: that is the warm-up,
and it is the same length as TA-Lib's "lookback" (the index of the first output). Each incremental class in
``incremental.py`` returns ``None`` on exactly those rows and the same values afterwards.

Indicators with several outputs publish them all from the same row, the first at which every output is
defined, as TA-Lib does (MACD's line is not shown before its signal line exists).

Recursive smoothings (EMA, Wilder) run as ``ewm_mean(adjust=False)`` over the seed value followed by the
remaining inputs, which is exactly the recursion y = y + alpha·(x - y) started from the seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alphintra.errors import ValidationError

from ._base import check_macd_periods, check_period, check_positive

_F64 = pl.Float64


def _input(field: str, series: object, length: int | None = None) -> pl.Series:
    if not isinstance(series, pl.Series):
        raise ValidationError(field, "must be a polars Series", type(series).__name__)
    if not series.dtype.is_numeric():
        raise ValidationError(field, "must be numeric", str(series.dtype))
    if length is not None and series.len() != length:
        raise ValidationError(field, f"must have the same length as the other inputs ({length})", series.len())
    values = series.cast(_F64)
    if values.null_count():
        row = values.is_null().arg_true()[0]
        raise ValidationError(field, "must have no missing values", f"null at row {row}")
    finite = values.is_finite()
    if not finite.all():
        row = (~finite).arg_true()[0]
        raise ValidationError(field, "must be finite", f"{values[row]} at row {row}")
    return values


def _inputs(**series: object) -> list[pl.Series]:
    checked: list[pl.Series] = []
    for field, values in series.items():
        checked.append(_input(field, values, checked[0].len() if checked else None))
    return checked


def _nulls(count: int) -> pl.Series:
    return pl.Series([None] * count, dtype=_F64)


def _from(series: pl.Series, first: int, name: str) -> pl.Series:
    """``series`` with every row before ``first`` set to null (the warm-up)."""
    count = series.len()
    if first <= 0:
        return series.alias(name)
    if first >= count:
        return _nulls(count).alias(name)
    return pl.concat([_nulls(first), series.slice(first)]).alias(name)


def _smoothed(values: pl.Series, seed_row: int, seed: float | None, alpha: float) -> pl.Series:
    """Null before ``seed_row``, ``seed`` on it, then y = y + alpha·(x - y) over the following ``values``."""
    count = values.len()
    if seed is None or seed_row >= count:
        return _nulls(count)
    chain = pl.concat([pl.Series([seed], dtype=_F64), values.slice(seed_row + 1)])
    return pl.concat([_nulls(seed_row), chain.ewm_mean(alpha=alpha, adjust=False)])


def _mean(values: pl.Series, offset: int, length: int) -> float | None:
    """Mean of ``values[offset:offset+length]``, or None when the series is too short to hold it."""
    if offset + length > values.len():
        return None
    mean = values.slice(offset, length).mean()
    return None if mean is None else float(mean)  # type: ignore[arg-type]


def _frame(columns: dict[str, pl.Series], first: int) -> pl.DataFrame:
    return pl.DataFrame([_from(series, first, name) for name, series in columns.items()])


def _evaluate(expression: pl.Expr, **series: pl.Series) -> pl.Series:
    return pl.DataFrame(series).select(expression).to_series()


def _true_range(high: pl.Series, low: pl.Series, close: pl.Series) -> pl.Series:
    """TA-Lib's TRANGE: null on the first row, which has no previous close."""
    previous = close.shift(1)
    return (
        pl.DataFrame({"h": high, "l": low, "p": previous})
        .select(
            pl.max_horizontal(
                pl.col("h") - pl.col("l"), (pl.col("h") - pl.col("p")).abs(), (pl.col("l") - pl.col("p")).abs()
            ).alias("tr")
        )["tr"]
        .set(previous.is_null(), None)
    )


def sma(close: pl.Series, period: int = 20) -> pl.Series:
    """Simple moving average: the mean of the last ``period`` values. First value on row ``period - 1``."""
    period = check_period("period", period)
    (x,) = _inputs(close=close)
    return x.rolling_mean(period).alias("sma")


def ema(close: pl.Series, period: int = 20) -> pl.Series:
    """Exponential moving average, alpha = 2/(period+1), TA-Lib's default seeding.

    The first value, on row ``period - 1``, is the simple average of the first ``period`` values; from there
    ema = ema + alpha·(x - ema).
    """
    period = check_period("period", period)
    (x,) = _inputs(close=close)
    return _smoothed(x, period - 1, _mean(x, 0, period), 2.0 / (period + 1)).alias("ema")


def wma(close: pl.Series, period: int = 20) -> pl.Series:
    """Linearly weighted moving average: weights 1..period, the newest value weighing ``period``.

    Divided by period·(period+1)/2. First value on row ``period - 1`` (TA-Lib's WMA).
    """
    period = check_period("period", period)
    (x,) = _inputs(close=close)
    weights = [float(w) for w in range(1, period + 1)]
    return (x.rolling_sum(period, weights=weights) / (period * (period + 1) / 2.0)).alias("wma")


def rsi(close: pl.Series, period: int = 14) -> pl.Series:
    """Wilder's relative strength index, as TA-Lib computes it.

    Changes c_i = x_i - x_{i-1}; gains max(c, 0), losses max(-c, 0). The first averages, on row ``period``,
    are the simple means of the first ``period`` gains and losses; then avg = (avg·(period-1) + new)/period.
    RSI = 100·gain/(gain + loss). When both averages are zero (prices that have not moved at all) the
    RSI is 50, the neutral reading: TA-Lib writes 0 there, which would read as "deeply oversold" to a strategy,
    so this is a deliberate departure. With losses zero and gains positive it is 100, as in TA-Lib.
    """
    period = check_period("period", period)
    (x,) = _inputs(close=close)
    change = x.diff()
    gains = change.clip(lower_bound=0.0)
    losses = (-change).clip(lower_bound=0.0)
    alpha = 1.0 / period
    gain = _smoothed(gains, period, _mean(gains, 1, period), alpha)
    loss = _smoothed(losses, period, _mean(losses, 1, period), alpha)
    total = pl.col("g") + pl.col("l")
    expression = pl.when(total == 0.0).then(50.0).otherwise(100.0 * (pl.col("g") / total))
    return _evaluate(expression, g=gain, l=loss).alias("rsi")


def macd(close: pl.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pl.DataFrame:
    """MACD as TA-Lib computes it: columns ``macd``, ``signal``, ``histogram``.

    Both EMAs start on row ``slow - 1``: the slow one seeded with the mean of the first ``slow`` values, the
    fast one with the mean of the ``fast`` values ending on that same row (TA-Lib's seeding, which differs
    from a free-standing EMA(fast) until the seed has decayed). macd = fast - slow; signal = EMA(signal) of
    macd seeded with the mean of its first ``signal`` values; histogram = macd - signal. All three start on
    row ``slow + signal - 2`` (33 for 12/26/9). Requires fast < slow.
    """
    fast, slow, signal = check_macd_periods(fast, slow, signal)
    (x,) = _inputs(close=close)
    start = slow - 1
    fast_ema = _smoothed(x, start, _mean(x, slow - fast, fast), 2.0 / (fast + 1))
    slow_ema = _smoothed(x, start, _mean(x, 0, slow), 2.0 / (slow + 1))
    line = fast_ema - slow_ema
    signal_row = start + signal - 1
    signal_line = _smoothed(line, signal_row, _mean(line, start, signal), 2.0 / (signal + 1))
    return _frame({"macd": line, "signal": signal_line, "histogram": line - signal_line}, signal_row)


def _rolling_moments(x: pl.Series, period: int) -> tuple[pl.Series, pl.Series]:
    """Rolling mean and population deviation; a window of equal values gets exactly (value, 0)."""
    flat = x.rolling_max(period) == x.rolling_min(period)
    frame = pl.DataFrame({"x": x, "flat": flat, "mean": x.rolling_mean(period), "std": x.rolling_std(period, ddof=0)})
    return (
        frame.select(pl.when(pl.col("flat")).then(pl.col("x")).otherwise(pl.col("mean"))).to_series().alias("mean"),
        frame.select(pl.when(pl.col("flat")).then(0.0).otherwise(pl.col("std"))).to_series().alias("std"),
    )


def bollinger(close: pl.Series, period: int = 20, num_std: float = 2.0) -> pl.DataFrame:
    """Bollinger bands: columns ``middle``, ``upper``, ``lower``, ``percent_b``, ``bandwidth``.

    middle = SMA(period); upper/lower = middle ± num_std·σ with σ the population standard deviation of the
    window (TA-Lib's BBANDS). percent_b = (close - lower)/(upper - lower), 0.5 when the bands coincide (a
    flat window); bandwidth = (upper - lower)/middle, NaN when middle is 0. First row ``period - 1``.
    """
    period = check_period("period", period, minimum=2)
    k = check_positive("num_std", num_std)
    (x,) = _inputs(close=close)
    middle, deviation = _rolling_moments(x, period)
    width = k * deviation
    upper = middle + width
    lower = middle - width
    band = pl.col("upper") - pl.col("lower")
    frame = pl.DataFrame({"x": x, "middle": middle, "upper": upper, "lower": lower}).select(
        "middle",
        "upper",
        "lower",
        pl.when(band == 0.0).then(0.5).otherwise((pl.col("x") - pl.col("lower")) / band).alias("percent_b"),
        pl.when(pl.col("middle") == 0.0).then(float("nan")).otherwise(band / pl.col("middle")).alias("bandwidth"),
    )
    return _frame({name: frame[name] for name in frame.columns}, period - 1)


def zscore(close: pl.Series, period: int = 20) -> pl.Series:
    """Rolling z-score: (x - mean)/σ over the last ``period`` values, σ the population deviation.

    A flat window (σ = 0) gives 0: the value sits exactly on its mean. First value on row ``period - 1``.
    """
    period = check_period("period", period, minimum=2)
    (x,) = _inputs(close=close)
    mean, deviation = _rolling_moments(x, period)
    expression = pl.when(pl.col("s") == 0.0).then(0.0).otherwise((pl.col("x") - pl.col("m")) / pl.col("s"))
    return _evaluate(expression, x=x, m=mean, s=deviation).alias("zscore")


def atr(high: pl.Series, low: pl.Series, close: pl.Series, period: int = 14) -> pl.Series:
    """Wilder's average true range, as TA-Lib computes it.

    TR = max(high - low, |high - previous close|, |low - previous close|), defined from row 1. The first
    ATR, on row ``period``, is the mean of the first ``period`` true ranges; then
    atr = (atr·(period-1) + tr)/period.
    """
    period = check_period("period", period)
    h, lo, c = _inputs(high=high, low=low, close=close)
    tr = _true_range(h, lo, c)
    return _smoothed(tr, period, _mean(tr, 1, period), 1.0 / period).alias("atr")


def adx(high: pl.Series, low: pl.Series, close: pl.Series, period: int = 14) -> pl.DataFrame:
    """Directional movement: columns ``plus_di``, ``minus_di``, ``adx`` (Wilder, as TA-Lib computes them).

    From row 1: up = high - previous high, down = previous low - low; +DM = up if up > down and up > 0
    else 0, -DM = down if down > up and down > 0 else 0; TR as in :func:`atr`. +DM, -DM and TR are smoothed
    the way TA-Lib does: a sum of the first ``period - 1`` values, then S = S - S/period + x (here kept
    divided by ``period``, which leaves every ratio unchanged). ±DI = 100·S(±DM)/S(TR) from row ``period``;
    DX = 100·|+DI - -DI|/(+DI + -DI); ADX on row ``2·period - 1`` is the mean of the first ``period`` DX,
    then adx = (adx·(period-1) + dx)/period. All three columns start on row ``2·period - 1``.

    Departures from TA-Lib, both only where the textbook formula divides by zero: TA-Lib tests "zero"
    with a 1e-8 tolerance (a real range on a low-priced coin can be smaller) while this tests exact
    zero; and where +DI + -DI = 0 TA-Lib leaves the ADX unchanged while this counts DX as 0 (no
    directional movement, hence no trend).
    """
    period = check_period("period", period)
    h, lo, c = _inputs(high=high, low=low, close=close)
    up = h.diff()
    down = -lo.diff()
    moves = pl.DataFrame({"up": up, "down": down}).select(
        pl.when((pl.col("up") > pl.col("down")) & (pl.col("up") > 0.0)).then(pl.col("up")).otherwise(0.0).alias("p"),
        pl.when((pl.col("down") > pl.col("up")) & (pl.col("down") > 0.0))
        .then(pl.col("down"))
        .otherwise(0.0)
        .alias("m"),
    )
    tr = _true_range(h, lo, c)
    alpha = 1.0 / period
    smoothed = {}
    for name, values in (("p", moves["p"]), ("m", moves["m"]), ("tr", tr)):
        seed = None if period > values.len() else float(values.slice(1, period - 1).sum()) / period
        smoothed[name] = _smoothed(values, period - 1, seed, alpha)
    di = pl.DataFrame(smoothed).select(
        pl.when(pl.col("tr") == 0.0).then(0.0).otherwise(100.0 * (pl.col("p") / pl.col("tr"))).alias("plus_di"),
        pl.when(pl.col("tr") == 0.0).then(0.0).otherwise(100.0 * (pl.col("m") / pl.col("tr"))).alias("minus_di"),
    )
    di_sum = pl.col("plus_di") + pl.col("minus_di")
    dx = di.select(
        pl.when(di_sum == 0.0)
        .then(0.0)
        .otherwise(100.0 * ((pl.col("minus_di") - pl.col("plus_di")).abs() / di_sum))
        .alias("dx")
    )["dx"]
    # Row `period - 1` carries only the seed of the smoothing, not a DI: keep it out of the DX average.
    dx = _from(dx, period, "dx")
    first = 2 * period - 1
    average = _smoothed(dx, first, _mean(dx, period, period), alpha)
    return _frame({"plus_di": di["plus_di"], "minus_di": di["minus_di"], "adx": average}, first)


def stochastic(
    high: pl.Series, low: pl.Series, close: pl.Series, k_period: int = 14, k_smooth: int = 3, d_period: int = 3
) -> pl.DataFrame:
    """Stochastic oscillator: columns ``fast_k``, ``fast_d``, ``slow_k``, ``slow_d`` (TA-Lib STOCHF/STOCH).

    fast_k = 100·(close - lowest low)/(highest high - lowest low) over ``k_period`` bars; fast_d =
    SMA(fast_k, d_period); slow_k = SMA(fast_k, k_smooth); slow_d = SMA(slow_k, d_period). When the range is
    zero fast_k is 50 (TA-Lib writes 0, which would read as "oversold" on a market that has not moved). All
    columns start on row ``k_period + k_smooth + d_period - 3``.
    """
    k_period = check_period("k_period", k_period)
    k_smooth = check_period("k_smooth", k_smooth)
    d_period = check_period("d_period", d_period)
    h, lo, c = _inputs(high=high, low=low, close=close)
    frame = pl.DataFrame({"c": c, "hh": h.rolling_max(k_period), "ll": lo.rolling_min(k_period)})
    fast_k = frame.select(
        pl.when(pl.col("hh") == pl.col("ll"))
        .then(50.0)
        .otherwise(100.0 * ((pl.col("c") - pl.col("ll")) / (pl.col("hh") - pl.col("ll"))))
    ).to_series()
    # Means of values in [0, 100] stay there, but polars' running-sum rolling mean can leave -1e-14 where a 100
    # has just left the window (the incremental twin's compensated sums do not): clip the float noise off.
    slow_k = fast_k.rolling_mean(k_smooth).clip(0.0, 100.0)
    columns = {
        "fast_k": fast_k,
        "fast_d": fast_k.rolling_mean(d_period).clip(0.0, 100.0),
        "slow_k": slow_k,
        "slow_d": slow_k.rolling_mean(d_period).clip(0.0, 100.0),
    }
    return _frame(columns, k_period + k_smooth + d_period - 3)


def obv(close: pl.Series, volume: pl.Series) -> pl.Series:
    """On-balance volume as TA-Lib computes it: the first bar's volume, then ± each bar's volume as the close
    rises or falls (unchanged on an equal close). Volume must be >= 0."""
    c, v = _inputs(close=close, volume=volume)
    _non_negative_volume(v)
    if c.len() == 0:
        return _nulls(0).alias("obv")
    flow = (c.diff().sign() * v).set(pl.Series([True] + [False] * (c.len() - 1)), v[0])
    return flow.cum_sum().alias("obv")


def _non_negative_volume(volume: pl.Series) -> None:
    negative = volume < 0.0
    if negative.any():
        row = negative.arg_true()[0]
        raise ValidationError("volume", "must be >= 0", f"{volume[row]} at row {row}")


def vwap(
    high: pl.Series,
    low: pl.Series,
    close: pl.Series,
    volume: pl.Series,
    window: int | None = None,
    session: pl.Series | Sequence[object] | None = None,
) -> pl.Series:
    """Volume-weighted average of the typical price (high + low + close)/3.

    Cumulative from the first row when ``window`` is None, else over the last ``window`` bars (first value on
    row ``window - 1``). ``session`` (one key per row, e.g. the trading date) restarts the average, and the
    rolling window, whenever the key changes. Where no volume has traded in the span the VWAP is undefined
    and the row holds null (there is no price at which volume traded); volume must be >= 0.
    """
    if window is not None:
        window = check_period("window", window)
    h, lo, c, v = _inputs(high=high, low=low, close=close, volume=volume)
    _non_negative_volume(v)
    frame = pl.DataFrame({"pv": (h + lo + c) / 3.0 * v, "v": v, "traded": (v > 0.0).cast(_F64)})
    keys: list[pl.Expr] = []
    if session is not None:
        labels = session if isinstance(session, pl.Series) else pl.Series(list(session))
        if labels.len() != v.len():
            raise ValidationError("session", f"must have one key per row ({v.len()})", labels.len())
        # A run number, so a key that comes back later (Monday after Friday's "A") still starts afresh.
        frame = frame.with_columns(run=(labels != labels.shift(1)).fill_null(True).cum_sum())
        keys.append(pl.col("run"))

    def span(column: str) -> pl.Expr:
        expression = pl.col(column).cum_sum() if window is None else pl.col(column).rolling_sum(window)
        return expression.over(keys) if keys else expression

    result = frame.select(
        pl.when(span("traded") > 0.0).then(span("pv") / span("v")).otherwise(None).alias("vwap")
    ).to_series()
    return result.cast(_F64)


def donchian(high: pl.Series, low: pl.Series, period: int = 20) -> pl.DataFrame:
    """Donchian channel: columns ``upper`` (highest high), ``lower`` (lowest low) and ``middle`` (their
    midpoint) over the last ``period`` bars, the current bar included. First row ``period - 1``."""
    period = check_period("period", period)
    h, lo = _inputs(high=high, low=low)
    upper = h.rolling_max(period)
    lower = lo.rolling_min(period)
    return _frame({"upper": upper, "lower": lower, "middle": (upper + lower) / 2.0}, period - 1)


__all__ = [
    "adx",
    "atr",
    "bollinger",
    "donchian",
    "ema",
    "macd",
    "obv",
    "rsi",
    "sma",
    "stochastic",
    "vwap",
    "wma",
    "zscore",
]
