"""Where the TUI's data comes from: the daemon, through the typed ``AsyncEngineClient`` and its WebSocket streams.

``DataSource`` is the one interface the app uses. ``EngineDataSource`` implements it for a running daemon: it loads
a snapshot over REST, then follows the streams (orders, fills, tickers, the selected symbol's book, alerts, engine
events) and polls what has no stream of its own (portfolio, positions, balances, risk figures, strategies). Every
update goes into a sink (the app's ``UpdateBuffer``), never straight into a widget. When the daemon goes away the
source reports ``Connection(False, ...)`` and reconnects with a growing back-off, then reloads the snapshot so
nothing missed while it was gone stays stale.

A topic the daemon refuses (for instance a symbol with a slash, which the topic router does not take as one path
segment) is followed by polling its REST twin instead, so every symbol still updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from alphintra.daemon.client import AsyncEngineClient
from alphintra.errors import AlphintraError, NotFoundError, OperationFailed
from alphintra.tui.models import BacktestDetail, BacktestRun, Connection, LogLine, Order

log = logging.getLogger(__name__)

Sink = Callable[[str, str, Any], None]
API = "/api/v1"


class DataSource(Protocol):
    """What the app needs from a source of data; commands raise the project's errors on failure."""

    async def start(self, sink: Sink) -> None: ...

    async def close(self) -> None: ...

    async def set_focus(self, symbol: str) -> None: ...

    async def load_candles(self, symbol: str, timeframe: str, limit: int = 200) -> None: ...

    async def place_order(self, payload: dict[str, Any]) -> Order: ...

    async def cancel_order(self, order_id: str) -> Order: ...

    async def modify_order(self, order_id: str, changes: dict[str, str]) -> Order: ...

    async def cancel_all(self, symbol: str | None = None) -> list[str]: ...

    async def start_strategy(self, key: str) -> None: ...

    async def stop_strategy(self, key: str) -> None: ...

    async def update_strategy(self, key: str, params: dict[str, Any]) -> None: ...

    async def halt(self, reason: str) -> None: ...

    async def resume(self, reason: str) -> None: ...

    async def ack_alert(self, alert_id: int) -> None: ...

    async def backtests(self) -> list[BacktestRun]: ...

    async def backtest(self, run_id: str) -> BacktestDetail: ...


