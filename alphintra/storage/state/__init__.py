"""Trading state: accounts, orders, trades, positions, balances, strategies, executions, risk limits and alerts.

A projection of the engine's event journal kept with SQLModel in SQLite (default ``$ALPHINTRA_HOME/state.db``)
or PostgreSQL (any ``postgresql://`` URL). Money is exact on both backends; timestamps are aware UTC.

    store = StateStore()                      # or StateStore("postgresql://user@host/db", clock=clock.now_ns)
    store.create_all()
    with store.batch() as w:                  # one transaction for a burst of journal events
        w.upsert_order({...}); w.record_trade({...})
    store.list_orders(open_only=True, symbol="BTC/USDT")
"""

from alphintra.storage.state.db import default_url, libpq_url, make_engine, normalise_url
from alphintra.storage.state.models import (
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    TABLES_IN_ORDER,
    AccountBalance,
    Order,
    Position,
    ProjectionMeta,
    RiskAlert,
    RiskLimit,
    RiskLimitChange,
    ScheduledJob,
    StateModel,
    StrategyExecution,
    Trade,
    TradingAccount,
    TradingStrategy,
)
from alphintra.storage.state.store import StateStore, TradeSummary, is_postgres_url
from alphintra.storage.state.types import ExactDecimal, UTCDateTime
from alphintra.storage.state.writer import StateWriter

__all__ = [
    "OPEN_ORDER_STATUSES",
    "ORDER_STATUSES",
    "TABLES_IN_ORDER",
    "AccountBalance",
    "ExactDecimal",
    "Order",
    "Position",
    "ProjectionMeta",
    "RiskAlert",
    "RiskLimit",
    "RiskLimitChange",
    "ScheduledJob",
    "StateModel",
    "StateStore",
    "StateWriter",
    "StrategyExecution",
    "Trade",
    "TradeSummary",
    "TradingAccount",
    "TradingStrategy",
    "UTCDateTime",
    "default_url",
    "is_postgres_url",
    "libpq_url",
    "make_engine",
    "normalise_url",
]
