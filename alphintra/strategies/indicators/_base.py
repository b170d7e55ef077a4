"""Shared machinery of the incremental indicators: the base class, input checks and O(1) rolling windows.

The rolling helpers keep running sums for O(1) updates. A plain running sum that adds and subtracts for ever
collects rounding error, and the vectorised form (polars) does not; so the sums here are compensated
(Neumaier) and also recomputed exactly (``math.fsum`` over the window) once per ``period`` updates: the cost
stays O(1) amortised and the two forms keep agreeing far below 1e-9 however long a live session runs.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Generic, TypeVar

from alphintra.errors import ValidationError

T = TypeVar("T")


def check_period(field: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an int of at least ``minimum`` (bools are refused: ``True`` is no period)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(field, f"must be an integer >= {minimum}", value)
    return value


def check_positive(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number above zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, "must be a number > 0", value)
    number = float(value)
    if not math.isfinite(number) or number <= 0.0:
        raise ValidationError(field, "must be a number > 0", value)
    return number


def check_macd_periods(fast: object, slow: object, signal: object) -> tuple[int, int, int]:
    """MACD's three periods, checked: each an integer >= 1 and fast < slow."""
    f = check_period("fast", fast)
    s = check_period("slow", slow, minimum=2)
    g = check_period("signal", signal)
    if f >= s:
        raise ValidationError("fast", f"must be smaller than slow ({s})", f)
    return f, s, g


