"""Fills of one account in time order use an index, as orders already do (``idx_orders_account_created``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a home made by create_all from models that already had it is at 0001 by its tables.
    op.create_index("idx_trades_account_timestamp", "trades", ["account_id", "timestamp"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("idx_trades_account_timestamp", table_name="trades")
