"""Risk: pre-trade limits and circuit breakers, portfolio metrics (VaR/ES, beta, volatility, exposure), stress
scenarios and threshold alerts.

Metrics, stress and alerts are pure computation on values passed in (no I/O, no clock). The pre-trade gate
(:class:`RiskEngine`) reads the node it guards and journals/publishes its halts through it; storage is reached
only through the small store protocols (``RiskLimitStore``, ``HaltStore``) the trading state store satisfies.
"""

from alphintra.engine.risk.alerts import Alert, AlertLevel, Level, Threshold, ThresholdMonitor
from alphintra.engine.risk.breakers import (
    CircuitBreakers,
    Halt,
    HaltBook,
    HaltStore,
    load_halts,
    store_halt,
    store_resume,
)
from alphintra.engine.risk.limits import (
    HALT_NAME,
    LIMITS,
    Limit,
    LimitSet,
    LimitSpec,
    ResolvedLimits,
    RiskLimitStore,
    Scope,
    load_limits,
    save_limits,
    set_limit,
)
from alphintra.engine.risk.metrics import (
    Exposure,
    PortfolioSnapshot,
    ReturnHistory,
    RiskConfig,
    RiskReport,
    VarEstimate,
    as_history,
    compute_risk_report,
    historical_var_es,
    normal_var_es,
    portfolio_pnl,
    scale_to_horizon,
)
from alphintra.engine.risk.pretrade import RiskEngine, RiskLimitError
from alphintra.engine.risk.stats import MarketStats, StatsTracker
from alphintra.engine.risk.stress import (
    SCENARIOS,
    CovarianceShock,
    HistoricalReplay,
    LimitBreach,
    PriceShock,
    Scenario,
    StressResult,
    get_scenario,
    run_scenario,
    run_stress,
    scenario_names,
)

__all__ = [
    "HALT_NAME",
    "LIMITS",
    "SCENARIOS",
    "Alert",
    "AlertLevel",
    "CircuitBreakers",
    "CovarianceShock",
    "Exposure",
    "Halt",
    "HaltBook",
    "HaltStore",
    "HistoricalReplay",
    "Level",
    "Limit",
    "LimitBreach",
    "LimitSet",
    "LimitSpec",
    "MarketStats",
    "PortfolioSnapshot",
    "PriceShock",
    "ResolvedLimits",
    "ReturnHistory",
    "RiskConfig",
    "RiskEngine",
    "RiskLimitError",
    "RiskLimitStore",
    "RiskReport",
    "Scenario",
    "Scope",
    "StatsTracker",
    "StressResult",
    "Threshold",
    "ThresholdMonitor",
    "VarEstimate",
    "as_history",
    "compute_risk_report",
    "get_scenario",
    "historical_var_es",
    "load_halts",
    "load_limits",
    "normal_var_es",
    "portfolio_pnl",
    "run_scenario",
    "run_stress",
    "save_limits",
    "scale_to_horizon",
    "scenario_names",
    "set_limit",
    "store_halt",
    "store_resume",
]
