"""Incremental indicators: O(1) work per observation, for live sessions and event-driven backtests.

Every class gives the same numbers as its vectorised twin in ``vectorised.py`` (to rounding, far below 1e-9)
and the same warm-up: ``update`` returns ``None`` exactly where the vectorised column holds null. The
definitions, seeds and deliberate departures from TA-Lib are documented once, on the vectorised functions;
each class here names its twin. Values are plain floats: indicators are signals, never money.

Single-input indicators read one field of a bar (``source``, ``"close"`` by default) in ``update_bar``;
bar indicators read the fields they need (``high``, ``low``, ``close``, ``volume``). ``update_bar`` accepts any
object with those attributes, Decimal or float.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable
from typing import Any, NamedTuple, TypeVar

from alphintra.errors import ValidationError

from ._base import (
    CompensatedSum,
    Indicator,
    RollingExtreme,
    RollingMoments,
    RollingSum,
    check_macd_periods,
    check_period,
    check_positive,
    real,
    split,
)

T = TypeVar("T")


class MACDValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


class BollingerValue(NamedTuple):
    middle: float
    upper: float
    lower: float
    percent_b: float
    bandwidth: float


class ADXValue(NamedTuple):
    plus_di: float
    minus_di: float
    adx: float


class StochasticValue(NamedTuple):
    fast_k: float
    fast_d: float
    slow_k: float
    slow_d: float


class DonchianValue(NamedTuple):
    upper: float
    lower: float
    middle: float


class _SourceIndicator(Indicator[T]):
    """An indicator of one series; ``source`` names the bar field ``update_bar`` reads."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        super().__init__()
        if not isinstance(source, str) or not source:
            raise ValidationError("source", "must be a bar field name", source)
        self.source = source

    def update_bar(self, bar: Any) -> T | None:
        return self.update(getattr(bar, self.source))


class SMA(_SourceIndicator[float]):
    """Simple moving average; twin of :func:`vectorised.sma`."""

    __slots__ = ("_period", "_sum")

    def __init__(self, period: int = 20, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period)
        self._sum = RollingSum(self._period)

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, value: float) -> float | None:
        total = self._sum.push_total(real(self.source, value))
        if total is not None:
            self._value = total / self._period
        return self._value

    def reset(self) -> None:
        super().reset()
        self._sum.reset()


class EMA(_SourceIndicator[float]):
    """Exponential moving average seeded with the SMA of the first ``period`` values; twin of :func:`vectorised.ema`."""

    __slots__ = ("_alpha", "_count", "_period", "_seed_sum")

    def __init__(self, period: int = 20, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period)
        self._alpha = 2.0 / (self._period + 1)
        self._count = 0
        self._seed_sum = 0.0

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, value: float) -> float | None:
        x = real(self.source, value)
        previous = self._value
        if previous is None:
            self._count += 1
            self._seed_sum += x
            if self._count == self._period:
                self._value = self._seed_sum / self._period
            return self._value
        self._value = previous + (x - previous) * self._alpha
        return self._value

    def reset(self) -> None:
        super().reset()
        self._count = 0
        self._seed_sum = 0.0


class WMA(_SourceIndicator[float]):
    """Linearly weighted moving average (newest weight ``period``); twin of :func:`vectorised.wma`.

    O(1) per update: with S the plain sum and W the weighted sum of the window, sliding by one value x
    lowers every old weight by one (the oldest falls to zero), so W' = W - S + period·x and S' = S - oldest + x.
    """

    __slots__ = ("_divisor", "_period", "_plain", "_since_exact", "_weighted", "_window")

    def __init__(self, period: int = 20, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period)
        self._divisor = self._period * (self._period + 1) / 2.0
        self._window: deque[float] = deque(maxlen=self._period)
        self._plain = CompensatedSum()
        self._weighted = CompensatedSum()
        self._since_exact = 0

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, value: float) -> float | None:
        x = real(self.source, value)
        window = self._window
        plain, weighted = self._plain, self._weighted
        n = self._period
        if len(window) == n:
            oldest = window[0]
            window.append(x)
            weighted.add_product(x, n)
            weighted.subtract(plain)
            plain.add(x)
            plain.add(-oldest)
        else:
            window.append(x)
            plain.add(x)
            weighted.add_product(x, len(window))
        self._since_exact += 1
        if self._since_exact >= n:
            plain.set_exact(list(window))
            weighted.set_exact([weight * part for weight, v in enumerate(window, start=1) for part in split(v)])
            self._since_exact = 0
        if len(window) == n:
            self._value = weighted.value / self._divisor
        return self._value

    def reset(self) -> None:
        super().reset()
        self._window.clear()
        self._plain.set(0.0)
        self._weighted.set(0.0)
        self._since_exact = 0