class EngineDataSource:
    """A ``DataSource`` backed by a running daemon."""

    def __init__(
        self,
        client: AsyncEngineClient,
        *,
        poll_interval: float = 1.0,
        market_poll_interval: float = 0.25,
        max_backoff: float = 5.0,
        focus: str | None = None,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.market_poll_interval = market_poll_interval
        self.max_backoff = max_backoff
        self._focus = focus
        self._focus_changed = asyncio.Event()
        self._sink: Sink | None = None
        self._task: asyncio.Task[None] | None = None
        self._symbols: list[str] = []
        self._log_seq = 0
        self.connected = False

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self, sink: Sink) -> None:
        self._sink = sink
        self._task = asyncio.create_task(self._supervise(), name="tui-engine-source")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.client.aclose()

    async def set_focus(self, symbol: str) -> None:
        if symbol != self._focus:
            self._focus = symbol
            self._focus_changed.set()

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _emit(self, kind: str, key: str, data: Any) -> None:
        if self._sink is not None:
            self._sink(kind, key, data)

    def _log(self, level: str, text: str, ts: int = 0) -> None:
        self._log_seq += 1
        self._emit("log", f"local-{self._log_seq}", LogLine(ts, level, text))

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
                reason = "the engine closed the connection"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A lost daemon arrives as the project's errors (often wrapped by the TaskGroup); anything else is
                # a bug in a stream, which must not end the TUI either: log it and reconnect.
                if not _is_expected(exc):
                    log.exception("engine data source failed")
                reason = _first_message(exc)
            self.connected = False
            attempt += 1
            self._emit("connection", "engine", Connection(False, reason, attempt))
            await asyncio.sleep(min(self.max_backoff, 0.25 * 2 ** min(attempt - 1, 5)))

    async def _session(self) -> None:
        await self._snapshot()
        self.connected = True
        self._emit("connection", "engine", Connection(True))
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow("orders/updates", "order"))
            group.create_task(self._follow("trades/updates", "fill"))
            group.create_task(self._follow("risk/alerts", "alert"))
            group.create_task(self._follow_events())
            group.create_task(self._poll_account())
            group.create_task(self._follow_tickers())
            group.create_task(self._follow_focus())

    async def _snapshot(self) -> None:
        get = self.client.get
        symbols = await get(f"{API}/market-data/symbols")
        self._symbols = [s["symbol"] for s in symbols]
        self._emit("symbols", "all", symbols)
        self._emit("tickers", "all", await get(f"{API}/market-data/ticker"))
        self._emit("orders", "all", await get(f"{API}/orders", params={"open": True, "limit": 500}))
        self._emit("fills", "all", await get(f"{API}/trades", params={"limit": 200}))
        await self._load_account()
        if self._focus is None and self._symbols:
            self._focus = self._symbols[0]

    async def _load_account(self) -> None:
        get = self.client.get
        self._emit("portfolio", "all", await get(f"{API}/portfolio"))
        self._emit("positions", "all", await get(f"{API}/portfolio/positions"))
        self._emit("balances", "all", await get(f"{API}/portfolio/balances"))
        self._emit("strategies", "all", await get(f"{API}/strategies"))
        self._emit("risk", "all", await get(f"{API}/risk/metrics"))
        self._emit("limits", "all", await get(f"{API}/risk/limits"))
        self._emit("alerts", "all", await get(f"{API}/risk/alerts", params={"limit": 100}))

    async def _poll_account(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            await self._load_account()
            await self._load_storage()

    async def _load_storage(self) -> None:
        """Read-only (journal not writable) and an exchange venue that is not connected show as a banner: the engine
        status says so and why."""
        status = await self.client.get(f"{API}/engine/status")
        host = status.get("host") if isinstance(status, dict) else None
        storage = host.get("storage") if isinstance(host, dict) else None
        reason = ""
        if isinstance(storage, dict) and storage.get("read_only"):
            reason = str(storage.get("reason") or "the journal cannot be written")
        venues = host.get("venues") if isinstance(host, dict) else None
        states = tuple(
            (str(name), str(v.get("connection"))) for name, v in (venues or {}).items() if isinstance(v, dict)
        )
        down = [f"{name} {state}" for name, state in states if state != "connected"]
        connection = Connection(True, read_only=reason, venues=", ".join(down), venue_states=states)
        self._emit("connection", "engine", connection)

    async def _follow(self, topic: str, kind: str) -> None:
        # Market data is keyed by symbol so that a burst coalesces to the newest message per frame; orders, fills
        # and alerts by their own id, so that none is lost.
        field = "symbol" if kind in ("book", "ticker") else "id"
        async for message in self.client.subscribe(topic):
            if message.type == "subscribed" or not isinstance(message.data, dict):
                continue
            key = str(message.data.get(field, message.seq))
            self._emit(kind, key, message.data)
        raise OperationFailed(f"the engine ended the stream {topic}")

    async def _follow_events(self) -> None:
        async for message in self.client.subscribe("engine/events"):
            if message.type == "subscribed":
                continue
            data = message.data if isinstance(message.data, dict) else {"message": message.data}
            level = str(data.get("level") or "INFO").upper()
            text = str(data.get("message") or data.get("text") or message.type)
            self._emit("log", f"engine-{message.seq}", LogLine(message.ts, level, text))
        raise OperationFailed("the engine ended the stream engine/events")

    async def _follow_tickers(self) -> None:
        refused: list[str] = []

        async def one(symbol: str) -> None:
            try:
                await self._follow(f"market-data/ticker/{symbol}", "ticker")
            except NotFoundError:
                refused.append(symbol)

        async with asyncio.TaskGroup() as group:
            for symbol in self._symbols:
                group.create_task(one(symbol))
            group.create_task(self._poll_tickers(refused))

    async def _poll_tickers(self, refused: list[str]) -> None:
        while True:
            await asyncio.sleep(self.market_poll_interval * 4)
            if refused:
                for ticker in await self.client.get(f"{API}/market-data/ticker"):
                    if ticker.get("symbol") in refused:
                        self._emit("ticker", ticker["symbol"], ticker)

    async def _follow_focus(self) -> None:
        """The selected symbol's book; restarted whenever the selection changes."""
        while True:
            symbol = self._focus
            self._focus_changed.clear()
            if symbol is None:
                await self._focus_changed.wait()
                continue
            stream = asyncio.create_task(self._follow_book(symbol))
            changed = asyncio.create_task(self._focus_changed.wait())
            try:
                done, _ = await asyncio.wait({stream, changed}, return_when=asyncio.FIRST_COMPLETED)
                if stream in done:
                    stream.result()  # the stream failed: let the session end and reconnect
                    return
            finally:
                # Also when this task is cancelled (another stream lost the engine): no orphan may outlive it.
                for task in (stream, changed):
                    task.cancel()
                for task in (stream, changed):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _follow_book(self, symbol: str) -> None:
        # a venue's listing of a symbol listed on several (engine.listings): the engine merges every listing of it
        if "@" in symbol:
            params: dict[str, str | int] = {
                "symbol": symbol,
                "depth": 20,
            }
            while True:
                merged = await self.client.get(f"{API}/market-data/consolidated", params=params)
                self._emit("book", symbol, {**merged, "symbol": symbol})
                await asyncio.sleep(self.market_poll_interval)
        path = f"{API}/market-data/orderbook"
        self._emit("book", symbol, await self.client.get(path, params={"symbol": symbol, "depth": 20}))
        try:
            await self._follow(f"market-data/orderbook/{symbol}", "book")
        except NotFoundError:
            while True:
                await asyncio.sleep(self.market_poll_interval)
                self._emit("book", symbol, await self.client.get(path, params={"symbol": symbol, "depth": 20}))

    # -- commands --------------------------------------------------------------------------------------------------

    async def load_candles(self, symbol: str, timeframe: str, limit: int = 200) -> None:
        params: dict[str, str | int] = {"symbol": symbol, "timeframe": timeframe, "limit": limit}
        try:
            rows = await self.client.get(f"{API}/market-data/ohlcv", params=params)
        except NotFoundError:  # no stored bars of this timeframe: an empty chart says so, no error needed
            rows = []
        self._emit("candles", f"{symbol}|{timeframe}", rows)

    async def _order_call(self, call: Awaitable[Any]) -> Order:
        data = await call
        self._emit("order", str(data["id"]), data)
        return Order.from_api(data)

    async def place_order(self, payload: dict[str, Any]) -> Order:
        return await self._order_call(self.client.post(f"{API}/orders", json=payload))

    async def cancel_order(self, order_id: str) -> Order:
        return await self._order_call(self.client.post(f"{API}/orders/{order_id}/cancel"))

    async def modify_order(self, order_id: str, changes: dict[str, str]) -> Order:
        return await self._order_call(self.client.put(f"{API}/orders/{order_id}", json=changes))

    async def cancel_all(self, symbol: str | None = None) -> list[str]:
        body = {"symbol": symbol} if symbol else {}
        answer = await self.client.post(f"{API}/orders/cancel-all", json=body)
        return [str(x) for x in answer.get("canceled", [])]

    async def _refresh_strategies(self) -> None:
        self._emit("strategies", "all", await self.client.get(f"{API}/strategies"))

    async def start_strategy(self, key: str) -> None:
        await self.client.post(f"{API}/strategies/{key}/start")
        await self._refresh_strategies()

    async def stop_strategy(self, key: str) -> None:
        await self.client.post(f"{API}/strategies/{key}/stop", params={"cancel_orders": True})
        await self._refresh_strategies()

    async def update_strategy(self, key: str, params: dict[str, Any]) -> None:
        await self.client.put(f"{API}/strategies/{key}", json={"params": params})
        await self._refresh_strategies()

    async def halt(self, reason: str) -> None:
        await self.client.post(f"{API}/risk/halt", json={"scope": "global", "reason": reason})
        self._emit("risk", "all", await self.client.get(f"{API}/risk/metrics"))

    async def resume(self, reason: str) -> None:
        await self.client.post(f"{API}/risk/resume", json={"scope": "global", "reason": reason})
        self._emit("risk", "all", await self.client.get(f"{API}/risk/metrics"))

    async def ack_alert(self, alert_id: int) -> None:
        data = await self.client.post(f"{API}/risk/alerts/{alert_id}/ack")
        self._emit("alert", str(alert_id), data)

    async def backtests(self) -> list[BacktestRun]:
        rows = await self.client.get(f"{API}/backtests", params={"limit": 100})
        return [BacktestRun.from_api(row) for row in rows]

    async def backtest(self, run_id: str) -> BacktestDetail:
        return BacktestDetail.from_api(await self.client.get(f"{API}/backtests/{run_id}"))


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _is_expected(exc: BaseException) -> bool:
    import httpx
    from websockets.exceptions import WebSocketException

    return isinstance(_leaf(exc), AlphintraError | OSError | httpx.HTTPError | WebSocketException)


def _first_message(exc: BaseException) -> str:
    """The message of the first leaf error (the TaskGroup wraps the stream that failed first)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, AlphintraError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


__all__ = ["API", "DataSource", "EngineDataSource", "Sink"]
