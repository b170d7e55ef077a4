"""Bias checks of a strategy: look-ahead and warm-up (recursive indicator) dependence.

Both compare backtests of the same strategy on the same bars, differing only in how much data they were given:

- **Look-ahead.** The run is repeated with the future cut off at a few sampled bars. A decision at bar t must not
  change when bars after t are removed: every indicator value, signal and fill up to the cut must be the one of the
  full run. A strategy that reads the next bar's close (say, from the frame ``wake`` receives) emits something
  different on the last bar before the cut, and is named with that bar.
- **Warm-up dependence.** The run is repeated with the oldest history removed. An indicator whose value depends on
  how much history was loaded (a cumulative VWAP or OBV, a running state) still differs at the end of the data,
  where a properly converging one (EMA, Wilder's RSI or ATR) has long forgotten its seed. Only indicator lines are
  compared here: a strategy's own signals and fills legitimately depend on where its run started (its position, a
  refit schedule, a model trained on what it has seen).

Each finding names the indicator line or the signal, and the first bar where the two runs differ.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from alphintra.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl

    from alphintra.strategies.backtest import Backtest, BacktestConfig
    from alphintra.strategies.base import Strategy

_NS = 1_000_000_000
# Values closer than this (relative) are the same: float noise between two vectorised runs is far smaller, and an
# indicator that converged from a different seed is within it.
TOLERANCE = 1e-6
# Fewer bars than this leave nothing to compare once indicators have warmed up.
MIN_BARS = 30


@dataclass(frozen=True, slots=True)
class BiasFinding:
    """One subject (an indicator line, a signal, the fills) that differs between the full run and a shorter one."""

    kind: Literal["lookahead", "recursive"]
    subject: str
    first_ts: int
    full: str
    other: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        from alphintra.formatting import iso_ns

        return {
            "kind": self.kind,
            "subject": self.subject,
            "first_bar": iso_ns(self.first_ts) or "",
            "full": self.full,
            "other": self.other,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class BiasReport:
    strategy: str
    symbols: tuple[str, ...]
    bars: int
    cuts: tuple[int, ...]  # the last bar kept by each look-ahead run
    trims: tuple[int, ...]  # the first bar of each warm-up run
    findings: tuple[BiasFinding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        from alphintra.formatting import iso_ns

        return {
            "strategy": self.strategy,
            "symbols": list(self.symbols),
            "bars": self.bars,
            "lookahead_cuts": [iso_ns(ts) or "" for ts in self.cuts],
            "warmup_starts": [iso_ns(ts) or "" for ts in self.trims],
            "passed": self.passed,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class _Trace:
    """What one run decided: each line's values by bar time, signals by (name, time), fills in order."""

    lines: dict[str, dict[int, float | None]]
    signals: dict[str, dict[int, float | str]]
    fills: list[tuple[int, str, str, str, str]]
    end_ns: int


def _line_label(line: Any) -> str:
    args = ",".join(f"{k}={v}" for k, v in line.params.items())
    label = f"{line.name}({args})" if args else line.name
    output = "" if line.output == line.name else f".{line.output}"
    return f"{label}{output} on {line.symbol}"


def _trace(bt: Backtest, frames: Mapping[str, pl.DataFrame], timeline: Sequence[int]) -> _Trace:
    import bisect

    import polars as pl

    result = bt.run()
    lines: dict[str, dict[int, float | None]] = {}
    for symbol, symbol_lines in bt.ctx.lines.by_symbol.items():
        stamps = frames[symbol]["time"].cast(pl.Int64).to_list()
        for line in symbol_lines:
            values = line._values if line._values is not None else [None] * len(stamps)
            lines.setdefault(_line_label(line), dict(zip(stamps, values, strict=True)))
    signals: dict[str, dict[int, float | str]] = {}
    for sig in bt.ctx.signals:
        value = float(sig.value) if isinstance(sig.value, int) else sig.value
        # A signal is stamped with the clock, at the close of its bar: file it under the bar's open time.
        row = bisect.bisect_left(timeline, sig.ts) - 1
        signals.setdefault(sig.name, {})[timeline[max(row, 0)]] = value
    fills = [(f.ts, f.symbol, f.side.value, f"{f.qty}", f"{f.price}") for f in result.fills]
    return _Trace(lines, signals, fills, result.end_ns)


def _same(a: float | str | None, b: float | str | None) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))
    return a == b


def _show(value: float | str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.10g}" if isinstance(value, float) else value


def _first_difference(
    full: Mapping[int, Any], other: Mapping[int, Any], stamps: Sequence[int]
) -> tuple[int, Any, Any] | None:
    for ts in stamps:
        a, b = full.get(ts), other.get(ts)
        if not _same(a, b):
            return ts, a, b
    return None


def _cut(frames: Mapping[str, pl.DataFrame], *, before: int | None = None, after: int | None = None) -> dict[str, Any]:
    import polars as pl

    out = {}
    for symbol, frame in frames.items():
        stamps = pl.col("time").cast(pl.Int64)
        if before is not None:
            frame = frame.filter(stamps < before)
        if after is not None:
            frame = frame.filter(stamps >= after)
        out[symbol] = frame
    return out


