"""One symbol of the fake exchange: its rules, its book (the project's matching engine) and its background quotes.

The synthetic liquidity is a ladder of resting orders of the account ``LIQUIDITY`` around a mid price that a
seeded random walk moves on a timer (``LiquidityModel`` from the paper venue builds the ladder). Re-laddering
cancels the old quotes and places new ones through the engine, so a move of the price through a user's resting
order fills it as a maker, exactly as on a real venue. Every change of the visible depth bumps ``update_id`` and
marks the changed levels dirty; the stream sends them as one ``depthUpdate`` per 100 ms.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from alphintra.engine.core.enums import OrderSide, SelfTradeMode, TimeInForce
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.matching import MatchingEngine, MatchResult
from alphintra.engine.venue.liquidity import LiquidityModel

LIQUIDITY = "__liquidity__"
_DEPTH_ALL = 5000


def fmt(value: Decimal) -> str:
    """A Decimal as plain digits (``0E-8`` and ``1E+1`` would trip clients that parse strings)."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A listed symbol: ``symbol`` in ccxt form (BTC/USDT), ``id`` in Binance form (BTCUSDT)."""

    inst: Instrument
    base_price: Decimal

    @property
    def symbol(self) -> str:
        return self.inst.symbol

    @property
    def id(self) -> str:
        return self.inst.base + self.inst.quote


_KNOWN: dict[str, tuple[str, str, str, str]] = {
    # symbol: (tick, lot, min notional, starting price)
    "BTC/USDT": ("0.01", "0.00001", "5", "30000"),
    "ETH/USDT": ("0.01", "0.0001", "5", "2000"),
    "SOL/USDT": ("0.01", "0.001", "5", "100"),
    "ETH/BTC": ("0.00001", "0.0001", "0.0001", "0.06"),
}


def default_spec(symbol: str, maker_fee: Decimal, taker_fee: Decimal) -> SymbolSpec:
    tick, lot, notional, price = _KNOWN.get(symbol, ("0.01", "0.001", "5", "100"))
    inst = Instrument.create(
        symbol, tick_size=tick, lot_size=lot, min_notional=notional, maker_fee=maker_fee, taker_fee=taker_fee
    )
    return SymbolSpec(inst, Decimal(price))


@dataclass(slots=True)
class PublicTrade:
    id: int
    price: Decimal
    qty: Decimal
    time: int
    buyer_is_maker: bool


@dataclass(slots=True)
class Market:
    spec: SymbolSpec
    mid: Decimal
    model: LiquidityModel
    rng: random.Random
    engine: MatchingEngine = field(default_factory=lambda: MatchingEngine(SelfTradeMode.CANCEL_RESTING))
    liquidity_ids: list[int] = field(default_factory=list)
    next_liquidity_id: int = -1
    update_id: int = 1
    levels: dict[tuple[str, int], int] = field(default_factory=dict)
    dirty: set[tuple[str, int]] = field(default_factory=set)
    sent_update_id: int = 1
    trades: deque[PublicTrade] = field(default_factory=lambda: deque(maxlen=1000))
    next_trade_id: int = 1
    crafted: list[tuple[OrderSide, Decimal, Decimal]] | None = None  # admin ``book``: the ladder in place of the model

    @property
    def inst(self) -> Instrument:
        return self.spec.inst

    # -- book changes -----------------------------------------------------------------------------------------

    def note_book_change(self) -> bool:
        """Compare the visible depth with the last one seen; bump ``update_id`` and mark dirty levels if it moved."""
        bids, asks = self.engine.book.depth(_DEPTH_ALL)
        now = {("b", lvl.price): lvl.qty for lvl in bids}
        now.update({("a", lvl.price): lvl.qty for lvl in asks})
        changed = {k for k in now.keys() | self.levels.keys() if now.get(k) != self.levels.get(k)}
        if not changed:
            return False
        self.levels = now
        self.dirty |= changed
        self.update_id += 1
        return True

    def take_diff(self) -> tuple[int, int, list[list[str]], list[list[str]]] | None:
        """The pending ``depthUpdate`` (first id, last id, bids, asks), or None when nothing changed."""
        if not self.dirty:
            return None
        inst = self.inst
        bids = [
            [fmt(inst.ticks_to_price(p)), fmt(inst.lots_to_qty(self.levels.get(k, 0)))]
            for k in sorted(self.dirty)
            for side, p in [k]
            if side == "b"
        ]
        asks = [
            [fmt(inst.ticks_to_price(p)), fmt(inst.lots_to_qty(self.levels.get(k, 0)))]
            for k in sorted(self.dirty)
            for side, p in [k]
            if side == "a"
        ]
        first = self.sent_update_id + 1
        self.sent_update_id = self.update_id
        self.dirty.clear()
        return first, self.update_id, bids, asks

    def depth(self, limit: int) -> dict[str, object]:
        inst = self.inst
        bids, asks = self.engine.book.depth(limit)
        return {
            "lastUpdateId": self.update_id,
            "bids": [[fmt(inst.ticks_to_price(lvl.price)), fmt(inst.lots_to_qty(lvl.qty))] for lvl in bids],
            "asks": [[fmt(inst.ticks_to_price(lvl.price)), fmt(inst.lots_to_qty(lvl.qty))] for lvl in asks],
        }

    def best(self) -> tuple[tuple[Decimal, Decimal] | None, tuple[Decimal, Decimal] | None]:
        inst = self.inst
        bids, asks = self.engine.book.depth(1)
        bid = (inst.ticks_to_price(bids[0].price), inst.lots_to_qty(bids[0].qty)) if bids else None
        ask = (inst.ticks_to_price(asks[0].price), inst.lots_to_qty(asks[0].qty)) if asks else None
        return bid, ask

    # -- the background liquidity -----------------------------------------------------------------------------

    def reladder(self) -> list[MatchResult]:
        """Replace the synthetic quotes around ``mid``; returns the results of quotes that traded on placement."""
        engine = self.engine
        for oid in self.liquidity_ids:
            engine.cancel(oid)
        self.liquidity_ids = []
        inst = self.inst
        results: list[MatchResult] = []
        # asks first when the price fell, bids first when it rose, does not matter: each quote is matched alone
        ladder = self.crafted if self.crafted is not None else self.model.ladder(inst, self.mid)
        for side, price, qty in ladder:
            oid = self.next_liquidity_id
            self.next_liquidity_id -= 1
            result = engine.limit(
                oid, LIQUIDITY, side, inst.price_to_ticks(price), inst.qty_to_lots(qty), tif=TimeInForce.GTC
            )
            if oid in engine.book:
                self.liquidity_ids.append(oid)
            if result.fills:
                results.append(result)
        return results

    def step_walk(self, vol: float) -> None:
        """Move the mid one seeded random step (log-normal; never below one tick)."""
        factor = math.exp(vol * self.rng.gauss(0.0, 1.0))
        price = self.inst.round_price(self.mid * Decimal(repr(factor)))
        self.mid = max(price, self.inst.tick_size)

    def add_trade(self, price: Decimal, qty: Decimal, time: int, buyer_is_maker: bool) -> PublicTrade:
        trade = PublicTrade(self.next_trade_id, price, qty, time, buyer_is_maker)
        self.next_trade_id += 1
        self.trades.append(trade)
        return trade


def side_of(text: str) -> OrderSide:
    return OrderSide.BUY if text == "BUY" else OrderSide.SELL
