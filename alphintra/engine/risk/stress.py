"""Stress tests: what today's book would lose in a scenario, and which limits that loss would break.

Scenarios:

* :class:`PriceShock` moves prices by a fraction per symbol, per tag and/or for the whole market. The PnL is exact
  (``Decimal``): ``sum_i value_i * shock_i``. A symbol's own shock overrides everything else; otherwise the market
  shock and the shocks of all its tags compound: ``(1 + m) * (1 + t1) * (1 + t2) - 1`` (a -10 % market and a -20 %
  tech shock move a tech stock by -28 %).
* :class:`CovarianceShock` rescales volatilities (``vol_factor``; the covariance scales by its square) and/or sets
  every pairwise correlation to ``correlation`` (1.0 = everything moves together), then recomputes VaR at
  ``confidence`` (parametric normal by default, or Monte-Carlo with a seed). Its PnL is minus the stressed VaR.
  Note that with correlations at one, hedges offset perfectly, so a long/short book can come out *safer*.
* :class:`HistoricalReplay` finds the ``days``-period window of the history whose compounded returns
  ``prod(1 + r) - 1``, applied to today's book, lose the most (the earliest such window on ties) and reports that
  loss.

Float results (VaR, replayed returns) become ``Decimal`` exactly and are then rounded half-even to 8 decimal places
(the schema's ``DECIMAL(20,8)``).

Limits are a plain mapping of name -> threshold. The names understood here (all compare strictly: a loss *equal* to
its limit does not breach) are:

============================================= ===============================================================
``daily_loss``, ``max_loss``                  loss in account currency ``> threshold``
``daily_loss_pct``, ``max_loss_pct``,         loss as a percentage of equity ``> threshold``
``max_drawdown_pct``
``max_leverage``                              gross exposure after the scenario / equity after ``> threshold``
``max_gross_exposure``                        gross exposure after the scenario ``> threshold``
``max_position_pct``                          largest position after, as % of equity after, ``> threshold``
``min_equity``                                equity after the scenario ``< threshold``
============================================= ===============================================================

A one-period limit (``daily_loss``) is compared with the whole scenario loss, as if it happened in one day. Other
names (pre-trade limits such as an order size cap) are listed as not evaluated rather than refused, so the whole
limit set of an account can be passed in. Scenarios that only yield a distribution (:class:`CovarianceShock`) do
not move individual positions: their "after" exposures are today's. Equity at or below zero after a scenario
counts as infinite leverage and position share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np

from alphintra.engine.core.errors import NotFoundError, ValidationError
from alphintra.engine.risk.metrics import (
    FloatArray,
    PortfolioSnapshot,
    ReturnHistory,
    monte_carlo_var_es,
    normal_var_es,
    parse_number,
    portfolio_moments,
    to_decimal,
    window_moments,
)

QUANTUM = Decimal("0.00000001")
_HUNDRED = Decimal(100)
_INFINITY = Decimal("Infinity")


def _from_float(value: float) -> Decimal:
    return Decimal(value).quantize(QUANTUM)


def _check_shock(value: object, field_name: str) -> Decimal:
    shock = to_decimal(value, field_name)
    if shock < -1:
        raise ValidationError(field_name, "a price shock cannot be below -1 (-100 %)", shock)
    return shock


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """What a scenario does to the book: its PnL and, when it moves prices, each position's value afterwards."""

    pnl: Decimal
    values_after: Mapping[str, Decimal] | None
    details: Mapping[str, Any]


