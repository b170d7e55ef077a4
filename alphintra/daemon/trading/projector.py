"""Projects the engine's state into the SQLModel store (SQLite by default, PostgreSQL by URL).

The journal is the source of truth; this projection is for other readers (`alphintra order list` without a
daemon, exports, dashboards). It runs on its own thread so a slow database never stalls the engine: the engine
thread hands over plain dicts, the projector writes them in batched transactions. It lets rows gather for a
moment (``linger``) and keeps only the newest row per order, position and balance, so an order's four state
changes cost one upsert; every trade is written. While the engine is busy (``idle()`` is false) it holds its
writes back -- ORM work takes the GIL the engine and the event loop need -- and catches up in the next quiet
moment, or at once when the backlog passes ``_MAX_BACKLOG`` rows: under a burst the projection lags, the engine
does not. Report values with more digits than the store keeps (averages are 34-digit quotients) are rounded to
18 decimal places here.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from alphintra.config.logs import get_logger
from alphintra.engine.core.events import OrderFilled
from alphintra.engine.core.orders import Order

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode

log = get_logger("daemon.projector")
_Q18 = Decimal(1).scaleb(-18)
_CHUNK = 2000  # rows per transaction: the projector checks for a busy engine between them
_MAX_BACKLOG = 50_000  # rows held back while the engine is busy before writing anyway (bounds memory)
_BUSY_WAIT_S = 0.02
# The row that identifies what a later row of the same kind replaces (trades are never replaced).
_KEYS = {
    "order": ("id",),
    "position": ("account_id", "symbol"),
    "balance": ("account_id", "asset"),
    "account": ("id",),
}


def _d(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_Q18, rounding=ROUND_HALF_EVEN)


def coalesce(batch: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The batch with only the newest row per order, position and balance (trades all).

    A row takes the place where its key was first seen, so an order's row still comes before the trades that
    refer to it."""
    out: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
    for n, (kind, row) in enumerate(batch):
        keys = _KEYS.get(kind)
        out[(kind, *(row.get(k) for k in keys)) if keys else (kind, n)] = (kind, row)
    return list(out.values())


def _key(kind: str, row: dict[str, Any]) -> str:
    return "/".join(str(row.get(k)) for k in _KEYS.get(kind, ("id",)))


class Projector:
    def __init__(self, url: str, account: str, *, linger: float = 0.05, idle: Callable[[], bool] | None = None) -> None:
        from alphintra.storage.state import StateStore

        self.linger = linger
        self.idle = idle or (lambda: True)
        self.account_id = account
        self.store = StateStore(url)
        self.store.create_all()
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)
        self._thread.start()

    def account(self, account: str, currency: str, mode: str) -> None:
        # Written at once, in its own transaction: every later row refers to it.
        self.store.upsert_account({"id": account, "account_type": mode, "exchange": "SIM", "base_currency": currency})

    def order(self, order: Order) -> None:
        fees = order.fees
        fee_asset, fee = next(iter(fees.items()), (None, Decimal(0)))
        self._queue.put(
            (
                "order",
                {
                    "id": order.id,
                    "client_order_id": order.client_order_id,
                    "account_id": order.account,
                    "strategy": order.strategy,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    "order_type": order.order_type.value,
                    "quantity": order.quantity,
                    "price": order.price,
                    "stop_price": order.stop_price,
                    "time_in_force": order.time_in_force.value,
                    "status": order.status.value,
                    "filled_quantity": order.filled_quantity,
                    "average_price": _d(order.average_price),
                    "fee": fee,
                    "fee_currency": fee_asset,
                    "post_only": order.post_only,
                    "reduce_only": order.reduce_only,
                    "parent_order_id": order.parent_order_id,
                    "reason": order.status_message or None,
                    "created_at": order.created_at,
                    "updated_at": order.updated_at,
                    "expires_at": order.expires_at,
                },
            )
        )

    def fill(self, order: Order, event: OrderFilled, node: TradingNode) -> None:
        self.trade(order, event)
        self._positions_and_balances(node, [event.symbol])

    def positions_and_balances(self, node: TradingNode, symbols: list[str]) -> None:
        self._positions_and_balances(node, symbols)

    def trade(self, order: Order, event: OrderFilled) -> None:
        self._queue.put(
            (
                "trade",
                {
                    "id": event.trade_id,
                    "order_id": event.order_id,
                    "account_id": event.account,
                    "strategy": order.strategy,
                    "symbol": event.symbol,
                    "side": event.side.value,
                    "quantity": event.last_qty,
                    "price": event.last_px,
                    "fee": event.fee,
                    "fee_currency": event.fee_asset,
                    "trade_type": event.liquidity_side.value,
                    "timestamp": event.ts,
                },
            )
        )

    def snapshot(self, node: TradingNode) -> None:
        for order in node.orders.values():
            self.order(order)
        self._positions_and_balances(node, [p for p in node.ledger.positions(self.account_id)])

    def _positions_and_balances(self, node: TradingNode, symbols: list[str]) -> None:
        ledger = node.ledger
        for symbol in symbols:
            pos = ledger.position(self.account_id, symbol)
            if pos is None:
                continue
            self._queue.put(
                (
                    "position",
                    {
                        "account_id": self.account_id,
                        "symbol": symbol,
                        "quantity": pos.quantity,
                        "average_price": _d(pos.average_price) or Decimal(0),
                        "market_value": _d(pos.market_value),
                        "unrealized_pnl": _d(pos.unrealised_pnl),
                        "realized_pnl": _d(pos.realised_pnl),
                    },
                )
            )
        for asset, bal in ledger.balances(self.account_id).items():
            self._queue.put(
                (
                    "balance",
                    {
                        "account_id": self.account_id,
                        "asset": asset,
                        "total_balance": bal.total,
                        "locked_balance": bal.locked,
                        "available_balance": bal.available,
                    },
                )
            )

    def _run(self) -> None:
        pending: list[tuple[str, dict[str, Any]]] = []
        while True:
            if not pending:
                item = self._queue.get()
                if item is None:
                    return
                pending.append(item)
                if self.linger > 0:
                    time.sleep(self.linger)  # let the rest of a burst arrive: one transaction, fewer duplicate rows
            closing = self._drain(pending)
            if not closing and len(pending) < _MAX_BACKLOG and not self.idle():
                time.sleep(_BUSY_WAIT_S)
                continue
            rows = coalesce(pending)
            pending = []
            for start in range(0, len(rows), _CHUNK):
                if start and not closing and not self.idle():
                    pending = rows[start:]  # the engine got busy: the rest waits for the next quiet moment
                    break
                self._write(rows[start : start + _CHUNK])
            if closing:
                if pending:
                    self._write(pending)
                return

    def _drain(self, into: list[tuple[str, dict[str, Any]]]) -> bool:
        """Move every queued row into ``into``; True when the close sentinel came."""
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._queue.get_nowait()
                if item is None:
                    return True
                into.append(item)
        return False

    def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            self.store.apply_batch(batch)
        except Exception:
            # One bad row must not cost the batch its good ones: they go one by one, and each refusal is logged.
            for kind, row in batch:
                try:
                    self.store.apply_batch([(kind, row)])
                except Exception as exc:  # the projection is best effort; the journal stays the truth
                    log.error("state projection refused a %s row (%s): %s", kind, _key(kind, row), exc)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self.store.close()
