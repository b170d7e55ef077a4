"""A consolidated L2 book: one symbol's books on several venues merged into one ladder, fee-adjusted (no I/O).

Each level keeps its venue, its price and quantity there, and its *all-in* price: what a taker really pays or gets
per unit after that venue's taker fee (an ask costs ``price * (1 + fee)``, a bid yields ``price * (1 - fee)``).
Asks sort by all-in price ascending and bids descending (ties: the raw price, then the venue name), so the first
levels are the best execution whatever venue they are on; the CLI, the API and the TUI ladder all show this one
merge. The consolidated ``mid`` is the middle of the best raw bid and ask across the venues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def num(value: Decimal) -> str:
    """A decimal as plain digits without trailing zeros (a book from floats says ``30100.0``: shown ``30100``)."""
    return "0" if value.is_zero() else format(value.normalize(), "f")


Depth = Mapping[str, Sequence[tuple[Decimal, Decimal, int]]]  # a driver's depth(): bids/asks of (price, qty, count)


@dataclass(frozen=True, slots=True)
class BookLevel:
    venue: str
    key: str  # the node's instrument key of the symbol on that venue
    price: Decimal
    quantity: Decimal
    all_in: Decimal  # the price after the venue's taker fee

    def to_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "key": self.key,
            "price": num(self.price),
            "quantity": num(self.quantity),
            "all_in": num(self.all_in),
        }


@dataclass(frozen=True, slots=True)
class VenueBook:
    """One venue's book of the symbol and its taker fee rate."""

    venue: str
    key: str
    taker_fee: Decimal
    bids: Sequence[tuple[Decimal, Decimal]]
    asks: Sequence[tuple[Decimal, Decimal]]

    @classmethod
    def of(cls, venue: str, key: str, taker_fee: Decimal, depth: Depth) -> VenueBook:
        return cls(
            venue,
            key,
            taker_fee,
            [(p, q) for p, q, *_ in depth.get("bids", ()) if q > 0],
            [(p, q) for p, q, *_ in depth.get("asks", ()) if q > 0],
        )


@dataclass(frozen=True, slots=True)
class ConsolidatedBook:
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    fees: Mapping[str, Decimal]  # venue -> taker fee rate

    @property
    def mid(self) -> Decimal | None:
        """The middle of the best raw bid and the best raw ask across the venues."""
        if not self.bids or not self.asks:
            return None
        return (max(lvl.price for lvl in self.bids) + min(lvl.price for lvl in self.asks)) / 2

    def side(self, buy: bool) -> tuple[BookLevel, ...]:
        """The levels a taker walks: the asks to buy, the bids to sell."""
        return self.asks if buy else self.bids

    def venues(self) -> list[str]:
        return list(self.fees)

    def to_dict(self, levels: int | None = None) -> dict[str, Any]:
        mid = self.mid
        return {
            "symbol": self.symbol,
            "venues": self.venues(),
            "taker_fees": {v: num(f) for v, f in self.fees.items()},
            "mid": None if mid is None else num(mid),
            "bids": [lvl.to_dict() for lvl in self.bids[:levels]],
            "asks": [lvl.to_dict() for lvl in self.asks[:levels]],
        }


def consolidate(symbol: str, books: Iterable[VenueBook]) -> ConsolidatedBook:
    """Merge the venues' books of ``symbol`` (see the module)."""
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    fees: dict[str, Decimal] = {}
    for book in books:
        fees[book.venue] = book.taker_fee
        up, down = 1 + book.taker_fee, 1 - book.taker_fee
        bids += [BookLevel(book.venue, book.key, p, q, p * down) for p, q in book.bids]
        asks += [BookLevel(book.venue, book.key, p, q, p * up) for p, q in book.asks]
    bids.sort(key=lambda lvl: (-lvl.all_in, -lvl.price, lvl.venue))
    asks.sort(key=lambda lvl: (lvl.all_in, lvl.price, lvl.venue))
    return ConsolidatedBook(symbol, tuple(bids), tuple(asks), fees)


__all__ = ["BookLevel", "ConsolidatedBook", "Depth", "VenueBook", "consolidate", "num"]
