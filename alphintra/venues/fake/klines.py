"""Historical bars as a pure function of the minute index, so that any page of any date is always the same.

A random walk needs the sum of every step before it; that makes bar N depend on bars 0..N-1. Instead the path
is a sum of octaves of seeded value noise: octave ``k`` draws one value per ``2**k`` minutes and interpolates
linearly between them, scaled by ``sqrt(2**k)`` so that the variance grows with the horizon as a random walk's
does. Evaluating one minute costs ``_OCTAVES`` hashes, independent of where in history it lies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from alphintra.engine.core.instrument import Instrument

_MASK = (1 << 64) - 1
_OCTAVES = 22  # 2**22 minutes ~ 8 years of structure
_MINUTE_MS = 60_000

INTERVALS_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}


def _mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _unit(seed: int, octave: int, index: int) -> float:
    """A uniform value in [-1, 1) fixed by (seed, octave, index)."""
    h = _mix((seed * 1_000_003 + octave) & _MASK ^ _mix(index & _MASK))
    return (h >> 11) / float(1 << 52) - 1.0


class PricePath:
    """The seeded path of one symbol: ``log_price(minute)`` around ``base`` with per-minute volatility ``vol``."""

    def __init__(self, seed: int, base: Decimal, vol: float = 0.0008) -> None:
        self.seed = seed
        self.base = float(base)
        self.vol = vol

    def value(self, minute: int) -> float:
        return self.values([minute])[0]

    def values(self, minutes: list[int]) -> list[float]:
        """The path at each of ``minutes``: each octave hashes each of its cells once, numpy does the rest."""
        at = np.asarray(minutes, dtype=np.int64)
        total = np.zeros(len(at))
        seed = self.seed
        for k in range(_OCTAVES):
            cells = at >> k
            cell_ids, index = np.unique(cells, return_inverse=True)
            knots = [_unit(seed, k, int(c)) for c in cell_ids]
            knots.append(_unit(seed, k, int(cell_ids[-1]) + 1) if len(cell_ids) else 0.0)
            # consecutive cells share a knot; for the others hash the right-hand knot separately
            nxt = [
                knots[i + 1] if i + 1 < len(cell_ids) and cell_ids[i + 1] == c + 1 else _unit(seed, k, int(c) + 1)
                for i, c in enumerate(cell_ids)
            ]
            a = np.asarray(knots[: len(cell_ids)])[index]
            b = np.asarray(nxt)[index]
            span = 1 << k
            total += (a + (b - a) * (at - (cells << k)) / span) * math.sqrt(span)
        base, vol = self.base, self.vol
        # keep the series inside a band (a factor of about e**1.5 either way) so that no date gives absurd prices
        return [base * math.exp(1.5 * math.tanh(vol * float(t) / 3.0)) for t in total]

    def bars(self, inst: Instrument, minutes: list[int]) -> list[tuple[Decimal, Decimal, Decimal, Decimal, Decimal]]:
        """(open, high, low, close, volume) of the 1m bars starting at each of ``minutes`` (ascending)."""
        points = sorted({m for minute in minutes for m in (minute, minute + 1)})
        at = dict(zip(points, self.values(points), strict=True))
        price = _Grid(inst.tick_size, inst.ticks_to_price)
        size = _Grid(inst.lot_size, inst.lots_to_qty)
        out = []
        for minute in minutes:
            open_, close = at[minute], at[minute + 1]
            wick_hi = abs(_unit(self.seed, 101, minute)) * self.vol * 0.5
            wick_lo = abs(_unit(self.seed, 102, minute)) * self.vol * 0.5
            volume = (abs(_unit(self.seed, 103, minute)) * 20 + 0.5) * 1000 / self.base
            o = price.nearest(open_)
            c = price.nearest(close)
            h = max(price.up(max(open_, close) * (1 + wick_hi)), o, c)
            lo = min(price.down(min(open_, close) * (1 - wick_lo)), o, c)
            out.append((o, h, lo, c, size.down(volume)))
        return out


class _Grid:
    """Float -> Decimal on a step grid, fast: a power-of-ten step is a ``scaleb`` of the integer count (exact)."""

    def __init__(self, step: Decimal, to_decimal: Callable[[int], Decimal]) -> None:
        self.step = float(step)
        normal = step.normalize()
        exponent = normal.as_tuple().exponent
        self.exponent = exponent if normal.as_tuple().digits == (1,) and isinstance(exponent, int) else None
        self.to_decimal = to_decimal

    def _make(self, count: int) -> Decimal:
        return Decimal(count).scaleb(self.exponent) if self.exponent is not None else self.to_decimal(count)

    def nearest(self, value: float) -> Decimal:
        return self._make(round(value / self.step))

    def up(self, value: float) -> Decimal:
        return self._make(math.ceil(value / self.step))

    def down(self, value: float) -> Decimal:
        return self._make(math.floor(value / self.step))


def kline_rows(
    path: PricePath,
    inst: Instrument,
    interval: str,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    now_ms: int,
) -> list[list[object]]:
    """Binance ``/klines`` rows: bars whose open time lies in [start, end], at most ``limit``, none in the future."""
    step = INTERVALS_MS[interval]
    per = step // _MINUTE_MS
    last_open = (now_ms // step) * step
    if end_ms is not None:
        last_open = min(last_open, (end_ms // step) * step)
    # without startTime: the latest bars; with it: from the first bar opening at or after it
    first_open = last_open - (limit - 1) * step if start_ms is None else -(-start_ms // step) * step
    opens: list[int] = []
    t = first_open
    while t <= last_open and len(opens) < limit:
        opens.append(t)
        t += step
    # wide bars sample at most 60 minutes of the path for their extremes: deterministic and bounded in cost
    stride = max(1, per // 60)
    wanted = [t // _MINUTE_MS + j for t in opens for j in [*range(0, per, stride), per - 1]]
    by_minute = dict(zip(sorted(set(wanted)), path.bars(inst, sorted(set(wanted))), strict=True))
    rows: list[list[object]] = []
    for t in opens:
        m0 = t // _MINUTE_MS
        bars = [by_minute[m0 + j] for j in range(0, per, stride)]
        o = bars[0][0]
        c = by_minute[m0 + per - 1][3]
        h = max(max(b[1] for b in bars), c)
        lo = min(min(b[2] for b in bars), c)
        v = sum((b[4] for b in bars), Decimal(0)) * stride
        quote_volume = (v * c).quantize(Decimal("0.00000001"))
        rows.append(
            [
                t,
                str(o),
                str(h),
                str(lo),
                str(c),
                str(v),
                t + step - 1,
                str(quote_volume),
                len(bars),
                str(v / 2),
                "0",
                "0",
            ]
        )
    return rows