class Scenario(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def description(self) -> str: ...

    def evaluate(self, snapshot: PortfolioSnapshot, history: ReturnHistory | None) -> ScenarioOutcome: ...


@dataclass(frozen=True, slots=True)
class PriceShock:
    """Instant price moves as fractions (``Decimal("-0.2")`` is -20 %) by symbol, by tag and for the market."""

    name: str
    by_symbol: Mapping[str, Decimal] = field(default_factory=dict)
    by_tag: Mapping[str, Decimal] = field(default_factory=dict)
    market: Decimal = Decimal(0)
    description: str = ""
    kind: str = field(default="price_shock", init=False)

    def __post_init__(self) -> None:
        by_symbol = {s: _check_shock(v, f"shock.{s}") for s, v in self.by_symbol.items()}
        by_tag = {t: _check_shock(v, f"shock.tag.{t}") for t, v in self.by_tag.items()}
        object.__setattr__(self, "by_symbol", MappingProxyType(by_symbol))
        object.__setattr__(self, "by_tag", MappingProxyType(by_tag))
        object.__setattr__(self, "market", _check_shock(self.market, "shock.market"))

    def shock_for(self, symbol: str, tags: frozenset[str]) -> Decimal:
        if symbol in self.by_symbol:
            return self.by_symbol[symbol]
        growth = 1 + self.market
        for tag in sorted(tags):
            if tag in self.by_tag:
                growth *= 1 + self.by_tag[tag]
        return growth - 1

    def evaluate(self, snapshot: PortfolioSnapshot, history: ReturnHistory | None) -> ScenarioOutcome:
        shocks = {s: self.shock_for(s, snapshot.tags.get(s, frozenset())) for s in snapshot.symbols}
        pnl_by_symbol = {s: snapshot.values[s] * shocks[s] for s in snapshot.symbols}
        after = {s: snapshot.values[s] + pnl_by_symbol[s] for s in snapshot.symbols}
        return ScenarioOutcome(
            pnl=sum(pnl_by_symbol.values(), Decimal(0)),
            values_after=MappingProxyType(after),
            details={
                "shocks": {s: str(v) for s, v in shocks.items()},
                "pnl_by_symbol": {s: str(v) for s, v in pnl_by_symbol.items()},
            },
        )


@dataclass(frozen=True, slots=True)
class CovarianceShock:
    """Volatilities times ``vol_factor`` and/or every correlation set to ``correlation``; VaR recomputed."""

    name: str
    vol_factor: float = 1.0
    correlation: float | None = None
    confidence: float = 0.99
    window: int | None = 250
    method: Literal["parametric", "monte_carlo"] = "parametric"
    mc_paths: int = 50_000
    mc_seed: int = 0
    description: str = ""
    kind: str = field(default="covariance_shock", init=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.vol_factor, int | float) and math.isfinite(self.vol_factor) and self.vol_factor > 0):
            raise ValidationError("vol_factor", "must be a finite number > 0", self.vol_factor)
        if self.correlation is not None and not -1.0 <= self.correlation <= 1.0:
            raise ValidationError("correlation", "must be between -1 and 1", self.correlation)
        if not 0.0 < self.confidence < 1.0:
            raise ValidationError("confidence", "must be strictly between 0 and 1", self.confidence)
        if self.method not in ("parametric", "monte_carlo"):
            raise ValidationError("method", "must be parametric or monte_carlo", self.method)

    def stressed_covariance(self, cov: FloatArray) -> FloatArray:
        std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        if self.correlation is None:
            stressed = cov.copy()
        else:
            corr = np.full(cov.shape, self.correlation, dtype=np.float64)
            np.fill_diagonal(corr, 1.0)
            stressed = corr * np.outer(std, std)
        return np.asarray(stressed * float(self.vol_factor) ** 2, dtype=np.float64)

    def _var(
        self,
        mean: FloatArray,
        cov: FloatArray,
        exposures: FloatArray,
    ) -> float:
        if self.method == "monte_carlo":
            return monte_carlo_var_es(mean, cov, exposures, self.confidence, paths=self.mc_paths, seed=self.mc_seed)[0]
        mu, sigma = portfolio_moments(mean, cov, exposures)
        return normal_var_es(mu, sigma, self.confidence)[0]

    def evaluate(self, snapshot: PortfolioSnapshot, history: ReturnHistory | None) -> ScenarioOutcome:
        if history is None:
            raise ValidationError("returns", f"scenario {self.name} needs a return history")
        symbols = snapshot.symbols
        mean, cov = window_moments(history.tail(self.window), symbols)
        exposures = snapshot.value_vector(symbols)
        if self.correlation is not None and len(symbols) > 2 and self.correlation < -1.0 / (len(symbols) - 1):
            # An equicorrelation matrix is a valid correlation only when rho >= -1 / (n - 1).
            floor = -1.0 / (len(symbols) - 1)
            raise ValidationError("correlation", f"must be >= {floor:.6g} for {len(symbols)} assets", self.correlation)
        stressed = self.stressed_covariance(cov)
        baseline = self._var(mean, cov, exposures)
        stressed_var = self._var(mean, stressed, exposures)
        return ScenarioOutcome(
            pnl=-_from_float(stressed_var),
            values_after=None,
            details={
                "method": self.method,
                "confidence": self.confidence,
                "vol_factor": float(self.vol_factor),
                "correlation": self.correlation,
                "baseline_var": baseline,
                "stressed_var": stressed_var,
            },
        )


