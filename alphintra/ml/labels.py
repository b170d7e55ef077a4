"""Labels: what a model learns to predict for the bar of each row, all known only ``horizon`` bars later.

* ``forward`` -- the return from this close to the close ``horizon`` bars on: its sign (class 1 when above
  zero) for classification, its size for regression;
* ``triple_barrier`` -- which of three barriers the price meets first after this close: the take profit
  (``close·(1 + take_profit)`` reached by a later high: class 1), the stop loss (``close·(1 - stop_loss)`` reached
  by a later low: class 0) or the time limit of ``horizon`` bars (class by the sign of the return then). A bar
  that reaches both is counted as the stop: the bar's path is unknown and the cautious reading is the loss.

Every label carries :attr:`Labels.ends`, the index of the last bar it read; splits purge training rows whose
label window reaches into a test block. Rows whose label would need bars past the data are null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

LabelKind = Literal["forward", "triple_barrier"]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    kind: LabelKind = "forward"
    horizon: int = 1
    take_profit: float = 0.02
    stop_loss: float = 0.02

    def __post_init__(self) -> None:
        if self.kind not in ("forward", "triple_barrier"):
            raise ValidationError("--label", "must be forward or triple_barrier", self.kind)
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or not 1 <= self.horizon <= 10_000:
            raise ValidationError("--horizon", "must be an integer from 1 to 10000", self.horizon)
        for name, value in (("--take-profit", self.take_profit), ("--stop-loss", self.stop_loss)):
            if not 0 < value < 10:
                raise ValidationError(name, "must be a fraction above 0 (0.02 is 2 %)", value)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "horizon": self.horizon}
        if self.kind == "triple_barrier":
            data |= {"take_profit": self.take_profit, "stop_loss": self.stop_loss}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LabelSpec:
        return cls(**data)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Labels:
    """Per row: ``cls`` (1.0 / 0.0), ``ret`` (the realised forward return), ``ends`` (last bar read); NaN / -1
    where unknown."""

    cls: np.ndarray
    ret: np.ndarray
    ends: np.ndarray

    @property
    def known(self) -> np.ndarray:
        import numpy as np

        known: np.ndarray = ~np.isnan(self.cls)
        return known


def forward_return(close: np.ndarray, horizon: int) -> np.ndarray:
    import numpy as np

    out = np.full(close.size, np.nan)
    if close.size > horizon:
        out[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    return out


def make_labels(bars: pl.DataFrame, spec: LabelSpec) -> Labels:
    import numpy as np

    close = bars["close"].cast(float).to_numpy().astype(np.float64)
    n, h = close.size, spec.horizon
    ret = forward_return(close, h)
    ends = np.where(np.arange(n) + h < n, np.arange(n) + h, -1)
    if spec.kind == "forward":
        cls = np.where(np.isnan(ret), np.nan, (ret > 0).astype(np.float64))
        return Labels(cls, ret, ends)
    high = bars["high"].cast(float).to_numpy().astype(np.float64)
    low = bars["low"].cast(float).to_numpy().astype(np.float64)
    cls = np.full(n, np.nan)
    realised = np.full(n, np.nan)
    for i in range(n - h):
        upper = close[i] * (1.0 + spec.take_profit)
        lower = close[i] * (1.0 - spec.stop_loss)
        outcome, end = np.nan, i + h
        for j in range(i + 1, i + h + 1):
            if low[j] <= lower:
                outcome, end = 0.0, j
                break
            if high[j] >= upper:
                outcome, end = 1.0, j
                break
        if np.isnan(outcome):
            outcome = 1.0 if close[i + h] > close[i] else 0.0
            realised[i] = close[i + h] / close[i] - 1.0
        else:
            realised[i] = spec.take_profit if outcome == 1.0 else -spec.stop_loss
        cls[i] = outcome
        # A barrier may end the label early; purging still uses the whole window, the longest it could read.
        ends[i] = max(end, i + h)
    return Labels(cls, realised, ends)


__all__ = ["LabelKind", "LabelSpec", "Labels", "forward_return", "make_labels"]
