"""The same instrument on several venues: one home for the node's rule of instrument identity.

Each instrument the node trades has one *key*, and each key trades on exactly one venue (the node's ``routes``).
A symbol listed on one venue keeps its plain symbol as its key (``BTC/USDT``): every journal written before
several venues could list one symbol replays unchanged. A symbol listed on more than one venue gets one key per
venue, qualified by the venue's name: ``BTC/USDT@a`` and ``BTC/USDT@b``. Orders, fills, positions, reservations,
last prices and journal records all carry the key, so nothing is ambiguous; the venue itself only ever sees its
*native* symbol (``BTC/USDT``), translated at the port by :class:`~alphintra.engine.venue.listed.ListedVenue`.

A user types the native symbol and picks the venue with ``--venue`` or ``--account`` (an account lives on one
venue): :meth:`Listings.resolve` turns that into the key, and refuses an ambiguous symbol naming the venues.

Strategy-side API (for a strategy trading several venues, e.g. cross-venue or triangular arbitrage)::

    listings = node.listings
    listings.venues_of("BTC/USDT")          # {"a": "BTC/USDT@a", "b": "BTC/USDT@b"}: venue -> key
    listings.key("BTC/USDT", "b")           # "BTC/USDT@b" (a plain symbol when listed once)
    listings.native("BTC/USDT@b")           # ("BTC/USDT", "b")
    node.resolve_symbol("BTC/USDT", account="acct_b")   # the key of the account's venue
    node.driver.depth(key)                  # that venue's L2 book (``bids``/``asks``: (price, qty, count))
    node.venue_for(key).name                # the venue it trades on
    node.accounts_on("b")                   # the accounts living on venue b (``account_venues``)
    node.submit(OrderRequest(key, side, qty, ..., account="acct_b"))
    node.ledger.balances("acct_b")          # each venue's account holds that venue's money

:func:`alphintra.engine.book_merge.consolidate` merges the venues' books of one symbol (fee-adjusted) and
:mod:`alphintra.engine.routing` routes a parent order over them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.instrument import Instrument

SEP = "@"


def qualify(symbol: str, venue: str) -> str:
    """The key of ``symbol`` on ``venue`` when the symbol is listed on several venues."""
    return f"{symbol}{SEP}{venue}"


def split_key(key: str) -> tuple[str, str | None]:
    """``BTC/USDT@a`` -> (``BTC/USDT``, ``a``); a plain symbol -> (symbol, None)."""
    symbol, sep, venue = key.rpartition(SEP)
    return (symbol, venue) if sep and symbol and venue else (key, None)


@dataclass
class Listings:
    """Which venue lists which symbol, and the key each listing trades under (see the module)."""

    by_key: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (native symbol, venue)
    by_symbol: dict[str, dict[str, str]] = field(default_factory=dict)  # native symbol -> venue -> key

    @classmethod
    def build(cls, listed: Mapping[str, Iterable[str]]) -> Listings:
        """From venue -> the native symbols it lists: a symbol on two or more venues gets qualified keys."""
        venues_of: dict[str, list[str]] = {}
        for venue, symbols in listed.items():
            if SEP in venue or not venue:
                raise ValidationError("venue", f"a venue name must be non-empty and hold no {SEP!r}", venue)
            for symbol in symbols:
                venues_of.setdefault(symbol, []).append(venue)
        out = cls()
        for symbol, venues in venues_of.items():
            for venue in dict.fromkeys(venues):
                out.add(symbol, venue, qualify(symbol, venue) if len(set(venues)) > 1 else symbol)
        return out

    def add(self, symbol: str, venue: str, key: str) -> None:
        self.by_key[key] = (symbol, venue)
        self.by_symbol.setdefault(symbol, {})[venue] = key

    # -- questions ----------------------------------------------------------------------------------------------

    def native(self, key: str) -> tuple[str, str | None]:
        """The venue's own symbol of ``key`` and the venue (None for a key not listed here: a paper instrument)."""
        found = self.by_key.get(key)
        return found if found is not None else (key, None)

    def venues_of(self, symbol: str) -> dict[str, str]:
        """Venue -> key of every listing of ``symbol`` (native symbol or a key of it)."""
        return dict(self.by_symbol.get(self.native(symbol)[0], {}))

    def key(self, symbol: str, venue: str) -> str:
        keys = self.venues_of(symbol)
        if venue not in keys:
            listed = ", ".join(keys) or "none"
            raise ValidationError("venue", f"does not list {symbol} (listed on: {listed})", venue)
        return keys[venue]

    def keys_on(self, venue: str) -> dict[str, str]:
        """Native symbol -> key of every listing of ``venue``."""
        return {symbol: key for key, (symbol, v) in self.by_key.items() if v == venue}

    def resolve(self, symbol: str, venue: str | None = None) -> str:
        """The key a user means by ``symbol`` (native or already a key), picked by ``venue`` when it is listed on
        several (the node's :meth:`~alphintra.engine.node.TradingNode.resolve_symbol` takes an account's venue
        too); raises naming the venues when that leaves it ambiguous."""
        if symbol in self.by_key:
            key_venue = self.by_key[symbol][1]
            if venue is not None and venue != key_venue:
                raise ValidationError("venue", f"{symbol} trades on venue {key_venue!r}", venue)
            return symbol
        keys = self.by_symbol.get(symbol)
        if not keys:
            return symbol  # not a listed one: the order's own checks name it
        if venue is not None:
            return self.key(symbol, venue)
        if len(keys) == 1:
            return next(iter(keys.values()))
        raise ValidationError(
            "symbol", f"is listed on several venues ({', '.join(keys)}): pick one with --venue or --account", symbol
        )


def relabel(inst: Instrument, key: str) -> Instrument:
    """``inst`` (a venue's own) under the node's key (base, quote and rules unchanged)."""
    return inst if inst.symbol == key else dataclasses.replace(inst, symbol=key)


__all__ = ["SEP", "Listings", "qualify", "relabel", "split_key"]