def _sample(lo: int, hi: int, count: int) -> list[int]:
    """``count`` indices spread evenly over [lo, hi] (fewer when the range is short)."""
    if hi <= lo or count <= 1:
        return [hi]
    return sorted({lo + (hi - lo) * i // (count - 1) for i in range(count)})


def check_bias(
    config: BacktestConfig,
    frames: Mapping[str, pl.DataFrame],
    *,
    cuts: int = 6,
    trims: int = 2,
    make_strategy: Callable[[], Strategy] | None = None,
    run: Callable[[BacktestConfig, Mapping[str, pl.DataFrame], Strategy | None], Backtest] | None = None,
) -> BiasReport:
    """Run the look-ahead check at ``cuts`` sampled bars and the warm-up check with ``trims`` shorter histories."""
    import polars as pl

    from alphintra.strategies.backtest import Backtest

    if cuts < 1:
        raise ValidationError("--cuts", "must be at least 1", cuts)
    if trims < 1:
        raise ValidationError("--trims", "must be at least 1", trims)
    # The timeline: every bar time of any symbol, in order (a cut or a trim applies to all symbols at once).
    stamps = sorted({ts for frame in frames.values() for ts in frame["time"].cast(pl.Int64).to_list()})
    if len(stamps) < MIN_BARS:
        raise ValidationError("bars", f"need at least {MIN_BARS} bars to compare runs", len(stamps))

    def backtest(part: Mapping[str, pl.DataFrame]) -> _Trace:
        strategy = make_strategy() if make_strategy is not None else None
        cfg = dataclasses.replace(config, run_id=None)
        bt = run(cfg, part, strategy) if run is not None else Backtest(cfg, part, strategy=strategy)
        timeline = sorted({ts for frame in part.values() for ts in frame["time"].cast(pl.Int64).to_list()})
        return _trace(bt, part, timeline)

    full = backtest(frames)
    n = len(stamps)
    findings: dict[tuple[str, str], BiasFinding] = {}

    def note(kind: Literal["lookahead", "recursive"], subject: str, diff: tuple[int, Any, Any], detail: str) -> None:
        key = (kind, subject)
        ts, a, b = diff
        if key not in findings or ts < findings[key].first_ts:
            findings[key] = BiasFinding(kind, subject, ts, _show(a), _show(b), detail)

    # Look-ahead: cut points in the second half leave every indicator warmed up before them.
    cut_rows = _sample(n // 2, n - 2, cuts)
    for row in cut_rows:
        end = stamps[row + 1]  # keep bars up to and including `row`
        part = backtest(_cut(frames, before=end))
        kept = [ts for ts in stamps if ts < end]
        detail = f"cut after {_iso(stamps[row])}"
        for label, values in full.lines.items():
            diff = _first_difference(values, part.lines.get(label, {}), kept)
            if diff is not None:
                note("lookahead", f"indicator {label}", diff, detail)
        for name in sorted(set(full.signals) | set(part.signals)):
            seen = sorted({ts for ts in (*full.signals.get(name, {}), *part.signals.get(name, {})) if ts < end})
            diff = _first_difference(full.signals.get(name, {}), part.signals.get(name, {}), seen)
            if diff is not None:
                note("lookahead", f"signal {name}", diff, detail)
        # Orders placed on the last kept bar fill on the next one, which the shorter run does not have.
        mine = [f for f in full.fills if f[0] < part.end_ns]
        theirs = [f for f in part.fills if f[0] < part.end_ns]
        for a, b in zip([*mine, None], [*theirs, None], strict=False):
            if a != b:
                first = min(x[0] for x in (a, b) if x is not None)
                note("lookahead", "fills", (first, _fill(a), _fill(b)), detail)
                break

    # Warm-up: drop the oldest bars; what still differs at the end depends on how much history was loaded.
    trim_rows = _sample(max(1, n // 10), n // 4, trims)
    for row in trim_rows:
        start = stamps[row]
        part = backtest(_cut(frames, after=start))
        common = [ts for ts in stamps if ts >= start]
        detail = f"history from {_iso(start)} instead of {_iso(stamps[0])}"
        for label, values in full.lines.items():
            other = part.lines.get(label, {})
            last = common[-1]
            if not _same(values.get(last), other.get(last)):
                diff = _first_difference(
                    values, other, [ts for ts in common if other.get(ts) is not None and values.get(ts) is not None]
                )
                note("recursive", f"indicator {label}", diff or (last, values.get(last), other.get(last)), detail)
    ordered = sorted(findings.values(), key=lambda f: (f.kind, f.first_ts, f.subject))
    return BiasReport(
        strategy=config.strategy,
        symbols=tuple(config.symbols),
        bars=n,
        cuts=tuple(stamps[r] for r in cut_rows),
        trims=tuple(stamps[r] for r in trim_rows),
        findings=tuple(ordered),
    )


def _fill(fill: tuple[int, str, str, str, str] | None) -> str:
    if fill is None:
        return "-"
    ts, symbol, side, qty, price = fill
    return f"{_iso(ts)} {side} {qty} {symbol} @ {price}"


def _iso(ts: int) -> str:
    from alphintra.strategies.report._format import fmt_ts

    return fmt_ts(ts)


__all__ = ["MIN_BARS", "TOLERANCE", "BiasFinding", "BiasReport", "check_bias"]
