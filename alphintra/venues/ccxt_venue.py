"""A venue on a real exchange through ccxt (``ccxt.pro``, asynchronous): the port of
:mod:`alphintra.engine.venue.base` for live trading.

Threads. The node calls the port on its own thread; the adapter owns an asyncio loop thread
(:class:`~alphintra.venues.ccxt_loop.LoopThread`). ``submit`` and ``cancel`` schedule the command there and return;
every report (accepted, filled, canceled, rejected, or "no answer") is handed back to the node's thread through
the ``post`` callable given at construction (the daemon's ``TradingHost.submit``; a queue pumped by a test).
Reconciliation queries (``open_orders``, ``fills``, ``order_status``, ``balances``) block the caller up to
``query_timeout_s`` and raise :class:`VenueUnavailable` when the exchange does not answer.

Orders carry the node's key as the exchange's client order id (:func:`~alphintra.venues.ccxt_markets.encode_key`),
so every report and every question names the node's order. A command with an unknown outcome (timeout, 5xx, a
dropped connection) is looked up by that id at once; when that does not settle it the node is told
(``venue_unknown``) and asks again on its own schedule. A command is never sent twice: only a rate-limit or
clock refusal (which the exchange did not execute) is retried (see :mod:`~alphintra.venues.ccxt_retry`).

Reports arrive from three sources, all idempotent: the answer to the command, the private stream (``watch_orders``
/ ``watch_my_trades``) and REST polling of the fills since the last one seen (every ``poll_s``, and at once after
the stream reconnects). Each fill is reported once per trade id (the node also drops a trade id it has booked),
and an order's fills are reported before it is reported closed.

Trade ids are the exchange's own, prefixed with the market id (``BTCUSDT-17``): Binance numbers trades per market.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from alphintra.engine.core.enums import LiquiditySide, OrderSide, OrderType, RejectReason, TimeInForce
from alphintra.engine.core.errors import ConflictError
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.venue.base import (
    VenueBalances,
    VenueCapabilities,
    VenueFill,
    VenueListener,
    VenueOrder,
    VenueOrderState,
    VenueUnavailable,
)
from alphintra.errors import AlphintraError, OperationFailed, ValidationError
from alphintra.venues.ccxt_client import endpoint, exchange_code, venue_error
from alphintra.venues.ccxt_loop import LoopThread, close_client, isolated
from alphintra.venues.ccxt_markets import decode_key, encode_key, instrument_from_market, number
from alphintra.venues.ccxt_retry import RetryPolicy, classify, with_retries

_log = logging.getLogger("alphintra.venues.ccxt")
Post = Callable[[Callable[[], None]], object]  # runs a callable on the node's thread (TradingHost.submit)
_MSG = re.compile(r'"msg"\s*:\s*"([^"]{1,300})"')
_CREDENTIAL_CODES = frozenset({-2014, -2015, -1022})
SEEN_LIMIT = 100_000
CAPABILITIES = VenueCapabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    post_only=True,  # LIMIT_MAKER
    modify=False,  # no amend on Binance spot: the node modifies by cancel-replace (engine/_node_replace.py)
    fee_model="venue",
    keeps_state=True,
)


@dataclass
class _Track:
    """What the adapter knows of one order (loop thread only)."""

    key: str
    symbol: str
    side: OrderSide
    venue_id: str | None = None
    accepted: bool = False
    closed: bool = False
    reported: Decimal = Decimal(0)  # quantity of the fills reported so far
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _exchange_message(exc: BaseException) -> str:
    """The exchange's own words for a refusal: its ``msg``, or ccxt's "<exchange id> <message>" when that carries no
    URL (a URL may hold a signed query, which never goes into a message)."""
    text = str(exc)
    match = _MSG.search(text)
    if match:
        return match.group(1)
    head, _, rest = text.partition(" ")
    if rest and head.isalnum() and "://" not in rest and "{" not in rest and len(rest) <= 300:
        return rest
    return type(exc).__name__


def reject_reason(exc: BaseException) -> RejectReason:
    """The node's reason code for an order the exchange refused."""
    import ccxt

    code = exchange_code(exc)
    text = _exchange_message(exc).lower()
    if "immediately match" in text or isinstance(exc, ccxt.OrderImmediatelyFillable):
        return RejectReason.POST_ONLY_WOULD_TRADE
    if "duplicate" in text or isinstance(exc, ccxt.DuplicateOrderId):
        return RejectReason.DUPLICATE_ORDER_ID
    if "insufficient" in text or isinstance(exc, ccxt.InsufficientFunds):
        return RejectReason.INSUFFICIENT_BALANCE
    if "notional" in text:
        return RejectReason.NOTIONAL_BELOW_MIN
    if "lot_size" in text:
        return RejectReason.INVALID_QUANTITY
    if "price_filter" in text:
        return RejectReason.PRICE_OFF_TICK
    if code == -1121 or isinstance(exc, ccxt.BadSymbol):
        return RejectReason.UNKNOWN_SYMBOL
    return RejectReason.VENUE_REJECTED


