"""Risk: portfolio metrics (VaR/ES, beta, volatility, exposure), stress scenarios and threshold alerts.

All of it is pure computation on values passed in (no I/O, no clock); journaling, storage and the event bus are
wired around it elsewhere.
"""

from alphintra.engine.risk.alerts import Alert, AlertLevel, Level, Threshold, ThresholdMonitor
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
    "SCENARIOS",
    "Alert",
    "AlertLevel",
    "CovarianceShock",
    "Exposure",
    "HistoricalReplay",
    "Level",
    "LimitBreach",
    "PortfolioSnapshot",
    "PriceShock",
    "ReturnHistory",
    "RiskConfig",
    "RiskReport",
    "Scenario",
    "StressResult",
    "Threshold",
    "ThresholdMonitor",
    "VarEstimate",
    "as_history",
    "compute_risk_report",
    "get_scenario",
    "historical_var_es",
    "normal_var_es",
    "portfolio_pnl",
    "run_scenario",
    "run_stress",
    "scale_to_horizon",
    "scenario_names",
]
