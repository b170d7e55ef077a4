"""The Binance spot REST subset (``/api/v3/...``): public market data and the signed trading endpoints.

Each handler takes the parsed parameters and returns the JSON body; ``server`` does the HTTP, the signature check
and the error answers. Field names and formats are Binance's, since the real ccxt client parses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from alphintra.venues.fake import errors as E
from alphintra.venues.fake.errors import BinanceError
from alphintra.venues.fake.klines import INTERVALS_MS, PricePath, kline_rows
from alphintra.venues.fake.market import Market, fmt
from alphintra.venues.fake.state import Account, Exchange, FakeOrder

Handler = Callable[..., Awaitable[Any]]


def _int(
    params: dict[str, str], name: str, default: int | None = None, lo: int = 0, hi: int | None = None
) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise E.bad_param(name) from None
    if value < lo or (hi is not None and value > hi):
        raise BinanceError(-1100 if value < lo else -1130, f"Illegal value for parameter '{name}'.")
    return value


def _limit(params: dict[str, str], default: int, hi: int) -> int:
    value = _int(params, "limit", default, 1, hi)
    assert value is not None
    return value


class Rest:
    """The handlers, bound to one exchange. ``paths`` give each symbol's kline path."""

    def __init__(self, exchange: Exchange, paths: dict[str, PricePath]) -> None:
        self.ex = exchange
        self.paths = paths

    # -- public -----------------------------------------------------------------------------------------------

    def exchange_info(self, params: dict[str, str]) -> dict[str, object]:
        wanted: set[str] | None = None
        if params.get("symbol"):
            wanted = {self.ex.market(params["symbol"]).spec.id}
        elif params.get("symbols"):
            wanted = {s.strip('"') for s in params["symbols"].strip("[]").split(",")}
            for s in wanted:
                self.ex.market(s)
        return {
            "timezone": "UTC",
            "serverTime": self.ex.clock(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(m) for sid, m in self.ex.markets.items() if wanted is None or sid in wanted],
        }

    @staticmethod
    def _symbol_info(m: Market) -> dict[str, object]:
        inst = m.inst
        return {
            "symbol": m.spec.id,
            "status": "TRADING",
            "baseAsset": inst.base,
            "baseAssetPrecision": 8,
            "quoteAsset": inst.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(inst.tick_size),
                    "maxPrice": "10000000",
                    "tickSize": fmt(inst.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(inst.min_qty),
                    "maxQty": "9000000",
                    "stepSize": fmt(inst.lot_size),
                },
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": fmt(inst.min_notional),
                    "applyToMarket": True,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(inst.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
        }

    def klines(self, params: dict[str, str]) -> list[list[object]]:
        m = self.ex.market(params.get("symbol"))
        interval = params.get("interval")
        if not interval:
            raise E.missing("interval")
        if interval not in INTERVALS_MS:
            raise BinanceError(-1120, "Invalid interval.")
        return kline_rows(
            self.paths[m.spec.id],
            m.inst,
            interval,
            _int(params, "startTime"),
            _int(params, "endTime"),
            _limit(params, 500, 1000),
            self.ex.clock(),
        )

    def depth(self, params: dict[str, str]) -> dict[str, object]:
        return self.ex.market(params.get("symbol")).depth(_limit(params, 100, 5000))

    def trades(self, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params.get("symbol"))
        limit = _limit(params, 500, 1000)
        return [
            {
                "id": t.id,
                "price": fmt(t.price),
                "qty": fmt(t.qty),
                "quoteQty": fmt(t.price * t.qty),
                "time": t.time,
                "isBuyerMaker": t.buyer_is_maker,
                "isBestMatch": True,
            }
            for t in list(m.trades)[-limit:]
        ]

    def agg_trades(self, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params.get("symbol"))
        limit = _limit(params, 500, 1000)
        from_id = _int(params, "fromId")
        start = _int(params, "startTime")
        end = _int(params, "endTime")
        rows = [
            t
            for t in m.trades
            if (from_id is None or t.id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [
            {
                "a": t.id,
                "p": fmt(t.price),
                "q": fmt(t.qty),
                "f": t.id,
                "l": t.id,
                "T": t.time,
                "m": t.buyer_is_maker,
                "M": True,
            }
            for t in rows
        ]

    def _markets(self, params: dict[str, str]) -> list[Market] | Market:
        if params.get("symbol"):
            return self.ex.market(params["symbol"])
        if params.get("symbols"):
            return [self.ex.market(s.strip('"')) for s in params["symbols"].strip("[]").split(",")]
        return list(self.ex.markets.values())

    def ticker_24hr(self, params: dict[str, str]) -> object:
        target = self._markets(params)
        return self.ticker_for(target) if isinstance(target, Market) else [self.ticker_for(m) for m in target]

    def ticker_for(self, m: Market) -> dict[str, object]:
        now = self.ex.clock()
        day = [t for t in m.trades if t.time >= now - 86_400_000]
        last = day[-1].price if day else m.mid
        open_ = day[0].price if day else m.mid
        high = max((t.price for t in day), default=m.mid)
        low = min((t.price for t in day), default=m.mid)
        volume = sum((t.qty for t in day), Decimal(0))
        quote_volume = sum((t.qty * t.price for t in day), Decimal(0))
        bid, ask = m.best()
        change = last - open_
        return {
            "symbol": m.spec.id,
            "priceChange": fmt(change),
            "priceChangePercent": f"{(change / open_ * 100):.3f}",
            "weightedAvgPrice": fmt(m.inst.round_price(quote_volume / volume)) if volume else fmt(last),
            "prevClosePrice": fmt(open_),
            "lastPrice": fmt(last),
            "lastQty": fmt(day[-1].qty) if day else "0",
            "bidPrice": fmt(bid[0]) if bid else "0",
            "bidQty": fmt(bid[1]) if bid else "0",
            "askPrice": fmt(ask[0]) if ask else "0",
            "askQty": fmt(ask[1]) if ask else "0",
            "openPrice": fmt(open_),
            "highPrice": fmt(high),
            "lowPrice": fmt(low),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote_volume),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": day[0].id if day else -1,
            "lastId": day[-1].id if day else -1,
            "count": len(day),
        }

    def ticker_price(self, params: dict[str, str]) -> object:
        def one(m: Market) -> dict[str, object]:
            return {"symbol": m.spec.id, "price": fmt(m.trades[-1].price if m.trades else m.mid)}

        target = self._markets(params)
        return one(target) if isinstance(target, Market) else [one(m) for m in target]

    def book_ticker(self, params: dict[str, str]) -> object:
        def one(m: Market) -> dict[str, object]:
            bid, ask = m.best()
            return {
                "symbol": m.spec.id,
                "bidPrice": fmt(bid[0]) if bid else "0",
                "bidQty": fmt(bid[1]) if bid else "0",
                "askPrice": fmt(ask[0]) if ask else "0",
                "askQty": fmt(ask[1]) if ask else "0",
            }

        target = self._markets(params)
        return one(target) if isinstance(target, Market) else [one(m) for m in target]

    def avg_price(self, params: dict[str, str]) -> dict[str, object]:
        m = self.ex.market(params.get("symbol"))
        return {"mins": 5, "price": fmt(m.mid), "closeTime": self.ex.clock()}

    # -- signed -----------------------------------------------------------------------------------------------

    def new_order(self, acct: Account, params: dict[str, str]) -> dict[str, object]:
        resp_type = params.get("newOrderRespType") or "FULL"
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise BinanceError(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
        order = self.ex.place(acct, params)
        return self.order_answer(order, resp_type)

    def order_answer(self, order: FakeOrder, resp_type: str) -> dict[str, object]:
        now = order.update_time
        if resp_type == "ACK":
            return {
                "symbol": order.symbol,
                "orderId": order.order_id,
                "orderListId": -1,
                "clientOrderId": order.client_order_id,
                "transactTime": now,
            }
        body = order.full(now)
        if resp_type == "RESULT":
            body.pop("fills")
        return body

    def get_order(self, acct: Account, params: dict[str, str]) -> dict[str, object]:
        order = self.ex.find(acct, params, -2013)
        if order.hidden_until and self.ex.clock() < order.hidden_until:
            raise BinanceError(-2013, E.NO_SUCH_ORDER)
        return order.view()

    def cancel_order(self, acct: Account, params: dict[str, str]) -> dict[str, object]:
        order = self.ex.find(acct, params, -2011)
        self.ex.cancel(order)
        return self._cancel_view(order, params.get("newClientOrderId"))

    def _cancel_view(self, order: FakeOrder, new_cid: str | None) -> dict[str, object]:
        return {
            "symbol": order.symbol,
            "origClientOrderId": order.client_order_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": new_cid or f"cancel{order.order_id}",
            "transactTime": order.update_time,
            "price": fmt(order.price),
            "origQty": fmt(order.orig_qty),
            "executedQty": fmt(order.executed),
            "cummulativeQuoteQty": fmt(order.quote_done),
            "status": order.status,
            "timeInForce": order.tif,
            "type": order.type,
            "side": order.side.value,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def cancel_all(self, acct: Account, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params.get("symbol"))
        orders = self.ex.open_orders(acct, m)
        if not orders:
            raise BinanceError(-2011, E.UNKNOWN_ORDER)
        out = []
        for order in orders:
            self.ex.cancel(order)
            out.append(self._cancel_view(order, None))
        return out

    def open_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params["symbol"]) if params.get("symbol") else None
        return [o.view() for o in self.ex.open_orders(acct, m)]

    def all_orders(self, acct: Account, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params.get("symbol"))
        from_id = _int(params, "orderId")
        start = _int(params, "startTime")
        end = _int(params, "endTime")
        limit = _limit(params, 500, 1000)
        rows = [
            o
            for o in self.ex.orders.values()
            if o.api_key == acct.api_key
            and o.market is m
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        rows = rows[:limit] if (from_id is not None or start is not None) else rows[-limit:]
        return [o.view() for o in rows]

    def my_trades(self, acct: Account, params: dict[str, str]) -> list[dict[str, object]]:
        m = self.ex.market(params.get("symbol"))
        order_id = _int(params, "orderId")
        from_id = _int(params, "fromId")
        start = _int(params, "startTime")
        end = _int(params, "endTime")
        limit = _limit(params, 500, 1000)
        rows = [
            t
            for t in acct.trades
            if t["symbol"] == m.spec.id
            and (order_id is None or t["orderId"] == order_id)
            and (from_id is None or int(str(t["id"])) >= from_id)
            and (start is None or int(str(t["time"])) >= start)
            and (end is None or int(str(t["time"])) <= end)
        ]
        rows.sort(key=lambda t: int(str(t["id"])))
        return rows[:limit] if (from_id is not None or start is not None) else rows[-limit:]

    def account(self, acct: Account, params: dict[str, str]) -> dict[str, object]:
        view = self.ex.account_view(acct)
        if params.get("omitZeroBalances") == "true":
            view["balances"] = [
                {"asset": a, "free": fmt(b.free), "locked": fmt(b.locked)}
                for a, b in sorted(acct.balances.items())
                if b.free or b.locked
            ]
        return view
