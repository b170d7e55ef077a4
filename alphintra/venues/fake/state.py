"""The fake exchange's books of record: accounts per API key, orders, fills, fees and the order log.

Everything runs on one asyncio loop, so no method here needs a lock. Amounts are exact Decimals; the engine
works in integer ticks and lots. Fees follow Binance: the commission is charged in the asset received (base on a
buy, quote on a sell) at the maker or taker rate, rounded to 8 decimal places (half up); with ``fee_in_base`` on,
a sell pays its commission in the base asset as well (on top of the quantity sold, locked with the order).

A refused request changes nothing: every check happens before the first balance moves.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from alphintra.engine.core.enums import OrderSide, RejectReason, TimeInForce
from alphintra.engine.core.matching import Fill, MatchResult, MatchStatus
from alphintra.venues.fake import errors as E
from alphintra.venues.fake.errors import BinanceError
from alphintra.venues.fake.market import LIQUIDITY, Market, fmt

_FEE_Q = Decimal("0.00000001")
_ZERO = Decimal(0)
BUY = OrderSide.BUY
SELL = OrderSide.SELL
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


def fee_of(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(_FEE_Q, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Balance:
    free: Decimal = _ZERO
    locked: Decimal = _ZERO


@dataclass(slots=True)
class Account:
    api_key: str
    secret: str
    balances: dict[str, Balance] = field(default_factory=dict)
    trades: list[dict[str, object]] = field(default_factory=list)

    def bal(self, asset: str) -> Balance:
        b = self.balances.get(asset)
        if b is None:
            b = self.balances[asset] = Balance()
        return b


@dataclass(slots=True)
class FakeOrder:
    order_id: int
    client_order_id: str
    api_key: str
    market: Market
    side: OrderSide
    type: str  # LIMIT, MARKET, LIMIT_MAKER
    tif: str
    price: Decimal  # 0 for a market order
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    lock_asset: str
    locked: Decimal  # still locked for this order, in lock_asset
    executed: Decimal = _ZERO
    quote_done: Decimal = _ZERO
    status: str = "NEW"
    update_time: int = 0
    fills: list[dict[str, str | int]] = field(default_factory=list)
    held_lots: int = 0  # lots kept out of the book by the partial-fill fault, executed later
    hidden_until: int = 0  # the "briefly unknown" fault: GET answers -2013 before this time

    @property
    def symbol(self) -> str:
        return self.market.spec.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def view(self) -> dict[str, object]:
        """The order as GET /api/v3/order answers it."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.quote_done),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side.value,
            "stopPrice": "0",
            "icebergQty": "0",
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": self.is_open,
            "workingTime": self.time,
            "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def full(self, transact_time: int) -> dict[str, object]:
        """The FULL answer to POST /api/v3/order."""
        body = self.view()
        for key in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
            body.pop(key)
        body["transactTime"] = transact_time
        body["fills"] = list(self.fills)
        return body


class Listener:
    """What the streams hear; every hook is a no-op here."""

    def trade(
        self, market: Market, trade_id: int, price: Decimal, qty: Decimal, time: int, buyer_is_maker: bool
    ) -> None:
        pass

    def execution(
        self, order: FakeOrder, exec_type: str, last: tuple[Decimal, Decimal, Decimal, str, int, bool] | None, time: int
    ) -> None:
        pass

    def balances(self, api_key: str, assets: set[str], time: int) -> None:
        pass


@dataclass(slots=True)
class LogEntry:
    client_order_id: str
    order_id: int
    api_key: str
    symbol: str
    side: str
    type: str
    quantity: str
    price: str
    time: int