@dataclass(frozen=True, slots=True)
class HistoricalReplay:
    """The worst ``days``-period window of the history (within the last ``window`` rows), replayed on today's book."""

    name: str
    days: int
    window: int | None = None
    description: str = ""
    kind: str = field(default="historical_replay", init=False)

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValidationError("days", "must be an integer >= 1", self.days)

    def evaluate(self, snapshot: PortfolioSnapshot, history: ReturnHistory | None) -> ScenarioOutcome:
        if history is None:
            raise ValidationError("returns", f"scenario {self.name} needs a return history")
        scoped = history.tail(self.window)
        if scoped.rows < self.days:
            raise ValidationError("days", f"is longer than the history ({scoped.rows} rows)", self.days)
        symbols = snapshot.symbols
        growth = 1.0 + scoped.columns(symbols)
        # Products over each window directly (not ratios of running products), so a -100 % day cannot divide by 0.
        windows = np.lib.stride_tricks.sliding_window_view(growth, self.days, axis=0).prod(axis=-1) - 1.0
        pnl_per_window = windows @ snapshot.value_vector(symbols)
        start = int(np.argmin(pnl_per_window)) if pnl_per_window.size else 0
        end = start + self.days - 1
        cumulative = {s: Decimal(float(windows[start, i])) for i, s in enumerate(symbols)}
        pnl_by_symbol = {s: snapshot.values[s] * cumulative[s] for s in symbols}
        after = {s: (snapshot.values[s] + pnl_by_symbol[s]).quantize(QUANTUM) for s in symbols}
        labels = scoped.labels
        offset = history.rows - scoped.rows  # report rows of the whole history, not of the window
        return ScenarioOutcome(
            pnl=sum(pnl_by_symbol.values(), Decimal(0)).quantize(QUANTUM),
            values_after=MappingProxyType(after),
            details={
                "days": self.days,
                "start_row": offset + start,
                "end_row": offset + end,
                "start_label": None if labels is None else labels[start],
                "end_label": None if labels is None else labels[end],
                "cumulative_returns": {s: float(v) for s, v in cumulative.items()},
            },
        )


# ----------------------------------------------------------------------------------------------------------------
# Limits and results
# ----------------------------------------------------------------------------------------------------------------

LOSS_LIMITS = frozenset({"daily_loss", "max_loss"})
LOSS_PCT_LIMITS = frozenset({"daily_loss_pct", "max_loss_pct", "max_drawdown_pct"})
KNOWN_LIMITS = LOSS_LIMITS | LOSS_PCT_LIMITS | {"max_leverage", "max_gross_exposure", "max_position_pct", "min_equity"}


def parse_limits(limits: Mapping[str, object] | None) -> dict[str, Decimal]:
    """Thresholds as exact Decimals (floats via their shortest repr: limits are typed by people)."""
    parsed: dict[str, Decimal] = {}
    for name, threshold in (limits or {}).items():
        parsed[name] = parse_number(threshold, f"limits.{name}")
    return parsed


@dataclass(frozen=True, slots=True)
class LimitBreach:
    limit: str
    threshold: Decimal
    value: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"limit": self.limit, "threshold": str(self.threshold), "value": str(self.value)}


@dataclass(frozen=True, slots=True)
class StressResult:
    """One scenario's PnL (negative is a loss), as % of equity, and the limits it would breach."""

    scenario: str
    kind: str
    pnl: Decimal
    pnl_pct: Decimal
    equity_after: Decimal
    breaches: tuple[LimitBreach, ...]
    evaluated_limits: tuple[str, ...]
    unevaluated_limits: tuple[str, ...]
    details: Mapping[str, Any]

    @property
    def breached(self) -> bool:
        return bool(self.breaches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kind": self.kind,
            "pnl": str(self.pnl),
            "pnl_pct": str(self.pnl_pct),
            "equity_after": str(self.equity_after),
            "breaches": [b.to_dict() for b in self.breaches],
            "evaluated_limits": list(self.evaluated_limits),
            "unevaluated_limits": list(self.unevaluated_limits),
            "details": dict(self.details),
        }


def _limit_value(name: str, snapshot: PortfolioSnapshot, outcome: ScenarioOutcome) -> Decimal:
    loss = max(-outcome.pnl, Decimal(0))
    equity_after = snapshot.equity + outcome.pnl
    values = outcome.values_after if outcome.values_after is not None else snapshot.values
    gross_after = sum((abs(v) for v in values.values()), Decimal(0))
    if name in LOSS_LIMITS:
        return loss
    if name in LOSS_PCT_LIMITS:
        return loss * _HUNDRED / snapshot.equity
    if name == "max_gross_exposure":
        return gross_after
    if name == "min_equity":
        return equity_after
    if equity_after <= 0:
        return _INFINITY
    if name == "max_leverage":
        return gross_after / equity_after
    largest = max((abs(v) for v in values.values()), default=Decimal(0))
    return largest * _HUNDRED / equity_after  # max_position_pct


