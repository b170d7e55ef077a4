"""Everything the screens show, folded from the data source's updates once per frame.

The app owns one ``TuiState``; panels read it and never talk to the daemon themselves. ``apply`` returns the kinds
that changed so that a screen redraws only the panels that show them. A malformed message becomes a line in the
engine log, never an exception in the UI.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from alphintra.errors import AlphintraError
from alphintra.tui.buffer import Update
from alphintra.tui.models import (
    Alert,
    Balance,
    Book,
    Candle,
    Connection,
    Fill,
    Instrument,
    LogLine,
    Order,
    Portfolio,
    Position,
    Risk,
    Strategy,
    Ticker,
)

MAX_FILLS = 500
MAX_LOG = 1000
MAX_CLOSED_ORDERS = 200
T = TypeVar("T")


def _parse_list(items: Any, parse: Callable[[Mapping[str, Any]], T]) -> list[T]:
    if not isinstance(items, list):
        raise TypeError(f"expected a list, got {type(items).__name__}")
    return [parse(item) for item in items]


class TuiState:
    def __init__(self) -> None:
        self.instruments: dict[str, Instrument] = {}
        self.tickers: dict[str, Ticker] = {}
        self.books: dict[str, Book] = {}
        self.orders: dict[str, Order] = {}
        self.fills: deque[Fill] = deque(maxlen=MAX_FILLS)
        self._fill_ids: set[str] = set()
        self.positions: list[Position] = []
        self.balances: dict[str, Balance] = {}
        self.portfolio: Portfolio | None = None
        self.strategies: list[Strategy] = []
        self.risk: Risk | None = None
        self.limits: dict[str, Any] = {}
        self.alerts: dict[int, Alert] = {}
        self.candles: dict[tuple[str, str], list[Candle]] = {}
        self.log: deque[LogLine] = deque(maxlen=MAX_LOG)
        self.connection = Connection(False)
        self.log_total = 0  # lines ever logged, so a panel knows how many it has not shown yet
        self.last_ts = 0

    # -- reading ---------------------------------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return sorted(set(self.instruments) | set(self.tickers))

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        rows = [o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]
        return sorted(rows, key=lambda o: (o.created_at, o.id), reverse=True)

    def fills_for(self, symbol: str) -> list[Fill]:
        return [f for f in self.fills if f.symbol == symbol]

    def strategy_pnl(self, name: str) -> Decimal:
        """Realised plus marked PnL of a strategy's own fills (cash flows plus the marked leftover position)."""
        cash = Decimal(0)
        held: dict[str, Decimal] = {}
        for fill in self.fills:
            if fill.strategy != name:
                continue
            signed = fill.quantity if fill.side == "BUY" else -fill.quantity
            cash -= signed * fill.price + fill.fee
            held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + signed
        for symbol, qty in held.items():
            ticker = self.tickers.get(symbol)
            if qty and ticker is not None and ticker.last is not None:
                cash += qty * ticker.last
        return cash

    def add_log(self, level: str, text: str, ts: int | None = None) -> None:
        self._append_log(LogLine(self.last_ts if ts is None else ts, level, text))

    def _append_log(self, line: LogLine) -> None:
        self.log.append(line)
        self.log_total += 1

    # -- folding ---------------------------------------------------------------------------------------------------

    def apply(self, updates: Iterable[Update]) -> set[str]:
        changed: set[str] = set()
        logged = self.log_total
        for update in updates:
            try:
                kind = self._apply_one(update)
            except (AlphintraError, TypeError, ValueError, KeyError, AttributeError) as exc:
                self.add_log("ERROR", f"ignored a malformed {update.kind} update: {exc}")
                changed.add("log")
                continue
            if kind:
                changed.add(kind)
        if self.log_total != logged:
            changed.add("log")
        return changed

    def _apply_one(self, update: Update) -> str | None:
        kind, data = update.kind, update.data
        if kind == "symbols":
            self.instruments = {i.symbol: i for i in _parse_list(data, Instrument.from_api)}
            return "symbols"
        if kind == "ticker":
            ticker = Ticker.from_api(data)
            self.tickers[ticker.symbol] = ticker
            self.last_ts = max(self.last_ts, ticker.ts)
            return "ticker"
        if kind == "tickers":
            for ticker in _parse_list(data, Ticker.from_api):
                self.tickers[ticker.symbol] = ticker
                self.last_ts = max(self.last_ts, ticker.ts)
            return "ticker"
        if kind == "book":
            book = Book.from_api(data)
            self.books[book.symbol] = book
            return "book"
        if kind == "order":
            order = Order.from_api(data)
            self.orders[order.id] = order
            self._trim_orders()
            return "orders"
        if kind == "orders":
            fresh = {o.id: o for o in _parse_list(data, Order.from_api)}
            # A snapshot after a reconnect: orders that were open and are missing from it are no longer open.
            for oid, order in list(self.orders.items()):
                if order.is_open and oid not in fresh:
                    del self.orders[oid]
            self.orders.update(fresh)
            self._trim_orders()
            return "orders"
        if kind == "fill":
            self._add_fill(Fill.from_api(data))
            return "fills"
        if kind == "fills":
            for fill in sorted(_parse_list(data, Fill.from_api), key=lambda f: (f.timestamp, f.id)):
                self._add_fill(fill)
            return "fills"
        if kind == "positions":
            self.positions = [p for p in _parse_list(data, Position.from_api) if p.quantity != 0]
            return "positions"
        if kind == "balances":
            self.balances = {b.asset: b for b in _parse_list(data, Balance.from_api)}
            return "balances"
        if kind == "portfolio":
            self.portfolio = Portfolio.from_api(data)
            return "portfolio"
        if kind == "strategies":
            self.strategies = _parse_list(data, Strategy.from_api)
            return "strategies"
        if kind == "risk":
            self.risk = Risk.from_api(data)
            return "risk"
        if kind == "limits":
            self.limits = dict(data)
            return "risk"
        if kind == "alerts":
            self.alerts = {a.id: a for a in _parse_list(data, Alert.from_api)}
            return "alerts"
        if kind == "alert":
            alert = Alert.from_api(data)
            self.alerts[alert.id] = alert
            return "alerts"
        if kind == "candles":
            symbol, _, timeframe = update.key.partition("|")
            self.candles[(symbol, timeframe)] = _parse_list(data, Candle.from_api)
            return "candles"
        if kind == "log":
            line = (
                data if isinstance(data, LogLine) else LogLine(int(data["ts"]), str(data["level"]), str(data["text"]))
            )
            self._append_log(line)
            self.last_ts = max(self.last_ts, line.ts)
            return "log"
        if kind == "connection":
            if not isinstance(data, Connection):
                raise TypeError("connection update must carry a Connection")
            if data.connected != self.connection.connected:
                self.add_log("INFO" if data.connected else "WARNING", _connection_text(data))
            elif data.read_only != self.connection.read_only:
                if data.read_only:
                    self.add_log("ERROR", f"engine read-only: {data.read_only}")
                else:
                    self.add_log("INFO", "engine writable again")
            if data.connected and data.venues != self.connection.venues:
                self.add_log(
                    "WARNING" if data.venues else "INFO", f"venue {data.venues}" if data.venues else "venues connected"
                )
            self.connection = data
            return "connection"
        raise KeyError(f"unknown update kind {kind!r}")

    def _add_fill(self, fill: Fill) -> None:
        if fill.id in self._fill_ids:
            return
        if len(self.fills) == self.fills.maxlen:
            self._fill_ids.discard(self.fills[0].id)
        self.fills.append(fill)
        self._fill_ids.add(fill.id)

    def _trim_orders(self) -> None:
        closed = [o for o in self.orders.values() if not o.is_open]
        if len(closed) > MAX_CLOSED_ORDERS:
            for order in sorted(closed, key=lambda o: o.updated_at)[: len(closed) - MAX_CLOSED_ORDERS]:
                del self.orders[order.id]


def _connection_text(conn: Connection) -> str:
    if conn.connected:
        return "connected to the engine"
    return f"engine connection lost: {conn.detail}" if conn.detail else "engine connection lost"


__all__ = ["MAX_FILLS", "MAX_LOG", "TuiState"]
