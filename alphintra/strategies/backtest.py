"""The backtester: a strategy on the real trading node with a simulated clock, fed by stored bars.

Nothing here fills orders or keeps balances: the node, its emulator, the simulated venue and the ledger do,
exactly as in paper and live trading. The backtester only replays bars in time order, asks the node to trade
each bar (``process_bar``), then shows the closed bar to the strategy, and records equity (cash plus positions at
the close) after every bar. A run is deterministic: same data, parameters and seed, same result.

Quiet bars: when the strategy gives a wake mask (see ``Strategy.wake``) and no order of it can trade, no timer
falls due and no risk engine watches bars, the bars up to the next marked one can change nothing but time, the
last price and equity; the backtester moves those over the whole stretch at once instead of bar by bar.
"""

from __future__ import annotations

import gc
import random
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.data import Bar
from alphintra.engine.node import MARGIN_CALL, TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.liquidity import LiquidityModel
from alphintra.engine.venue.sim_driver import SimDriver
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.errors import NotFoundError, ValidationError
from alphintra.strategies import registry
from alphintra.strategies.base import BarData, Strategy, StrategyError
from alphintra.strategies.context import NodeContext, StrategyRunner
from alphintra.strategies.metrics import EquityCurve
from alphintra.strategies.notes import signal_notes
from alphintra.strategies.result import BacktestResult, ClosedTrade, Fill, Halt, PriceSeries, TradeSide
from alphintra.strategies.runs import new_run_id

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from alphintra.storage.market import MarketData

ACCOUNT = "backtest"


@dataclass(frozen=True)
class BacktestConfig:
    strategy: str
    symbols: tuple[str, ...]
    timeframe: str
    params: Mapping[str, Any] = field(default_factory=dict)
    start: str | datetime | int | None = None
    end: str | datetime | int | None = None
    exchange: str | None = None
    cash: Decimal = Decimal(10_000)
    fee: Decimal | None = None  # per side, as a fraction; None keeps the instruments' own fees
    slippage_bps: Decimal = Decimal(0)
    slippage_ticks: int = 0
    max_participation: Decimal | None = None
    fill_mode: Literal["bar", "book"] = "bar"
    account_mode: Literal["margin", "spot"] = "margin"
    leverage: Decimal = Decimal(1)
    seed: int = 42
    # Bars on which nothing can trade and the strategy's wake mask says it would not act are not shown to it
    # (time, prices and equity still move). False shows every bar and checks the mask instead.
    skip_quiet_bars: bool = True
    calendar: Literal["24x7", "equity"] | None = None
    run_id: str | None = None
    instruments: Sequence[Instrument] = ()

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValidationError("symbols", "at least one symbol is needed")
        if self.cash <= 0:
            raise ValidationError("cash", "must be > 0", str(self.cash))
        if self.fee is not None and not 0 <= self.fee < 1:
            raise ValidationError("fee", "must be a fraction in [0, 1) (0.002 = 0.2 %)", str(self.fee))
        if self.slippage_bps < 0:
            raise ValidationError("slippage", "must be >= 0 bps", str(self.slippage_bps))


def infer_instrument(symbol: str, prices: Sequence[float], fee: Decimal | None) -> Instrument:
    """An instrument for stored data without configured rules: the tick is the finest price step in the data
    (up to 8 decimals), the lot is one share for equities and 0.0001 for pairs (``BASE/QUOTE``)."""
    import numpy as np

    arr = np.asarray(prices, dtype=float)
    decimals = 8
    for d in range(9):
        scaled = arr * 10**d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3 + 1e-7):
            decimals = d
            break
    rate = fee if fee is not None else Decimal("0.001")
    return Instrument.create(
        symbol,
        tick_size=Decimal(1).scaleb(-decimals),
        lot_size="0.0001" if "/" in symbol else "1",
        maker_fee=rate,
        taker_fee=rate,
    )


