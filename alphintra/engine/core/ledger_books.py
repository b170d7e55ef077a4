"""The ledger's own books: an account's balances, positions and reservations as the ledger mutates them, and how a
fill folds into a position. Only :mod:`alphintra.engine.core.ledger` uses them; callers see the frozen views of
:mod:`alphintra.engine.core.ledger_types`."""

from __future__ import annotations

from decimal import Decimal

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.ledger_types import ONE, REPORT, ZERO, AccountMode, Reservation


class Bal:
    __slots__ = ("locked", "total")

    def __init__(self, total: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        self.total = total
        self.locked = locked


class Pos:
    __slots__ = ("average_price", "base", "fees", "quantity", "quote", "realised_pnl")

    def __init__(self, base: str, quote: str) -> None:
        self.base = base
        self.quote = quote
        self.quantity = ZERO
        self.average_price = ZERO
        self.realised_pnl = ZERO
        self.fees: dict[str, Decimal] = {}


class Res:
    __slots__ = ("account_id", "asset", "fee_rate", "locked", "order_id", "price", "remaining", "side", "symbol")

    def __init__(
        self,
        order_id: str,
        account_id: str,
        symbol: str,
        side: OrderSide,
        asset: str,
        price: Decimal | None,
        fee_rate: Decimal,
        remaining: Decimal,
        locked: Decimal,
    ) -> None:
        self.order_id = order_id
        self.account_id = account_id
        self.symbol = symbol
        self.side = side
        self.asset = asset
        self.price = price
        self.fee_rate = fee_rate
        self.remaining = remaining
        self.locked = locked

    def view(self) -> Reservation:
        return Reservation(
            self.order_id,
            self.account_id,
            self.symbol,
            self.side,
            self.asset,
            self.price,
            self.fee_rate,
            self.remaining,
            self.locked,
        )


class AccountBook:
    __slots__ = ("account_id", "balances", "currency", "leverage", "mode", "positions")

    def __init__(self, account_id: str, mode: AccountMode, currency: str, leverage: Decimal) -> None:
        self.account_id = account_id
        self.mode = mode
        self.currency = currency
        self.leverage = leverage
        self.balances: dict[str, Bal] = {}
        self.positions: dict[str, Pos] = {}

    def bal(self, asset: str) -> Bal:
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Bal()
        return found


def fold_position(pos: Pos, signed_qty: Decimal, price: Decimal, mode: AccountMode) -> tuple[Pos, Decimal]:
    """The position after a fill of ``signed_qty`` at ``price`` and the PnL it realises (new object, no mutation)."""
    new = Pos(pos.base, pos.quote)
    new.fees = dict(pos.fees)
    new.realised_pnl = pos.realised_pnl
    qty, avg = pos.quantity, pos.average_price
    realised = ZERO
    if qty == 0 or (qty > 0) == (signed_qty > 0):
        new_qty = qty + signed_qty
        if mode is AccountMode.SPOT and new_qty < 0:
            # Selling inventory that was deposited, not bought here: no cost basis, nothing realised.
            new.quantity, new.average_price = ZERO, ZERO
            return new, ZERO
        cost = REPORT.add(REPORT.multiply(abs(qty), avg), REPORT.multiply(abs(signed_qty), price))
        new.quantity, new.average_price = new_qty, REPORT.divide(cost, abs(new_qty))
        return new, ZERO
    closed = min(abs(signed_qty), abs(qty))
    direction = ONE if qty > 0 else -ONE
    realised = REPORT.multiply(REPORT.multiply(closed, REPORT.subtract(price, avg)), direction)
    new.realised_pnl = REPORT.add(pos.realised_pnl, realised)
    new_qty = qty + signed_qty
    if new_qty == 0:
        new.quantity, new.average_price = ZERO, ZERO
    elif (new_qty > 0) == (qty > 0):
        new.quantity, new.average_price = new_qty, avg
    elif mode is AccountMode.MARGIN:
        new.quantity, new.average_price = new_qty, price
    else:
        new.quantity, new.average_price = ZERO, ZERO
    return new, realised


__all__ = ["AccountBook", "Bal", "Pos", "Res", "fold_position"]
