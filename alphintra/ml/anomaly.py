"""Anomalies in market data: bars whose price move, range or volume is far outside what came before.

Two detectors over three measures of each bar -- the close-to-close log return, the log of high/low, and the log
of the volume:

* **robust z-scores** against the trailing ``window`` bars before the bar (median and MAD, scaled to a standard
  deviation). A bar is an anomaly when its return's or range's score exceeds ``price_z`` (a jump: an unadjusted
  split, a price in the wrong unit), when its return exceeds ``revert_z`` and the next bar's return goes back by
  as much (a bad print: real moves of that size do not undo themselves the next bar), or when its volume's score
  exceeds ``volume_z`` (a spike; unusually *low* volume -- a holiday -- is not a data error). The thresholds sit
  far above the ``data validate`` outlier check (8): real markets have 8-sigma days (earnings, crashes), and on
  the shipped samples (GOOG daily, EUR/USD hourly, BTC/USD monthly) these rules find nothing;
* an **isolation forest** (Liu, Ting and Zhou, 2008) over the three robust scores: random axis-parallel cuts
  isolate a point that is unusual in a combination of measures in fewer cuts than a normal one. Its score is
  ``2^(-E[h(x)] / c(n))`` (close to 1: isolated at once; about 0.5 or below: normal). Every finding carries its
  score, which ranks findings; a bar is flagged by the forest alone only at ``forest_score`` (the samples' most
  isolated bars score about 0.83). Built here (numpy, seeded), as scikit-learn is not a dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

MAD_SCALE = 1.4826  # MAD x 1.4826 estimates the standard deviation of a normal distribution
# The robust deviation is never taken below half the plain one: prices on a coarse tick grid make many returns
# identical, the MAD then collapses towards zero and an ordinary move would score in the hundreds.
STD_FLOOR = 0.5
EULER_GAMMA = 0.5772156649015329
MEASURES = ("return", "range", "volume")


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    window: int = 250
    min_history: int = 30
    price_z: float = 30.0
    revert_z: float = 15.0
    volume_z: float = 9.0
    forest_score: float = 0.88
    trees: int = 100
    sample: int = 256
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _measures(bars: pl.DataFrame) -> np.ndarray:
    import numpy as np

    close = bars["close"].cast(float).to_numpy().astype(np.float64)
    high = bars["high"].cast(float).to_numpy().astype(np.float64)
    low = bars["low"].cast(float).to_numpy().astype(np.float64)
    volume = bars["volume"].cast(float).to_numpy().astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.concatenate([[np.nan], np.log(close[1:] / close[:-1])])
        rng = np.log(high / low)
        vol = np.log(volume)
    out = np.vstack([ret, rng, vol]).T
    out[~np.isfinite(out)] = np.nan  # a zero volume or price: no score rather than an infinite one
    return out


def robust_z(values: np.ndarray, window: int, min_history: int) -> np.ndarray:
    """Each value's distance from the median of the (up to) ``window`` values before it, in robust deviations."""
    import numpy as np

    n = values.size
    out = np.full(n, np.nan)
    first_full = min(window, n)
    for i in range(min_history, first_full):  # the first bars: an expanding history
        out[i] = _z(values[i], values[:i], min_history)
    if n > window:
        # Every later bar at once: row k of the view holds the `window` values before bar window + k.
        past = np.lib.stride_tricks.sliding_window_view(values[:-1], window)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window gives NaN, which is wanted
                median = np.nanmedian(past, axis=1)
                mad = np.nanmedian(np.abs(past - median[:, None]), axis=1) * MAD_SCALE
                mad = np.maximum(mad, STD_FLOOR * np.nanstd(past, axis=1))
            counts = (~np.isnan(past)).sum(axis=1)
            z = (values[window:] - median) / mad
        z[(counts < min_history) | ~(mad > 0)] = np.nan
        out[window:] = z
    return out


def _z(value: float, past: np.ndarray, min_history: int) -> float:
    """``value``'s robust z-score against ``past`` (NaN when too little history or no spread)."""
    import numpy as np

    past = past[~np.isnan(past)]
    if past.size < min_history or np.isnan(value):
        return math.nan
    median = np.median(past)
    mad = max(float(np.median(np.abs(past - median))) * MAD_SCALE, STD_FLOOR * float(np.std(past)))
    return float((value - median) / mad) if mad > 0 else math.nan


