"""The state database as it was before migrations existed (created then by ``metadata.create_all``).

A home made by that code has exactly these tables and columns and no ``alembic_version``: the schema module
recognises it as this revision.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the models' column types at this revision: exact money is NUMERIC(38, 18), a canonical decimal
# string on SQLite; times are TIMESTAMP WITH TIME ZONE; documents JSONB on PostgreSQL.
MONEY = sa.Numeric(38, 18).with_variant(sa.String(60), "sqlite")
TIME = sa.DateTime(timezone=True)
DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _s(length: int) -> sa.String:
    return sa.String(length)


def upgrade() -> None:
    op.create_table(
        "projection_meta",
        sa.Column("id", _s(32), nullable=False),
        sa.Column("journal_id", _s(64), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("applied_digest", _s(64), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("severity", _s(10), nullable=False),
        sa.Column("rule", _s(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("account_id", _s(64), nullable=True),
        sa.Column("strategy", _s(255), nullable=True),
        sa.Column("symbol", _s(40), nullable=True),
        sa.Column("value", MONEY, nullable=True),
        sa.Column("threshold", MONEY, nullable=True),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("acknowledged_by", _s(255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_alerts_time", "risk_alerts", ["time"])
    op.create_table(
        "risk_limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _s(64), nullable=False),
        sa.Column("scope", _s(20), nullable=False),
        sa.Column("scope_id", _s(255), nullable=False),
        sa.Column("old_value", MONEY, nullable=True),
        sa.Column("new_value", MONEY, nullable=True),
        sa.Column("changed_by", _s(255), nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_limit_changes_changed_at", "risk_limit_changes", ["changed_at"])
    op.create_table(
        "risk_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _s(64), nullable=False),
        sa.Column("scope", _s(20), nullable=False),
        sa.Column("scope_id", _s(255), nullable=False),
        sa.Column("value", MONEY, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", _s(255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "scope_id", "name", name="uq_risk_limits_scope_name"),
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("name", _s(255), nullable=False),
        sa.Column("schedule", _s(100), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("args", DOC, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("next_run_at", TIME, nullable=True),
        sa.Column("last_run_at", TIME, nullable=True),
        sa.Column("last_status", _s(20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "trading_accounts",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("account_type", _s(20), nullable=False),
        sa.Column("exchange", _s(50), nullable=False),
        sa.Column("base_currency", _s(20), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "trading_strategies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _s(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("strategy_type", _s(50), nullable=False),
        sa.Column("config", DOC, nullable=False),
        sa.Column("status", _s(20), nullable=False),
        sa.Column("performance", DOC, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "account_balances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", _s(64), nullable=False),
        sa.Column("asset", _s(20), nullable=False),
        sa.Column("total_balance", MONEY, nullable=False),
        sa.Column("available_balance", MONEY, nullable=False),
        sa.Column("locked_balance", MONEY, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["trading_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "asset", name="uq_account_balances_account_asset"),
    )
    op.create_table(
        "orders",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("client_order_id", _s(64), nullable=True),
        sa.Column("account_id", _s(64), nullable=False),
        sa.Column("strategy", _s(255), nullable=True),
        sa.Column("symbol", _s(40), nullable=False),
        sa.Column("side", _s(10), nullable=False),
        sa.Column("order_type", _s(20), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("stop_price", MONEY, nullable=True),
        sa.Column("time_in_force", _s(10), nullable=False),
        sa.Column("status", _s(20), nullable=False),
        sa.Column("filled_quantity", MONEY, nullable=False),
        sa.Column("average_price", MONEY, nullable=True),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("fee_currency", _s(20), nullable=True),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("parent_order_id", _s(64), nullable=True),
        sa.Column("params", DOC, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["trading_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_orders_account_client_order_id"),
    )
    op.create_index("idx_orders_account_created", "orders", ["account_id", "created_at"])
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_strategy", "orders", ["strategy"])
    op.create_index("ix_orders_symbol", "orders", ["symbol"])
    op.create_table(
        "positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", _s(64), nullable=False),
        sa.Column("symbol", _s(40), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("average_price", MONEY, nullable=False),
        sa.Column("market_value", MONEY, nullable=True),
        sa.Column("unrealized_pnl", MONEY, nullable=True),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["trading_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "symbol", name="uq_positions_account_symbol"),
    )
    op.create_table(
        "strategy_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.Integer(), nullable=False),
        sa.Column("execution_type", _s(20), nullable=False),
        sa.Column("status", _s(20), nullable=False),
        sa.Column("config", DOC, nullable=True),
        sa.Column("results", DOC, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["strategy_id"], ["trading_strategies.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_strategy_executions_strategy_id", "strategy_executions", ["strategy_id"])
    op.create_table(
        "trades",
        sa.Column("id", _s(64), nullable=False),
        sa.Column("order_id", _s(64), nullable=False),
        sa.Column("account_id", _s(64), nullable=False),
        sa.Column("strategy", _s(255), nullable=True),
        sa.Column("symbol", _s(40), nullable=False),
        sa.Column("side", _s(10), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("fee_currency", _s(20), nullable=True),
        sa.Column("trade_type", _s(10), nullable=True),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("timestamp", TIME, nullable=False),
        sa.Column("journal_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["trading_accounts.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_trades_order_id", "trades", ["order_id"])
    op.create_index("ix_trades_strategy", "trades", ["strategy"])
    op.create_index("ix_trades_symbol", "trades", ["symbol"])
    op.create_index("ix_trades_timestamp", "trades", ["timestamp"])


def downgrade() -> None:
    for table in (
        "trades",
        "strategy_executions",
        "positions",
        "orders",
        "account_balances",
        "trading_strategies",
        "trading_accounts",
        "scheduled_jobs",
        "risk_limits",
        "risk_limit_changes",
        "risk_alerts",
        "projection_meta",
    ):
        op.drop_table(table)
