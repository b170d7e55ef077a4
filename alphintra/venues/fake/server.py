"""The fake exchange's HTTP server: REST, admin and (``streams``) WebSockets on one aiohttp app and one port.

aiohttp serves HTTP and WebSockets from the same handler model on one port, gives handlers the raw query string
and body (the signature is checked over the exact bytes ccxt signed) and the transport (to drop a connection
without an answer, the "response lost" fault); it is already installed as ccxt's own HTTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.errors import ValidationError
from alphintra.venues.fake import auth
from alphintra.venues.fake.errors import INSUFFICIENT, BinanceError
from alphintra.venues.fake.faults import Fault, FaultBook, parse_spec
from alphintra.venues.fake.klines import PricePath
from alphintra.venues.fake.market import Market, default_spec, fmt
from alphintra.venues.fake.rest import Rest
from alphintra.venues.fake.state import Account, Exchange, FakeOrder
from alphintra.venues.fake.streams import StreamHub

_LOOPBACK = frozenset({"127.0.0.1", "::1"})
log = logging.getLogger(__name__)


@dataclass
class FakeConfig:
    host: str = "127.0.0.1"
    port: int = 0
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    seed: int = 1
    faults: str = ""
    api_key: str | None = None
    api_secret: str | None = None
    funds: dict[str, Decimal] | None = None  # None: 100,000 of each quote asset and 10 of each base asset
    walk_ms: int = 1000  # 0: the price moves only when told to (admin)
    walk_vol: float = 0.0005
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    ladder: LiquidityModel = field(default_factory=lambda: LiquidityModel(levels=10, level_notional=Decimal(20000)))


def ccxt_urls(host: str, port: int) -> dict[str, object]:
    """The ``urls`` a ccxt ``binance`` / ``ccxt.pro.binance`` client needs to talk to this fake and nothing else."""
    http = f"http://{host}:{port}"
    ws = f"ws://{host}:{port}"
    return {
        "api": {
            "public": f"{http}/api/v3",
            "private": f"{http}/api/v3",
            "v1": f"{http}/api/v1",
            # ccxt.pro: public streams (the path must contain "/stream"), private updates via the WebSocket API
            "ws": {"spot": f"{ws}/stream", "margin": f"{ws}/stream", "ws-api": {"spot": f"{ws}/ws-api/v3"}},
        }
    }


class FakeExchange:
    """One running fake: the exchange state, its REST handlers and the background price walk."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.skew_ms = 0
        markets: dict[str, Market] = {}
        self.paths: dict[str, PricePath] = {}
        for index, symbol in enumerate(config.symbols):
            spec = default_spec(symbol, config.maker_fee, config.taker_fee)
            path = PricePath(config.seed * 104_729 + index, spec.base_price)
            # the live price starts where the history ends, so klines and the book tell one story
            mid = spec.inst.round_price(Decimal(repr(path.value(self.now_ms() // 60_000))))
            markets[spec.id] = Market(spec, mid, config.ladder, random.Random(config.seed * 7919 + index))
            self.paths[spec.id] = path
        self.exchange = Exchange(markets, self.now_ms)
        for m in markets.values():
            self.exchange.reladder(m)
        funds = config.funds
        if funds is None:
            funds = {}
            for m in markets.values():
                funds[m.inst.quote] = Decimal(100_000)
                funds[m.inst.base] = Decimal(10)
        self.account = self.exchange.add_account(config.api_key, config.api_secret, funds)
        self.rest = Rest(self.exchange, self.paths)
        self.streams = StreamHub(self.exchange, self.rest, self.now_ms)
        self.faults = FaultBook()
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[object]] = set()
        self.apply_faults(parse_spec(config.faults))

    # -- faults -------------------------------------------------------------------------------------------------

    def apply_faults(self, faults: list[Fault]) -> None:
        """Arm counted faults; switch the standing ones (clock skew, fees in base, silent or dropped streams)."""
        self.faults.arm([f for f in faults if f.kind != "partial"])
        for f in faults:
            if f.kind == "skew":
                self.skew_ms = f.arg
            elif f.kind == "fee_base":
                self.exchange.fee_in_base = True
            elif f.kind == "partial":
                self.exchange.partial_left += f.count
                self.exchange.partial_delay_ms = f.arg
            elif f.kind == "silent_stream":
                self.streams.silent_until = self.now_ms() + f.arg if f.arg else 1 << 62
            elif f.kind == "drop_stream":
                with contextlib.suppress(RuntimeError):  # no loop yet (the start spec): nothing to drop
                    task = asyncio.get_running_loop().create_task(self.streams.drop())
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.skew_ms = 0
        self.exchange.fee_in_base = False
        self.exchange.partial_left = 0
        self.streams.silent_until = 0

    def fault_state(self) -> dict[str, object]:
        return {
            "armed": [f.describe() for f in self.faults.armed],
            "skew_ms": self.skew_ms,
            "fee_in_base": self.exchange.fee_in_base,
            "partial_left": self.exchange.partial_left,
            "silent_until": self.streams.silent_until or None,
        }

    def now_ms(self) -> int:
        """The exchange's clock (wall time plus the clock-skew fault)."""
        return time.time_ns() // 1_000_000 + self.skew_ms

    # -- background ---------------------------------------------------------------------------------------------

    async def _walk(self) -> None:
        interval = self.config.walk_ms / 1000
        while True:
            await asyncio.sleep(interval)
            for m in self.exchange.markets.values():
                m.step_walk(self.config.walk_vol)
                self.exchange.reladder(m)

    def start_background(self) -> None:
        self.exchange.later = asyncio.get_running_loop().call_later
        self.streams.start()
        if self.config.walk_ms > 0:
            self._tasks.append(asyncio.create_task(self._walk()))

    async def stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.streams.stop()

    # -- HTTP ---------------------------------------------------------------------------------------------------

    def routes(self) -> dict[tuple[str, str], tuple[Callable[..., Any], bool]]:
        r = self.rest
        return {
            ("GET", "ping"): (lambda p: {}, False),
            ("GET", "time"): (lambda p: {"serverTime": self.now_ms()}, False),
            ("GET", "exchangeInfo"): (r.exchange_info, False),
            ("GET", "klines"): (r.klines, False),
            ("GET", "uiKlines"): (r.klines, False),
            ("GET", "depth"): (r.depth, False),
            ("GET", "trades"): (r.trades, False),
            ("GET", "aggTrades"): (r.agg_trades, False),
            ("GET", "avgPrice"): (r.avg_price, False),
            ("GET", "ticker/24hr"): (r.ticker_24hr, False),
            ("GET", "ticker/price"): (r.ticker_price, False),
            ("GET", "ticker/bookTicker"): (r.book_ticker, False),
            ("POST", "order"): (r.new_order, True),
            ("POST", "order/test"): (lambda a, p: {}, True),
            ("GET", "order"): (r.get_order, True),
            ("DELETE", "order"): (r.cancel_order, True),
            ("GET", "openOrders"): (r.open_orders, True),
            ("DELETE", "openOrders"): (r.cancel_all, True),
            ("GET", "allOrders"): (r.all_orders, True),
            ("GET", "myTrades"): (r.my_trades, True),
            ("GET", "account"): (r.account, True),
        }

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        route = self._routes.get((request.method, path))
        if route is None:
            return _error(
                BinanceError(-1000 if path else -1102, f"Unknown endpoint {request.method} /api/v3/{path}", 404)
            )
        handler, signed = route
        method = request.method
        for kind, status in (("418", 418), ("429", 429)):
            fault = self.faults.take(kind, method, path)
            if fault is not None:
                msg = (
                    f"Way too many requests; IP(127.0.0.1) banned until {self.now_ms() + fault.arg * 1000}."
                    if status == 418
                    else "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."
                )
                return web.json_response(
                    {"code": -1003, "msg": msg}, status=status, headers={"Retry-After": str(fault.arg)}
                )
        fault = self.faults.take("5xx", method, path)
        if fault is not None:
            return web.Response(status=fault.arg, text="Service Unavailable", content_type="text/plain")
        if self.faults.take("reject", method, path) is not None:
            return _error(BinanceError(-2010, INSUFFICIENT))
        raw_query = request.rel_url.raw_query_string
        body = await request.text() if request.can_read_body else ""
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body, keep_blank_values=True))
        try:
            if signed:
                acct = auth.verify_rest(self.exchange, request.headers.get("X-MBX-APIKEY"), raw_query, body, params)
                result = handler(acct, params)
            else:
                result = handler(params)
        except BinanceError as exc:
            return _error(exc)
        except Exception:  # a bug of the fake must still answer like Binance, not with a traceback page
            log.exception("fake exchange: %s /api/v3/%s failed", method, path)
            return _error(BinanceError(-1000, "An unknown error occurred while processing the request.", 500))
        if method == "POST" and path == "order" and isinstance(result, dict):
            unknown = self.faults.take("unknown", method, path)
            if unknown is not None:
                self.exchange.orders[int(result["orderId"])].hidden_until = self.now_ms() + unknown.arg
        if self.faults.take("lost", method, path) is not None and request.transport is not None:
            request.transport.abort()  # executed, but the answer never leaves: the client sees a dropped connection
            return web.Response(status=500)
        timeout = self.faults.take("timeout", method, path)
        if timeout is not None:
            await asyncio.sleep(timeout.arg / 1000)
        return web.json_response(result)

    # -- admin (loopback only, no signature) --------------------------------------------------------------------

    async def handle_admin(self, request: web.Request) -> web.StreamResponse:
        if request.remote not in _LOOPBACK:
            return web.json_response({"error": "the admin endpoint answers loopback clients only"}, status=403)
        action = request.match_info["action"]
        handler = self._admin.get((request.method, action))
        if handler is None:
            return web.json_response({"error": f"unknown admin action {request.method} {action}"}, status=404)
        data: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return web.json_response({"error": "the body must be a JSON object"}, status=400)
            if not isinstance(body, dict):
                return web.json_response({"error": "the body must be a JSON object"}, status=400)
            data.update(body)
        try:
            result = await handler(data)
        except AdminError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except BinanceError as exc:
            return web.json_response({"error": exc.msg, "code": exc.code}, status=400)
        return web.json_response(result)

    def admin_routes(self) -> dict[tuple[str, str], Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            ("GET", "state"): self._admin_state,
            ("POST", "accounts"): self._admin_account,
            ("POST", "deposit"): self._admin_deposit,
            ("GET", "balances"): self._admin_balances,
            ("POST", "price"): self._admin_price,
            ("POST", "book"): self._admin_book,
            ("POST", "fill"): self._admin_fill,
            ("POST", "cancel"): self._admin_cancel,
            ("GET", "orders"): self._admin_orders,
            ("POST", "streams/drop"): self._admin_drop_streams,
            ("GET", "faults"): self._admin_faults,
            ("POST", "faults"): self._admin_add_faults,
            ("DELETE", "faults"): self._admin_clear_faults,
        }

    async def _admin_faults(self, data: dict[str, Any]) -> dict[str, object]:
        return self.fault_state()

    async def _admin_add_faults(self, data: dict[str, Any]) -> dict[str, object]:
        try:
            faults = parse_spec(_str(data, "spec"))
        except ValidationError as exc:
            raise AdminError(f"spec: {exc.message}") from None
        self.apply_faults(faults)
        if any(f.kind == "drop_stream" for f in faults):
            await asyncio.gather(*self._pending)
        return self.fault_state()

    async def _admin_clear_faults(self, data: dict[str, Any]) -> dict[str, object]:
        self.clear_faults()
        return self.fault_state()

    async def _admin_state(self, data: dict[str, Any]) -> dict[str, object]:
        return {
            "time": self.now_ms(),
            "fee_in_base": self.exchange.fee_in_base,
            "markets": {
                m.spec.symbol: {"id": m.spec.id, "mid": fmt(m.mid), "update_id": m.update_id}
                for m in self.exchange.markets.values()
            },
        }

    async def _admin_account(self, data: dict[str, Any]) -> dict[str, object]:
        funds = {str(a): _decimal(v, f"funds.{a}") for a, v in (data.get("funds") or {}).items()}
        acct = self.exchange.add_account(data.get("api_key"), data.get("api_secret"), funds)
        return {"api_key": acct.api_key, "api_secret": acct.secret}

    async def _admin_deposit(self, data: dict[str, Any]) -> dict[str, object]:
        bal = self.exchange.deposit(_str(data, "api_key"), _str(data, "asset"), _decimal(data.get("amount"), "amount"))
        return {"free": fmt(bal.free), "locked": fmt(bal.locked)}

    async def _admin_balances(self, data: dict[str, Any]) -> dict[str, object]:
        acct = self._acct(data)
        return {a: {"free": fmt(b.free), "locked": fmt(b.locked)} for a, b in sorted(acct.balances.items())}

    async def _admin_price(self, data: dict[str, Any]) -> dict[str, object]:
        m = self._market(data)
        price = m.inst.round_price(_decimal(data.get("price"), "price"))
        if price <= 0:
            raise AdminError("price: must be > 0")
        self.exchange.set_price(m, price)
        return {"symbol": m.spec.symbol, "mid": fmt(m.mid), "update_id": m.update_id}

    async def _admin_book(self, data: dict[str, Any]) -> dict[str, object]:
        """Replace the synthetic ladder with crafted depth (``bids``/``asks``: [[price, qty], ...]); it stays until
        the next ``book`` without levels (the ladder comes back) and moves with no walk."""
        m = self._market(data)
        levels: list[tuple[OrderSide, Decimal, Decimal]] = []
        for side, name in ((OrderSide.BUY, "bids"), (OrderSide.SELL, "asks")):
            for i, level in enumerate(data.get(name) or []):
                if not isinstance(level, list) or len(level) != 2:
                    raise AdminError(f"{name}[{i}]: must be [price, quantity]")
                try:
                    price = m.inst.make_price(_decimal(level[0], f"{name}[{i}].price"), f"{name}[{i}].price")
                    qty = m.inst.make_qty(_decimal(level[1], f"{name}[{i}].qty"), f"{name}[{i}].qty")
                except ValidationError as exc:
                    raise AdminError(str(exc)) from None
                levels.append((side, price, qty))
        m.crafted = levels or None
        self.exchange.reladder(m)
        return m.depth(100)

    async def _admin_fill(self, data: dict[str, Any]) -> dict[str, object]:
        order = self._order(data)
        qty = data.get("quantity")
        self.exchange.fill_resting(order, None if qty is None else _decimal(qty, "quantity"))
        return order.view()

    async def _admin_cancel(self, data: dict[str, Any]) -> dict[str, object]:
        order = self._order(data)
        self.exchange.cancel(order)
        return order.view()

    async def _admin_orders(self, data: dict[str, Any]) -> dict[str, object]:
        key = data.get("api_key")
        return {
            "orders": [asdict(e) for e in self.exchange.log if key is None or e.api_key == key],
            "duplicates_refused": list(self.exchange.duplicates_refused),
        }

    async def _admin_drop_streams(self, data: dict[str, Any]) -> dict[str, object]:
        return {"dropped": await self.streams.drop()}

    def _acct(self, data: dict[str, Any]) -> Account:
        key = data.get("api_key") or self.account.api_key
        acct = self.exchange.accounts.get(key)
        if acct is None:
            raise AdminError(f"api_key: no account {key!r}")
        return acct

    def _market(self, data: dict[str, Any]) -> Market:
        symbol = _str(data, "symbol").replace("/", "")
        m = self.exchange.markets.get(symbol)
        if m is None:
            raise AdminError(f"symbol: {data.get('symbol')!r} is not listed (listed: {', '.join(self.config.symbols)})")
        return m

    def _order(self, data: dict[str, Any]) -> FakeOrder:
        oid = data.get("order_id")
        cid = data.get("client_order_id")
        if oid is not None:
            order = self.exchange.orders.get(int(oid)) if str(oid).isdigit() else None
        elif cid is not None:
            acct = self._acct(data)
            order = self.exchange.by_client.get((acct.api_key, str(cid)))
        else:
            raise AdminError("order_id or client_order_id: one is required")
        if order is None:
            raise AdminError(f"no order {oid if oid is not None else cid!r}")
        return order

    # -- app ----------------------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        self._routes = self.routes()
        self._admin = self.admin_routes()
        app = web.Application()
        app.router.add_route("*", "/api/v3/{path:.*}", self.handle_api)
        app.router.add_route("*", "/api/v1/{path:.*}", self.handle_api)
        app.router.add_route("*", "/admin/{action:.*}", self.handle_admin)
        for path in ("/stream", "/stream/{n}", "/ws", "/ws/{n}"):
            app.router.add_get(path, self.streams.handle_public)
        app.router.add_get("/ws-api/v3", self.streams.handle_ws_api)
        return app


class AdminError(Exception):
    pass


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise AdminError(f"{name}: required (a non-empty string)")
    return value


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AdminError(f"{name}: must be a decimal number given as a string or an integer")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise AdminError(f"{name}: must be a decimal number") from None
    if not result.is_finite():
        raise AdminError(f"{name}: must be finite")
    return result


def _error(exc: BinanceError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status)


async def serve(config: FakeConfig, ready: Callable[[FakeExchange, dict[str, object]], None]) -> None:
    """Run until SIGTERM or SIGINT; ``ready`` gets the exchange and the start record once the port is bound."""
    fake = FakeExchange(config)
    runner = web.AppRunner(fake.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = runner.addresses[0][1]
    fake.start_background()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready(
        fake, {"api_key": fake.account.api_key, "api_secret": fake.account.secret, "urls": ccxt_urls(config.host, port)}
    )
    try:
        await stop.wait()
    finally:
        await fake.stop_background()
        await runner.cleanup()