def _c(n: float) -> float:
    """Average path length of an unsuccessful search in a binary search tree of n points."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1) + EULER_GAMMA) - 2.0 * (n - 1) / n


@dataclass(slots=True)
class IsolationForest:
    trees: int = 100
    sample: int = 256
    seed: int = 0
    _forest: list[Any] = field(default_factory=list)
    _size: int = 0

    def fit(self, x: np.ndarray) -> IsolationForest:
        import numpy as np

        rng = np.random.default_rng(self.seed)
        size = min(self.sample, x.shape[0])
        limit = math.ceil(math.log2(max(size, 2)))
        self._size = size
        self._forest = [
            self._grow(x[rng.choice(x.shape[0], size, replace=False)], 0, limit, rng) for _ in range(self.trees)
        ]
        return self

    def _grow(self, x: np.ndarray, depth: int, limit: int, rng: np.random.Generator) -> Any:
        import numpy as np

        if depth >= limit or x.shape[0] <= 1:
            return ("leaf", x.shape[0])
        spread = x.max(axis=0) - x.min(axis=0)
        candidates = np.flatnonzero(spread > 0)
        if candidates.size == 0:
            return ("leaf", x.shape[0])
        column = int(rng.choice(candidates))
        cut = float(rng.uniform(x[:, column].min(), x[:, column].max()))
        below = x[:, column] < cut
        return (
            "split",
            column,
            cut,
            self._grow(x[below], depth + 1, limit, rng),
            self._grow(x[~below], depth + 1, limit, rng),
        )

    def _path(self, node: Any, x: np.ndarray, rows: np.ndarray, depth: int, out: np.ndarray) -> None:
        if node[0] == "leaf":
            out[rows] += depth + _c(node[1])
            return
        _, column, cut, left, right = node
        below = x[rows, column] < cut
        if below.any():
            self._path(left, x, rows[below], depth + 1, out)
        if (~below).any():
            self._path(right, x, rows[~below], depth + 1, out)

    def score(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        total = np.zeros(x.shape[0])
        rows = np.arange(x.shape[0])
        for tree in self._forest:
            self._path(tree, x, rows, 0, total)
        mean_path = total / len(self._forest)
        scores: np.ndarray = 2.0 ** (-mean_path / _c(self._size))
        return scores


@dataclass(frozen=True, slots=True)
class Anomaly:
    row: int
    time: Any
    reasons: tuple[str, ...]
    z_return: float | None
    z_range: float | None
    z_volume: float | None
    forest: float | None

    def to_dict(self) -> dict[str, Any]:
        def num(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(v, 4)

        return {
            "check": "anomaly",
            "row": self.row,
            "time": self.time,
            "detail": ", ".join(self.reasons),
            "z_return": num(self.z_return),
            "z_range": num(self.z_range),
            "z_volume": num(self.z_volume),
            "forest_score": num(self.forest),
        }


def detect(bars: pl.DataFrame, settings: AnomalySettings | None = None) -> list[Anomaly]:
    """The anomalous bars of one series (in time order), with the reasons each was flagged."""
    import numpy as np

    s = settings or AnomalySettings()
    bars = bars.sort("time")
    measures = _measures(bars)
    z = np.vstack([robust_z(measures[:, j], s.window, s.min_history) for j in range(3)]).T
    scored = ~np.isnan(z).any(axis=1)
    forest = np.full(bars.height, np.nan)
    if scored.sum() >= 2 and s.trees > 0:
        # Absolute scores: a move is as unusual down as up. Clipped so that one absurd print cannot stretch every
        # cut of the forest's root towards it.
        features = np.clip(np.abs(z[scored]), 0, 50)
        forest[scored] = IsolationForest(s.trees, s.sample, s.seed).fit(features).score(features)
    times = bars["time"].to_list()
    found: list[Anomaly] = []
    undone = False  # the previous bar was a spike this bar's return undid: that return is not news
    for i in range(bars.height):
        reasons = []
        zr, zg, zv = z[i]
        following = z[i + 1, 0] if i + 1 < bars.height else math.nan
        spike = abs(zr) > s.revert_z and abs(following) > s.revert_z and (zr > 0) != (following > 0)
        if undone:
            undone = False
        elif spike:
            reasons.append(f"price spike reverted next bar: return robust z {zr:+.1f} then {following:+.1f}")
            undone = True
        elif abs(zr) > s.price_z:
            reasons.append(f"price jump: return robust z {zr:+.1f}")
        if zg > s.price_z:
            reasons.append(f"range robust z {zg:+.1f}")
        if zv > s.volume_z:
            reasons.append(f"volume robust z {zv:+.1f}")
        if forest[i] >= s.forest_score:
            reasons.append(f"isolation score {forest[i]:.3f}")
        if reasons:
            found.append(Anomaly(i, times[i], tuple(reasons), _f(zr), _f(zg), _f(zv), _f(forest[i])))
    return found


def _f(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


__all__ = ["Anomaly", "AnomalySettings", "IsolationForest", "detect", "robust_z"]
