"""Thinning long series for charts: a chart a few hundred cells wide cannot show a million bars anyway."""

from __future__ import annotations

from collections.abc import Sequence


def thin(points: Sequence[tuple[int, float]], max_points: int) -> list[tuple[int, float]]:
    """At most about ``max_points`` points that keep every bucket's lowest and highest value.

    Keeping both extremes of each bucket (in time order) means a spike or the deepest drawdown never vanishes
    from the chart, which plain every-n-th sampling would let happen.
    """
    n = len(points)
    if max_points < 4 or n <= max_points:
        return list(points)
    buckets = max_points // 2
    out: list[tuple[int, float]] = []
    for b in range(buckets):
        lo = b * n // buckets
        hi = (b + 1) * n // buckets
        chunk = points[lo:hi]
        low = min(range(len(chunk)), key=lambda i: chunk[i][1])
        high = max(range(len(chunk)), key=lambda i: chunk[i][1])
        for i in sorted({low, high}):
            out.append(chunk[i])
    if out[-1] != points[-1]:
        out.append(points[-1])
    if out[0] != points[0]:
        out.insert(0, points[0])
    return out
