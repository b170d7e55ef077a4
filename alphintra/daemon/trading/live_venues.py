"""The daemon's exchange venues: every ``[venues.NAME]`` of kind ``ccxt`` an account lives on, traded live.

:func:`connect` builds one :class:`~alphintra.venues.ccxt_venue.CcxtVenue` per such venue (in a worker process of
its own, :class:`~alphintra.venues.ccxt_venue_process.VenueProcess`) with the key pair from
the encrypted credentials file (unlocked by the OS keyring or ``ALPHINTRA_PASSPHRASE``; the secret is handed to
the ccxt client and nowhere else), connects it (markets, clock offset, credentials check) and starts its public
market data (:class:`~alphintra.venues.ccxt_feeds.MarketFeeds`: ticker, trades and the order book; in a process of
its own, :class:`~alphintra.venues.ccxt_feeds_process.FeedsProcess`). Every report
and every market update is run on the engine thread through ``post`` (the host's :meth:`TradingHost.post`).

The node trades an exchange's symbols as it trades the simulator's: orders it cannot hand to the exchange (stops,
trailing stops, icebergs, OCO, brackets, GTD, TWAP/VWAP) are emulated above it, driven by the prices that
:class:`LiveMarket` shows it (each trade, each ticker's last price). The instruments are the exchange's markets
(tick, lot and minimum notional from its filters): the configured ``[[instruments]]`` on the venue, else every
market it lists.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.data import Bar, TradeTick

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.daemon.trading.recorder import BarRecorder
    from alphintra.engine.node import TradingNode
    from alphintra.venues.ccxt_feeds import BookSnapshot, Ticker
    from alphintra.venues.ccxt_feeds_process import FeedsProcess
    from alphintra.venues.ccxt_venue_process import VenueProcess

log = logging.getLogger("alphintra.daemon.live")
NS_PER_MINUTE = 60_000_000_000  # a one-trade bar spans the minute before it, as a paper tick's does
BARS_KEPT = 500  # per symbol, as the paper feed keeps: what a scheduled evaluation merges since the previous one
Post = Callable[[Callable[[], None]], object]


def exchange_venues(settings: Settings) -> dict[str, str]:
    """Each ccxt venue an account lives on -> the first account configured on it (the one its key trades for)."""
    out: dict[str, str] = {}
    for name, account in settings.accounts.items():
        venue = settings.venues.get(account.venue)
        if venue is not None and venue.kind == "ccxt":
            out.setdefault(account.venue, name)
    return out


@dataclass
class Exchange:
    """One connected exchange venue and its public market data. ``port`` is what the node binds: the venue itself,
    or (a symbol it lists is listed on another venue too) the venue under the node's keys (``ListedVenue``)."""

    venue: VenueProcess
    feeds: FeedsProcess | None = None
    recorder: BarRecorder | None = None  # ``record = true``: its trades as 1m bars into the market store
    port: Any = None

    @property
    def node_venue(self) -> Any:
        return self.venue if self.port is None else self.port

    def close(self) -> None:
        if self.feeds is not None:
            self.feeds.close()
        if self.recorder is not None:
            self.recorder.close()  # after the feeds: no trade arrives once the last closed bars are written
        self.venue.close()


def connect(settings: Settings, post: Post) -> dict[str, Exchange]:
    """Connect every exchange venue an account lives on (see the module); raises a clear error naming the venue
    and what is wrong (unknown credentials, unreachable URL, a symbol it does not list), with nothing left open."""
    wanted = exchange_venues(settings)
    if not wanted:
        return {}
    from alphintra.venues.ccxt_venue_process import VenueProcess
    from alphintra.venues.credentials import CredentialStore
    from alphintra.venues.registry import check_exchange, from_settings
    from alphintra.workerproc import context

    # The venues' workers, their market data's and the state projection's all fork from one server: it imports
    # them all once, before the first.
    context(
        "alphintra.venues.ccxt_venue_process",
        "alphintra.venues.ccxt_venue",
        "alphintra.venues.ccxt_feeds_process",
        "alphintra.daemon.trading.projector_process",
    )

    store = CredentialStore(settings.paths.root)
    out: dict[str, Exchange] = {}
    try:
        for name, account in wanted.items():
            definition = from_settings(name, settings.venues[name])
            check_exchange(definition.exchange)
            creds = store.get(definition.credentials_name)
            symbols = [i.symbol for i in settings.instruments if settings.instrument_venue(i) == name]
            venue = VenueProcess(
                name,
                definition.ccxt_config(creds.api_key, creds.api_secret),
                post=post,
                exchange=definition.exchange,
                account=account,
                symbols=symbols or None,
            )
            venue.start()
            out[name] = Exchange(venue)
            log.info("venue %s connected (%d markets)", name, len(venue.instruments()))
    except BaseException:
        for exchange in out.values():
            exchange.close()
        raise
    return out


def start_feeds(settings: Settings, exchanges: dict[str, Exchange], markets: dict[str, LiveMarket], post: Post) -> None:
    """Public ticker, trades and book of each exchange's symbols, delivered to its :class:`LiveMarket` (and to
    its recorder when the venue records)."""
    from alphintra.daemon.trading.recorder import BarRecorder
    from alphintra.venues.ccxt_feeds_process import FeedsProcess
    from alphintra.venues.registry import from_settings

    for name, exchange in exchanges.items():
        definition = from_settings(name, settings.venues[name])
        market = markets[name]
        if definition.record:
            recorder = exchange.recorder = BarRecorder(name, settings.paths.market)
            market.on_recorded_trades = recorder.on_trades
            recorder.start()
        feeds = exchange.feeds = FeedsProcess(definition.ccxt_config(), post=post, exchange=definition.exchange)
        feeds.start()
        for inst in exchange.venue.instruments():  # the exchange's own symbols: the market renames them
            feeds.subscribe("ticker", inst.symbol, market.on_ticker)
            feeds.subscribe("trades", inst.symbol, market.on_trades)
            feeds.subscribe("book", inst.symbol, market.on_book)


