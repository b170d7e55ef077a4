"""Orders and trades that left the engine's memory (retention, ``engine.order_retention``), read back from the SQL
projection in the API's shapes. Read-only: the projection is written by the projector alone."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.daemon.trading.views import order_extras
from alphintra.errors import NotFoundError
from alphintra.formatting import iso_dt
from alphintra.storage.state import StateStore

if TYPE_CHECKING:
    from alphintra.daemon.trading.statedb import StateDatabase


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Archive:
    """Lookups of finished orders and their trades in the projection (one store, opened on first use)."""

    def __init__(self, database: StateDatabase) -> None:
        self.database = database
        self._store: StateStore | None = None

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = self.database.store()
        return self._store

    def order(self, order_id: str) -> dict[str, Any] | None:
        try:
            row = self.store.get_order(order_id)
        except NotFoundError:
            return None
        params = row.params or {}
        return order_extras(params) | {
            "id": row.id,
            "client_order_id": row.client_order_id,
            "account": row.account_id,
            "strategy": row.strategy,
            "symbol": row.symbol,
            "side": row.side,
            "order_type": row.order_type,
            "quantity": str(row.quantity),
            "price": _s(row.price),
            "stop_price": _s(row.stop_price),
            "time_in_force": row.time_in_force,
            "status": row.status,
            "filled_quantity": str(row.filled_quantity),
            "leaves_quantity": str(row.quantity - row.filled_quantity),
            "average_price": _s(row.average_price),
            "fees": {} if row.fee_currency is None else {row.fee_currency: str(row.fee)},
            "created_at": iso_dt(row.created_at),
            "updated_at": iso_dt(row.updated_at),
            "expires_at": iso_dt(row.expires_at),
            "parent_order_id": row.parent_order_id,
            "status_message": row.reason or "",
            "post_only": row.post_only,
            "reduce_only": row.reduce_only,
        }

    def trade(self, trade_id: str) -> dict[str, Any] | None:
        try:
            row = self.store.get_trade(trade_id)
        except NotFoundError:
            return None
        return {
            "id": row.id,
            "order_id": row.order_id,
            "account": row.account_id,
            "strategy": row.strategy,
            "symbol": row.symbol,
            "side": row.side,
            "quantity": str(row.quantity),
            "price": str(row.price),
            "fee": str(row.fee),
            "fee_asset": row.fee_currency,
            "timestamp": iso_dt(row.timestamp),
            "trade_type": row.trade_type,
        }

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


__all__ = ["Archive"]