class ExchangePort:
    """What an exchange venue's port answers alike in-process (:class:`CcxtVenue`) and from a worker
    (:class:`~alphintra.venues.ccxt_venue_process.VenueProcess`): its markets, its listener, and no amend."""

    name: str
    _markets: dict[str, Instrument]
    _listener: VenueListener | None
    _post: Post

    def instruments(self) -> list[Instrument]:
        """The instruments of the markets this venue trades (after ``start``)."""
        return list(self._markets.values())

    def instrument(self, symbol: str) -> Instrument:
        inst = self._markets.get(symbol)
        if inst is None:
            listed = ", ".join(self._markets) or "none"
            raise ValidationError("symbol", f"is not traded on venue {self.name!r} (traded: {listed})", symbol)
        return inst

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def _hand_over(self, reports: list[tuple[str, tuple[Any, ...]]]) -> None:
        """One step's reports to the node's thread, in order, as one job (one batch, one journal sync there)."""
        listener = self._listener
        if listener is None or not reports:
            return

        def deliver() -> None:
            for method, args in reports:
                try:
                    getattr(listener, method)(*args)
                except Exception:  # one report the node cannot take must not lose those after it
                    _log.exception("venue %s: the node failed on a %s report", self.name, method)

        self._post(deliver)

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None:
        raise ConflictError(f"venue {self.name} cannot modify a working order; cancel and place a new one")

    def defer(self, action: Callable[[], None]) -> bool:
        return False


