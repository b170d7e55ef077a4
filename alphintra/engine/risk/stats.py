"""Market statistics for the pre-trade checks: per-symbol volatility, average daily volume and correlations.

:class:`MarketStats` is what the checks read; :class:`StatsTracker` builds one from the bars the risk engine sees
(the daemon may instead pass statistics computed from stored market data). Volatility and correlation are float
estimates (numpy, imported only when they are computed); volumes stay exact.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.risk.limits import NS_PER_SECOND
from alphintra.engine.risk.periods import Calendar, periods_per_year

if TYPE_CHECKING:
    from alphintra.engine.data import Bar

NS_PER_DAY = 86_400 * NS_PER_SECOND
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Per-symbol statistics the checks need: annualised volatility (0.5 = 50 %), average daily volume in base
    units, and pairwise return correlations (either key order)."""

    volatility: Mapping[str, float] = field(default_factory=dict)
    adv: Mapping[str, Decimal] = field(default_factory=dict)
    correlation: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def corr(self, a: str, b: str) -> float | None:
        if a == b:
            return 1.0
        found = self.correlation.get((a, b))
        return self.correlation.get((b, a)) if found is None else found

    def correlated(self, symbol: str, threshold: float, universe: Iterable[str]) -> tuple[str, ...]:
        """The symbols of ``universe`` (other than ``symbol``) whose correlation with it exceeds ``threshold``."""
        out = []
        for other in universe:
            if other == symbol:
                continue
            rho = self.corr(symbol, other)
            if rho is not None and rho > threshold:
                out.append(other)
        return tuple(sorted(out))


class StatsTracker:
    """Builds :class:`MarketStats` from bars: closes for returns (``window`` of them), volume per UTC day."""

    def __init__(self, *, window: int = 60, adv_days: int = 20, calendar: Calendar = "24x7") -> None:
        if window < 3 or adv_days < 1:
            raise ValueError("window must be >= 3 and adv_days >= 1")
        self.window = window
        self.calendar = calendar  # how the bar step annualises (periods.periods_per_year)
        self.adv_days = adv_days
        self._closes: dict[str, deque[float]] = {}
        self._last_ts: dict[str, int] = {}
        self._step: dict[str, int] = {}
        self._day: dict[str, tuple[int, Decimal]] = {}
        self._days: dict[str, deque[Decimal]] = {}

    def observe(self, bar: Bar) -> None:
        symbol = bar.symbol
        closes = self._closes.get(symbol)
        if closes is None:
            closes = self._closes[symbol] = deque(maxlen=self.window + 1)
            self._days[symbol] = deque(maxlen=self.adv_days)
        last = self._last_ts.get(symbol)
        if last is not None and bar.ts > last:
            self._step[symbol] = bar.ts - last
        self._last_ts[symbol] = bar.ts
        closes.append(float(bar.close))
        day = bar.ts // NS_PER_DAY
        current = self._day.get(symbol)
        if current is None or current[0] == day:
            self._day[symbol] = (day, (current[1] if current else _ZERO) + bar.volume)
        else:
            self._days[symbol].append(current[1])
            self._day[symbol] = (day, bar.volume)

    def stats(self) -> MarketStats:
        import numpy as np  # the statistics are float estimates; numpy only when they are computed

        vols: dict[str, float] = {}
        returns: dict[str, Any] = {}
        for symbol, closes in self._closes.items():
            step = self._step.get(symbol)
            if len(closes) < 3 or step is None:
                continue
            prices = np.asarray(closes, dtype=np.float64)
            r = prices[1:] / prices[:-1] - 1.0
            returns[symbol] = r
            # The bar step as a timeframe in seconds: the one convention of periods.periods_per_year.
            per_year = periods_per_year(f"{max(1, step // NS_PER_SECOND)}s", self.calendar)
            vols[symbol] = float(np.std(r, ddof=1) * math.sqrt(per_year))
        corr: dict[tuple[str, str], float] = {}
        names = sorted(returns)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                n = min(len(returns[a]), len(returns[b]))
                if n < 3:
                    continue
                x, y = returns[a][-n:], returns[b][-n:]
                if float(np.std(x)) == 0.0 or float(np.std(y)) == 0.0:
                    continue
                corr[(a, b)] = float(np.corrcoef(x, y)[0, 1])
        adv = {s: sum(days, _ZERO) / len(days) for s, days in self._days.items() if days}
        return MarketStats(vols, adv, corr)


__all__ = ["NS_PER_DAY", "MarketStats", "StatsTracker"]
