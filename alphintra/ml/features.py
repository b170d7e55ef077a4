"""Features of a bar, computed two ways that give the same numbers: in batch over a polars frame (training) and
one bar at a time (serving).

A feature is a named :class:`FeatureSpec` of a *kind* (``ret``, ``indicator``, ``vol`` ...) and parameters. Every
kind has a batch form (a Float64 Series, null during its warm-up) and an incremental form (``update(bar)``
returning a float, or ``None`` on exactly the rows where the batch form is null). Indicators are not written
again here: a kind ``indicator`` runs the project's vectorised indicator in batch and its incremental twin when
serving, through :mod:`alphintra.strategies.indicators`.

Conventions both forms share:

* a value that is not finite (a division by a zero close, say) counts as missing;
* times are bar *open* times in ns UTC (``BarData.ts``, the store's ``time``);
* a cross-asset feature of symbol B at the row of time ``t`` uses only B's bars with open time strictly before
  ``t``. The backtester delivers the bars of one instant symbol after symbol, so B's bar of ``t`` may or may not
  be known when A's arrives; lagging by one instant makes the feature the same whatever the delivery order,
  and can never read a bar that closes after the row.

New kinds (a user's own features, or the planted look-ahead of the leakage tests) are added with
:func:`register_kind`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl

NS_PER_DAY = 86_400_000_000_000
NS_PER_HOUR = 3_600_000_000_000
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0


class Bar(Protocol):
    """What a feature reads of a bar (``BarData`` has these fields)."""

    @property
    def symbol(self) -> str: ...
    @property
    def ts(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...


class Incremental(Protocol):
    """The serving form of one feature: fed every bar of the row's symbol (and of the symbols it names)."""

    def update(self, bar: Bar) -> float | None: ...


BatchFn = Callable[["pl.DataFrame", Mapping[str, Any], Mapping[str, "pl.DataFrame"]], "pl.Series"]
IncrementalFactory = Callable[[Mapping[str, Any]], Incremental]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    batch: BatchFn
    incremental: IncrementalFactory
    # Parameters naming other symbols whose bars the feature reads (cross-asset kinds).
    symbol_params: tuple[str, ...] = ()


_KINDS: dict[str, Kind] = {}


def register_kind(
    name: str, batch: BatchFn, incremental: IncrementalFactory, *, symbol_params: tuple[str, ...] = ()
) -> None:
    """Make feature kind ``name`` available to feature sets (a later registration replaces an earlier one)."""
    _KINDS[name] = Kind(name, batch, incremental, symbol_params)


def kind(name: str) -> Kind:
    found = _KINDS.get(name)
    if found is None:
        raise ValidationError("feature kind", f"must be one of: {', '.join(sorted(_KINDS))}", name)
    return found


def finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, else ``None`` (the missing value of both forms)."""
    if value is None or value - value != 0.0:
        return None
    return float(value)


# -- returns, range, volatility -----------------------------------------------------------------------------------


def _horizon(params: Mapping[str, Any], key: str = "horizon", default: int = 1) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(key, "must be an integer >= 1", value)
    return value


def _ret_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import polars as pl

    h = _horizon(params)
    close = bars["close"].cast(pl.Float64)
    return close / close.shift(h) - 1.0


class _Ret:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.h = _horizon(params)
        self.closes: deque[float] = deque(maxlen=self.h + 1)

    def update(self, bar: Bar) -> float | None:
        self.closes.append(float(bar.close))
        if len(self.closes) <= self.h:
            return None
        return finite(self.closes[-1] / self.closes[0] - 1.0)


def _range_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import polars as pl

    return (bars["high"].cast(pl.Float64) - bars["low"].cast(pl.Float64)) / bars["close"].cast(pl.Float64)


class _Range:
    def __init__(self, params: Mapping[str, Any]) -> None:
        pass

    def update(self, bar: Bar) -> float | None:
        close = float(bar.close)
        return None if close == 0.0 else finite((float(bar.high) - float(bar.low)) / close)


def _std(values: list[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def _vol_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import numpy as np
    import polars as pl

    window = _horizon(params, "window", 20)
    close = bars["close"].cast(pl.Float64).to_numpy()
    out = np.full(close.size, np.nan)
    if close.size > window:
        returns = close[1:] / close[:-1] - 1.0
        # Population deviation of the last `window` one-bar returns; numpy's two-pass std, as the incremental form.
        view = np.lib.stride_tricks.sliding_window_view(returns, window)
        out[window:] = view.std(axis=1)
    return pl.Series(out, dtype=pl.Float64)


class _Vol:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.window = _horizon(params, "window", 20)
        self.previous: float | None = None
        self.returns: deque[float] = deque(maxlen=self.window)

    def update(self, bar: Bar) -> float | None:
        close = float(bar.close)
        previous, self.previous = self.previous, close
        if previous is None:
            return None
        self.returns.append(close / previous - 1.0 if previous != 0.0 else math.nan)
        if len(self.returns) < self.window:
            return None
        return finite(_std(list(self.returns)))


# -- indicators (the project's two forms) --------------------------------------------------------------------------

_TRANSFORMS = ("raw", "ratio", "rel", "pct")


def _indicator_args(params: Mapping[str, Any]) -> tuple[str, str, dict[str, Any], str]:
    from alphintra.strategies.indicators import lookup

    name = params.get("indicator")
    spec = lookup(str(name))
    output = params.get("output")
    if output is not None and output not in spec.outputs:
        raise ValidationError("output", f"must be one of {', '.join(spec.outputs)} for {spec.name}", output)
    transform = params.get("transform", "raw")
    if transform not in _TRANSFORMS:
        raise ValidationError("transform", f"must be one of {', '.join(_TRANSFORMS)}", transform)
    args = dict(params.get("params", {}))
    return spec.name, str(output or spec.outputs[0]), args, transform


def _apply(transform: str, value: float, close: float) -> float:
    if transform == "ratio":  # a price-sized value as a fraction of the close (ATR)
        return value / close
    if transform == "rel":  # a price level relative to the close (moving averages, bands)
        return value / close - 1.0
    if transform == "pct":  # a 0..100 oscillator on 0..1 (RSI, stochastic, ADX)
        return value / 100.0
    return value


def _indicator_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import numpy as np
    import polars as pl

    from alphintra.strategies.indicators import compute

    name, output, args, transform = _indicator_args(params)
    values = compute(name, bars, **args)[output].cast(pl.Float64).to_numpy().astype(np.float64)
    close = bars["close"].cast(pl.Float64).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "ratio":
            values = values / close
        elif transform == "rel":
            values = values / close - 1.0
        elif transform == "pct":
            values = values / 100.0
    return pl.Series(values, dtype=pl.Float64)


class _Shared:
    """One incremental indicator read by several features (Bollinger's %b and width, ADX and +DI): updated once
    per bar, however many features read it."""

    __slots__ = ("indicator", "last_ts", "value")

    def __init__(self, indicator: Any) -> None:
        self.indicator = indicator
        self.last_ts: int | None = None
        self.value: Any = None

    def read(self, bar: Bar) -> Any:
        if bar.ts != self.last_ts:
            self.last_ts = bar.ts
            self.value = self.indicator.update_bar(bar)
        return self.value


class _Indicator:
    def __init__(self, params: Mapping[str, Any]) -> None:
        from alphintra.strategies.indicators import create, lookup

        name, output, args, transform = _indicator_args(params)
        self.key = (name, tuple(sorted((k, repr(v)) for k, v in args.items())))
        self.source = _Shared(create(name, **args))
        outputs = lookup(name).outputs
        self.index = outputs.index(output) if len(outputs) > 1 else None
        self.transform = transform

    def share(self, others: dict[tuple[Any, ...], _Shared]) -> None:
        """Read the same indicator as an earlier feature with the same parameters (see :class:`_Shared`)."""
        self.source = others.setdefault(self.key, self.source)

    def update(self, bar: Bar) -> float | None:
        value = self.source.read(bar)
        if value is None:
            return None
        number = float(value if self.index is None else value[self.index])
        close = float(bar.close)
        if self.transform in ("ratio", "rel") and close == 0.0:
            return None
        return finite(_apply(self.transform, number, close))


# -- calendar ------------------------------------------------------------------------------------------------------

_TIME_FIELDS = ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "dow")


def _time_value(field: str, ts: int) -> float:
    if field in ("hour_sin", "hour_cos"):
        angle = 2.0 * math.pi * (ts % NS_PER_DAY) / NS_PER_DAY
        return math.sin(angle) if field == "hour_sin" else math.cos(angle)
    day = (ts // NS_PER_DAY + EPOCH_WEEKDAY) % 7
    if field == "dow":
        return float(day)
    angle = 2.0 * math.pi * day / 7.0
    return math.sin(angle) if field == "dow_sin" else math.cos(angle)


def _time_field(params: Mapping[str, Any]) -> str:
    field = params.get("field")
    if field not in _TIME_FIELDS:
        raise ValidationError("field", f"must be one of {', '.join(_TIME_FIELDS)}", field)
    return str(field)


def _time_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import polars as pl

    field = _time_field(params)
    stamps = bars["time"].dt.epoch("ns").to_list()
    # math, not numpy: the serving form calls math.sin, and the two must agree to the last bit.
    return pl.Series([_time_value(field, int(ts)) for ts in stamps], dtype=pl.Float64)


class _Time:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.field = _time_field(params)

    def update(self, bar: Bar) -> float | None:
        return _time_value(self.field, int(bar.ts))


# -- cross-asset ---------------------------------------------------------------------------------------------------


def _other(params: Mapping[str, Any]) -> str:
    symbol = params.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise ValidationError("symbol", "must name the other symbol", symbol)
    return symbol


def _xret_batch(bars: pl.DataFrame, params: Mapping[str, Any], others: Mapping[str, pl.DataFrame]) -> pl.Series:
    import polars as pl

    symbol, h = _other(params), _horizon(params)
    other = others.get(symbol)
    if other is None:
        raise ValidationError("symbol", "has no bars loaded for this cross-asset feature", symbol)
    close = other["close"].cast(pl.Float64)
    theirs = other.select(pl.col("time").alias("_t"), (close / close.shift(h) - 1.0).alias("_x")).sort("_t")
    # Strictly earlier bars of the other symbol (see the module docstring).
    joined = bars.select(pl.col("time")).join_asof(
        theirs, left_on="time", right_on="_t", strategy="backward", allow_exact_matches=False
    )
    return joined["_x"]


class _XRet:
    reads_others = True

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.symbol, self.h = _other(params), _horizon(params)
        self.closes: deque[tuple[int, float]] = deque(maxlen=self.h + 2)

    def update(self, bar: Bar) -> float | None:
        if bar.symbol == self.symbol:
            if self.closes and self.closes[-1][0] == bar.ts:
                self.closes.pop()  # the same bar again (a correction): the newest value wins
            self.closes.append((int(bar.ts), float(bar.close)))
            return None
        known = [close for ts, close in self.closes if ts < bar.ts]
        if len(known) <= self.h:
            return None
        return finite(known[-1] / known[-1 - self.h] - 1.0)


register_kind("ret", _ret_batch, _Ret)
register_kind("range", _range_batch, _Range)
register_kind("vol", _vol_batch, _Vol)
register_kind("indicator", _indicator_batch, _Indicator)
register_kind("time", _time_batch, _Time)
register_kind("xret", _xret_batch, _XRet, symbol_params=("symbol",))


__all__ = ["Bar", "Incremental", "Kind", "finite", "kind", "register_kind"]