def real(field: str, value: object) -> float:
    """One input value as a finite float; Decimal and int are accepted, None/NaN/inf are refused."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(field, "must be a real number", value) from None
    # x - x is 0.0 for every finite x and NaN for NaN and ±inf: one subtraction instead of a function call.
    if number - number != 0.0:
        raise ValidationError(field, "must be finite", value)
    return number


class Indicator(Generic[T]):
    """Base of every incremental indicator.

    ``update(...)`` feeds one observation and returns the new value, or ``None`` while the indicator is
    still warming up; ``value`` repeats the last result, ``ready`` says whether there is one, ``reset()``
    forgets everything. ``lookback`` is the TA-Lib lookback: how many observations are consumed before the
    first value (the first value comes with observation number ``lookback + 1``).
    """

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: T | None = None

    @property
    def value(self) -> T | None:
        return self._value

    @property
    def ready(self) -> bool:
        return self._value is not None

    @property
    def lookback(self) -> int:
        raise NotImplementedError

    def update(self, *args: Any, **kwargs: Any) -> T | None:
        """Feed one observation; each subclass names its inputs (``value``, or ``high, low, close`` ...)."""
        raise NotImplementedError

    def update_bar(self, bar: Any) -> T | None:
        """Feed one bar: any object with the fields this indicator reads, as float, int or Decimal."""
        raise NotImplementedError

    def reset(self) -> None:
        self._value = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(value={self._value!r})"


_SPLITTER = 134_217_729.0  # 2**27 + 1


def split(value: float) -> tuple[float, float]:
    """Veltkamp's split: ``high + low == value`` exactly, each with at most 26 significant bits.

    So ``k·high`` and ``k·low`` are exact for any integer k below 2**26, and a weighted sum can add
    ``k·value`` without rounding the product. Values too large for the split (beyond 1e290) are left whole.
    """
    if not -1e290 < value < 1e290:
        return value, 0.0
    scaled = _SPLITTER * value
    high = scaled - (scaled - value)
    return high, value - high


class CompensatedSum:
    """A running sum with Neumaier's compensation.

    Its error stays of the order of the rounding of the current sum, where a plain running sum keeps the
    rounding of every value that ever passed through it: after a 1e12 print leaves a window of prices near
    1, a plain sum can be off by 1e-4 until recomputed, this one by ~1e-16.
    """

    __slots__ = ("_correction", "_sum")

    def __init__(self) -> None:
        self._sum = 0.0
        self._correction = 0.0

    def add(self, value: float) -> None:
        total = self._sum
        result = total + value
        # The low-order bits the addition lost, recovered exactly (Neumaier's branch on magnitudes).
        if abs(total) >= abs(value):
            self._correction += (total - result) + value
        else:
            self._correction += (value - result) + total
        self._sum = result

    def add_product(self, value: float, factor: int) -> None:
        """Add ``factor·value`` without rounding the product (``factor`` a small integer, like a WMA weight)."""
        high, low = split(value)
        self.add(factor * high)
        self.add(factor * low)

    def subtract(self, other: CompensatedSum) -> None:
        """Subtract ``other`` in full: both its parts, not its rounded value."""
        self.add(-other._sum)
        self.add(-other._correction)

    @property
    def value(self) -> float:
        return self._sum + self._correction

    def set(self, value: float) -> None:
        self._sum = value
        self._correction = 0.0

    def set_exact(self, values: list[float]) -> None:
        """Become the exact sum of ``values``: the correctly rounded sum plus what that rounding dropped.

        Keeping the remainder matters: a window holding 1e12 and prices near 0.1 rounds to a multiple of
        1e-4, and once the 1e12 leaves only the remainder still knows the small prices' last digits.
        """
        total = math.fsum(values)
        self._sum = total
        self._correction = math.fsum([*values, -total])


class RollingSum:
    """Sum of the last ``period`` values: O(1) per push with a compensated running sum, and recomputed
    exactly (``math.fsum``) once per ``period`` pushes so no error can build up over a long session."""

    __slots__ = ("_period", "_since_exact", "_total", "_window")

    def __init__(self, period: int) -> None:
        self._period = period
        self._window: deque[float] = deque(maxlen=period)
        self._total = CompensatedSum()
        self._since_exact = 0

    @property
    def full(self) -> bool:
        return len(self._window) == self._period

    @property
    def total(self) -> float:
        return self._total.value

    def push(self, x: float) -> None:
        self.push_total(x)

    def push_total(self, x: float) -> float | None:
        """Push ``x``; the window's sum once it is full, else None. The hot path of every moving average, so the
        two compensated additions (``x`` in, the oldest value out) are written out here rather than called."""
        window = self._window
        dropped = len(window) == self._period
        oldest = window[0] if dropped else 0.0
        window.append(x)
        self._since_exact += 1
        total = self._total
        if self._since_exact >= self._period:
            total.set_exact(list(window))
            self._since_exact = 0
        else:
            s = total._sum
            r = s + x
            c = total._correction + (((s - r) + x) if abs(s) >= abs(x) else ((x - r) + s))
            if dropped:
                y = -oldest
                s = r
                r = s + y
                c += ((s - r) + y) if abs(s) >= abs(y) else ((y - r) + s)
            total._sum = r
            total._correction = c
        if len(window) == self._period:
            return total._sum + total._correction
        return None

    def reset(self) -> None:
        self._window.clear()
        self._total.set(0.0)
        self._since_exact = 0


class RollingMoments:
    """Mean and population variance of the last ``period`` values in O(1) per push.

    Compensated sums are kept of deviations from a reference value near the window's mean, which avoids the
    cancellation of the textbook ``E[x²] - E[x]²`` on prices far from zero. When the window has moved far
    from the reference (the sum of squared deviations is over 1000 times the spread it has to resolve, as
    after a spike leaves the window) the sums are recomputed exactly around the new mean, as they are anyway
    once per ``period`` pushes; the variance then keeps ~1e-13 relative accuracy, however narrow the window.
    A window whose values are all equal reports variance exactly 0 and mean exactly that value, as the
    vectorised form does, so %b and z-scores of flat markets are defined rather than noise over noise.
    """

    __slots__ = ("_last", "_period", "_ref", "_run", "_s1", "_s2", "_since_exact", "_window")

    def __init__(self, period: int) -> None:
        self._period = period
        self._window: deque[float] = deque(maxlen=period)
        self._s1 = CompensatedSum()
        self._s2 = CompensatedSum()
        self.reset()

    def reset(self) -> None:
        self._window.clear()
        self._ref = 0.0
        self._s1.set(0.0)
        self._s2.set(0.0)
        self._since_exact = 0
        self._run = 0  # length of the current run of equal values, to recognise a flat window in O(1)
        self._last = math.nan

    @property
    def full(self) -> bool:
        return len(self._window) == self._period

    @property
    def flat(self) -> bool:
        return self._run >= self._period

    def push(self, x: float) -> None:
        window = self._window
        self._run = self._run + 1 if x == self._last else 1
        self._last = x
        if not window:
            self._ref = x
        dropped = len(window) == self._period
        oldest = window[0] if dropped else 0.0
        window.append(x)
        self._since_exact += 1
        if self._since_exact >= self._period:
            self._recompute()
            return
        s1, s2 = self._s1, self._s2
        d = x - self._ref
        s1.add(d)
        s2.add(d * d)
        if dropped:
            d = oldest - self._ref
            s1.add(-d)
            s2.add(-d * d)
        if not self.flat:
            squares = s2.value
            if self._spread(squares) * 1e3 < squares:
                self._recompute()

    def _spread(self, squares: float) -> float:
        """n·variance: the sum of squared deviations from the window's own mean."""
        total = self._s1.value
        return squares - total * total / len(self._window)

    def _recompute(self) -> None:
        window = self._window
        self._ref = math.fsum(window) / len(window)
        deviations = [v - self._ref for v in window]
        self._s1.set_exact(deviations)
        self._s2.set_exact([d * d for d in deviations])
        self._since_exact = 0

    @property
    def mean(self) -> float:
        if self.flat:
            return self._last
        return self._ref + self._s1.value / len(self._window)

    @property
    def variance(self) -> float:
        if self.flat:
            return 0.0
        return max(self._spread(self._s2.value) / len(self._window), 0.0)


class RollingExtreme:
    """Maximum (or minimum) of the last ``period`` values: a monotonic deque, amortised O(1) per push."""

    __slots__ = ("_count", "_entries", "_largest", "_period")

    def __init__(self, period: int, *, largest: bool) -> None:
        self._period = period
        self._largest = largest
        self._entries: deque[tuple[int, float]] = deque()
        self._count = 0

    def push(self, x: float) -> float:
        """Add ``x`` and return the extreme of the window that now ends with it."""
        entries = self._entries
        # An older value that cannot beat x can never be the extreme again: drop it.
        if self._largest:
            while entries and entries[-1][1] <= x:
                entries.pop()
        else:
            while entries and entries[-1][1] >= x:
                entries.pop()
        entries.append((self._count, x))
        if entries[0][0] <= self._count - self._period:
            entries.popleft()
        self._count += 1
        return entries[0][1]

    @property
    def full(self) -> bool:
        return self._count >= self._period

    def reset(self) -> None:
        self._entries.clear()
        self._count = 0


__all__ = [
    "CompensatedSum",
    "Indicator",
    "RollingExtreme",
    "RollingMoments",
    "RollingSum",
    "check_macd_periods",
    "check_period",
    "check_positive",
    "real",
    "split",
]
