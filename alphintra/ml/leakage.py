"""Leakage safety: purged and embargoed splits, and a check that refuses a feature that reads later bars.

**Splits.** A label of row ``i`` reads bars ``i .. ends[i]``. Training on a row whose label window overlaps the
test block teaches the model the test block's prices, so those rows are *purged*. Rows just after a test block
share its market regime through serially correlated features; an *embargo* of ``embargo`` rows after each test
block keeps them out of training too (this only matters when training rows may follow the test block, as in
:func:`purged_kfold`; the walk-forward split trains on the past only and gets the embargo as a gap).

**Look-ahead check.** A feature must give, for the row of time ``t``, the same value whether or not any bar after
``t`` exists. :func:`check_no_lookahead` computes the batch features on the full history and again on the history
cut at several points, and refuses any feature whose value on a row at or before the cut changes. A feature that
peeks at the next bar (``close.shift(-1)``) differs on the last row of every cut and is caught; one that only
looks back gives the same numbers. It also compares the batch form with the serving form on the same bars: the
serving form cannot see the future, so a batch-only look-ahead is caught a second way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from alphintra.ml.featureset import FeatureSet


class LeakageError(ValidationError):
    """A feature reads bars after its row; the set is refused."""


@dataclass(frozen=True, slots=True)
class Split:
    train: np.ndarray  # row indices
    test: np.ndarray

    def to_dict(self) -> dict[str, int]:
        return {
            "train_rows": int(self.train.size),
            "test_first": int(self.test[0]),
            "test_last": int(self.test[-1]),
            "test_rows": int(self.test.size),
        }


def _blocks(n: int, folds: int, start: int) -> list[tuple[int, int]]:
    size = (n - start) // folds
    if size < 1:
        raise ValidationError("--folds", f"too many for {n} rows", folds)
    edges = [start + k * size for k in range(folds)] + [n]
    return [(edges[k], edges[k + 1]) for k in range(folds)]


def walk_forward(ends: np.ndarray, folds: int = 5, *, embargo: int = 0, min_train: int = 100) -> Iterator[Split]:
    """Test blocks in time order after the first ``min_train`` rows; each trains on earlier rows whose label ended
    more than ``embargo`` rows before its test block starts."""
    import numpy as np

    n = ends.size
    if n <= min_train:
        raise ValidationError("rows", f"need more than {min_train} labelled rows for walk-forward splits", n)
    rows = np.arange(n)
    for first, stop in _blocks(n, folds, min_train):
        train = rows[(rows < first) & (ends < first - embargo) & (ends >= 0)]
        if train.size:
            yield Split(train, rows[first:stop])


def purged_kfold(ends: np.ndarray, folds: int = 5, *, embargo: int = 0) -> Iterator[Split]:
    """K contiguous test blocks; training rows on both sides, purged of label overlap and embargoed after."""
    import numpy as np

    n = ends.size
    rows = np.arange(n)
    for first, stop in _blocks(n, folds, 0):
        last = stop - 1
        before = (rows < first) & (ends < first) & (ends >= 0)
        after = rows > last + embargo
        yield Split(rows[before | after], rows[first:stop])


def check_splits(ends: np.ndarray, split: Split, embargo: int) -> None:
    """Raise if a training row's label reads a test bar, or a training row sits in the embargo after the test."""
    first, last = int(split.test[0]), int(split.test[-1])
    for i in split.train:
        if first <= int(i) <= last or (int(i) < first and int(ends[i]) >= first):
            raise LeakageError("split", f"training row {int(i)} reads test bars {first}..{last}", int(i))
        if last < int(i) <= last + embargo:
            raise LeakageError("split", f"training row {int(i)} is inside the embargo after row {last}", int(i))


def _cuts(n: int, count: int) -> list[int]:
    # Cuts spread over the rows past the longest warm-up we expect, and the very end.
    first = max(2, n // 3)
    step = max(1, (n - first) // count)
    return sorted({min(n - 1, first + k * step) for k in range(count)})


def check_no_lookahead(
    feature_set: FeatureSet,
    bars: pl.DataFrame,
    others: Mapping[str, pl.DataFrame] | None = None,
    *,
    cuts: int = 4,
    tolerance: float = 1e-9,
    serving_rows: int = 400,
) -> None:
    """Raise :class:`LeakageError` naming the first feature whose value on a row depends on a later bar."""
    import polars as pl

    from alphintra.ml.featureset import compute_batch, compute_incremental

    bars = bars.sort("time")
    full = compute_batch(feature_set, bars, others)
    n = bars.height
    for cut in _cuts(n, cuts):
        end_time = bars["time"][cut]
        head = bars.slice(0, cut + 1)
        heads = {s: f.filter(pl.col("time") <= end_time) for s, f in (others or {}).items()}
        part = compute_batch(feature_set, head, heads)
        for name in feature_set.names:
            _same(name, full[name].slice(0, cut + 1), part[name], tolerance, f"the history is cut after row {cut}")
    # The serving form on the newest rows (bounded: it is the slow form) must agree with the batch form.
    start_time = bars["time"][max(0, n - serving_rows)]
    tail = bars.filter(pl.col("time") >= start_time)
    tails = {s: f.filter(pl.col("time") >= start_time) for s, f in (others or {}).items()}
    batch = compute_batch(feature_set, tail, tails)
    rows = compute_incremental(feature_set, tail, tails)
    for j, name in enumerate(feature_set.names):
        served = pl.Series([row[j] for row in rows], dtype=pl.Float64)
        _same(name, batch[name], served, tolerance, "computed bar by bar, as when serving")


def _same(name: str, expected: pl.Series, got: pl.Series, tolerance: float, how: str) -> None:
    import numpy as np

    a = expected.to_numpy().astype(np.float64)
    b = got.to_numpy().astype(np.float64)
    missing_a, missing_b = np.isnan(a), np.isnan(b)
    close = np.isclose(a, b, rtol=0.0, atol=tolerance)
    bad = (missing_a != missing_b) | (~missing_a & ~missing_b & ~close)
    if bad.any():
        row = int(np.argmax(bad))
        raise LeakageError(
            f"feature {name}",
            f"reads bars after its row: its value on row {row} changes when {how}",
            f"{a[row]!r} vs {b[row]!r}",
        )


__all__ = [
    "LeakageError",
    "Split",
    "check_no_lookahead",
    "check_splits",
    "purged_kfold",
    "walk_forward",
]
