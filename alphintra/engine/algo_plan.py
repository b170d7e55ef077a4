"""The pure planning of execution algorithms (see :mod:`alphintra.engine.algos`): the exact split of a quantity
on the lot grid, the schedule of slices, the respread of what is left after a halt or a restart, and volume
profiles from history. No clock, no node: every function here is a function of its arguments."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.instrument import Instrument, to_decimal

if TYPE_CHECKING:
    from alphintra.engine.data import Bar

NS_PER_DAY = 86_400 * 1_000_000_000
MAX_SLICES = 100_000
_DIV = Context(prec=34)
_JITTER_STEPS = 1_000_000  # randomisation resolution: r is applied in millionths


@dataclass(frozen=True, slots=True)
class Slice:
    due_ns: int
    quantity: Decimal


def _int_weights(weights: Sequence[Decimal]) -> list[int]:
    """Scale exact decimal weights to integers with the same ratios (so the split is integer arithmetic)."""
    places = 0
    for w in weights:
        exponent = w.as_tuple().exponent
        assert isinstance(exponent, int)
        places = max(places, -exponent)
    return [int(w.scaleb(places)) for w in weights]


def split_lots(total: int, weights: Sequence[Decimal], min_lots: int = 1) -> list[int]:
    """Split ``total`` lots by ``weights``: floors, the leftover lots one each to the last slices, then slices
    below ``min_lots`` merged forward (the last into the previous non-empty one). The result sums to ``total``."""
    ints = _int_weights(weights)
    whole = sum(ints)
    if whole <= 0:
        raise ValidationError("weights", "must have a positive sum", list(weights))
    lots = [total * w // whole for w in ints]
    left = total - sum(lots)
    n = len(lots)
    for i in range(left):  # left < n: the floors lose less than one lot per slice
        lots[n - 1 - (i % n)] += 1
    carry = 0
    for i in range(n):
        lots[i] += carry
        carry = 0
        if 0 < lots[i] < min_lots and i < n - 1:
            carry, lots[i] = lots[i], 0
    if 0 < lots[-1] < min_lots:
        for j in range(n - 2, -1, -1):
            if lots[j] > 0:
                lots[j] += lots[-1]
                lots[-1] = 0
                break
    return lots


def plan_slices(
    inst: Instrument,
    quantity: Decimal,
    weights: Sequence[Decimal],
    start_ns: int,
    duration_ns: int,
    *,
    randomize: Decimal = Decimal(0),
    seed: int | None = None,
) -> tuple[Slice, ...]:
    """The schedule: slice ``i`` is due at ``start + i * duration / n`` (plus jitter) with its share of the lots."""
    n = len(weights)
    weights = list(weights)
    offsets = [0] * n
    if randomize > 0:
        rng = random.Random(seed)
        steps = int(randomize * _JITTER_STEPS)  # r in millionths
        interval = duration_ns // n
        whole = _JITTER_STEPS * _JITTER_STEPS
        for i in range(n):
            offsets[i] = interval * steps * rng.randrange(_JITTER_STEPS) // whole  # in [0, r x interval)
            draw = rng.randrange(-_JITTER_STEPS, _JITTER_STEPS + 1)
            # An integer factor in [1 - r, 1 + r] x whole keeps the weights exact (only their ratios matter).
            weights[i] = weights[i] * (whole + steps * draw)
    lots = split_lots(inst.qty_to_lots(quantity), weights, min_lots(inst))
    return tuple(Slice(start_ns + i * duration_ns // n + offsets[i], inst.lots_to_qty(lots[i])) for i in range(n))


def min_lots(inst: Instrument) -> int:
    return max(inst.qty_to_lots(inst.round_qty(inst.min_qty, "up")), 1) if inst.min_qty > 0 else 1


def respread(inst: Instrument, plan: Sequence[Slice], left: Decimal) -> tuple[Slice, ...]:
    """``plan``'s slices (same times) with ``left`` split over them in their planned proportions (equal shares
    when the plan gave them nothing): how the rest of a schedule is re-cut after a halt or a restart."""
    weights = [s.quantity for s in plan]
    if sum(weights, Decimal(0)) <= 0:
        weights = [Decimal(1)] * len(plan)
    lots = split_lots(inst.qty_to_lots(left), weights, min_lots(inst))
    return tuple(Slice(s.due_ns, inst.lots_to_qty(n)) for s, n in zip(plan, lots, strict=True))


def volume_profile(
    samples: Iterable[tuple[int, Decimal | int | str]],
    start_ns: int,
    duration_ns: int,
    slices: int,
    *,
    period_ns: int = NS_PER_DAY,
) -> tuple[Decimal, ...]:
    """Weights per slice from historical volume: each ``(ts_ns, volume)`` sample counts towards the slice whose
    time of day (``ts mod period``) it falls in, for the window ``[start, start + duration)`` taken modulo the
    period. Normalised to sum to 1 (rounded to 34 digits; the split only uses the ratios)."""
    check_window(duration_ns, slices)
    if duration_ns > period_ns:
        raise ValidationError("duration_ns", f"must not exceed the profile period {period_ns} ns", duration_ns)
    sums = [Decimal(0)] * slices
    origin = start_ns % period_ns
    for ts, volume in samples:
        offset = (ts - origin) % period_ns
        if offset < duration_ns:
            sums[offset * slices // duration_ns] += to_decimal("volume", volume)
    total = sum(sums, Decimal(0))
    if total <= 0:
        raise ValidationError("volume", "the history has no volume inside the algorithm's window", str(total))
    return tuple(_DIV.divide(v, total) for v in sums)


def volume_profile_from_bars(
    bars: Iterable[Bar], start_ns: int, duration_ns: int, slices: int, *, period_ns: int = NS_PER_DAY
) -> tuple[Decimal, ...]:
    """:func:`volume_profile` over stored bars (each counted at its open time)."""
    return volume_profile(((b.ts, b.volume) for b in bars), start_ns, duration_ns, slices, period_ns=period_ns)


def volume_profile_from_frame(
    frame: Any,
    start_ns: int,
    duration_ns: int,
    slices: int,
    *,
    time_column: str = "time",
    volume_column: str = "volume",
    period_ns: int = NS_PER_DAY,
) -> tuple[Decimal, ...]:
    """:func:`volume_profile` over a polars DataFrame of bars (e.g. ``MarketData.bars(...)``): ``time`` as a
    datetime or int nanoseconds, ``volume`` numeric."""
    import polars as pl

    times = frame.get_column(time_column)
    if times.dtype.is_temporal():
        times = times.dt.epoch("ns")
    volumes = frame.get_column(volume_column).cast(pl.Utf8)
    samples = zip(times.cast(pl.Int64).to_list(), volumes.to_list(), strict=True)
    return volume_profile(
        ((int(t), v) for t, v in samples if t is not None and v is not None),
        start_ns,
        duration_ns,
        slices,
        period_ns=period_ns,
    )


def check_window(duration_ns: int, slices: int) -> None:
    if not isinstance(slices, int) or isinstance(slices, bool) or not 1 <= slices <= MAX_SLICES:
        raise ValidationError("slices", f"must be an integer between 1 and {MAX_SLICES}", slices)
    if not isinstance(duration_ns, int) or isinstance(duration_ns, bool) or duration_ns < slices:
        raise ValidationError("duration_ns", "must be an integer >= the number of slices (ns)", duration_ns)


__all__ = [
    "MAX_SLICES",
    "NS_PER_DAY",
    "Slice",
    "check_window",
    "min_lots",
    "plan_slices",
    "respread",
    "split_lots",
    "volume_profile",
    "volume_profile_from_bars",
    "volume_profile_from_frame",
]
