"""The fake exchange's WebSockets: public market streams and the WebSocket API's user data stream.

Public (``/stream``, ``/stream/<n>``, ``/ws``, ``/ws/<n>``): ``SUBSCRIBE`` / ``UNSUBSCRIBE`` /
``LIST_SUBSCRIPTIONS`` frames; events are sent raw, as Binance's ``/ws`` endpoint does. ``<sym>@depth`` and
``<sym>@depth@100ms`` carry ``depthUpdate`` diffs every 100 ms with contiguous ``U``/``u`` ids that line up with
the REST snapshot's ``lastUpdateId``; ``<sym>@trade`` and ``<sym>@aggTrade`` each trade as it happens;
``<sym>@bookTicker`` each change of the best prices; ``<sym>@ticker`` / ``<sym>@miniTicker`` a ticker every second.

Private (``/ws-api/v3``): ``userDataStream.subscribe.signature`` (signed like every WebSocket API request), then
``executionReport`` and ``outboundAccountPosition`` events wrapped as ``{"subscriptionId": n, "event": {...}}``.

The stream faults live here too: ``drop()`` closes every connection; ``silent_until`` stops every event (the
connections stay open and answer pings) until that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from alphintra.venues.fake import auth
from alphintra.venues.fake.errors import BinanceError
from alphintra.venues.fake.market import Market, fmt
from alphintra.venues.fake.state import Exchange, FakeOrder, Listener

if TYPE_CHECKING:
    from alphintra.venues.fake.rest import Rest

_DEPTH_MS = 100
_TICKER_MS = 1000


@dataclass(eq=False)
class PublicConn:
    ws: web.WebSocketResponse
    subs: set[str] = field(default_factory=set)


@dataclass(eq=False)
class PrivateConn:
    ws: web.WebSocketResponse
    subs: dict[int, str] = field(default_factory=dict)  # subscription id -> api key


class StreamHub(Listener):
    """Keeps the connections, turns exchange events into stream frames, and runs the periodic streams."""

    def __init__(self, exchange: Exchange, rest: Rest, clock: Callable[[], int]) -> None:
        self.ex = exchange
        self.rest = rest
        self.clock = clock
        self.public: set[PublicConn] = set()
        self.private: set[PrivateConn] = set()
        self.next_sub_id = 0
        self.silent_until = 0  # ms (exchange clock); events before it are not sent
        self._best: dict[str, tuple[object, object]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        exchange.listener = self

    # -- sending ------------------------------------------------------------------------------------------------

    def _silent(self) -> bool:
        return self.clock() < self.silent_until

    def _send(self, ws: web.WebSocketResponse, payload: object) -> None:
        if ws.closed:
            return
        # send_str is a coroutine only to wait for the transport; fire it and let aiohttp buffer the frame
        task = asyncio.ensure_future(ws.send_str(json.dumps(payload)))
        task.add_done_callback(_quiet)

    def _publish(self, stream: str, payload: object) -> None:
        if self._silent():
            return
        for conn in list(self.public):
            if stream in conn.subs:
                self._send(conn.ws, payload)

    def _private(self, api_key: str, event: dict[str, object]) -> None:
        if self._silent():
            return
        for conn in list(self.private):
            for sub_id, key in conn.subs.items():
                if key == api_key:
                    self._send(conn.ws, {"subscriptionId": sub_id, "event": event})

    # -- exchange events (Listener) -------------------------------------------------------------------------------

    def trade(
        self, market: Market, trade_id: int, price: Decimal, qty: Decimal, time: int, buyer_is_maker: bool
    ) -> None:
        sid = market.spec.id
        low = sid.lower()
        self._publish(
            f"{low}@trade",
            {
                "e": "trade",
                "E": time,
                "s": sid,
                "t": trade_id,
                "p": fmt(price),
                "q": fmt(qty),
                "T": time,
                "m": buyer_is_maker,
                "M": True,
            },
        )
        self._publish(
            f"{low}@aggTrade",
            {
                "e": "aggTrade", "E": time, "s": sid, "a": trade_id, "p": fmt(price), "q": fmt(qty),
                "f": trade_id, "l": trade_id, "T": time, "m": buyer_is_maker, "M": True,
            },
        )  # fmt: skip

    def execution(
        self, order: FakeOrder, exec_type: str, last: tuple[Decimal, Decimal, Decimal, str, int, bool] | None, time: int
    ) -> None:
        price, qty, fee, fee_asset, trade_id, is_maker = last or (Decimal(0), Decimal(0), Decimal(0), None, -1, False)
        canceled = exec_type == "CANCELED"
        self._private(
            order.api_key,
            {
                "e": "executionReport",
                "E": time,
                "s": order.symbol,
                "c": f"cancel{order.order_id}" if canceled else order.client_order_id,
                "S": order.side.value,
                "o": order.type,
                "f": order.tif,
                "q": fmt(order.orig_qty),
                "p": fmt(order.price),
                "P": "0.00000000",
                "F": "0.00000000",
                "g": -1,
                "C": order.client_order_id if canceled else "",
                "x": exec_type,
                "X": order.status,
                "r": "NONE",
                "i": order.order_id,
                "l": fmt(qty),
                "z": fmt(order.executed),
                "L": fmt(price),
                "n": fmt(fee),
                "N": fee_asset,
                "T": time,
                "t": trade_id,
                "I": 0,
                "w": order.is_open,
                "m": is_maker,
                "M": False,
                "O": order.time,
                "Z": fmt(order.quote_done),
                "Y": fmt(price * qty),
                "Q": fmt(order.orig_quote_qty),
                "W": order.time,
                "V": "EXPIRE_MAKER",
            },
        )

    def balances(self, api_key: str, assets: set[str], time: int) -> None:
        acct = self.ex.accounts[api_key]
        rows = [{"a": a, "f": fmt(acct.bal(a).free), "l": fmt(acct.bal(a).locked)} for a in sorted(assets)]
        self._private(api_key, {"e": "outboundAccountPosition", "E": time, "u": time, "B": rows})

    # -- periodic streams -----------------------------------------------------------------------------------------

    async def _depth_loop(self) -> None:
        while True:
            await asyncio.sleep(_DEPTH_MS / 1000)
            now = self.clock()
            for m in self.ex.markets.values():
                self._flush_market(m, now)

    def _flush_market(self, m: Market, now: int) -> None:
        sid = m.spec.id
        low = sid.lower()
        diff = m.take_diff()
        if diff is not None:
            first, last, bids, asks = diff
            event = {"e": "depthUpdate", "E": now, "s": sid, "U": first, "u": last, "b": bids, "a": asks}
            self._publish(f"{low}@depth@100ms", event)
            self._publish(f"{low}@depth", event)
        bid, ask = m.best()
        if self._best.get(sid) != (bid, ask):
            self._best[sid] = (bid, ask)
            self._publish(f"{low}@bookTicker", self._book_ticker(m))

    async def _ticker_loop(self) -> None:
        while True:
            await asyncio.sleep(_TICKER_MS / 1000)
            for m in self.ex.markets.values():
                low = m.spec.id.lower()
                full, mini = f"{low}@ticker", f"{low}@miniTicker"
                if not any(full in c.subs or mini in c.subs for c in self.public):
                    continue
                t = self.rest.ticker_for(m)
                self._publish(
                    full,
                    {
                        "e": "24hrTicker", "E": t["closeTime"], "s": t["symbol"], "p": t["priceChange"],
                        "P": t["priceChangePercent"], "w": t["weightedAvgPrice"], "x": t["prevClosePrice"],
                        "c": t["lastPrice"], "Q": t["lastQty"], "b": t["bidPrice"], "B": t["bidQty"],
                        "a": t["askPrice"], "A": t["askQty"], "o": t["openPrice"], "h": t["highPrice"],
                        "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"], "O": t["openTime"],
                        "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"],
                    },
                )  # fmt: skip
                self._publish(
                    mini,
                    {
                        "e": "24hrMiniTicker", "E": t["closeTime"], "s": t["symbol"], "c": t["lastPrice"],
                        "o": t["openPrice"], "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"],
                        "q": t["quoteVolume"],
                    },
                )  # fmt: skip

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._depth_loop()), asyncio.create_task(self._ticker_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.drop()

    async def drop(self) -> int:
        """Close every stream connection (the dropped-stream fault, and shutdown); returns how many."""
        conns = [c.ws for c in self.public] + [c.ws for c in self.private]
        for ws in conns:
            with contextlib.suppress(Exception):
                await ws.close(code=1011, message=b"dropped by the fake exchange")
        return len(conns)

    # -- handlers -----------------------------------------------------------------------------------------------

    async def handle_public(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        conn = PublicConn(ws)
        self.public.add(conn)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self._send(ws, self._public_request(conn, msg.data))
        finally:
            self.public.discard(conn)
        return ws

    def _public_request(self, conn: PublicConn, text: str) -> dict[str, object]:
        try:
            req = json.loads(text)
        except json.JSONDecodeError:
            return {"error": {"code": 3, "msg": "Invalid JSON: expected a JSON object"}, "id": None}
        rid = req.get("id") if isinstance(req, dict) else None
        if not isinstance(req, dict):
            return {"error": {"code": 3, "msg": "Invalid JSON: expected a JSON object"}, "id": None}
        method = req.get("method")
        params = req.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {
                    "error": {"code": 2, "msg": "Invalid request: params must be a list of stream names"},
                    "id": rid,
                }
            if method == "SUBSCRIBE":
                conn.subs.update(params)
                # the best prices change rarely when the walk is off: a new subscriber gets them at once
                asyncio.get_running_loop().call_soon(self._greet, conn, params)
            else:
                conn.subs.difference_update(params)
            return {"result": None, "id": rid}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(conn.subs), "id": rid}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": rid}

    def _greet(self, conn: PublicConn, streams: list[str]) -> None:
        for stream in streams:
            name, _, channel = stream.partition("@")
            m = self.ex.markets.get(name.upper())
            if m is not None and channel == "bookTicker" and not self._silent():
                self._send(conn.ws, self._book_ticker(m))

    def _book_ticker(self, m: Market) -> dict[str, object]:
        bid, ask = m.best()
        return {
            "u": m.update_id,
            "s": m.spec.id,
            "b": fmt(bid[0]) if bid else "0",
            "B": fmt(bid[1]) if bid else "0",
            "a": fmt(ask[0]) if ask else "0",
            "A": fmt(ask[1]) if ask else "0",
        }

    async def handle_ws_api(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        conn = PrivateConn(ws)
        self.private.add(conn)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self._send(ws, self._api_request(conn, msg.data))
        finally:
            self.private.discard(conn)
        return ws

    def _api_request(self, conn: PrivateConn, text: str) -> dict[str, object]:
        try:
            req = json.loads(text)
        except json.JSONDecodeError:
            req = None
        if not isinstance(req, dict):
            return {"id": None, "status": 400, "error": {"code": -1000, "msg": "Invalid JSON: expected a JSON object"}}
        rid = req.get("id")
        method = req.get("method")
        params = req.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise BinanceError(-1102, "Invalid request: params must be an object")
            result: object
            if method == "ping":
                result = {}
            elif method == "time":
                result = {"serverTime": self.clock()}
            elif method == "userDataStream.subscribe.signature":
                acct = auth.verify_ws(self.ex, params)
                sub_id = self.next_sub_id
                self.next_sub_id += 1
                conn.subs[sub_id] = acct.api_key
                result = {"subscriptionId": sub_id}
            elif method == "userDataStream.unsubscribe":
                sub = params.get("subscriptionId")
                if sub is None:
                    conn.subs.clear()
                elif conn.subs.pop(int(sub), None) is None:
                    raise BinanceError(-2011, "Invalid subscription ID.")
                result = {}
            elif method == "session.subscriptions":
                result = [{"subscriptionId": s} for s in sorted(conn.subs)]
            else:
                raise BinanceError(-1000, f"Unknown method {method!r}.")
        except BinanceError as exc:
            return {"id": rid, "status": exc.status, "error": exc.body()}
        except (TypeError, ValueError):
            bad = BinanceError(-1100, "Illegal characters found in a parameter.")
            return {"id": rid, "status": 400, "error": bad.body()}
        return {"id": rid, "status": 200, "result": result, "rateLimits": []}


def _quiet(task: asyncio.Future[Any]) -> None:
    """A frame to a connection that just closed is lost on purpose; do not let the error surface as unhandled."""
    if not task.cancelled():
        task.exception()