def evaluate_limits(
    snapshot: PortfolioSnapshot, outcome: ScenarioOutcome, limits: Mapping[str, Decimal]
) -> tuple[tuple[LimitBreach, ...], tuple[str, ...], tuple[str, ...]]:
    """(breaches, evaluated limit names, unevaluated limit names), each in the limits' sorted name order."""
    breaches: list[LimitBreach] = []
    evaluated: list[str] = []
    unevaluated: list[str] = []
    for name in sorted(limits):
        if name not in KNOWN_LIMITS:
            unevaluated.append(name)
            continue
        evaluated.append(name)
        threshold = limits[name]
        value = _limit_value(name, snapshot, outcome)
        broken = value < threshold if name == "min_equity" else value > threshold
        if broken:
            breaches.append(LimitBreach(name, threshold, value))
    return tuple(breaches), tuple(evaluated), tuple(unevaluated)


def run_scenario(
    scenario: Scenario,
    snapshot: PortfolioSnapshot,
    *,
    history: ReturnHistory | None = None,
    limits: Mapping[str, object] | None = None,
) -> StressResult:
    outcome = scenario.evaluate(snapshot, history)
    breaches, evaluated, unevaluated = evaluate_limits(snapshot, outcome, parse_limits(limits))
    return StressResult(
        scenario=scenario.name,
        kind=scenario.kind,
        pnl=outcome.pnl,
        pnl_pct=(outcome.pnl * _HUNDRED / snapshot.equity).quantize(QUANTUM),
        equity_after=snapshot.equity + outcome.pnl,
        breaches=breaches,
        evaluated_limits=evaluated,
        unevaluated_limits=unevaluated,
        details=MappingProxyType(dict(outcome.details)),
    )


def run_stress(
    scenarios: Iterable[Scenario],
    snapshot: PortfolioSnapshot,
    *,
    history: ReturnHistory | None = None,
    limits: Mapping[str, object] | None = None,
) -> tuple[StressResult, ...]:
    return tuple(run_scenario(s, snapshot, history=history, limits=limits) for s in scenarios)


# ----------------------------------------------------------------------------------------------------------------
# Built-in catalogue (``risk stress --scenario NAME``)
# ----------------------------------------------------------------------------------------------------------------

_CATALOGUE: tuple[Scenario, ...] = (
    PriceShock("market-crash-10", market=Decimal("-0.10"), description="every price -10 %"),
    PriceShock("market-crash-20", market=Decimal("-0.20"), description="every price -20 %"),
    PriceShock("market-crash-40", market=Decimal("-0.40"), description="every price -40 %"),
    PriceShock("market-rally-10", market=Decimal("0.10"), description="every price +10 % (hurts shorts)"),
    PriceShock("tech-selloff-20", by_tag={"tech": Decimal("-0.20")}, description="symbols tagged tech -20 %"),
    PriceShock("crypto-crash-50", by_tag={"crypto": Decimal("-0.50")}, description="symbols tagged crypto -50 %"),
    CovarianceShock("vol-spike-2x", vol_factor=2.0, description="volatilities x2, 99 % parametric VaR"),
    CovarianceShock("vol-spike-3x", vol_factor=3.0, description="volatilities x3, 99 % parametric VaR"),
    CovarianceShock("correlation-one", correlation=1.0, description="all correlations 1, 99 % parametric VaR"),
    CovarianceShock(
        "crisis", vol_factor=3.0, correlation=1.0, description="volatilities x3 and correlations 1, 99 % VaR"
    ),
    HistoricalReplay("worst-day", days=1, description="worst single period of the history"),
    HistoricalReplay("worst-5d", days=5, description="worst 5-period window of the history"),
    HistoricalReplay("worst-20d", days=20, description="worst 20-period window of the history"),
)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in _CATALOGUE})


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise NotFoundError(
            f"no stress scenario named {name!r}", detail="known: " + ", ".join(scenario_names())
        ) from None


__all__ = [
    "KNOWN_LIMITS",
    "QUANTUM",
    "SCENARIOS",
    "CovarianceShock",
    "HistoricalReplay",
    "LimitBreach",
    "PriceShock",
    "Scenario",
    "ScenarioOutcome",
    "StressResult",
    "evaluate_limits",
    "get_scenario",
    "parse_limits",
    "run_scenario",
    "run_stress",
    "scenario_names",
]