class RSI(_SourceIndicator[float]):
    """Wilder's relative strength index; twin of :func:`vectorised.rsi` (flat prices give 50, see there)."""

    __slots__ = ("_count", "_gain", "_loss", "_period", "_previous")

    def __init__(self, period: int = 14, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period)
        self._previous: float | None = None
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0

    @property
    def lookback(self) -> int:
        return self._period

    def update(self, value: float) -> float | None:
        x = real(self.source, value)
        previous = self._previous
        self._previous = x
        if previous is None:
            return None
        change = x - previous
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        n = self._period
        if self._count < n:
            # Seed: simple averages of the first n gains and losses.
            self._count += 1
            self._gain += gain
            self._loss += loss
            if self._count < n:
                return None
            self._gain /= n
            self._loss /= n
        else:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        total = self._gain + self._loss
        self._value = 50.0 if total == 0.0 else 100.0 * (self._gain / total)
        return self._value

    def reset(self) -> None:
        super().reset()
        self._previous = None
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0


class MACD(_SourceIndicator[MACDValue]):
    """MACD line, signal and histogram with TA-Lib's seeding; twin of :func:`vectorised.macd`."""

    __slots__ = (
        "_count",
        "_fast",
        "_fast_alpha",
        "_fast_ema",
        "_recent",
        "_signal",
        "_signal_alpha",
        "_signal_count",
        "_signal_ema",
        "_signal_sum",
        "_slow",
        "_slow_alpha",
        "_slow_ema",
        "_slow_sum",
    )

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9, *, source: str = "close") -> None:
        super().__init__(source)
        self._fast, self._slow, self._signal = check_macd_periods(fast, slow, signal)
        self._fast_alpha = 2.0 / (self._fast + 1)
        self._slow_alpha = 2.0 / (self._slow + 1)
        self._signal_alpha = 2.0 / (self._signal + 1)
        self._recent: deque[float] = deque(maxlen=self._fast)
        self._clear()

    def _clear(self) -> None:
        self._count = 0
        self._slow_sum = 0.0
        self._recent.clear()
        self._fast_ema: float | None = None
        self._slow_ema = 0.0
        self._signal_count = 0
        self._signal_sum = 0.0
        self._signal_ema: float | None = None

    @property
    def lookback(self) -> int:
        return self._slow - 1 + self._signal - 1

    def update(self, value: float) -> MACDValue | None:
        x = real(self.source, value)
        fast_ema = self._fast_ema
        if fast_ema is None:
            self._count += 1
            self._slow_sum += x
            self._recent.append(x)
            if self._count < self._slow:
                return None
            # Both averages start on the same bar: the fast one from the last `fast` values only.
            self._slow_ema = self._slow_sum / self._slow
            fast_ema = math.fsum(self._recent) / self._fast
        else:
            fast_ema += (x - fast_ema) * self._fast_alpha
            self._slow_ema += (x - self._slow_ema) * self._slow_alpha
        self._fast_ema = fast_ema
        line = fast_ema - self._slow_ema
        signal = self._signal_ema
        if signal is None:
            self._signal_count += 1
            self._signal_sum += line
            if self._signal_count < self._signal:
                return None
            signal = self._signal_sum / self._signal
        else:
            signal += (line - signal) * self._signal_alpha
        self._signal_ema = signal
        self._value = MACDValue(line, signal, line - signal)
        return self._value

    def reset(self) -> None:
        super().reset()
        self._clear()