@dataclass
class _Feed:
    """Bars of all symbols merged in time order, as numpy columns; Python lists of a column on demand (a run
    that shows the strategy every bar reads every column per bar, one that skips quiet bars only a few)."""

    symbols: list[str]
    columns: dict[str, np.ndarray]  # ts, close_ts, sym, row (a bar's position among its symbol's bars), prices
    frames: dict[str, pl.DataFrame]  # each symbol's bars in time order, as the feed holds them
    _lists: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns["ts"])

    def list(self, name: str) -> list[Any]:
        got = self._lists.get(name)
        if got is None:
            got = self._lists[name] = self.columns[name].tolist()
        return got


def load_frames(market: MarketData, config: BacktestConfig) -> dict[str, pl.DataFrame]:
    frames = {}
    for symbol in config.symbols:
        df = market.bars(symbol, config.timeframe, exchange=config.exchange, start=config.start, end=config.end)
        if df.height == 0:
            raise NotFoundError(f"no {config.timeframe} bars for {symbol} in the requested range")
        frames[symbol] = df
    return frames


def _build_feed(frames: Mapping[str, pl.DataFrame], timeframe: str) -> _Feed:
    import polars as pl

    from alphintra.storage.market import parse_timeframe

    tf = parse_timeframe(timeframe)
    parts = []
    for i, df in enumerate(frames.values()):
        part = df.select(
            pl.col("time").dt.epoch("ns").alias("ts"),
            pl.lit(i, dtype=pl.Int32).alias("sym"),
            "open",
            "high",
            "low",
            "close",
            pl.col("volume").fill_null(0.0),
        ).sort("ts", maintain_order=True)
        if tf.is_calendar:
            nxt = part["ts"].shift(-1)
            last = int(part["ts"][-1])
            part = part.with_columns(close_ts=nxt.fill_null(last + tf.approx_nanos))
        else:
            part = part.with_columns(close_ts=pl.col("ts") + tf.nanos)
        parts.append(part.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("row")))
    merged = pl.concat(parts) if len(parts) == 1 else pl.concat(parts).sort(["close_ts", "sym"], maintain_order=True)
    names = ("ts", "close_ts", "sym", "row", "open", "high", "low", "close", "volume")
    return _Feed(
        symbols=list(frames),
        columns={name: merged[name].to_numpy() for name in names},
        frames=dict(zip(frames, parts, strict=True)),
    )


class _RoundTrips:
    """Turns fills into closed round trips (average-cost, like the ledger), with each leg's share of the fees."""

    def __init__(self) -> None:
        self.trades: list[ClosedTrade] = []
        self._open: dict[str, list[Any]] = {}  # symbol -> [signed qty, avg price, entry ts, entry fees]

    def add(self, f: Fill) -> None:
        signed = f.qty if f.side is OrderSide.BUY else -f.qty
        state = self._open.get(f.symbol)
        if state is None or state[0] == 0:
            self._open[f.symbol] = [signed, f.price, f.ts, f.fee]
            return
        qty, avg, entry_ts, fees = state
        if (qty > 0) == (signed > 0):
            total = qty + signed
            self._open[f.symbol] = [
                total,
                (avg * abs(qty) + f.price * abs(signed)) / abs(total),
                entry_ts,
                fees + f.fee,
            ]
            return
        closed = min(abs(qty), abs(signed))
        entry_fee = fees * closed / abs(qty)
        exit_fee = f.fee * closed / abs(signed)
        side = TradeSide.LONG if qty > 0 else TradeSide.SHORT
        gross = (f.price - avg) * closed if side is TradeSide.LONG else (avg - f.price) * closed
        self.trades.append(
            ClosedTrade(
                symbol=f.symbol,
                side=side,
                qty=closed,
                entry_ts=entry_ts,
                exit_ts=f.ts,
                entry_price=avg,
                exit_price=f.price,
                pnl=gross - entry_fee - exit_fee,
                fees=entry_fee + exit_fee,
                trade_id=f.trade_id,
            )
        )
        left = abs(qty) - closed
        if left > 0:
            self._open[f.symbol] = [qty - (closed if qty > 0 else -closed), avg, entry_ts, fees - entry_fee]
        else:
            rest = abs(signed) - closed
            self._open[f.symbol] = (
                [signed + (closed if signed < 0 else -closed), f.price, f.ts, f.fee - exit_fee]
                if rest > 0
                else [Decimal(0), Decimal(0), 0, Decimal(0)]
            )