def _dec(params: dict[str, str], name: str, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise E.missing(name)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise E.bad_param(name) from None
    if not value.is_finite() or value < 0:
        raise E.bad_param(name)
    return value


class Exchange:
    """All accounts and markets of one fake exchange."""

    def __init__(self, markets: dict[str, Market], clock: Callable[[], int]) -> None:
        self.markets = markets  # by Binance id (BTCUSDT)
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.by_client: dict[tuple[str, str], FakeOrder] = {}
        self.log: list[LogEntry] = []
        self.duplicates_refused: list[str] = []
        self.next_order_id = 1
        self.fee_in_base = False
        self.listener = Listener()
        self.partial_left = 0  # orders the partial-fill fault still applies to
        self.partial_delay_ms = 500
        self.later: Callable[[float, Callable[[], None]], object] | None = None  # the loop's call_later
        self._touched: dict[str, set[str]] = {}

    # -- accounts ---------------------------------------------------------------------------------------------

    def add_account(
        self, api_key: str | None = None, secret: str | None = None, funds: dict[str, Decimal] | None = None
    ) -> Account:
        key = api_key or secrets.token_hex(32)
        acct = self.accounts.get(key)
        if acct is None:
            acct = self.accounts[key] = Account(key, secret or secrets.token_hex(32))
        for asset, amount in (funds or {}).items():
            acct.bal(asset).free += amount
        return acct

    def deposit(self, api_key: str, asset: str, amount: Decimal) -> Balance:
        """Credit (or, negative, debit) the free balance; a debit larger than the free balance is refused."""
        acct = self.accounts.get(api_key)
        if acct is None:
            raise BinanceError(-2015, E.BAD_KEY, 401)
        bal = acct.bal(asset)
        if bal.free + amount < 0:
            raise BinanceError(-2010, E.INSUFFICIENT)
        bal.free += amount
        self.listener.balances(api_key, {asset}, self.clock())
        return bal

    def market(self, symbol_id: str | None) -> Market:
        if not symbol_id:
            raise E.missing("symbol")
        m = self.markets.get(symbol_id)
        if m is None:
            raise BinanceError(-1121, E.INVALID_SYMBOL)
        return m

    def account_view(self, acct: Account) -> dict[str, object]:
        m = next(iter(self.markets.values()), None)
        maker = m.inst.maker_fee if m else _ZERO
        taker = m.inst.taker_fee if m else _ZERO
        return {
            "makerCommission": int(maker * 10000),
            "takerCommission": int(taker * 10000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": f"{maker:.8f}",
                "taker": f"{taker:.8f}",
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.clock(),
            "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": fmt(b.free), "locked": fmt(b.locked)} for a, b in sorted(acct.balances.items())
            ],
            "permissions": ["SPOT"],
            "uid": 0,
        }

    # -- placing ----------------------------------------------------------------------------------------------

    def place(self, acct: Account, params: dict[str, str]) -> FakeOrder:
        """Validate, lock funds, log and match a new order; raises ``BinanceError`` (nothing changed) if refused."""
        m = self.market(params.get("symbol"))
        inst = m.inst
        side_text = params.get("side") or ""
        if not side_text:
            raise E.missing("side")
        if side_text not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        side = BUY if side_text == "BUY" else SELL
        otype = params.get("type") or ""
        if not otype:
            raise E.missing("type")
        if otype not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
            raise BinanceError(-1116, "Invalid orderType.")
        tif = params.get("timeInForce") or ""
        if otype == "LIMIT":
            if not tif:
                raise E.missing("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise BinanceError(-1115, "Invalid timeInForce.")
        elif tif:
            raise BinanceError(-1106, "Parameter 'timeInForce' sent when not required.")
        cid = params.get("newClientOrderId") or f"fake{secrets.token_hex(8)}"
        if len(cid) > 36:
            raise BinanceError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_.]{1,36}$'.",
            )
        if (acct.api_key, cid) in self.by_client:
            self.duplicates_refused.append(cid)
            raise BinanceError(-2010, E.DUPLICATE)
        book = m.engine.book
        qty = _dec(params, "quantity", required=False)
        quote_qty = _ZERO
        price = _ZERO
        if otype == "MARKET":
            if params.get("price"):
                raise BinanceError(-1106, "Parameter 'price' sent when not required.")
            qq = _dec(params, "quoteOrderQty", required=False)
            if (qty is None) == (qq is None):
                raise BinanceError(
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty!"
                    if qty is None
                    else "Only one of 'quantity' or 'quoteOrderQty' may be sent.",
                )
            if qq is not None:
                quote_qty = qq
                lots = self._lots_for_quote(m, acct.api_key, side, qq)
                qty = inst.lots_to_qty(lots)
                if lots <= 0:
                    raise BinanceError(-1013, "Filter failure: NOTIONAL")
        else:
            if qty is None:
                raise E.missing("quantity")
            p = _dec(params, "price")
            assert p is not None
            price = p
        assert qty is not None
        # filters, in Binance's order
        if otype != "MARKET" and (price <= 0 or (price / inst.tick_size) % 1 != 0):
            raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if qty < inst.min_qty or qty <= 0 or (qty / inst.lot_size) % 1 != 0:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        lots = inst.qty_to_lots(qty)
        ref_price = price if otype != "MARKET" else m.mid
        if qty * ref_price < inst.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if otype == "LIMIT_MAKER":
            best = book.best_ask() if side is BUY else book.best_bid()
            ticks = inst.price_to_ticks(price)
            if best is not None and (ticks >= best if side is BUY else ticks <= best):
                raise BinanceError(-2010, E.WOULD_TAKE)
        # funds
        taker_rate = max(inst.taker_fee, inst.maker_fee)
        if side is BUY:
            lock_asset = inst.quote
            lock = price * qty if otype != "MARKET" else self._cost_for_lots(m, acct.api_key, lots)
        else:
            lock_asset = inst.base
            lock = qty + (fee_of(qty, taker_rate) if self.fee_in_base else _ZERO)
        bal = acct.bal(lock_asset)
        if bal.free < lock:
            raise BinanceError(-2010, E.INSUFFICIENT)
        # accepted: from here on the order exists
        now = self.clock()
        oid = self.next_order_id
        self.next_order_id += 1
        order = FakeOrder(
            oid,
            cid,
            acct.api_key,
            m,
            side,
            otype,
            tif if otype == "LIMIT" else "GTC",
            price,
            qty,
            quote_qty,
            now,
            lock_asset,
            lock,
        )
        order.update_time = now
        bal.free -= lock
        bal.locked += lock
        self.orders[oid] = order
        self.by_client[(acct.api_key, cid)] = order
        self.log.append(LogEntry(cid, oid, acct.api_key, m.spec.symbol, side.value, otype, fmt(qty), fmt(price), now))
        self._touch(acct.api_key, lock_asset)
        self.listener.execution(order, "NEW", None, now)
        if (
            self.partial_left
            and lots >= 2
            and otype != "LIMIT_MAKER"
            and order.tif != "FOK"
            and self._marketable(order)
        ):
            # the partial-fill fault: half trades now, the other half when the timer fires
            self.partial_left -= 1
            order.held_lots = lots // 2
            lots -= order.held_lots
            if self.later is not None:
                self.later(self.partial_delay_ms / 1000, lambda: self.release_held(order))
        self.match(order, lots)
        return order

    def _marketable(self, order: FakeOrder) -> bool:
        if order.type == "MARKET":
            return True
        book = order.market.engine.book
        best = book.best_ask() if order.side is BUY else book.best_bid()
        ticks = order.market.inst.price_to_ticks(order.price)
        return best is not None and (ticks >= best if order.side is BUY else ticks <= best)

    def release_held(self, order: FakeOrder) -> None:
        """Send the part the partial-fill fault held back (if the order is still open)."""
        lots, order.held_lots = order.held_lots, 0
        if not lots or not order.is_open:
            return
        engine = order.market.engine
        if order.order_id in engine.book:  # the first part rests: the held lots join it (a new arrival)
            resting = engine.book.orders[order.order_id].qty
            now = self.clock()
            self.apply_result(order.market, engine.modify(order.order_id, qty=resting + lots), now, taker=order)
            self.flush_balances(now)
        else:
            self.match(order, lots)

    def match(self, order: FakeOrder, lots: int) -> None:
        """Send ``lots`` of ``order`` to the engine and book whatever happens."""
        m = order.market
        engine = m.engine
        inst = m.inst
        now = self.clock()
        if order.type == "MARKET":
            result = engine.market(order.order_id, order.api_key, order.side, lots)
        else:
            tif = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}[order.tif]
            result = engine.limit(
                order.order_id,
                order.api_key,
                order.side,
                inst.price_to_ticks(order.price),
                lots,
                tif=tif,
                post_only=order.type == "LIMIT_MAKER",
            )
        self.apply_result(m, result, now, taker=order)
        if result.status is MatchStatus.REJECTED:
            reason = result.reason
            order.status = "EXPIRED" if reason is RejectReason.FOK_NOT_FILLABLE else "REJECTED"
        elif order.held_lots:  # more to come: the partial-fill fault holds the rest back
            order.status = "PARTIALLY_FILLED" if order.executed > 0 else "NEW"
        elif result.status is MatchStatus.CANCELED:
            order.status = "EXPIRED"
        elif result.status is MatchStatus.FILLED:
            order.status = "FILLED"
        elif result.status is MatchStatus.PARTIALLY_FILLED or order.executed > 0:
            order.status = "PARTIALLY_FILLED"
        order.update_time = now
        if not order.is_open:
            self._release(order)
            if order.status in ("EXPIRED", "REJECTED"):
                self.listener.execution(order, "EXPIRED", None, now)
        self.flush_balances(now)

    def apply_result(self, m: Market, result: MatchResult, now: int, taker: FakeOrder | None) -> None:
        """Book the fills of one engine call and expire the resting orders self-trade prevention removed."""
        for fill in result.fills:
            self._book_fill(m, fill, now, taker)
        for gone in result.stp_canceled:
            if isinstance(gone.order_id, int) and gone.order_id > 0:
                victim = self.orders[gone.order_id]
                victim.status = "EXPIRED"
                victim.update_time = now
                self._release(victim)
                self.listener.execution(victim, "EXPIRED", None, now)
        m.note_book_change()

    def _book_fill(self, m: Market, fill: Fill, now: int, taker: FakeOrder | None) -> None:
        inst = m.inst
        price = inst.ticks_to_price(fill.price)
        qty = inst.lots_to_qty(fill.qty)
        buyer_is_maker = fill.taker_side is SELL
        trade = m.add_trade(price, qty, now, buyer_is_maker)
        if fill.maker_account != LIQUIDITY and isinstance(fill.maker_id, int) and fill.maker_id > 0:
            self._fill_order(self.orders[fill.maker_id], price, qty, True, trade.id, now)
        if fill.taker_account != LIQUIDITY and isinstance(fill.taker_id, int) and fill.taker_id > 0:
            self._fill_order(taker or self.orders[fill.taker_id], price, qty, False, trade.id, now)
        self.listener.trade(m, trade.id, price, qty, now, buyer_is_maker)

    def _fill_order(
        self, order: FakeOrder, price: Decimal, qty: Decimal, is_maker: bool, trade_id: int, now: int
    ) -> None:
        """Move the money of one fill of ``order`` (exactly) and record the trade."""
        inst = order.market.inst
        acct = self.accounts[order.api_key]
        rate = inst.maker_fee if is_maker else inst.taker_fee
        quote = price * qty
        base_bal = acct.bal(inst.base)
        quote_bal = acct.bal(inst.quote)
        if order.side is BUY:
            release = quote if order.type == "MARKET" else order.price * qty
            # a market buy locked the cost of the book it met; a later part (partial-fill fault) may cost more
            from_lock = min(release, order.locked)
            order.locked -= from_lock
            quote_bal.locked -= from_lock
            quote_bal.free += from_lock - quote
            fee, fee_asset = fee_of(qty, rate), inst.base
            base_bal.free += qty - fee
        else:
            fee_asset = inst.base if self.fee_in_base else inst.quote
            fee = fee_of(qty if self.fee_in_base else quote, rate)
            spent = qty + (fee if self.fee_in_base else _ZERO)
            # per-fill rounding can make the fees of many fills exceed the fee locked for the whole quantity by a
            # few units of 1e-8: the excess comes from the free balance
            from_lock = min(spent, order.locked)
            order.locked -= from_lock
            base_bal.locked -= from_lock
            base_bal.free -= spent - from_lock
            quote_bal.free += quote - (_ZERO if self.fee_in_base else fee)
        order.executed += qty
        order.quote_done += quote
        order.update_time = now
        lots_left = inst.qty_to_lots(order.orig_qty - order.executed)
        if order.type != "MARKET" and lots_left == 0:
            order.status = "FILLED"
        elif order.status == "NEW":
            order.status = "PARTIALLY_FILLED"
        if lots_left == 0 and order.type != "MARKET":
            self._release(order)
        order.fills.append(
            {
                "price": fmt(price),
                "qty": fmt(qty),
                "commission": fmt(fee),
                "commissionAsset": fee_asset,
                "tradeId": trade_id,
            }
        )
        acct.trades.append(
            {
                "symbol": order.symbol,
                "id": trade_id,
                "orderId": order.order_id,
                "orderListId": -1,
                "price": fmt(price),
                "qty": fmt(qty),
                "quoteQty": fmt(quote),
                "commission": fmt(fee),
                "commissionAsset": fee_asset,
                "time": now,
                "isBuyer": order.side is BUY,
                "isMaker": is_maker,
                "isBestMatch": True,
            }
        )
        self._touch(order.api_key, inst.base, inst.quote)
        if order.type == "MARKET" and lots_left == 0:
            order.status = "FILLED"
            self._release(order)
        self.listener.execution(order, "TRADE", (price, qty, fee, fee_asset, trade_id, is_maker), now)

    def _release(self, order: FakeOrder) -> None:
        """Return whatever the order still has locked to the free balance."""
        if order.locked:
            bal = self.accounts[order.api_key].bal(order.lock_asset)
            bal.locked -= order.locked
            bal.free += order.locked
            order.locked = _ZERO
            self._touch(order.api_key, order.lock_asset)

    def _touch(self, api_key: str, *assets: str) -> None:
        self._touched.setdefault(api_key, set()).update(assets)

    def flush_balances(self, now: int) -> None:
        """Tell the streams which balances moved since the last flush (one outboundAccountPosition per key)."""
        touched, self._touched = self._touched, {}
        for key, assets in touched.items():
            self.listener.balances(key, assets, now)

    # -- market-order sizing (walks the book as the engine will, skipping the account's own quotes) -------------

    def _walk(self, m: Market, api_key: str, side: OrderSide) -> list[tuple[int, int]]:
        opp = m.engine.book.asks if side is BUY else m.engine.book.bids
        out = []
        for key in reversed(opp.keys):
            level = opp.levels[key]
            lots = sum(o.qty for o in level.live() if o.account != api_key)
            if lots:
                out.append((level.price, lots))
        return out

    def _cost_for_lots(self, m: Market, api_key: str, lots: int) -> Decimal:
        inst = m.inst
        cost = _ZERO
        for ticks, avail in self._walk(m, api_key, BUY):
            take = min(avail, lots)
            cost += inst.ticks_to_price(ticks) * inst.lots_to_qty(take)
            lots -= take
            if not lots:
                break
        return cost

    def _lots_for_quote(self, m: Market, api_key: str, side: OrderSide, quote: Decimal) -> int:
        inst = m.inst
        total = 0
        for ticks, avail in self._walk(m, api_key, side):
            price = inst.ticks_to_price(ticks)
            afford = int(quote / (price * inst.lot_size))
            take = min(avail, afford)
            total += take
            quote -= price * inst.lots_to_qty(take)
            if take < avail:
                break
        return total

    # -- canceling and reading --------------------------------------------------------------------------------

    def find(self, acct: Account, params: dict[str, str], unknown_code: int) -> FakeOrder:
        m = self.market(params.get("symbol"))
        oid = params.get("orderId")
        cid = params.get("origClientOrderId")
        if not oid and not cid:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        order: FakeOrder | None = None
        if oid:
            if not oid.isdigit():
                raise E.bad_param("orderId")
            order = self.orders.get(int(oid))
            if order is not None and cid and order.client_order_id != cid:
                order = None
        else:
            assert cid is not None
            order = self.by_client.get((acct.api_key, cid))
        if order is None or order.api_key != acct.api_key or order.market is not m:
            raise BinanceError(unknown_code, E.UNKNOWN_ORDER if unknown_code == -2011 else E.NO_SUCH_ORDER)
        return order

    def cancel(self, order: FakeOrder, status: str = "CANCELED") -> None:
        """Take an open order off the book (a user's cancel, or one "from outside")."""
        if not order.is_open:
            raise BinanceError(-2011, E.UNKNOWN_ORDER)
        m = order.market
        m.engine.cancel(order.order_id)
        order.held_lots = 0
        order.status = status
        now = self.clock()
        order.update_time = now
        self._release(order)
        m.note_book_change()
        self.listener.execution(order, "CANCELED", None, now)
        self.flush_balances(now)

    def fill_resting(self, order: FakeOrder, qty: Decimal | None) -> None:
        """Fill a resting order "from outside" at its own price as a maker (all of its rest when ``qty`` is None)."""
        if not order.is_open or order.type == "MARKET":
            raise BinanceError(-2011, E.UNKNOWN_ORDER)
        m = order.market
        inst = m.inst
        remaining = inst.qty_to_lots(order.orig_qty - order.executed)
        lots = remaining if qty is None else inst.qty_to_lots(qty)
        if not 0 < lots <= remaining:
            raise BinanceError(-1013, f"Filter failure: LOT_SIZE (1..{remaining} lots)")
        now = self.clock()
        if lots == remaining:
            m.engine.cancel(order.order_id)
        else:
            m.engine.modify(order.order_id, qty=remaining - lots)
        m.note_book_change()
        price = order.price
        trade = m.add_trade(price, inst.lots_to_qty(lots), now, order.side is BUY)
        self._fill_order(order, price, inst.lots_to_qty(lots), True, trade.id, now)
        self.listener.trade(m, trade.id, price, inst.lots_to_qty(lots), now, order.side is BUY)
        self.flush_balances(now)

    def set_price(self, m: Market, price: Decimal) -> None:
        m.mid = price
        self.reladder(m)

    def reladder(self, m: Market) -> None:
        now = self.clock()
        for result in m.reladder():
            self.apply_result(m, result, now, None)
        m.note_book_change()
        self.flush_balances(now)

    def open_orders(self, acct: Account, m: Market | None) -> list[FakeOrder]:
        return [
            o for o in self.orders.values() if o.api_key == acct.api_key and o.is_open and (m is None or o.market is m)
        ]