class BollingerBands(_SourceIndicator[BollingerValue]):
    """Bollinger bands with population standard deviation; twin of :func:`vectorised.bollinger`."""

    __slots__ = ("_moments", "_num_std", "_period")

    def __init__(self, period: int = 20, num_std: float = 2.0, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period, minimum=2)
        self._num_std = check_positive("num_std", num_std)
        self._moments = RollingMoments(self._period)

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, value: float) -> BollingerValue | None:
        x = real(self.source, value)
        moments = self._moments
        moments.push(x)
        if not moments.full:
            return None
        middle = moments.mean
        width = self._num_std * math.sqrt(moments.variance)
        upper = middle + width
        lower = middle - width
        band = upper - lower
        percent_b = 0.5 if band == 0.0 else (x - lower) / band
        bandwidth = math.nan if middle == 0.0 else band / middle
        self._value = BollingerValue(middle, upper, lower, percent_b, bandwidth)
        return self._value

    def reset(self) -> None:
        super().reset()
        self._moments.reset()


class ZScore(_SourceIndicator[float]):
    """Rolling z-score against the window's mean and population deviation; twin of :func:`vectorised.zscore`."""

    __slots__ = ("_moments", "_period")

    def __init__(self, period: int = 20, *, source: str = "close") -> None:
        super().__init__(source)
        self._period = check_period("period", period, minimum=2)
        self._moments = RollingMoments(self._period)

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, value: float) -> float | None:
        x = real(self.source, value)
        moments = self._moments
        moments.push(x)
        if not moments.full:
            return None
        deviation = math.sqrt(moments.variance)
        self._value = 0.0 if deviation == 0.0 else (x - moments.mean) / deviation
        return self._value

    def reset(self) -> None:
        super().reset()
        self._moments.reset()


def _true_range(high: float, low: float, previous_close: float) -> float:
    return max(high - low, abs(high - previous_close), abs(low - previous_close))


class ATR(Indicator[float]):
    """Wilder's average true range; twin of :func:`vectorised.atr`."""

    __slots__ = ("_count", "_period", "_previous_close", "_seed_sum")

    def __init__(self, period: int = 14) -> None:
        super().__init__()
        self._period = check_period("period", period)
        self._previous_close: float | None = None
        self._count = 0
        self._seed_sum = 0.0

    @property
    def lookback(self) -> int:
        return self._period

    def update(self, high: float, low: float, close: float) -> float | None:
        h, lo, c = real("high", high), real("low", low), real("close", close)
        previous = self._previous_close
        self._previous_close = c
        if previous is None:
            return None
        tr = _true_range(h, lo, previous)
        n = self._period
        atr = self._value
        if atr is None:
            self._count += 1
            self._seed_sum += tr
            if self._count < n:
                return None
            self._value = self._seed_sum / n
        else:
            self._value = (atr * (n - 1) + tr) / n
        return self._value

    def update_bar(self, bar: Any) -> float | None:
        return self.update(bar.high, bar.low, bar.close)

    def reset(self) -> None:
        super().reset()
        self._previous_close = None
        self._count = 0
        self._seed_sum = 0.0