class Backtest:
    """One run. ``run()`` returns a :class:`BacktestResult`; the node stays inspectable afterwards."""

    def __init__(
        self,
        config: BacktestConfig,
        frames: Mapping[str, pl.DataFrame],
        *,
        strategy: Strategy | None = None,
        risk: Any | None = None,
        clock: Any | None = None,
        pace: Callable[[int], None] | None = None,
        replay: bool = False,
    ) -> None:
        self.config = config
        self.pace = pace
        # A paper replay: every bar is shown and indicators are fed bar by bar, as in a live session.
        self.replay = replay
        self.frames = dict(frames)
        cls = registry.get(config.strategy) if strategy is None else type(strategy)
        self.strategy = strategy or cls(config.params)
        if cls.symbols_required is not None and len(config.symbols) != cls.symbols_required:
            raise ValidationError(
                "symbol",
                f"strategy {cls.name} trades {cls.symbols_required} symbol(s); got {len(config.symbols)}",
                ",".join(config.symbols),
            )
        given = {i.symbol: i for i in config.instruments}
        instruments = []
        for symbol in config.symbols:
            inst = given.get(symbol) or infer_instrument(symbol, self.frames[symbol]["close"].to_list(), config.fee)
            if config.fee is not None and symbol in given:
                inst = Instrument.create(
                    symbol,
                    tick_size=inst.tick_size,
                    lot_size=inst.lot_size,
                    min_qty=inst.min_qty,
                    min_notional=inst.min_notional,
                    maker_fee=config.fee,
                    taker_fee=config.fee,
                    base=inst.base,
                    quote=inst.quote,
                    tags=dict(inst.tags),
                )
            instruments.append(inst)
        self.instruments = InstrumentRegistry(instruments)
        self.currency = instruments[0].quote
        # A backtest's clock is driven by the data; a paper session passes the wall clock and a pacer.
        self.clock = clock if clock is not None else TestClock(0)
        self._simulated = isinstance(self.clock, TestClock)
        model = FillModel(
            mode=config.fill_mode,
            slippage_bps=config.slippage_bps,
            slippage_ticks=config.slippage_ticks,
            max_participation=config.max_participation,
        )
        self.venue = SimulatedVenue(self.instruments, model, now=self.clock.now_ns)
        self.node = TradingNode(
            instruments=self.instruments,
            venue=self.venue,
            clock=self.clock,
            risk=risk,
            default_account=ACCOUNT,
        )
        # The backtest drives the simulated venue (bars, liquidity, latency); the node only sees the port.
        self.driver = SimDriver(self.node, self.venue, LiquidityModel() if config.fill_mode == "book" else None)
        self.node.open_account(
            ACCOUNT,
            cash={self.currency: config.cash},
            mode=config.account_mode.upper(),
            currency=self.currency,
            leverage=config.leverage if config.account_mode == "margin" else 1,
        )
        self.ctx = NodeContext(self.node, self.strategy, symbols=list(config.symbols), account=ACCOUNT)
        self.runner = StrategyRunner(self.strategy, self.ctx)
        self.fills: list[Fill] = []
        self.halts: list[Halt] = []
        self._round_trips = _RoundTrips()
        # Cash and positions change only on fills: keep them here instead of asking the ledger every bar.
        self._cash = config.cash
        self._held: dict[str, Decimal] = {}
        self._events = 0  # order events seen, to check a strategy's wake mask
        self.node.listeners.append(self._on_event)

    def _on_event(self, order: Order, event: OrderEvent) -> None:
        self._events += 1
        if isinstance(event, OrderFilled):
            fill = Fill(
                ts=event.ts,
                order_id=order.id,
                symbol=event.symbol,
                side=event.side,
                qty=event.last_qty,
                price=event.last_px,
                fee=event.fee,
                liquidity=event.liquidity_side,
                trade_id=event.trade_id,
            )
            self.fills.append(fill)
            self._round_trips.add(fill)
            ledger = self.node.ledger
            self._cash = ledger.balance(ACCOUNT, self.currency).total
            qty = ledger.quantity(ACCOUNT, event.symbol)
            if qty == 0:
                self._held.pop(event.symbol, None)
            else:
                self._held[event.symbol] = qty

    @staticmethod
    def _ticks(feed: _Feed, insts: list[Instrument]) -> list[np.ndarray]:
        """Prices as integer ticks of each bar's instrument, computed column-wise (stored bars are floats)."""
        import numpy as np

        scale = np.array([float(1 / inst.tick_size) for inst in insts])[feed.columns["sym"].astype(np.int64)]
        return [
            np.rint(feed.columns[col].astype(float) * scale).astype(np.int64)
            for col in ("open", "high", "low", "close")
        ]

    def _wake_mask(self, feed: _Feed) -> np.ndarray | None:
        """The strategy's wake masks of all symbols, in feed order; None if any symbol has none."""
        import numpy as np

        strategy = self.strategy
        masks = []
        for symbol in feed.symbols:
            try:
                mask = strategy.wake(symbol, feed.frames[symbol].select("ts", "open", "high", "low", "close", "volume"))
            except Exception as exc:
                raise StrategyError(f"strategy {self.ctx.name} failed in wake: {type(exc).__name__}: {exc}") from exc
            if mask is None:
                return None
            arr = np.asarray(mask, dtype=bool)
            rows = feed.frames[symbol].height
            if arr.shape != (rows,):
                raise StrategyError(
                    f"strategy {self.ctx.name}: wake({symbol!r}) must give one flag per bar ({rows}), got {arr.shape}"
                )
            masks.append(arr)
        sym = feed.columns["sym"].astype(np.int64)
        row = feed.columns["row"]
        merged = np.zeros(len(sym), dtype=bool)
        for k, arr in enumerate(masks):
            at = sym == k
            merged[at] = arr[row[at]]
        return merged

    def run(self, progress: Callable[[int], None] | None = None) -> BacktestResult:
        # A run builds a few small immutable objects per bar (prices, equity and drawdown points: millions over a
        # long minute series) and no reference cycles worth collecting; the cyclic collector would walk the
        # growing series again and again (a fifth of the run time in the bench). It is back on when the run ends.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run(progress)
        finally:
            if enabled:
                gc.enable()

    def _run(self, progress: Callable[[int], None] | None) -> BacktestResult:
        import numpy as np

        started = time.time_ns()
        random.seed(self.config.seed)
        feed = _build_feed(self.frames, self.config.timeframe)
        n = len(feed)
        insts = [self.instruments.get(s) for s in feed.symbols]
        node = self.node
        runner = self.runner
        # Equity as two columns (one point per instant); the result's (ts, value) pairs are made once at the end.
        eq_ts: list[int] = []
        eq_val: list[Decimal] = []
        prices: dict[str, list[tuple[int, Decimal]]] = {s: [] for s in feed.symbols}
        exposed = 0
        last_exposed = False
        step = max(1, n // 100)
        ticks = self._ticks(feed, insts)
        simulated = self._simulated
        ts_of, end_of = feed.list("ts"), feed.list("close_ts")
        if simulated:
            self.clock.advance_to(ts_of[0])
        pace = self.pace
        runner.start()
        last_close: dict[str, Decimal] = {}
        driver = self.driver
        emulator = node.emulator
        clock = self.clock
        risk_on_bar = node.risk.on_bar if node.risk is not None else None
        # In book mode every bar re-posts the liquidity ladder the next order will meet: no fast path.
        book_mode = self.config.fill_mode == "book"
        held = self._held
        lines = self.ctx.lines
        # A backtest knows every bar: indicator lines are computed once, vectorised (paper feeds them bar by bar).
        if simulated and not self.replay and lines.by_symbol and runner.running:
            lines.precompute(feed.frames)
        seek = lines.seek if lines.precomputed else None
        wake = self._wake_mask(feed) if simulated and not self.replay and runner.running else None
        # Skipping needs every bar's consequences to be known without showing it: no risk engine watching bars,
        # no liquidity ladder to re-post, and a strategy that says where it may act.
        skip = wake is not None and self.config.skip_quiet_bars and risk_on_bar is None and not book_mode
        verify = wake is not None and not skip
        wake_at: list[int] = np.flatnonzero(wake).tolist() if skip and wake is not None else []
        woken: list[bool] = wake.tolist() if verify and wake is not None else []
        symbols = feed.symbols
        one_symbol = len(symbols) == 1
        close_ticks = ticks[3].tolist()
        # A run that shows every bar reads every column as Python values; a skipping one reads a few bars only.
        columns: Callable[[str], Any] = (lambda name: feed.columns[name]) if skip else feed.list
        opens, highs, lows, closes_f, volumes = (columns(c) for c in ("open", "high", "low", "close", "volume"))
        open_ticks, high_ticks, low_ticks = ticks[0], ticks[1], ticks[2]
        if not skip:
            open_ticks, high_ticks, low_ticks = open_ticks.tolist(), high_ticks.tolist(), low_ticks.tolist()
        sym_of: list[int] = [0] * n if one_symbol else feed.list("sym")
        row_of: list[int] = feed.list("row")
        # Minute bars repeat the same prices endlessly: build each Decimal once per instrument and tick.
        price_cache: list[dict[int, Decimal]] = [{} for _ in insts]
        increasing = one_symbol and bool(np.all(np.diff(feed.columns["close_ts"]) > 0))

        dec_close: list[Decimal] = []
        if increasing:
            # One symbol: every bar's close as a Decimal, each distinct tick built once (numpy finds them).
            distinct, index = np.unique(ticks[3], return_inverse=True)
            distinct_ticks = distinct.tolist()
            decimals = [insts[0].ticks_to_price(t) for t in distinct_ticks]
            price_cache[0].update(zip(distinct_ticks, decimals, strict=True))
            dec_close = list(map(decimals.__getitem__, index.tolist()))

        def tick_price(k: int, t: int) -> Decimal:
            cache = price_cache[k]
            price = cache.get(t)
            if price is None:
                price = cache[t] = insts[k].ticks_to_price(t)
            return price

        has_work, has_armed = driver.has_work, emulator.has_armed

        def engine_busy() -> bool:
            if one_symbol:
                return has_work(symbols[0]) or has_armed(symbols[0])
            return any(has_work(s) or has_armed(s) for s in symbols)

        # Margin calls: the node closes an account's positions when its equity falls below the maintenance margin.
        # It checks on the bars it trades; on the bars a backtest moves past without it (the fast paths) the
        # backtester asks the ledger (Ledger.maintenance_shortfall at those closes) and lets the node call.
        margin = self.config.account_mode == "margin"
        ledger = node.ledger
        shortfall = ledger.maintenance_shortfall
        close_ticks_np = ticks[3]
        tick_size_f = float(insts[0].tick_size)

        # One symbol: the ledger's call price only changes with a fill (cash and position); ask it once per fill.
        bound_of: list[Any] = [-1, None, 0.0]  # [fills when asked, (price, below) or None, float(price)]

        def bound() -> tuple[Decimal, bool] | None:
            if bound_of[0] != len(self.fills):
                got = ledger.maintenance_bound(ACCOUNT, symbols[0])
                bound_of[:] = [len(self.fills), got, 0.0 if got is None else float(got[0])]
            return bound_of[1]  # type: ignore[no-any-return]

        def first_breach(i: int, j: int) -> int:
            """The first bar of ``[i, j)`` (a quiet stretch: positions fixed) whose close breaches, else ``j``."""
            if not margin or not held or j <= i:
                return j
            got = bound() if one_symbol else None
            if got is not None:
                # The ledger gives the price past which the call falls due; numpy finds the bars near or past it
                # (a small slack for float and the bound's rounding), the exact check decides.
                price, below = got
                if below and price <= 0:
                    return j  # a long paid in full can lose at most its own value
                # Most stretches stay clear of it: their extreme close says so without numpy.
                if below and min(close_ticks[i:j]) * tick_size_f > bound_of[2] * (1 + 1e-9):
                    return j
                if not below and max(close_ticks[i:j]) * tick_size_f < bound_of[2] * (1 - 1e-9):
                    return j
                scaled = close_ticks_np[i:j] * tick_size_f
                if below:
                    near = np.flatnonzero(scaled < bound_of[2] * (1 + 1e-9))
                else:
                    near = np.flatnonzero(scaled > bound_of[2] * (1 - 1e-9))
                symbol = symbols[0]
                for offset in near.tolist():
                    b = i + offset
                    if shortfall(ACCOUNT, {symbol: tick_price(0, close_ticks[b])}) is not None:
                        return b
                return j
            closes = dict(last_close)
            for b in range(i, j):
                k = sym_of[b]
                closes[symbols[k]] = tick_price(k, close_ticks[b])
                if shortfall(ACCOUNT, closes) is not None:
                    return b
            return j

        def margin_check() -> None:
            if not margin or not held:
                return
            got = bound() if one_symbol else None
            if got is not None:
                close = float(last_close[symbols[0]])
                if (got[1] and close > bound_of[2] * (1 + 1e-9)) or (not got[1] and close < bound_of[2] * (1 - 1e-9)):
                    return  # clear of the call price: no exact check needed
            if shortfall(ACCOUNT, last_close) is not None:
                ledger.mark_to_market({s: last_close[s] for s in held})
                node.check_margin()

        def record(end: int) -> None:
            # One equity point per instant: bars of several symbols closing together make one point.
            nonlocal exposed, last_exposed
            value = self._cash
            for s, qty in held.items():
                value += qty * last_close[s]
            if eq_ts and eq_ts[-1] == end:
                eq_val[-1] = value
                exposed += bool(held) and not last_exposed
                last_exposed = last_exposed or bool(held)
            else:
                eq_ts.append(end)
                eq_val.append(value)
                last_exposed = bool(held)
                exposed += last_exposed

        def quiet(i: int, j: int) -> None:
            """Bars ``[i, j)`` where nothing trades and the strategy would not act: move time, prices, equity."""
            nonlocal exposed, last_exposed
            if increasing:
                # One symbol, one equity point per bar: whole-segment list operations.
                cash = self._cash
                symbol = symbols[0]
                closes = dec_close[i:j]
                prices[symbol].extend(zip(ts_of[i:j], closes, strict=True))
                qty = held.get(symbol)
                eq_ts.extend(end_of[i:j])
                if qty is None:
                    eq_val.extend([cash] * (j - i))
                else:
                    eq_val.extend([cash + worth for worth in map(qty.__mul__, closes)])
                    exposed += j - i
                last_exposed = qty is not None
                last_close[symbol] = closes[-1]
                node.pass_bar(symbol, closes[-1])
                if seek is not None:
                    seek(symbol, row_of[j - 1])
            else:
                for b in range(i, j):
                    k = sym_of[b]
                    symbol = symbols[k]
                    close = tick_price(k, close_ticks[b])
                    last_close[symbol] = close
                    node.pass_bar(symbol, close)
                    prices[symbol].append((ts_of[b], close))
                    record(end_of[b])
                    if seek is not None:
                        seek(symbol, row_of[b])
            node.advance_clock(end_of[j - 1])

        def bar_at(i: int, symbol: str, close: Decimal, end: int) -> Bar:
            k = sym_of[i]
            return Bar(
                symbol,
                ts_of[i],
                tick_price(k, int(open_ticks[i])),
                tick_price(k, int(high_ticks[i])),
                tick_price(k, int(low_ticks[i])),
                close,
                Decimal(repr(float(volumes[i]))),
                end,
            )

        def show(i: int) -> None:
            """Bar ``i`` in full: the node trades it, the strategy sees it, equity is recorded."""
            k = sym_of[i]
            symbol = symbols[k]
            close = tick_price(k, close_ticks[i])
            end = end_of[i]
            if pace is not None:
                pace(end)
            if not simulated:
                clock.fire_due()
            due = clock.next_due_ns()
            horizon = end if simulated else clock.now_ns()
            if (
                book_mode
                or driver.has_work(symbol)
                or emulator.has_armed(symbol)
                or (due is not None and due <= horizon)
            ):
                driver.process_bar(bar_at(i, symbol, close, end))
            else:
                # Nothing can trade on this bar: only time and the last price move (the fast path).
                node.pass_bar(symbol, close, end)
                if risk_on_bar is not None:
                    # The risk engine still sees the bar (live figures, circuit breakers).
                    risk_on_bar(node, bar_at(i, symbol, close, end))
            last_close[symbol] = close
            prices[symbol].append((ts_of[i], close))
            if seek is not None:
                seek(symbol, row_of[i])
            if verify:
                before = (len(node.orders), self._events, len(self.ctx.signals))
            runner.bar(
                BarData(
                    symbol,
                    ts_of[i],
                    float(opens[i]),
                    float(highs[i]),
                    float(lows[i]),
                    float(closes_f[i]),
                    float(volumes[i]),
                )
            )
            if runner.error is not None:
                raise runner.error
            if verify and not woken[i] and before != (len(node.orders), self._events, len(self.ctx.signals)):
                raise StrategyError(
                    f"strategy {self.ctx.name} acted on bar {ts_of[i]} of {symbol}, which its wake mask left out: "
                    "wake() must mark every bar on_bar may act on"
                )
            record(end)
            margin_check()

        i = 0
        next_wake = 0  # index into wake_at
        reported = -1
        while i < n:
            if skip and not engine_busy():
                while next_wake < len(wake_at) and wake_at[next_wake] < i:
                    next_wake += 1
                j = wake_at[next_wake] if next_wake < len(wake_at) else n
                due = clock.next_due_ns()
                if due is not None:
                    # A timer falls due: the bar it falls due in is shown (its on_timer may act).
                    j = min(j, bisect_left(end_of, due, i))
                # A margin call falls due: the bar whose close breaches is shown (and the positions closed).
                j = first_breach(i, j)
                if j > i:
                    quiet(i, j)
                    i = j
                    if progress is not None and (i - 1) // step != reported:
                        reported = (i - 1) // step
                        progress(i)
                    continue
            show(i)
            i += 1
            if progress is not None and ((i - 1) % step == 0 or i == n):
                reported = (i - 1) // step
                progress(i)
        runner.stop()
        if runner.error is not None:
            raise runner.error
        book = getattr(self.node.risk, "halts", None)
        self.halts = [
            Halt(
                ts=int(h["at_ns"]),
                source=f"{h.get('rule') or 'halt'} ({h['scope']} {h['scope_id']})",
                reason=str(h.get("reason", "")),
            )
            for h in getattr(book, "history", ())
            if h.get("event") == "halt"
        ]
        notes = [f"rejected: {r}" for r in runner.rejections[:50]]
        config = self.config
        from alphintra.strategies.report._format import fmt_ts

        calls: dict[int, int] = {}
        for order in node.orders.values():
            if MARGIN_CALL in order.tags:
                calls[order.created_at] = calls.get(order.created_at, 0) + 1
        notes[:0] = [
            f"margin call at {fmt_ts(ts)} UTC: equity below the maintenance margin, "
            f"{count} position(s) closed at market"
            for ts, count in sorted(calls.items())[:50]
        ]
        curve = EquityCurve.from_columns(eq_ts, eq_val) if eq_val else None
        if curve is not None and config.account_mode == "margin" and curve.values.min() <= 0:
            # The first lowest point: float() keeps the order of Decimals, so it is among the float minima.
            low = min(np.flatnonzero(curve.values == curve.values.min()).tolist(), key=eq_val.__getitem__)
            if eq_val[low] <= 0:
                # A margin call closes at the next price: a gap can take equity through zero first. Say so rather
                # than let a negative balance pass without comment.
                notes.insert(
                    0,
                    f"equity fell to {eq_val[low]:,.2f} {self.currency} at {fmt_ts(eq_ts[low])} UTC, below zero before "
                    "a margin call could close the positions",
                )
        notes.extend(signal_notes(self.ctx.signals, filled=bool(self.fills)))
        calendar = config.calendar or ("24x7" if "/" in config.symbols[0] else "equity")
        return BacktestResult.build(
            run_id=config.run_id or new_run_id(config.strategy, started, config.seed),
            strategy=config.strategy,
            params=self.strategy.params.model_dump(mode="json"),
            symbols=list(config.symbols),
            timeframe=config.timeframe,
            start_ns=ts_of[0],
            end_ns=end_of[-1],
            equity=tuple(zip(eq_ts, eq_val, strict=True)),  # a tuple: build() keeps it as it is, no second copy
            curve=curve,
            trades=self._round_trips.trades,
            fills=self.fills,
            prices=[PriceSeries(symbol=s, points=tuple(p)) for s, p in prices.items()],
            calendar=calendar,
            exposure=exposed / len(eq_ts) if eq_ts else 0.0,
            halts=self.halts,
            notes=notes,
            currency=self.currency,
            started_at_ns=started,
            mode="backtest" if self._simulated and not self.replay else "paper",
            completed_at_ns=time.time_ns(),
            extra={
                "cash": str(config.cash),
                "fee": None if config.fee is None else str(config.fee),
                "slippage_bps": str(config.slippage_bps),
                "fill_mode": config.fill_mode,
                "account_mode": config.account_mode,
                "bars": n,
                "signals": len(self.ctx.signals),
                "rejections": len(runner.rejections),
            },
        )


def run_backtest(
    config: BacktestConfig,
    *,
    market: MarketData | None = None,
    frames: Mapping[str, pl.DataFrame] | None = None,
    progress: Callable[[int], None] | None = None,
    risk: Any | None = None,
) -> BacktestResult:
    if frames is None:
        if market is None:
            from alphintra.storage.market import MarketData

            market = MarketData()
        frames = load_frames(market, config)
    return Backtest(config, frames, risk=risk).run(progress)


__all__ = ["ACCOUNT", "Backtest", "BacktestConfig", "StrategyError", "infer_instrument", "load_frames", "run_backtest"]


def backtest_objective(
    params: Mapping[str, Any],
    *args: Any,
) -> BacktestResult:
    """The optimiser's objective (a picklable top-level function).

    Called as ``(params, config, frames)`` for a search, or ``(params, start_ns, end_ns, config, frames)`` in a
    walk-forward window, where only bars in ``[start_ns, end_ns)`` are given to the run.
    """
    import dataclasses

    import polars as pl

    if len(args) == 4:
        start_ns, end_ns, config, frames = args
        frames = {
            s: df.filter((pl.col("time").dt.epoch("ns") >= start_ns) & (pl.col("time").dt.epoch("ns") < end_ns))
            for s, df in frames.items()
        }
    else:
        config, frames = args
    merged = {**dict(config.params), **dict(params)}
    run_config = dataclasses.replace(config, params=merged, run_id="opt")
    return Backtest(run_config, frames).run()
