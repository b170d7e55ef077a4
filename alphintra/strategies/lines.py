"""Indicator lines: a strategy's indicators, fed by whoever runs the strategy.

A strategy asks for a line in ``on_start`` (``self.fast = self.indicator("sma", period=10)``) and reads
``line.value`` (this bar) and ``line.previous`` (the bar before) in ``on_bar``; both are ``None`` during the
warm-up. Who computes the values depends on the mode, never what they are:

* live and paper sessions feed each closed bar to the incremental form (O(1) per bar), before ``on_bar``;
* a backtest has every bar up front, so it computes the vectorised form once per symbol (the registry's
  twin, equal to the incremental form to 1e-9) and the line only points at the current row.

Because a precomputed line is an index into whole arrays, a backtest may skip bars where the strategy would do
nothing (see :meth:`Strategy.wake <alphintra.strategies.base.Strategy.wake>`) without the strategy's state
falling behind: the line is right at whatever bar the strategy is shown next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from alphintra.strategies.base import BarData


class Line:
    """One output of one indicator on one symbol, as the strategy reads it."""

    __slots__ = (
        "_array",
        "_cursor",
        "_incremental",
        "_previous",
        "_value",
        "_values",
        "name",
        "output",
        "params",
        "symbol",
    )

    def __init__(self, name: str, symbol: str, output: str, params: Mapping[str, Any]) -> None:
        self.name = name
        self.symbol = symbol
        self.output = output
        self.params = dict(params)
        # The registry loads polars; a live process that never asks for a line should not import it.
        from alphintra.strategies.indicators import create

        self._incremental = create(name, **self.params)
        self._value: float | None = None
        self._previous: float | None = None
        # Once precomputed: the whole line, and the shared cursor of its symbol (the row of the current bar).
        self._values: list[float | None] | None = None
        self._array: np.ndarray | None = None
        self._cursor: list[int] = [-1]

    @property
    def value(self) -> float | None:
        """The value at the current bar (None while warming up)."""
        values = self._values
        if values is None:
            return self._value
        row = self._cursor[0]
        return values[row] if row >= 0 else None

    @property
    def previous(self) -> float | None:
        """The value one bar before the current one (None while warming up)."""
        values = self._values
        if values is None:
            return self._previous
        row = self._cursor[0] - 1
        return values[row] if row >= 0 else None

    @property
    def precomputed(self) -> bool:
        return self._values is not None

    def update(self, bar: BarData) -> None:
        """Feed one closed bar to the incremental form (live and paper)."""
        result = self._incremental.update_bar(bar)
        self._previous = self._value
        # Indicators with several outputs return a NamedTuple of them.
        self._value = getattr(result, self.output) if isinstance(result, tuple) else result

    def array(self) -> np.ndarray:
        """The whole precomputed line as float64 (NaN during the warm-up), for a strategy's vectorised ``wake``."""
        if self._array is None:
            raise ValidationError("line", "only a backtest's precomputed line has a whole array", self.name)
        return self._array

    def __repr__(self) -> str:
        return f"Line({self.name}.{self.output} on {self.symbol}: {self.value!r})"


class Lines:
    """The lines of one strategy run, by symbol."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, list[Line]] = {}
        self.precomputed = False
        self._cursors: dict[str, list[int]] = {}

    def add(self, name: str, symbol: str, output: str | None, params: Mapping[str, Any]) -> Line:
        from alphintra.strategies.indicators import lookup

        spec = lookup(name)
        chosen = output if output is not None else spec.outputs[0]
        if chosen not in spec.outputs:
            raise ValidationError("output", f"must be one of: {', '.join(spec.outputs)}", chosen)
        line = Line(spec.name, symbol, chosen, params)
        self.by_symbol.setdefault(symbol, []).append(line)
        return line

    def feed(self, bar: BarData) -> None:
        """A closed bar for the incremental lines of its symbol (no-op once precomputed)."""
        if self.precomputed:
            return
        for line in self.by_symbol.get(bar.symbol, ()):
            line.update(bar)

    def precompute(self, frames: Mapping[str, pl.DataFrame]) -> None:
        """Compute every line over the whole frame of its symbol (rows in time order) with the vectorised form.

        Lines of one indicator with the same parameters share one computation. Afterwards each line reads the row
        of its symbol's cursor, which the backtester moves with :meth:`seek`.
        """
        import polars as pl

        from alphintra.strategies.indicators import compute

        for symbol, lines in self.by_symbol.items():
            frame = frames[symbol]
            cursor = self._cursors.setdefault(symbol, [-1])
            computed: dict[tuple[str, str], pl.DataFrame] = {}
            for line in lines:
                key = (line.name, repr(sorted(line.params.items())))
                result = computed.get(key)
                if result is None:
                    result = computed[key] = compute(line.name, frame, **dict(line.params))
                series = result[line.output]
                line._values = series.to_list()
                line._array = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
                line._cursor = cursor
        self.precomputed = True

    def seek(self, symbol: str, row: int) -> None:
        """Point the precomputed lines of ``symbol`` at its ``row``-th bar (0-based, in time order)."""
        cursor = self._cursors.get(symbol)
        if cursor is not None:
            cursor[0] = row


__all__ = ["Line", "Lines"]