class ADX(Indicator[ADXValue]):
    """+DI, -DI and ADX with Wilder's smoothing as TA-Lib computes them; twin of :func:`vectorised.adx`.

    The smoothed DM and TR are kept as TA-Lib keeps them, as Wilder sums (S' = S - S/n + x, seeded with the
    sum of the first n-1 values); the DI ratio does not depend on whether sums or averages are kept.
    """

    __slots__ = (
        "_adx",
        "_count",
        "_dx_count",
        "_dx_sum",
        "_minus_dm",
        "_period",
        "_plus_dm",
        "_previous_close",
        "_previous_high",
        "_previous_low",
        "_tr",
    )

    def __init__(self, period: int = 14) -> None:
        super().__init__()
        self._period = check_period("period", period)
        self._clear()

    def _clear(self) -> None:
        self._previous_high: float | None = None
        self._previous_low = 0.0
        self._previous_close = 0.0
        self._count = 0
        self._plus_dm = 0.0
        self._minus_dm = 0.0
        self._tr = 0.0
        self._dx_count = 0
        self._dx_sum = 0.0
        self._adx: float | None = None

    @property
    def lookback(self) -> int:
        return 2 * self._period - 1

    def update(self, high: float, low: float, close: float) -> ADXValue | None:
        h, lo, c = real("high", high), real("low", low), real("close", close)
        previous_high = self._previous_high
        previous_low, previous_close = self._previous_low, self._previous_close
        self._previous_high, self._previous_low, self._previous_close = h, lo, c
        if previous_high is None:
            return None
        up = h - previous_high
        down = previous_low - lo
        plus_dm = up if up > down and up > 0.0 else 0.0
        minus_dm = down if down > up and down > 0.0 else 0.0
        tr = _true_range(h, lo, previous_close)
        n = self._period
        self._count += 1
        if self._count < n:
            self._plus_dm += plus_dm
            self._minus_dm += minus_dm
            self._tr += tr
            return None
        self._plus_dm = self._plus_dm - self._plus_dm / n + plus_dm
        self._minus_dm = self._minus_dm - self._minus_dm / n + minus_dm
        self._tr = self._tr - self._tr / n + tr
        if self._tr == 0.0:
            plus_di = minus_di = 0.0
        else:
            plus_di = 100.0 * (self._plus_dm / self._tr)
            minus_di = 100.0 * (self._minus_dm / self._tr)
        di_sum = plus_di + minus_di
        dx = 0.0 if di_sum == 0.0 else 100.0 * (abs(minus_di - plus_di) / di_sum)
        adx = self._adx
        if adx is None:
            self._dx_count += 1
            self._dx_sum += dx
            if self._dx_count < n:
                return None
            adx = self._dx_sum / n
        else:
            adx = (adx * (n - 1) + dx) / n
        self._adx = adx
        self._value = ADXValue(plus_di, minus_di, adx)
        return self._value

    def update_bar(self, bar: Any) -> ADXValue | None:
        return self.update(bar.high, bar.low, bar.close)

    def reset(self) -> None:
        super().reset()
        self._clear()


class Stochastic(Indicator[StochasticValue]):
    """Fast and slow stochastic oscillator; twin of :func:`vectorised.stochastic` (flat range gives 50)."""

    __slots__ = ("_d_period", "_fast_d", "_highest", "_k_period", "_k_smooth", "_lowest", "_slow_d", "_slow_k")

    def __init__(self, k_period: int = 14, k_smooth: int = 3, d_period: int = 3) -> None:
        super().__init__()
        self._k_period = check_period("k_period", k_period)
        self._k_smooth = check_period("k_smooth", k_smooth)
        self._d_period = check_period("d_period", d_period)
        self._highest = RollingExtreme(self._k_period, largest=True)
        self._lowest = RollingExtreme(self._k_period, largest=False)
        self._fast_d = RollingSum(self._d_period)
        self._slow_k = RollingSum(self._k_smooth)
        self._slow_d = RollingSum(self._d_period)

    @property
    def lookback(self) -> int:
        return self._k_period - 1 + self._k_smooth - 1 + self._d_period - 1

    def update(self, high: float, low: float, close: float) -> StochasticValue | None:
        h, lo, c = real("high", high), real("low", low), real("close", close)
        highest = self._highest.push(h)
        lowest = self._lowest.push(lo)
        if not self._highest.full:
            return None
        fast_k = 50.0 if highest == lowest else 100.0 * ((c - lowest) / (highest - lowest))
        self._fast_d.push(fast_k)
        slow_k_window = self._slow_k
        slow_k_window.push(fast_k)
        if not slow_k_window.full:
            return None
        slow_k = slow_k_window.total / self._k_smooth
        slow_d_window = self._slow_d
        slow_d_window.push(slow_k)
        if not slow_d_window.full:
            return None
        fast_d = self._fast_d.total / self._d_period
        self._value = StochasticValue(fast_k, fast_d, slow_k, slow_d_window.total / self._d_period)
        return self._value

    def update_bar(self, bar: Any) -> StochasticValue | None:
        return self.update(bar.high, bar.low, bar.close)

    def reset(self) -> None:
        super().reset()
        for part in (self._highest, self._lowest, self._fast_d, self._slow_k, self._slow_d):
            part.reset()


def _volume(value: object) -> float:
    v = real("volume", value)
    if v < 0.0:
        raise ValidationError("volume", "must be >= 0", value)
    return v


