"""The portfolio ledger: balances and positions of one or more accounts, in exact Decimal.

Rules, and why:

* **Balances** are kept per account and asset as ``total`` and ``locked``; ``available = total - locked``. Every
  change is computed first, checked, and only then committed, so a refused operation changes nothing.
* **Exactness.** Cash flows (``quantity x price``, fees, deposits) are computed in a 64-digit context that traps
  ``Inexact``: they are exact or refused. Hence the sum of each asset over all accounts plus the fees collected
  equals deposits minus withdrawals, to the last digit. Average entry price and unrealised PnL are quotients and
  are rounded to 34 digits; they are reports and never feed back into balances.
* **Reservations.** A working order locks funds: a BUY locks ``quantity x limit price x (1 + taker fee)`` of the
  quote asset (the taker fee because a limit order may cross and pay it); a SELL locks ``quantity`` of base. A fill
  spends from the lock first (a BUY's cost plus a quote-denominated fee, a SELL's quantity), then re-sizes the lock
  to what the remaining quantity needs at the limit price, releasing any excess (a fill at a better price frees
  funds at once). Cancel / expire / reject call :meth:`Ledger.release`.
* **Spot accounts** may not spend more than is available: a violation raises :class:`InsufficientBalance`
  (``reason == "INSUFFICIENT_BALANCE"``) naming the asset and the required and available amounts.
* **Margin accounts** may hold negative balances (a loan of that asset: a short, or borrowed quote). Gross
  exposure -- the value of every non-currency asset, shorts counted positive -- may not exceed
  ``equity x leverage``. A fill or reservation that would breach this *and* increase exposure raises
  :class:`LeverageExceeded` (reducing risk is always allowed, even past the limit); so does a withdrawal that
  would leave the account past the limit. Margin reservations lock
  nothing: they are checked against the limit at the order's price instead. Equity below the maintenance margin
  (half the initial margin, ``exposure / leverage / 2``) is a margin call: :meth:`Ledger.maintenance_shortfall`
  says so, and the node closes the positions. Valuing needs a mark for every asset
  held (the last fill price or :meth:`Ledger.mark_to_market`); a missing one is refused with reason ``NO_MARK``.
* **Positions** are the trading record per symbol: average entry price on increase, realised PnL (gross of fees,
  in the quote asset) on reduction, and a flip through zero realises the closed part and opens the rest at the
  fill price. In spot mode a position never goes short: selling more than was bought through the ledger sells
  inventory with no cost basis (a deposit), which realises nothing.
* **Snapshots**: :meth:`Ledger.to_dict` / :meth:`Ledger.from_dict` give a JSON-safe copy of the whole state
  (numbers as strings) for the journal's crash-recovery snapshots.

The ledger does no I/O and is not thread-safe: the engine owns it on one thread.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from decimal import Context, Decimal, Inexact, getcontext, setcontext
from typing import Any, ParamSpec, TypeVar

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError
from alphintra.engine.core.ledger_books import AccountBook as _Account
from alphintra.engine.core.ledger_books import Bal as _Bal
from alphintra.engine.core.ledger_books import Pos as _Pos
from alphintra.engine.core.ledger_books import Res as _Res
from alphintra.engine.core.ledger_books import fold_position as _fold_position
from alphintra.engine.core.ledger_types import (
    EXACT,
    NO_MARK,
    ONE,
    REPORT,
    ZERO,
    AccountMode,
    Balance,
    FillResult,
    InstrumentLike,
    InsufficientBalance,
    LeverageExceeded,
    Position,
    Reservation,
    Valuation,
    normalise_side,
    to_decimal,
)

_P = ParamSpec("_P")
_R = TypeVar("_R")

SNAPSHOT_VERSION = 1
# Maintenance margin as a fraction of the initial margin (exposure / leverage): a common broker ratio.
MAINTENANCE = Decimal("0.5")


# A reservation's fields as one tuple, read in C (a snapshot copies every reservation between two batches).
_RES_FIELDS = operator.attrgetter(
    "order_id", "account_id", "symbol", "side", "asset", "price", "fee_rate", "remaining", "locked"
)

# The exact context, made once: ``localcontext`` would copy it on every call, and every reservation and fill of the
# order path runs in it. Nothing in the ledger reads or changes a context's flags or settings, so one copy serves
# every call (each thread sets it as its own current context and puts its own back after).
_EXACT_CONTEXT: Context = EXACT.copy()


def _exact(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` in the exact context; an amount that cannot be represented exactly is a validation error."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        outer = getcontext()
        exact = _EXACT_CONTEXT
        if outer is exact:  # called from another exact method: already in the context, its caller translates
            return fn(*args, **kwargs)
        setcontext(exact)
        try:
            return fn(*args, **kwargs)
        except Inexact:
            raise ValidationError(
                "amount", "needs more than 64 significant digits; the ledger only does exact arithmetic"
            ) from None
        finally:
            setcontext(outer)

    return wrapper


# A planned balance change: asset -> [delta total, delta locked].
_Deltas = dict[str, list[Decimal]]
# The instrument and price an operation is about: (symbol, base, quote, price), or None.
_Pending = tuple[str, str, str, Decimal] | None


def _add(deltas: _Deltas, asset: str, d_total: Decimal = ZERO, d_locked: Decimal = ZERO) -> None:
    entry = deltas.setdefault(asset, [ZERO, ZERO])
    entry[0] += d_total
    entry[1] += d_locked


def _name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string", value)
    return value


class Ledger:
    """Balances, reservations and positions of every account the engine trades for."""

    def __init__(self) -> None:
        self._accounts: dict[str, _Account] = {}
        self._reservations: dict[str, _Res] = {}
        self._instruments: dict[str, tuple[str, str]] = {}
        self._pairs: dict[tuple[str, str], str] = {}
        self._marks: dict[str, Decimal] = {}
        self._fees: dict[str, Decimal] = {}

    # ------------------------------------------------------------------ accounts and cash
    def open_account(
        self,
        account_id: str,
        *,
        mode: AccountMode | str = AccountMode.SPOT,
        currency: str = "USDT",
        leverage: Decimal | int | str = 1,
    ) -> None:
        """Create an account. ``currency`` is what it is valued in; ``leverage`` must be 1 for spot."""
        _name("account_id", account_id)
        _name("currency", currency)
        if account_id in self._accounts:
            raise ConflictError(f"account {account_id!r} already exists")
        try:
            account_mode = AccountMode(str(getattr(mode, "value", mode)).upper())
        except ValueError:
            raise ValidationError("mode", "must be SPOT or MARGIN", mode) from None
        lev = to_decimal("leverage", leverage, positive=True)
        if lev < ONE:
            raise ValidationError("leverage", "must be >= 1", leverage)
        if account_mode is AccountMode.SPOT and lev != ONE:
            raise ValidationError("leverage", "must be 1 for a spot account", leverage)
        self._accounts[account_id] = _Account(account_id, account_mode, currency, lev)

    def accounts(self) -> tuple[str, ...]:
        return tuple(self._accounts)

    def account_mode(self, account_id: str) -> AccountMode:
        return self._account(account_id).mode

    def account_leverage(self, account_id: str) -> Decimal:
        return self._account(account_id).leverage

    @_exact
    def deposit(self, account_id: str, asset: str, amount: Decimal | int | str) -> Balance:
        acct = self._account(account_id)
        _name("asset", asset)
        value = to_decimal("amount", amount, positive=True)
        new_total = acct.bal(asset).total + value
        acct.bal(asset).total = new_total
        return self.balance(account_id, asset)

    @_exact
    def withdraw(self, account_id: str, asset: str, amount: Decimal | int | str) -> Balance:
        """Take ``amount`` out of the available balance; margin accounts cannot withdraw borrowed funds."""
        acct = self._account(account_id)
        _name("asset", asset)
        value = to_decimal("amount", amount, positive=True)
        bal = acct.balances.get(asset) or _Bal()
        available = bal.total - bal.locked
        if value > available:
            raise InsufficientBalance(account_id, asset, value, available)
        deltas: _Deltas = {asset: [-value, ZERO]}
        if acct.mode is AccountMode.MARGIN:
            self._check_margin(acct, deltas, None, strict=True)
        acct.bal(asset).total = bal.total - value
        return self.balance(account_id, asset)

    # ------------------------------------------------------------------ reservations
    def reserve(
        self,
        account_id: str,
        order_id: str,
        instrument: InstrumentLike,
        side: object,
        quantity: Decimal | int | str,
        price: Decimal | int | str | None = None,
    ) -> Reservation:
        """Lock funds for a working order (see the module docstring for the rule); ``price`` is required for BUY."""
        self.lock(account_id, order_id, instrument, side, quantity, price)
        return self._reservations[order_id].view()

    @_exact
    def lock(
        self,
        account_id: str,
        order_id: str,
        instrument: InstrumentLike,
        side: object,
        quantity: Decimal | int | str,
        price: Decimal | int | str | None = None,
    ) -> None:
        """:meth:`reserve` without building the view of the lock (the node's order path reads none)."""
        acct = self._account(account_id)
        _name("order_id", order_id)
        if order_id in self._reservations:
            raise ConflictError(f"order {order_id!r} already holds a reservation")
        side_ = normalise_side(side)
        qty = to_decimal("quantity", quantity, positive=True)
        limit = None if price is None else to_decimal("price", price, positive=True)
        # A rebate-paying (negative) taker fee must not shrink the lock below the order's cost.
        fee_rate = max(to_decimal("taker_fee", instrument.taker_fee), ZERO)
        symbol, base, quote = self._resolve(instrument)
        if side_ == OrderSide.BUY and limit is None:
            raise ValidationError("price", "a BUY reservation needs a limit (or protective) price")
        asset = quote if side_ == OrderSide.BUY else base
        amount = ZERO
        if acct.mode is AccountMode.SPOT:
            amount = qty * limit * (ONE + fee_rate) if side_ == OrderSide.BUY and limit is not None else qty
            bal = acct.balances.get(asset) or _Bal()
            available = bal.total - bal.locked
            if amount > available:
                raise InsufficientBalance(account_id, asset, amount, available)
            acct.bal(asset).locked = bal.locked + amount
        else:
            at = limit if limit is not None else self._marks.get(symbol)
            if at is not None:
                deltas: _Deltas = {}
                signed = qty if side_ == OrderSide.BUY else -qty
                _add(deltas, base, signed)
                _add(deltas, quote, -signed * at - qty * at * fee_rate)
                self._check_margin(acct, deltas, (symbol, base, quote, at))
        self._remember(symbol, base, quote)
        self._reservations[order_id] = _Res(order_id, account_id, symbol, side_, asset, limit, fee_rate, qty, amount)

    @_exact
    def release(self, order_id: str) -> Decimal:
        """Free what an order still locks (cancel, expire, reject); returns the amount released."""
        res = self._reservations.pop(order_id, None)
        if res is None:
            raise NotFoundError(f"no reservation for order {order_id!r}")
        bal = self._accounts[res.account_id].bal(res.asset)
        bal.locked = bal.locked - res.locked
        return res.locked

    def reservation(self, order_id: str) -> Reservation | None:
        res = self._reservations.get(order_id)
        return None if res is None else res.view()

    def has_reservation(self, order_id: str) -> bool:
        """Whether ``order_id`` holds a lock (without building its view: the node asks on every event)."""
        return order_id in self._reservations

    def reservations(self, account_id: str | None = None) -> list[Reservation]:
        return [r.view() for r in self._reservations.values() if account_id is None or r.account_id == account_id]

    # ------------------------------------------------------------------ fills
    def apply_fill(
        self,
        account_id: str,
        instrument: InstrumentLike,
        side: object,
        quantity: Decimal | int | str,
        price: Decimal | int | str,
        *,
        fee: Decimal | int | str = ZERO,
        fee_asset: str | None = None,
        order_id: str | None = None,
    ) -> FillResult:
        """Book one fill: move funds, charge ``fee`` (in ``fee_asset``, default the quote), update the position.

        With ``order_id`` the fill spends that order's reservation; without it, it spends available funds.
        """
        res = None if order_id is None else self._reservations.get(order_id)
        realised = self.book_fill(
            account_id, instrument, side, quantity, price, fee=fee, fee_asset=fee_asset, order_id=order_id
        )
        symbol = str(instrument.symbol)
        position = self._accounts[account_id].positions[symbol]
        return FillResult(realised, self._position_view(symbol, position), None if res is None else res.view())

    @_exact
    def book_fill(
        self,
        account_id: str,
        instrument: InstrumentLike,
        side: object,
        quantity: Decimal | int | str,
        price: Decimal | int | str,
        *,
        fee: Decimal | int | str = ZERO,
        fee_asset: str | None = None,
        order_id: str | None = None,
    ) -> Decimal:
        """:meth:`apply_fill` without building views: returns the realised PnL (the node's order path)."""
        acct = self._account(account_id)
        side_ = normalise_side(side)
        qty = to_decimal("quantity", quantity, positive=True)
        px = to_decimal("price", price, positive=True)
        fee_ = to_decimal("fee", fee)  # negative: a maker rebate
        symbol, base, quote = self._resolve(instrument)
        fee_in = quote if fee_asset is None else _name("fee_asset", fee_asset)
        res = None
        if order_id is not None:
            res = self._reservations.get(order_id)
            if res is None:
                raise NotFoundError(f"no reservation for order {order_id!r}")
            if res.account_id != account_id or res.symbol != symbol or res.side != side_:
                raise ValidationError(
                    "order_id",
                    f"reservation is for {res.account_id}/{res.symbol}/{res.side}, not {account_id}/{symbol}/{side_}",
                    order_id,
                )
            if qty > res.remaining:
                raise ValidationError("quantity", f"exceeds the order's remaining quantity {res.remaining}", qty)

        cost = qty * px
        deltas: _Deltas = {}
        signed = qty if side_ == OrderSide.BUY else -qty
        _add(deltas, base, signed)
        _add(deltas, quote, -signed * px)
        if fee_:
            _add(deltas, fee_in, -fee_)
        new_res_locked = ZERO
        if res is not None and acct.mode is AccountMode.SPOT:
            consume = cost + (fee_ if fee_in == quote else ZERO) if side_ == OrderSide.BUY else qty
            from_lock = min(consume, res.locked)
            left = res.locked - from_lock
            remaining_after = res.remaining - qty
            if remaining_after == 0:
                target = ZERO
            elif side_ == OrderSide.BUY and res.price is not None:
                target = remaining_after * res.price * (ONE + res.fee_rate)
            else:
                target = remaining_after
            released = max(left - target, ZERO)
            new_res_locked = left - released
            _add(deltas, res.asset, ZERO, -(from_lock + released))

        new_balances = self._check(acct, deltas, (symbol, base, quote, px))
        position = acct.positions.get(symbol) or _Pos(base, quote)
        # A fee charged in the base asset (a venue taking its fee from what was bought) leaves less to hold: the
        # position is what the account holds, or a close would try to sell more than the balance.
        moved = signed - fee_ if fee_ and fee_in == base else signed
        new_position, realised = (position, ZERO) if moved == 0 else _fold_position(position, moved, px, acct.mode)

        # Everything is computed and checked; commit.
        self._remember(symbol, base, quote)
        for asset, (total, locked) in new_balances.items():
            bal = acct.bal(asset)
            bal.total, bal.locked = total, locked
        acct.positions[symbol] = new_position
        if fee_:
            new_position.fees[fee_in] = new_position.fees.get(fee_in, ZERO) + fee_
            self._fees[fee_in] = self._fees.get(fee_in, ZERO) + fee_
        self._marks[symbol] = px
        if res is not None:
            res.remaining = res.remaining - qty
            res.locked = new_res_locked
            if res.remaining == 0:
                del self._reservations[res.order_id]
        return realised

    # ------------------------------------------------------------------ marks and views
    def mark_to_market(self, prices: Mapping[str, Decimal | int | str]) -> None:
        """Record mark prices by symbol; valuations and margin checks use the latest mark of each symbol."""
        checked = {_name("symbol", s): to_decimal(f"prices.{s}", p, positive=True) for s, p in prices.items()}
        self._marks.update(checked)

    def marks(self) -> dict[str, Decimal]:
        return dict(self._marks)

    def register(self, instrument: InstrumentLike) -> None:
        """Make a symbol's base/quote known so its mark can value its base asset."""
        self._remember(*self._resolve(instrument))

    def balance(self, account_id: str, asset: str) -> Balance:
        bal = self._account(account_id).balances.get(asset)
        return Balance(asset, ZERO, ZERO) if bal is None else Balance(asset, bal.total, bal.locked)

    def balances(self, account_id: str) -> dict[str, Balance]:
        acct = self._account(account_id)
        return {a: Balance(a, b.total, b.locked) for a, b in sorted(acct.balances.items())}

    def position(self, account_id: str, symbol: str) -> Position | None:
        pos = self._account(account_id).positions.get(symbol)
        return None if pos is None else self._position_view(symbol, pos)

    def quantity(self, account_id: str, symbol: str) -> Decimal:
        """The signed position in ``symbol`` (0 when flat): the one figure sizing and funding checks need."""
        pos = self._account(account_id).positions.get(symbol)
        return ZERO if pos is None else pos.quantity

    def positions(self, account_id: str) -> dict[str, Position]:
        acct = self._account(account_id)
        return {s: self._position_view(s, p) for s, p in sorted(acct.positions.items())}

    def fees_collected(self) -> dict[str, Decimal]:
        """Fees charged by fills of every account, per asset (they left the accounts; conservation counts them)."""
        return dict(self._fees)

    def mark(self, symbol: str) -> Decimal | None:
        """The latest mark of ``symbol`` (None before the first)."""
        return self._marks.get(symbol)

    def equity(self, account_id: str) -> Decimal:
        """``valuation(account_id).equity`` alone: what order sizing asks on every signal, without the PnL breakdown."""
        acct = self._account(account_id)
        return REPORT.add(_cash(acct), self._assets_value(acct)[0])

    def exposure(self, account_id: str) -> tuple[Decimal, Decimal, tuple[str, ...]]:
        """``(equity, gross exposure, unpriced assets)``: what margin sizing needs of :meth:`valuation`, cheaper."""
        acct = self._account(account_id)
        value, exposure, unpriced = self._assets_value(acct)
        return REPORT.add(_cash(acct), value), exposure, tuple(unpriced)

    def maintenance_shortfall(
        self, account_id: str, at: Mapping[str, Decimal] | None = None
    ) -> tuple[Decimal, Decimal] | None:
        """``(equity, requirement)`` when a margin account's equity at the marks (``at`` overriding some of them,
        without recording them) is below its maintenance margin, else None (always None for spot accounts, which
        cannot owe anything).

        The requirement is half the initial margin of the positions: ``exposure / leverage x MAINTENANCE``. A
        broker closes the positions there; without it a losing short takes the account through zero.
        """
        acct = self._account(account_id)
        if acct.mode is not AccountMode.MARGIN:
            return None
        value, exposure, unpriced = self._assets_value(acct, at)
        if exposure == 0 or unpriced:
            return None
        equity = REPORT.add(_cash(acct), value)
        requirement = REPORT.multiply(REPORT.divide(exposure, acct.leverage), MAINTENANCE)
        return (equity, requirement) if equity < requirement else None

    def maintenance_bound(self, account_id: str, symbol: str) -> tuple[Decimal, bool] | None:
        """``(price, below)``: other marks fixed, a margin account is below its maintenance margin when ``symbol``'s
        price is below (``below``) or above ``price``, up to its rounding (34 digits: confirm near it with
        :meth:`maintenance_shortfall`). From ``C + q p < (X + |q| p) m`` (``q`` the position, ``C`` the cash plus
        the other assets' value, ``X`` their exposure, ``m = MAINTENANCE / leverage < 1``). None when it does not
        hold in that form: a spot account, no position, a quote other than the account's currency, no mark.
        """
        acct = self._account(account_id)
        pair = self._instruments.get(symbol)
        if acct.mode is not AccountMode.MARGIN or pair is None or self._pairs.get((pair[0], acct.currency)) != symbol:
            return None
        bal = acct.balances.get(pair[0])
        q = ZERO if bal is None else bal.total
        if q == 0:
            return None
        mark = self._marks.get(symbol)
        value, exposure, unpriced = self._assets_value(acct)
        if unpriced or mark is None:
            return None
        m = REPORT.divide(MAINTENANCE, acct.leverage)
        others = REPORT.add(_cash(acct), REPORT.subtract(value, REPORT.multiply(q, mark)))
        b = REPORT.subtract(REPORT.multiply(REPORT.subtract(exposure, REPORT.multiply(abs(q), mark)), m), others)
        a = REPORT.multiply(q, (ONE - m) if q > 0 else (ONE + m))
        return REPORT.divide(b, a), q > 0  # a > 0 (long): breach below b / a; a < 0 (short): above

    def _assets_value(
        self, acct: _Account, at: Mapping[str, Decimal] | None = None
    ) -> tuple[Decimal, Decimal, list[str]]:
        """Value and gross exposure of every asset but the valuation currency at the marks (``at`` overriding some
        of them), and the unpriced ones."""
        cur = acct.currency
        value = exposure = ZERO
        unpriced: list[str] = []
        marks = self._marks if at is None else {**self._marks, **at}
        for asset, bal in sorted(acct.balances.items()):
            if asset == cur or bal.total == 0:
                continue
            price = self._price(asset, cur, marks, self._pairs)
            if price is None:
                unpriced.append(asset)
                continue
            worth = REPORT.multiply(bal.total, price)
            value = REPORT.add(value, worth)
            exposure = REPORT.add(exposure, abs(worth))
        return value, exposure, unpriced

    def valuation(self, account_id: str) -> Valuation:
        acct = self._account(account_id)
        cur = acct.currency
        cash = _cash(acct)
        value, exposure, unpriced = self._assets_value(acct)
        unrealised = realised = ZERO
        for symbol, pos in acct.positions.items():
            rate = self._price(pos.quote, cur, self._marks, self._pairs)
            if rate is None:
                continue
            realised = REPORT.add(realised, REPORT.multiply(pos.realised_pnl, rate))
            upnl = self._position_view(symbol, pos).unrealised_pnl
            if upnl is not None:
                unrealised = REPORT.add(unrealised, REPORT.multiply(upnl, rate))
        return Valuation(
            account_id,
            cur,
            cash,
            value,
            REPORT.add(cash, value),
            exposure,
            unrealised,
            realised,
            tuple(unpriced),
        )

    # ------------------------------------------------------------------ snapshots
    def to_dict(self) -> dict[str, Any]:
        """The whole state as plain JSON-safe data (numbers as strings); :meth:`from_dict` restores it."""
        return self.capture()()

    def capture(self) -> Callable[[], dict[str, Any]]:
        """:meth:`to_dict` in two steps: copy what later fills and orders change (the values: Decimals are
        immutable) and return the function that builds the dict from that copy, on any thread. A snapshot takes
        the copy between two engine batches and builds on its writer thread."""
        instruments = dict(self._instruments)
        marks = dict(self._marks)
        fees = dict(self._fees)
        accounts = [
            (
                acct.account_id,
                acct.mode,
                acct.currency,
                acct.leverage,
                [(a, b.total, b.locked) for a, b in acct.balances.items()],
                [
                    (s, p.base, p.quote, p.quantity, p.average_price, p.realised_pnl, dict(p.fees))
                    for s, p in acct.positions.items()
                ],
            )
            for acct in self._accounts.values()
        ]
        reservations = list(map(_RES_FIELDS, self._reservations.values()))

        def build() -> dict[str, Any]:
            return {
                "version": SNAPSHOT_VERSION,
                "instruments": {s: [b, q] for s, (b, q) in sorted(instruments.items())},
                "marks": {s: str(p) for s, p in sorted(marks.items())},
                "fees_collected": {a: str(v) for a, v in sorted(fees.items())},
                "accounts": {
                    account_id: {
                        "mode": mode.value,
                        "currency": currency,
                        "leverage": str(leverage),
                        "balances": {a: {"total": str(t), "locked": str(k)} for a, t, k in sorted(balances)},
                        "positions": {
                            s: {
                                "base": base,
                                "quote": quote,
                                "quantity": str(quantity),
                                "average_price": str(average),
                                "realised_pnl": str(realised),
                                "fees": {a: str(v) for a, v in sorted(fees_paid.items())},
                            }
                            for s, base, quote, quantity, average, realised, fees_paid in sorted(positions)
                        },
                    }
                    for account_id, mode, currency, leverage, balances, positions in accounts
                },
                "reservations": {
                    order_id: {
                        "account_id": account_id,
                        "symbol": symbol,
                        "side": side.value,
                        "asset": asset,
                        "price": None if price is None else str(price),
                        "fee_rate": str(fee_rate),
                        "remaining": str(remaining),
                        "locked": str(locked),
                    }
                    for order_id, account_id, symbol, side, asset, price, fee_rate, remaining, locked in reservations
                },
            }

        return build

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ledger:
        """Rebuild a ledger from :meth:`to_dict` output; malformed data raises ValidationError naming the field."""
        try:
            return cls._from_dict(data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError("snapshot", f"malformed ledger snapshot: {exc!r}") from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Ledger:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValidationError("snapshot.version", f"must be {SNAPSHOT_VERSION}", data.get("version"))
        ledger = cls()
        for symbol, (base, quote) in data["instruments"].items():
            ledger._instruments[symbol] = (base, quote)
            ledger._pairs[(base, quote)] = symbol
        ledger._marks = {s: to_decimal(f"marks.{s}", p) for s, p in data["marks"].items()}
        ledger._fees = {a: to_decimal(f"fees_collected.{a}", v) for a, v in data["fees_collected"].items()}
        for account_id, raw in data["accounts"].items():
            acct = _Account(
                account_id, AccountMode(raw["mode"]), raw["currency"], to_decimal("leverage", raw["leverage"])
            )
            for asset, b in raw["balances"].items():
                acct.balances[asset] = _Bal(to_decimal("total", b["total"]), to_decimal("locked", b["locked"]))
            for symbol, p in raw["positions"].items():
                pos = _Pos(p["base"], p["quote"])
                pos.quantity = to_decimal("quantity", p["quantity"])
                pos.average_price = to_decimal("average_price", p["average_price"])
                pos.realised_pnl = to_decimal("realised_pnl", p["realised_pnl"])
                pos.fees = {a: to_decimal("fees", v) for a, v in p["fees"].items()}
                acct.positions[symbol] = pos
            ledger._accounts[account_id] = acct
        for order_id, r in data["reservations"].items():
            if r["account_id"] not in ledger._accounts:
                raise ValidationError("reservations.account_id", "names an unknown account", r["account_id"])
            ledger._reservations[order_id] = _Res(
                order_id,
                r["account_id"],
                r["symbol"],
                normalise_side(r["side"]),
                r["asset"],
                None if r["price"] is None else to_decimal("price", r["price"]),
                to_decimal("fee_rate", r["fee_rate"]),
                to_decimal("remaining", r["remaining"]),
                to_decimal("locked", r["locked"]),
            )
        return ledger

    # ------------------------------------------------------------------ internals
    def _account(self, account_id: str) -> _Account:
        acct = self._accounts.get(account_id)
        if acct is None:
            raise NotFoundError(f"unknown account {account_id!r}")
        return acct

    def _resolve(self, instrument: InstrumentLike) -> tuple[str, str, str]:
        """Validate an instrument against what the ledger already knows (registered on commit, not here)."""
        symbol, base, quote = instrument.symbol, instrument.base, instrument.quote
        if symbol.__class__ is str and self._instruments.get(symbol) == (base, quote):
            return symbol, base, quote  # known, and known as this pair: the names were checked when it was kept
        symbol = _name("instrument.symbol", str(instrument.symbol))
        base = _name("instrument.base", instrument.base)
        quote = _name("instrument.quote", instrument.quote)
        known = self._instruments.get(symbol)
        if known is not None and known != (base, quote):
            raise ValidationError("instrument", f"{symbol} is already known as {known[0]}/{known[1]}", (base, quote))
        return symbol, base, quote

    def _remember(self, symbol: str, base: str, quote: str) -> None:
        if symbol not in self._instruments:
            self._instruments[symbol] = (base, quote)
            self._pairs[(base, quote)] = symbol

    def _position_view(self, symbol: str, pos: _Pos) -> Position:
        return Position(
            symbol,
            pos.base,
            pos.quote,
            pos.quantity,
            pos.average_price,
            pos.realised_pnl,
            dict(pos.fees),
            self._marks.get(symbol),
        )

    @staticmethod
    def _price(
        asset: str, currency: str, marks: Mapping[str, Decimal], pairs: Mapping[tuple[str, str], str]
    ) -> Decimal | None:
        """Price of one unit of ``asset`` in ``currency`` from the marks, directly or through the inverse pair."""
        if asset == currency:
            return ONE
        direct = pairs.get((asset, currency))
        if direct is not None and direct in marks:
            return marks[direct]
        inverse = pairs.get((currency, asset))
        if inverse is not None and inverse in marks:
            return REPORT.divide(ONE, marks[inverse])
        return None

    def _check(self, acct: _Account, deltas: _Deltas, pending: _Pending) -> dict[str, tuple[Decimal, Decimal]]:
        """Apply ``deltas`` on paper and enforce the account's rules; returns the new (total, locked) per asset."""
        new: dict[str, tuple[Decimal, Decimal]] = {}
        for asset in sorted(deltas):
            d_total, d_locked = deltas[asset]
            bal = acct.balances.get(asset) or _Bal()
            total, locked = bal.total + d_total, bal.locked + d_locked
            if acct.mode is AccountMode.SPOT and total - locked < 0:
                raise InsufficientBalance(acct.account_id, asset, d_locked - d_total, bal.total - bal.locked)
            new[asset] = (total, locked)
        if acct.mode is AccountMode.MARGIN:
            self._check_margin(acct, deltas, pending)
        return new

    def _check_margin(self, acct: _Account, deltas: _Deltas, pending: _Pending, *, strict: bool = False) -> None:
        """Refuse a breach of exposure <= equity x leverage; unless ``strict``, a change that does not raise
        exposure passes even past the limit, so a position can always be reduced."""
        marks, pairs = self._marks, self._pairs
        if pending is not None:
            # The operation's own price values its symbol, even if the ledger has not seen the symbol yet (copied
            # only when it changes something: most orders trade a known symbol at its mark).
            symbol, base, quote, price = pending
            if marks.get(symbol) != price:
                marks = {**marks, symbol: price}
            if pairs.get((base, quote)) != symbol:
                pairs = {**pairs, (base, quote): symbol}
        before = {a: b.total for a, b in acct.balances.items()}
        after = dict(before)
        for asset, (d_total, _) in deltas.items():
            after[asset] = after.get(asset, ZERO) + d_total
        exposure_after, equity_after = self._exposure(acct, after, marks, pairs)
        limit = REPORT.multiply(equity_after, acct.leverage)
        # The exposure before matters only past the limit (is this change reducing it?): valued only then.
        if exposure_after > limit and (strict or exposure_after > self._exposure(acct, before, marks, pairs)[0]):
            raise LeverageExceeded(acct.account_id, exposure_after, equity_after, acct.leverage)

    def _exposure(
        self,
        acct: _Account,
        totals: Mapping[str, Decimal],
        marks: Mapping[str, Decimal],
        pairs: Mapping[tuple[str, str], str],
    ) -> tuple[Decimal, Decimal]:
        exposure = equity = ZERO
        for asset, total in totals.items():
            if total == 0:
                continue
            price = self._price(asset, acct.currency, marks, pairs)
            if price is None:
                raise ValidationError(
                    "marks", f"no mark price for {asset} in {acct.currency}; margin checks need one", reason=NO_MARK
                )
            worth = REPORT.multiply(total, price)
            equity = REPORT.add(equity, worth)
            if asset != acct.currency:
                exposure = REPORT.add(exposure, abs(worth))
        return exposure, equity


def _cash(acct: _Account) -> Decimal:
    """The account's balance of its valuation currency."""
    bal = acct.balances.get(acct.currency)
    return ZERO if bal is None else bal.total


def total_by_asset(ledger: Ledger, accounts: Iterable[str] | None = None) -> dict[str, Decimal]:
    """Sum of every asset's total over ``accounts`` (all by default): the conservation check's left side."""
    sums: dict[str, Decimal] = {}
    for account_id in ledger.accounts() if accounts is None else accounts:
        for asset, bal in ledger.balances(account_id).items():
            sums[asset] = sums.get(asset, ZERO) + bal.total
    return sums


__all__ = [
    "MAINTENANCE",
    "AccountMode",
    "Balance",
    "FillResult",
    "InstrumentLike",
    "InsufficientBalance",
    "Ledger",
    "LeverageExceeded",
    "Position",
    "Reservation",
    "Valuation",
    "total_by_asset",
]