@dataclass
class LiveMarket:
    """The market driver of an exchange venue's symbols (engine thread): the exchange trades by itself; the node
    only needs to see its prices (for emulated orders, marks and risk) and the book (for the ladder and views)."""

    node: TradingNode
    venue: Any
    keys: dict[str, str] = field(default_factory=dict)  # the exchange's symbol -> the node's key, when they differ
    books: dict[str, BookSnapshot] = field(default_factory=dict)
    quotes: dict[str, Ticker] = field(default_factory=dict)
    # the host's bar handler (node, strategies, risk watch, market streams): each trade becomes a one-trade bar, as
    # each paper tick does, so a strategy sees the same bars in paper and live on the same price path
    on_bar: Callable[[Bar], None] | None = None
    bars: dict[str, deque[Bar]] = field(default_factory=dict)
    # the host's book publisher: each new book of the feed reaches the book stream (the TUI's ladder), not only the
    # book a trade leaves behind
    on_book_change: Callable[[str], None] | None = None
    on_recorded_trades: Callable[[list[TradeTick]], None] | None = None  # the venue's recorder, when it records

    # -- what the feeds deliver --------------------------------------------------------------------------------

    def on_ticker(self, ticker: Ticker) -> None:
        if ticker.symbol in self.keys:
            ticker = dataclasses.replace(ticker, symbol=self.keys[ticker.symbol])
        self.quotes[ticker.symbol] = ticker
        if self.node.last_prices.get(ticker.symbol) != ticker.last:  # a trade the trades stream did not show
            self.traded(TradeTick(ticker.symbol, ticker.ts, ticker.last, Decimal(0)))

    def on_trades(self, ticks: list[TradeTick]) -> None:
        if self.on_recorded_trades is not None:
            self.on_recorded_trades(ticks)
        for tick in ticks:
            self.traded(dataclasses.replace(tick, symbol=self.keys[tick.symbol]) if tick.symbol in self.keys else tick)

    def traded(self, tick: TradeTick) -> None:
        """One public trade: a bar from the last price to it, through the host (or straight to the node)."""
        prev = self.node.last_prices.get(tick.symbol)
        if self.on_bar is None or prev is None:
            self.process_trade(tick)
            return
        if prev == tick.price:
            return  # the same price again: nothing moves (a strategy's bars, like paper's, are price changes)
        bar = Bar(
            tick.symbol, tick.ts - NS_PER_MINUTE, prev, max(prev, tick.price), min(prev, tick.price), tick.price,
            tick.quantity, tick.ts,
        )  # fmt: skip
        self.bars.setdefault(tick.symbol, deque(maxlen=BARS_KEPT)).append(bar)
        self.on_bar(bar)

    def recent_bars(self, symbol: str) -> list[Bar]:
        return list(self.bars.get(symbol, ()))

    def on_book(self, book: BookSnapshot) -> None:
        key = self.keys.get(book.symbol, book.symbol)
        self.books[key] = book
        if self.on_book_change is not None:
            self.on_book_change(key)

    # -- the node's market driver --------------------------------------------------------------------------------

    def has_work(self, symbol: str) -> bool:
        return False

    def process_trade(self, tick: TradeTick) -> None:
        node = self.node
        node.advance_clock(tick.ts)
        node.trade_tick(tick)

    def process_bar(self, bar: Bar) -> None:
        for point in bar.path()[1:]:
            self.node.trade_tick(TradeTick(bar.symbol, bar.close_ts or bar.ts, point, Decimal(0)))
        self.node.close_bar(bar)

    def fresh_venue(self) -> Any:
        return self.venue  # an exchange keeps its own book: nothing to rebuild

    def post_liquidity(self, symbol: str, mid: Decimal) -> None:
        """An exchange's book is its own: nothing is posted."""

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        book = self.books.get(symbol)
        if book is not None:
            return (book.bids[0][0] if book.bids else None, book.asks[0][0] if book.asks else None)
        quote = self.quotes.get(symbol)
        return (None, None) if quote is None else (quote.bid, quote.ask)

    def depth(self, symbol: str, n: int = 10) -> dict[str, list[tuple[Decimal, Decimal, int]]]:
        book = self.books.get(symbol)
        if book is None:
            bid, ask = self.top_of_book(symbol)
            return {
                "bids": [] if bid is None else [(bid, Decimal(0), 1)],
                "asks": [] if ask is None else [(ask, Decimal(0), 1)],
            }
        return {
            "bids": [(p, q, 1) for p, q in book.bids[:n]],
            "asks": [(p, q, 1) for p, q in book.asks[:n]],
        }


def opening_cash(exchange: Exchange, account: str) -> dict[str, Decimal]:
    """What the exchange holds for ``account``: a first start opens the account with it (and a reconciliation
    books any later difference)."""
    for entry in exchange.venue.balances():
        if entry.account == account:
            return {asset: total for asset, total in entry.totals.items() if total}
    return {}


def connection_state(exchange: Exchange) -> dict[str, Any]:
    venue = exchange.venue
    return {
        "connection": venue.connection,
        "stream_reconnects": venue.stream_reconnects,
        "polls": venue.polls,
    }


__all__ = [
    "Exchange",
    "LiveMarket",
    "connect",
    "connection_state",
    "exchange_venues",
    "opening_cash",
    "start_feeds",
]