class OBV(Indicator[float]):
    """On-balance volume, starting at the first bar's volume as TA-Lib does; twin of :func:`vectorised.obv`."""

    __slots__ = ("_previous_close",)

    def __init__(self) -> None:
        super().__init__()
        self._previous_close: float | None = None

    @property
    def lookback(self) -> int:
        return 0

    def update(self, close: float, volume: float) -> float | None:
        c, v = real("close", close), _volume(volume)
        previous = self._previous_close
        self._previous_close = c
        obv = self._value
        if previous is None or obv is None:
            self._value = v
        elif c > previous:
            self._value = obv + v
        elif c < previous:
            self._value = obv - v
        return self._value

    def update_bar(self, bar: Any) -> float | None:
        return self.update(bar.close, bar.volume)

    def reset(self) -> None:
        super().reset()
        self._previous_close = None


class VWAP(Indicator[float]):
    """Volume-weighted average typical price, cumulative or over a rolling window; twin of :func:`vectorised.vwap`.

    A change of ``session`` (any hashable key, e.g. the trading date) starts the average afresh. ``ready``
    is False, and ``update`` returns None, whenever no volume has traded in the span (see the vectorised form).
    """

    __slots__ = ("_cumulative", "_session", "_traded", "_volume", "_weighted", "_window")

    def __init__(self, window: int | None = None) -> None:
        super().__init__()
        self._window = None if window is None else check_period("window", window)
        size = self._window or 1
        # In the cumulative form the RollingSums are unused and the plain totals below carry the sums.
        self._weighted = RollingSum(size)
        self._volume = RollingSum(size)
        self._traded = RollingSum(size)
        self._session: Hashable | None = None
        self._cumulative = (0.0, 0.0)

    @property
    def lookback(self) -> int:
        return 0 if self._window is None else self._window - 1

    def update(
        self, high: float, low: float, close: float, volume: float, session: Hashable | None = None
    ) -> float | None:
        h, lo, c, v = real("high", high), real("low", low), real("close", close), _volume(volume)
        if session is not None and session != self._session:
            self.reset()
            self._session = session
        typical = (h + lo + c) / 3.0
        if self._window is None:
            weighted, total = self._cumulative
            weighted += typical * v
            total += v
            self._cumulative = (weighted, total)
            self._value = weighted / total if total > 0.0 else None
            return self._value
        self._weighted.push(typical * v)
        self._volume.push(v)
        self._traded.push(1.0 if v > 0.0 else 0.0)
        if self._volume.full and self._traded.total > 0.0:
            self._value = self._weighted.total / self._volume.total
        else:
            self._value = None
        return self._value

    def update_bar(self, bar: Any, session: Hashable | None = None) -> float | None:
        return self.update(
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            session,
        )

    def reset(self) -> None:
        super().reset()
        self._weighted.reset()
        self._volume.reset()
        self._traded.reset()
        self._session = None
        self._cumulative = (0.0, 0.0)


class Donchian(Indicator[DonchianValue]):
    """Donchian channel of the last ``period`` bars (the current one included); twin of :func:`vectorised.donchian`."""

    __slots__ = ("_highest", "_lowest", "_period")

    def __init__(self, period: int = 20) -> None:
        super().__init__()
        self._period = check_period("period", period)
        self._highest = RollingExtreme(self._period, largest=True)
        self._lowest = RollingExtreme(self._period, largest=False)

    @property
    def lookback(self) -> int:
        return self._period - 1

    def update(self, high: float, low: float) -> DonchianValue | None:
        upper = self._highest.push(real("high", high))
        lower = self._lowest.push(real("low", low))
        if not self._highest.full:
            return None
        self._value = DonchianValue(upper, lower, (upper + lower) / 2.0)
        return self._value

    def update_bar(self, bar: Any) -> DonchianValue | None:
        return self.update(bar.high, bar.low)

    def reset(self) -> None:
        super().reset()
        self._highest.reset()
        self._lowest.reset()


__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "ADXValue",
    "BollingerBands",
    "BollingerValue",
    "Donchian",
    "DonchianValue",
    "MACDValue",
    "Stochastic",
    "StochasticValue",
    "ZScore",
]
