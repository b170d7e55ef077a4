"""A venue whose symbols the node trades under venue-qualified keys (see :mod:`alphintra.engine.listings`).

When the same symbol is listed on two exchange venues, the node knows each listing by its key (``BTC/USDT@a``)
and the exchange only by its own symbol (``BTC/USDT``). :class:`ListedVenue` sits on the port between them and
translates both ways: orders going out carry the native symbol; fills, order states and instruments coming back
carry the key. Everything else passes through unchanged (a venue's other attributes too: ``start``, ``close``,
``connection``...), so the node, the reconciliation and the daemon treat it as the venue itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from alphintra.engine.core.enums import RejectReason
from alphintra.engine.core.instrument import Instrument
from alphintra.engine.listings import relabel
from alphintra.engine.venue.base import (
    Venue,
    VenueBalances,
    VenueCapabilities,
    VenueFill,
    VenueListener,
    VenueOrder,
    VenueOrderState,
)


class ListedVenue:
    """``inner`` with its symbols renamed by ``keys`` (native symbol -> the node's key)."""

    def __init__(self, inner: Venue, keys: Mapping[str, str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities: VenueCapabilities = inner.capabilities
        self.keys = dict(keys)
        self.natives = {key: symbol for symbol, key in self.keys.items()}

    def __getattr__(self, name: str) -> Any:  # the venue's own extras (start, close, connection, polls...)
        return getattr(self.inner, name)

    def key(self, symbol: str | None) -> str | None:
        return None if symbol is None else self.keys.get(symbol, symbol)

    def native(self, key: str) -> str:
        return self.natives.get(key, key)

    # -- the port -------------------------------------------------------------------------------------------------

    def bind(self, listener: VenueListener) -> None:
        self.inner.bind(_Renaming(listener, self))

    def submit(self, order: VenueOrder) -> None:
        self.inner.submit(dataclasses.replace(order, symbol=self.native(order.symbol)))

    def cancel(self, key: str) -> None:
        self.inner.cancel(key)

    def modify(self, key: str, *, leaves: Decimal | None = None, price: Decimal | None = None) -> None:
        self.inner.modify(key, leaves=leaves, price=price)

    def defer(self, action: Callable[[], None]) -> bool:
        return self.inner.defer(action)

    def open_orders(self) -> list[VenueOrderState]:
        return [self._state(s) for s in self.inner.open_orders()]

    def fills(self, since_ns: int) -> list[VenueFill]:
        return [self.fill(f) for f in self.inner.fills(since_ns)]

    def order_status(self, key: str) -> VenueOrderState | None:
        state = self.inner.order_status(key)
        return None if state is None else self._state(state)

    def balances(self) -> list[VenueBalances] | None:
        return self.inner.balances()

    def instruments(self) -> list[Instrument]:
        """The venue's markets under the node's keys."""
        return [relabel(inst, self.keys.get(inst.symbol, inst.symbol)) for inst in self.inner.instruments()]  # type: ignore[attr-defined]

    # -- renaming -------------------------------------------------------------------------------------------------

    def fill(self, fill: VenueFill) -> VenueFill:
        return fill if fill.symbol is None else dataclasses.replace(fill, symbol=self.key(fill.symbol))

    def _state(self, state: VenueOrderState) -> VenueOrderState:
        return dataclasses.replace(state, symbol=self.keys.get(state.symbol, state.symbol))


class _Renaming:
    """The node's listener, seeing the venue's reports under its keys."""

    def __init__(self, listener: VenueListener, venue: ListedVenue) -> None:
        self.listener = listener
        self.venue = venue

    def venue_accepted(self, key: str, ts: int, venue_order_id: str | None = None) -> None:
        self.listener.venue_accepted(key, ts, venue_order_id)

    def venue_filled(self, fill: VenueFill) -> None:
        self.listener.venue_filled(self.venue.fill(fill))

    def venue_canceled(self, key: str, reason: str, ts: int) -> None:
        self.listener.venue_canceled(key, reason, ts)

    def venue_rejected(self, key: str, reason: RejectReason, message: str, ts: int) -> None:
        self.listener.venue_rejected(key, reason, message, ts)

    def venue_cancel_rejected(self, key: str, message: str, ts: int) -> None:
        self.listener.venue_cancel_rejected(key, message, ts)

    def venue_unknown(self, key: str, command: Literal["submit", "cancel"], message: str) -> None:
        self.listener.venue_unknown(key, command, message)


__all__ = ["ListedVenue"]
