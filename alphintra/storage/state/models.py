"""Tables of the trading state, after the plan's §6 schema, adapted to a single-user workstation.

These rows are a projection of the engine's event journal: the daemon writes them after journaling, the CLI and
the API read them, and replaying the journal can rebuild them. Differences from §6, on purpose:

- no ``users`` table and no ``user_id`` (one user per data home);
- account ids are the engine's account names (``"main"``), order and trade ids the engine's string ids;
- orders and trades carry ``strategy`` (the strategy's name) so fills can be attributed without a join;
- money is ``NUMERIC(38, 18)`` (§6 says ``DECIMAL(20, 8)``, too coarse for small-priced coins and fee rates);
- mutable rows carry ``journal_seq``, the sequence number of the last journal event applied, so that replaying
  an old event never rolls a row back;
- risk limits keep their change history (who, when, old, new), alerts and schedule metadata have tables too.

The tables use their own registry. Migrations (``migrations/versions``) create and change them: a change here
needs a new revision there (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from alphintra.storage.state.types import ExactDecimal, JSONType, UTCDateTime

ORDER_SIDES = frozenset({"BUY", "SELL"})
ORDER_STATUSES = frozenset(
    {
        "NEW",
        "PENDING_SUBMIT",
        "ACCEPTED",
        "TRIGGERED",
        "PARTIALLY_FILLED",
        "PENDING_CANCEL",
        "FILLED",
        "CANCELED",
        "REJECTED",
        "EXPIRED",
    }
)
OPEN_ORDER_STATUSES = frozenset({"PENDING_SUBMIT", "ACCEPTED", "TRIGGERED", "PARTIALLY_FILLED", "PENDING_CANCEL"})
TRADE_TYPES = frozenset({"MAKER", "TAKER"})
STRATEGY_STATUSES = frozenset({"ACTIVE", "INACTIVE", "PAUSED", "ERROR"})
EXECUTION_TYPES = frozenset({"backtest", "paper", "live", "optimise"})
EXECUTION_STATUSES = frozenset({"PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELED"})
FINISHED_EXECUTION_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED"})
RISK_SCOPES = frozenset({"global", "account", "strategy", "symbol", "tag", "venue"})
ALERT_SEVERITIES = frozenset({"INFO", "WARNING", "CRITICAL"})

state_registry = registry()


class StateModel(SQLModel, registry=state_registry):
    """Base of the state tables; their metadata is ``StateModel.metadata``."""


def _money(field: str, *, nullable: bool = False, default: Any = ...) -> Any:
    return Field(default=default, sa_type=ExactDecimal(field), nullable=nullable)


def _time(field: str, *, nullable: bool = False, index: bool = False, default: Any = ...) -> Any:
    return Field(default=default, sa_type=UTCDateTime(field), nullable=nullable, index=index)


def _seq() -> Any:
    return Field(default=None, sa_type=BigInteger, nullable=True)


class TradingAccount(StateModel, table=True):
    __tablename__ = "trading_accounts"

    id: str = Field(primary_key=True, max_length=64)
    account_type: str = Field(default="spot", max_length=20)
    exchange: str = Field(default="SIM", max_length=50)
    base_currency: str | None = Field(default=None, max_length=20)
    is_active: bool = True
    created_at: datetime = _time("created_at")


class Order(StateModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "client_order_id", name="uq_orders_account_client_order_id"),
        Index("idx_orders_account_created", "account_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    client_order_id: str | None = Field(default=None, max_length=64)
    account_id: str = Field(foreign_key="trading_accounts.id", max_length=64)
    strategy: str | None = Field(default=None, max_length=255, index=True)
    symbol: str = Field(max_length=40, index=True)
    side: str = Field(max_length=10)
    order_type: str = Field(max_length=20)
    quantity: Decimal = _money("quantity")
    price: Decimal | None = _money("price", nullable=True, default=None)
    stop_price: Decimal | None = _money("stop_price", nullable=True, default=None)
    time_in_force: str = Field(default="GTC", max_length=10)
    status: str = Field(default="NEW", max_length=20, index=True)
    filled_quantity: Decimal = _money("filled_quantity", default=Decimal(0))
    average_price: Decimal | None = _money("average_price", nullable=True, default=None)
    fee: Decimal = _money("fee", default=Decimal(0))
    fee_currency: str | None = Field(default=None, max_length=20)
    post_only: bool = False
    reduce_only: bool = False
    parent_order_id: str | None = Field(default=None, max_length=64)
    # Parameters of emulated and algorithmic orders (trail offset, display quantity, slices ...).
    params: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _time("created_at", index=True)
    updated_at: datetime = _time("updated_at")
    expires_at: datetime | None = _time("expires_at", nullable=True, default=None)
    journal_seq: int | None = _seq()


class Trade(StateModel, table=True):
    """One fill. ``realized_pnl`` is the engine portfolio's figure for the part of the fill that reduced a
    position (0 for opening fills), so summaries over any time window stay correct without replaying history."""

    __tablename__ = "trades"
    __table_args__ = (Index("idx_trades_account_timestamp", "account_id", "timestamp"),)

    id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(foreign_key="orders.id", max_length=64, index=True)
    account_id: str = Field(foreign_key="trading_accounts.id", max_length=64)
    strategy: str | None = Field(default=None, max_length=255, index=True)
    symbol: str = Field(max_length=40, index=True)
    side: str = Field(max_length=10)
    quantity: Decimal = _money("quantity")
    price: Decimal = _money("price")
    fee: Decimal = _money("fee", default=Decimal(0))
    fee_currency: str | None = Field(default=None, max_length=20)
    trade_type: str | None = Field(default=None, max_length=10)
    realized_pnl: Decimal = _money("realized_pnl", default=Decimal(0))
    timestamp: datetime = _time("timestamp", index=True)
    journal_seq: int | None = _seq()


class Position(StateModel, table=True):
    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("account_id", "symbol", name="uq_positions_account_symbol"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="trading_accounts.id", max_length=64)
    symbol: str = Field(max_length=40)
    quantity: Decimal = _money("quantity")  # signed: negative is short
    average_price: Decimal = _money("average_price")
    market_value: Decimal | None = _money("market_value", nullable=True, default=None)
    unrealized_pnl: Decimal | None = _money("unrealized_pnl", nullable=True, default=None)
    realized_pnl: Decimal = _money("realized_pnl", default=Decimal(0))
    updated_at: datetime = _time("updated_at")
    journal_seq: int | None = _seq()


class AccountBalance(StateModel, table=True):
    __tablename__ = "account_balances"
    __table_args__ = (UniqueConstraint("account_id", "asset", name="uq_account_balances_account_asset"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="trading_accounts.id", max_length=64)
    asset: str = Field(max_length=20)
    total_balance: Decimal = _money("total_balance")
    available_balance: Decimal = _money("available_balance")
    locked_balance: Decimal = _money("locked_balance")
    updated_at: datetime = _time("updated_at")
    journal_seq: int | None = _seq()


class TradingStrategy(StateModel, table=True):
    __tablename__ = "trading_strategies"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    description: str | None = Field(default=None, sa_type=Text)
    strategy_type: str = Field(max_length=50)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    status: str = Field(default="INACTIVE", max_length=20)
    performance: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = _time("created_at")
    updated_at: datetime = _time("updated_at")


class StrategyExecution(StateModel, table=True):
    __tablename__ = "strategy_executions"

    id: int | None = Field(default=None, primary_key=True)
    strategy_id: int = Field(foreign_key="trading_strategies.id", index=True)
    execution_type: str = Field(max_length=20)
    status: str = Field(default="PENDING", max_length=20)
    config: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    results: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    started_at: datetime | None = _time("started_at", nullable=True, default=None)
    completed_at: datetime | None = _time("completed_at", nullable=True, default=None)
    created_at: datetime = _time("created_at")


class RiskLimit(StateModel, table=True):
    """One limit, e.g. ``max_position_notional`` for ``scope="symbol", scope_id="BTC/USDT"``."""

    __tablename__ = "risk_limits"
    __table_args__ = (UniqueConstraint("scope", "scope_id", "name", name="uq_risk_limits_scope_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    scope: str = Field(default="global", max_length=20)
    scope_id: str = Field(default="*", max_length=255)
    value: Decimal = _money("value")
    updated_at: datetime = _time("updated_at")
    updated_by: str = Field(max_length=255)


class RiskLimitChange(StateModel, table=True):
    """History of risk limits: ``old_value`` is None when a limit is created, ``new_value`` when removed."""

    __tablename__ = "risk_limit_changes"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    scope: str = Field(max_length=20)
    scope_id: str = Field(max_length=255)
    old_value: Decimal | None = _money("old_value", nullable=True, default=None)
    new_value: Decimal | None = _money("new_value", nullable=True, default=None)
    changed_by: str = Field(max_length=255)
    changed_at: datetime = _time("changed_at", index=True)
    reason: str | None = Field(default=None, sa_type=Text)


class RiskAlert(StateModel, table=True):
    __tablename__ = "risk_alerts"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = _time("time", index=True)
    severity: str = Field(max_length=10)
    rule: str = Field(max_length=64)
    message: str = Field(sa_type=Text)
    account_id: str | None = Field(default=None, max_length=64)
    strategy: str | None = Field(default=None, max_length=255)
    symbol: str | None = Field(default=None, max_length=40)
    value: Decimal | None = _money("value", nullable=True, default=None)
    threshold: Decimal | None = _money("threshold", nullable=True, default=None)
    acknowledged: bool = False
    acknowledged_at: datetime | None = _time("acknowledged_at", nullable=True, default=None)
    acknowledged_by: str | None = Field(default=None, max_length=255)


class ScheduledJob(StateModel, table=True):
    """What the user scheduled and how its last run went; the scheduler keeps its own trigger state."""

    __tablename__ = "scheduled_jobs"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    schedule: str = Field(max_length=100)
    command: str = Field(sa_type=Text)
    args: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    enabled: bool = True
    created_at: datetime = _time("created_at")
    updated_at: datetime = _time("updated_at")
    next_run_at: datetime | None = _time("next_run_at", nullable=True, default=None)
    last_run_at: datetime | None = _time("last_run_at", nullable=True, default=None)
    last_status: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, sa_type=Text)
    run_count: int = 0


class ProjectionMeta(StateModel, table=True):
    """Where the projection of the journal stands: written in the same transaction as the rows it accounts for,
    so the rows are always exactly the fold of journal records ``1..applied_seq``. ``journal_id`` and
    ``applied_digest`` (digests of the first record and of record ``applied_seq``) tell a different or rewritten
    journal from this one: the daemon then rebuilds the projection. Bookkeeping: not exported."""

    __tablename__ = "projection_meta"

    id: str = Field(primary_key=True, max_length=32)  # "journal": one row per projected source
    journal_id: str = Field(max_length=64)
    applied_seq: int = Field(sa_type=BigInteger)
    applied_digest: str = Field(max_length=64)
    updated_at: datetime = _time("updated_at")


# Parents before children: the order in which rows can be inserted (and exported).
TABLES_IN_ORDER: tuple[type[StateModel], ...] = (
    TradingAccount,
    Order,
    Trade,
    Position,
    AccountBalance,
    TradingStrategy,
    StrategyExecution,
    RiskLimit,
    RiskLimitChange,
    RiskAlert,
    ScheduledJob,
)

__all__ = [
    "ALERT_SEVERITIES",
    "EXECUTION_STATUSES",
    "EXECUTION_TYPES",
    "FINISHED_EXECUTION_STATUSES",
    "OPEN_ORDER_STATUSES",
    "ORDER_SIDES",
    "ORDER_STATUSES",
    "RISK_SCOPES",
    "STRATEGY_STATUSES",
    "TABLES_IN_ORDER",
    "TRADE_TYPES",
    "AccountBalance",
    "Order",
    "Position",
    "ProjectionMeta",
    "RiskAlert",
    "RiskLimit",
    "RiskLimitChange",
    "ScheduledJob",
    "StateModel",
    "StrategyExecution",
    "Trade",
    "TradingAccount",
    "TradingStrategy",
    "state_registry",
]