class CcxtVenue(ExchangePort):
    """See the module. ``config`` is the ccxt constructor config (keys, ``urls``, ``options``); ``account`` the
    node account this exchange key trades for; ``symbols`` the markets it trades (default: every market)."""

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        *,
        post: Post,
        exchange: str = "binance",
        account: str = "main",
        symbols: Iterable[str] | None = None,
        retry: RetryPolicy | None = None,
        poll_s: float = 5.0,
        query_timeout_s: float = 20.0,
        private_streams: bool = True,
        market_collar_bps: Decimal | None = Decimal(100),
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.name = name
        # A market order walks the exchange's book: the node locks funds up to this far above the last price.
        self.capabilities = dataclasses.replace(CAPABILITIES, market_collar_bps=market_collar_bps)
        self.account = account
        self._config = config
        self._exchange = exchange
        self._post = post
        self._wanted = None if symbols is None else list(symbols)
        self.retry = retry or RetryPolicy()
        self.poll_s = poll_s
        self.query_timeout_s = query_timeout_s
        self._private_streams = private_streams
        self._now_ns = now_ns
        self._listener: VenueListener | None = None
        self._loop: LoopThread | None = None
        self._client: Any = None
        self._markets: dict[str, Instrument] = {}
        self._symbols: list[str] = []
        # loop-thread state
        self._tracks: dict[str, _Track] = {}
        self._by_venue_id: dict[str, str] = {}
        self._raw_ids: dict[str, str] = {}  # key -> the exchange's client id, when it is not one encode_key makes
        # trade ids reported, oldest first; bounded (the node also drops a trade id it booked, so forgetting an
        # old one costs at most a repeated report, never a second booking)
        self._seen: dict[str, None] = {}
        self._last_trade_ms: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: list[tuple[str, tuple[Any, ...]]] = []  # reports of this loop step, not yet posted
        self._poke: asyncio.Event | None = None
        # what happened, for the host's status and for tests
        self.stream_reconnects = 0
        self.polls = 0
        self.resyncs = 0  # clock offset re-measured after -1021
        self.lookups = 0  # commands without an answer looked up by client order id
        self.streams_down: set[str] = set()  # private streams failing right now (reconnecting)
        # run on the node's thread (through ``post``) after a private stream came back: the host reconciles
        self.on_reconnect: Callable[[], None] | None = None

    # -- life -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect: load the markets, sync the clock, check the credentials, start the streams and the poller.
        Raises an :class:`AlphintraError` naming what is wrong (unreachable URL, bad credentials, unknown symbol)."""
        self._loop = LoopThread(f"venue-{self.name}")
        try:
            self._loop.call(self._start(), self.query_timeout_s + 10)
        except TimeoutError:
            self.close()
            raise OperationFailed(f"venue {self.name!r}: no answer while connecting") from None
        except BaseException:  # nothing half-started stays behind: the loop thread and the client go
            self.close()
            raise

    async def _start(self) -> None:
        import ccxt.pro

        options = {"adjustForTimeDifference": True, "warnOnFetchOpenOrdersWithoutSymbol": False}
        options.update(self._config.get("options") or {})
        config = {**self._config, "enableRateLimit": True, "options": options}
        self._client = getattr(ccxt.pro, self._exchange)(config)
        where = endpoint(self._client)
        try:
            markets = await self._call(lambda: self._client.load_markets(), query=True)
        except Exception as exc:
            raise self._start_error(exc, "load its markets", where) from None
        mode = int(self._client.precisionMode)
        wanted = self._wanted if self._wanted is not None else sorted(markets)
        for symbol in wanted:
            if symbol not in markets:
                raise ValidationError("symbol", f"is not listed by venue {self.name!r} ({where})", symbol)
            self._markets[symbol] = instrument_from_market(markets[symbol], mode)
        self._symbols = list(self._markets)
        try:
            balance = await self._call(lambda: self._client.fetch_balance(), query=True)
        except Exception as exc:
            raise self._start_error(exc, "fetch the balance", where) from None
        self._account_fees(balance)
        self._poke = asyncio.Event()
        self._since_ms = int(self._client.milliseconds()) - 60_000
        if self._private_streams:
            self._tasks.append(asyncio.create_task(self._watch("watch_orders")))
            self._tasks.append(asyncio.create_task(self._watch("watch_my_trades")))
        self._tasks.append(asyncio.create_task(self._poller()))

    def _account_fees(self, balance: Any) -> None:
        """The account's own commission rates (Binance's ``commissionRates``), when the exchange says: what this key
        pays, rather than the market's public schedule (routing compares venues by it)."""
        rates = ((balance or {}).get("info") or {}).get("commissionRates") or {}
        maker, taker = number(rates.get("maker")), number(rates.get("taker"))
        if maker is not None and taker is not None:
            for symbol, inst in self._markets.items():
                self._markets[symbol] = dataclasses.replace(inst, maker_fee=maker, taker_fee=taker)

    def _start_error(self, exc: Exception, action: str, where: str) -> AlphintraError:
        if exchange_code(exc) in _CREDENTIAL_CODES:
            return ValidationError(
                f"credentials of venue {self.name!r}",
                f"were refused by {where} (exchange code {exchange_code(exc)}) while trying to {action}: the API key "
                "is unknown, its secret does not match, or it lacks permission",
            )
        import ccxt

        if isinstance(exc, ccxt.ExchangeNotAvailable) and isinstance(exc.__cause__, OSError):
            # ccxt calls a refused connection "not available" (as it calls a 5xx): it is a wrong URL or a down host
            return venue_error(ccxt.NetworkError("connection failed"), self.name, action, where)
        return venue_error(exc, self.name, action, where)

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._loop = None
        try:
            loop.call(self._stop(), 10)
        except (TimeoutError, RuntimeError):  # pragma: no cover - a stuck close must not hang the caller
            _log.warning("venue %s: the ccxt client did not close in time", self.name)
        loop.stop()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await close_client(self._client)

    @property
    def connection(self) -> str:
        """``connected``, ``reconnecting`` (a private stream is down; REST still answers) or ``disconnected``."""
        if self._loop is None:
            return "disconnected"
        return "reconnecting" if self.streams_down else "connected"

    @property
    def client(self) -> Any:
        """The ccxt.pro client (loop thread only)."""
        return self._client

    # -- ccxt calls ---------------------------------------------------------------------------------------------

    async def _call(self, call: Callable[[], Any], *, query: bool) -> Any:
        """One ccxt call with the retry rules (queries retry unanswered calls too; commands never do)."""
        client = self._client
        return await with_retries(
            lambda: isolated(call),
            self.retry,
            headers=lambda: getattr(client, "last_response_headers", None),
            resync=self._resync,
            retry_unknown=query,
        )

    async def _resync(self) -> None:
        self.resyncs += 1
        _log.warning("venue %s: the exchange refused our request time (-1021); measuring the clock offset", self.name)
        await isolated(self._client.load_time_difference)

    def _query(self, coro: Any) -> Any:
        """Run a query for the node's thread; no answer raises :class:`VenueUnavailable`."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise VenueUnavailable(f"venue {self.name} is not connected")
        try:
            return loop.call(coro, self.query_timeout_s)
        except TimeoutError as exc:
            raise VenueUnavailable(f"venue {self.name}: {exc}") from None
        except Exception as exc:
            if classify(exc) == "refused":
                raise venue_error(exc, self.name, "answer a query", endpoint(self._client)) from None
            raise VenueUnavailable(f"venue {self.name}: no answer ({type(exc).__name__})") from None

    def _tell(self, method: str, *args: Any) -> None:
        """Queue a report for the node's thread. Reports made in one step of the loop (an answer's acceptance, its
        fills, its close) travel in one ``post``: the node books them in one batch, under one journal sync, where
        one post each let them straddle two batches and pay a sync each."""
        if self._listener is None:
            return
        self._outbox.append((method, args))
        if len(self._outbox) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        reports, self._outbox = self._outbox, []
        self._hand_over(reports)

    def _client_id(self, key: str) -> str:
        return self._raw_ids.get(key) or encode_key(key)

    def _key_of(self, client_id: str | None) -> str | None:
        if not client_id:
            return None
        key = decode_key(client_id)
        if key is None:
            self._raw_ids[client_id] = client_id
            return client_id
        return key

    # -- the port: commands -----------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        loop = self._loop
        if loop is None:
            coro.close()
            raise VenueUnavailable(f"venue {self.name} is not connected")
        loop.spawn(coro)

    def submit(self, order: VenueOrder) -> None:
        self._spawn(self._place(order))

    def cancel(self, key: str) -> None:
        self._spawn(self._cancel(key))

    def _track(self, key: str, symbol: str, side: OrderSide) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(key, symbol, side)
        return track

    async def _place(self, o: VenueOrder) -> None:
        now = self._now_ns()
        try:
            client_id = encode_key(o.key)
        except ValidationError as exc:
            self._tell("venue_rejected", o.key, RejectReason.VENUE_REJECTED, exc.message, now)
            return
        track = self._track(o.key, o.symbol, o.side)
        params: dict[str, Any] = {"clientOrderId": client_id}
        if o.price is not None:
            if o.post_only:
                params["postOnly"] = True
            else:
                params["timeInForce"] = o.time_in_force.value
        kind, price = ("market", None) if o.price is None else ("limit", str(o.price))
        side = "buy" if o.side is OrderSide.BUY else "sell"
        async with track.lock:
            try:
                placed = await self._call(
                    lambda: self._client.create_order(o.symbol, kind, side, str(o.quantity), price, params),
                    query=False,
                )
            except Exception as exc:
                outcome = classify(exc)
                if outcome != "unknown":
                    _log.info("venue %s refused %s: %s", self.name, o.key, _exchange_message(exc))
                    track.closed = True
                    message = f"venue {self.name} refused the order: {self._describe(exc)}"
                    self._tell("venue_rejected", o.key, reject_reason(exc), message, now)
                    return
                what = type(exc).__name__
                _log.warning("venue %s: no answer to order %s (%s); asking for it", self.name, o.key, what)
                placed = await self._lookup(track)
                if placed is None:
                    self._tell("venue_unknown", o.key, "submit", f"no answer from venue {self.name}")
                    return
        await self._on_order(placed)

    def _describe(self, exc: BaseException) -> str:
        code = exchange_code(exc)
        text = _exchange_message(exc)
        return f"{text} (exchange code {code})" if code is not None else text

    async def _lookup(self, track: _Track) -> dict[str, Any] | None:
        """The order of ``track`` by its client order id, or None when the exchange does not have it (or does not
        answer)."""
        import ccxt

        client_id = self._client_id(track.key)
        self.lookups += 1
        try:
            return dict(
                await self._call(
                    lambda: self._client.fetch_order(None, track.symbol, {"origClientOrderId": client_id}),
                    query=True,
                )
            )
        except ccxt.OrderNotFound:
            return None
        except Exception as exc:
            if classify(exc) == "refused" and exchange_code(exc) in (-2013, -2011):
                return None
            _log.warning("venue %s: looking up %s failed (%s)", self.name, track.key, type(exc).__name__)
            return None

    async def _cancel(self, key: str) -> None:
        track = self._tracks.get(key)
        if track is None:
            state = await self._status(key)
            if state is None:
                self._tell("venue_cancel_rejected", key, f"venue {self.name} does not know the order", self._now_ns())
                return
            track = self._track(key, state.symbol, state.side)
        client_id = self._client_id(key)
        async with track.lock:
            try:
                answer = await self._call(
                    lambda: self._client.cancel_order(None, track.symbol, {"origClientOrderId": client_id}),
                    query=False,
                )
            except Exception as exc:
                outcome = classify(exc)
                answer = await self._lookup(track)
                status = None if answer is None else answer.get("status")
                if status == "open" or (answer is None and outcome == "unknown"):
                    # the cancel did not land (or no one can tell): the node asks, and puts the order back to
                    # working if the exchange still has it open
                    self._tell("venue_unknown", key, "cancel", f"the cancel got no answer from venue {self.name}")
                    return
                if answer is None:
                    track.closed = True
                    self._tell(
                        "venue_cancel_rejected", key, f"venue {self.name} does not know the order", self._now_ns()
                    )
                    return
                await self._on_order(answer, locked=True)  # its fills, then closed if canceled or expired
                if status == "closed":  # it filled before the cancel arrived
                    track.closed = True
                    self._tell(
                        "venue_cancel_rejected", key, "the order filled before the cancel arrived", self._now_ns()
                    )
                return
            await self._on_order(dict(answer), locked=True)

    # -- reports ------------------------------------------------------------------------------------------------

    async def _on_order(self, order: dict[str, Any], *, locked: bool = False, streamed: bool = False) -> None:
        """Report what ``order`` (a ccxt order from any source) says that the node was not told yet."""
        key = self._key_of(order.get("clientOrderId"))
        symbol = order.get("symbol")
        if key is None or symbol not in self._markets:
            return
        side = OrderSide.BUY if order.get("side") == "buy" else OrderSide.SELL
        track = self._track(key, symbol, side)
        if locked:  # the caller holds the order's lock already
            await self._apply(track, order, streamed)
        else:
            async with track.lock:
                await self._apply(track, order, streamed)

    async def _apply(self, track: _Track, order: dict[str, Any], streamed: bool) -> None:
        venue_id = str(order.get("id") or "") or None
        if venue_id is not None:
            track.venue_id = venue_id
            self._by_venue_id[venue_id] = track.key
        status = order.get("status")
        now = self._now_ns()
        if status == "rejected" and not track.accepted:
            if not track.closed:
                track.closed = True
                self._tell("venue_rejected", track.key, RejectReason.VENUE_REJECTED, "rejected by the exchange", now)
            return
        self._accept(track)
        for trade in order.get("trades") or []:
            self._on_trade(trade, track)
        filled = number(order.get("filled")) or Decimal(0)
        closing = status in ("canceled", "expired", "rejected") and not track.closed
        # A stream's order update comes with its trade on the trade stream; any other answer may hide fills.
        if track.reported < filled and (closing or not streamed):
            await self._fetch_order_trades(track)
        if closing:
            if track.reported < filled:
                return  # its fills are not visible yet: the poller reports them, then the close
            track.closed = True
            self._tell("venue_canceled", track.key, str(status), now)
        elif status == "closed":
            track.closed = True

    def _accept(self, track: _Track) -> None:
        if not track.accepted:
            track.accepted = True
            self._tell("venue_accepted", track.key, self._now_ns(), track.venue_id)

    async def _fetch_order_trades(self, track: _Track) -> None:
        if track.venue_id is None:
            return
        try:
            trades = await self._call(
                lambda: self._client.fetch_my_trades(track.symbol, None, None, {"orderId": track.venue_id}),
                query=True,
            )
        except Exception as exc:
            _log.warning("venue %s: fetching the fills of %s failed (%s)", self.name, track.key, type(exc).__name__)
            return
        for trade in trades:
            self._on_trade(trade, track)

    def _fill_of(self, trade: dict[str, Any], track: _Track) -> VenueFill | None:
        raw_id = trade.get("id")
        qty, price = number(trade.get("amount")), number(trade.get("price"))
        if raw_id is None or qty is None or price is None:
            return None
        market_id = self._client.market(track.symbol)["id"]
        fee = trade.get("fee") or {}
        fee_cost = number(fee.get("cost"))
        liquidity = LiquiditySide.MAKER if trade.get("takerOrMaker") == "maker" else LiquiditySide.TAKER
        ts = trade.get("timestamp")
        return VenueFill(
            key=track.key,
            trade_id=f"{market_id}-{raw_id}",
            quantity=qty,
            price=price,
            liquidity=liquidity,
            ts=int(ts) * 1_000_000 if ts else self._now_ns(),
            venue_order_id=track.venue_id,
            fee=fee_cost,
            fee_asset=fee.get("currency") if fee_cost is not None else None,
            symbol=track.symbol,
            side=track.side,
            account=self.account,
        )

    def _on_trade(self, trade: dict[str, Any], track: _Track) -> None:
        fill = self._fill_of(trade, track)
        if fill is None or fill.trade_id in self._seen:
            return
        self._seen[fill.trade_id] = None
        if len(self._seen) > SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        self._accept(track)
        track.reported += fill.quantity
        ms = fill.ts // 1_000_000
        if ms > self._last_trade_ms.get(track.symbol, 0):
            self._last_trade_ms[track.symbol] = ms
        self._tell("venue_filled", fill)

    async def _track_of_trade(self, trade: dict[str, Any]) -> _Track | None:
        """The order a trade belongs to (asked of the exchange when the adapter has not seen it)."""
        venue_id = str(trade.get("order") or "")
        symbol = trade.get("symbol")
        if not venue_id or symbol not in self._markets:
            return None
        key = self._by_venue_id.get(venue_id)
        if key is not None:
            return self._tracks[key]
        try:
            order = await self._call(lambda: self._client.fetch_order(venue_id, symbol), query=True)
        except Exception as exc:
            _log.warning("venue %s: order %s of trade %s unknown (%s)", self.name, venue_id, trade.get("id"), exc)
            return None
        key = self._key_of(order.get("clientOrderId"))
        if key is None:
            return None
        track = self._track(key, symbol, OrderSide.BUY if order.get("side") == "buy" else OrderSide.SELL)
        track.venue_id = venue_id
        self._by_venue_id[venue_id] = key
        return track

    async def _on_trades(self, trades: Iterable[dict[str, Any]]) -> None:
        for trade in trades:
            track = await self._track_of_trade(trade)
            if track is not None:
                self._on_trade(trade, track)

    # -- private streams and the poller ---------------------------------------------------------------------

    async def _watch(self, method: str) -> None:
        attempt = 0
        while True:
            try:
                items = await isolated(getattr(self._client, method))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self.stream_reconnects += 1
                self.streams_down.add(method)
                _log.warning("venue %s: %s stream failed (%s); reconnecting", self.name, method, type(exc).__name__)
                assert self._poke is not None
                self._poke.set()  # what the stream missed comes by REST
                await self.retry.sleep(self.retry.delay(min(attempt, 6)))
                continue
            if attempt:
                attempt = 0
                self.streams_down.discard(method)
                assert self._poke is not None
                self._poke.set()  # reconnected: catch up on what happened meanwhile
                if self.on_reconnect is not None:
                    self._post(self.on_reconnect)
            try:
                if method == "watch_orders":
                    for order in items:
                        await self._on_order(dict(order), streamed=True)
                else:
                    await self._on_trades(items)
            except Exception:  # a report the adapter cannot read must not stop the stream
                _log.exception("venue %s: a %s report failed", self.name, method)

    async def _poller(self) -> None:
        assert self._poke is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.poll_s)
            self._poke.clear()
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("venue %s: polling failed (%s)", self.name, type(exc).__name__)
                continue
            if self.streams_down:
                # A quiet stream gives no sign it is back; the exchange answered the catch-up poll, so the venue
                # works (the poller covers what a stream still missing would say) and the node reconciles.
                self.streams_down.clear()
                if self.on_reconnect is not None:
                    self._post(self.on_reconnect)

    async def poll(self) -> None:
        """The backstop: fills since the last one seen, and the state of every order still working here."""
        self.polls += 1
        working = [t for t in self._tracks.values() if t.accepted and not t.closed]
        for symbol in self._symbols:
            since = self._last_trade_ms.get(symbol, self._since_ms)
            trades = await self._call(functools.partial(self._client.fetch_my_trades, symbol, since), query=True)
            await self._on_trades(trades)
        for track in working:
            if not track.closed:
                order = await self._lookup(track)
                if order is not None:
                    await self._on_order(order)

    def poke(self) -> None:
        """Poll now (a test, or the host after a reconnect it noticed)."""
        loop, poke = self._loop, self._poke
        if loop is not None and poke is not None:
            loop.loop.call_soon_threadsafe(poke.set)

    # -- the port: what the venue holds ---------------------------------------------------------------------------

    def _state(self, order: dict[str, Any], key: str) -> VenueOrderState:
        qty = number(order.get("amount")) or Decimal(0)
        return VenueOrderState(
            key=key,
            account=self.account,
            symbol=str(order.get("symbol")),
            side=OrderSide.BUY if order.get("side") == "buy" else OrderSide.SELL,
            quantity=qty,
            filled=number(order.get("filled")) or Decimal(0),
            status="open" if order.get("status") == "open" else "closed",
            price=number(order.get("price")) if order.get("type") != "market" else None,
            venue_order_id=str(order.get("id")),
            reason=str(order.get("status") or ""),
        )

    async def _status(self, key: str) -> VenueOrderState | None:
        track = self._tracks.get(key)
        symbols = [track.symbol] if track is not None else self._symbols
        for symbol in symbols:
            probe = track or _Track(key, symbol, OrderSide.BUY)
            order = await self._lookup(probe)
            if order is not None:
                return self._state(order, key)
        return None

    def order_status(self, key: str) -> VenueOrderState | None:
        return self._query(self._status(key))  # type: ignore[no-any-return]

    async def _open(self) -> list[VenueOrderState]:
        orders: list[dict[str, Any]] = []
        for symbol in self._symbols:  # per symbol: Binance weighs a query of every symbol as 80 requests
            orders += await self._call(functools.partial(self._client.fetch_open_orders, symbol), query=True)
        out = []
        for order in orders:
            key = self._key_of(order.get("clientOrderId"))
            if key is not None and order.get("symbol") in self._markets:
                out.append(self._state(order, key))
        return out

    def open_orders(self) -> list[VenueOrderState]:
        return self._query(self._open())  # type: ignore[no-any-return]

    async def _fills(self, since_ns: int) -> list[VenueFill]:
        out: list[VenueFill] = []
        for symbol in self._symbols:
            trades = await self._call(
                functools.partial(self._client.fetch_my_trades, symbol, since_ns // 1_000_000), query=True
            )
            for trade in trades:
                track = await self._track_of_trade(trade)
                fill = None if track is None else self._fill_of(trade, track)
                if fill is not None:
                    out.append(fill)
        return out

    def fills(self, since_ns: int) -> list[VenueFill]:
        return self._query(self._fills(since_ns))  # type: ignore[no-any-return]

    async def _balances(self) -> list[VenueBalances]:
        balance = await self._call(lambda: self._client.fetch_balance(), query=True)
        totals = {}
        for asset, amount in (balance.get("total") or {}).items():
            value = number(amount)
            if value:
                totals[asset] = value
        return [VenueBalances(self.account, totals)]

    def balances(self) -> list[VenueBalances]:
        return self._query(self._balances())  # type: ignore[no-any-return]


__all__ = ["CAPABILITIES", "CcxtVenue", "ExchangePort", "reject_reason"]
