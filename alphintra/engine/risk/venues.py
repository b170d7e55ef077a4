"""Risk limits per venue and across venues: the position and exposure rules that sum over several accounts.

What the ``venue`` scope and the ``max_total_*`` limits mean is described in ``limits.py``. The ``venue`` scope's
order measures and counters need nothing from here beyond the venue's name (``ResolvedLimits`` resolves them with
the others and the engine counts each venue's orders); this module holds what sums over accounts:

* a venue's position in an instrument key (the key trades only on that venue, so every account holding it holds
  it there) and a venue's gross/net exposure (the positions held in its instruments);
* a native symbol's position over every venue's key of it, and the gross exposure of every account on every venue.

Keeping the check cheap: :meth:`VenueRisk.resolve` picks the limits once per ``(account, strategy, key)`` (None
when none apply, so the check costs one attribute test), and the node-wide sums are rebuilt from the engine's
per-account figures only when one of them was refreshed (after fills or new prices); the leaves of every account's
working orders per key are tallied here by the engine's order listener as they change. The exposure rules reuse
what the engine's account rules measured of the order (:meth:`VenueRisk.exposure`). Money compares exactly in
``Decimal``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.events import OrderInitialized
from alphintra.engine.risk.limits import Limit, LimitSet, Scope
from alphintra.engine.risk.rejections import RiskLimitError, over, position_over

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode

_ZERO = Decimal(0)
_BUY = OrderSide.BUY


class AccountFigures(Protocol):
    """What is read of the engine's per-account figures (``pretrade._Account``)."""

    qty: dict[str, Decimal]
    values: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class Listing:
    """Where an instrument key trades: its venue, its native symbol and every venue's key of that symbol."""

    venue: str
    native: str
    keys: tuple[str, ...]
    venues: str  # "a, b": for messages


@dataclass(frozen=True, slots=True)
class VenueRules:
    """The venue and total limits that apply to an order of one ``(account, strategy, key)``."""

    listing: Listing
    pos_qty: Limit | None
    pos_notional: Limit | None
    gross: Limit | None
    net: Limit | None
    total_qty: Limit | None
    total_notional: Limit | None
    total_gross: Limit | None
    positions: bool = False  # any position limit (venue or total) is set
    exposure: bool = False  # any exposure limit (venue or total) is set


class VenueRisk:
    """The node-wide sums the venue and total limits compare against, and the check itself (see the module)."""

    __slots__ = ("_listings", "_stamp", "gross", "net", "open_buy", "open_sell", "qty", "total_gross")

    def __init__(self) -> None:
        self._listings: dict[str, Listing] = {}
        self._stamp: int | None = None
        self.qty: dict[str, Decimal] = {}  # key -> position summed over every account
        self.gross: dict[str, Decimal] = {}  # venue -> sum of |position values| held there
        self.net: dict[str, Decimal] = {}  # venue -> sum of position values held there
        self.total_gross = _ZERO
        # key -> leaves of the working orders of every account, kept by the engine (position tallies)
        self.open_buy: dict[str, Decimal] = {}
        self.open_sell: dict[str, Decimal] = {}

    def clear(self) -> None:
        """Forget the node's listings, sums and working orders (a new node, or one whose state was replaced)."""
        self._listings.clear()
        self._stamp = None
        self.open_buy.clear()
        self.open_sell.clear()

    def listing(self, node: TradingNode, key: str) -> Listing:
        found = self._listings.get(key)
        if found is None:
            native = node.listings.native(key)[0]
            by_venue = node.listings.venues_of(native) or {node.venue_for(key).name: key}
            found = Listing(node.venue_for(key).name, native, tuple(by_venue.values()), ", ".join(by_venue))
            self._listings[key] = found
        return found

    def venue_of(self, node: TradingNode, key: str) -> str:
        return self.listing(node, key).venue

    def resolve(self, limits: LimitSet, node: TradingNode, key: str) -> VenueRules | None:
        """The venue and total limits of orders in ``key``; None when there are none (the common case)."""
        at = self.listing(node, key)
        v = at.venue
        rules = VenueRules(
            at,
            pos_qty=_find(limits, "max_position_qty", Scope.VENUE, v),
            pos_notional=_find(limits, "max_position_notional", Scope.VENUE, v),
            gross=_find(limits, "max_gross_exposure", Scope.VENUE, v),
            net=_find(limits, "max_net_exposure", Scope.VENUE, v),
            total_qty=_tighter(limits, "max_total_position_qty", at.native),
            total_notional=_tighter(limits, "max_total_position_notional", at.native),
            total_gross=_find(limits, "max_total_gross_exposure", Scope.GLOBAL, "*"),
        )
        positions = any(
            x is not None for x in (rules.pos_qty, rules.pos_notional, rules.total_qty, rules.total_notional)
        )
        exposure = any(x is not None for x in (rules.gross, rules.net, rules.total_gross))
        if not positions and not exposure:
            return None
        return dataclasses.replace(rules, positions=positions, exposure=exposure)

    def positions(
        self,
        node: TradingNode,
        accounts: Mapping[str, AccountFigures],
        order: OrderInitialized,
        rules: VenueRules,
        px: Decimal | None,
        stamp: int,
    ) -> RiskLimitError | None:
        """The refusal of ``order`` by a venue or total position limit, or None. ``accounts`` must be fresh (the
        engine refreshes the dirty ones first) and ``stamp`` move whenever one was refreshed: the sums the exposure
        rules read are brought up to date here too."""
        if stamp != self._stamp:
            self._sums(node, accounts, stamp)
        if not rules.positions:
            return None
        key, qty = order.symbol, order.quantity
        buy = order.side is _BUY
        signed = qty if buy else -qty
        working = self.open_buy if buy else self.open_sell
        if rules.pos_qty is not None or rules.pos_notional is not None:
            before = self.qty.get(key, _ZERO) + (working.get(key, _ZERO) if buy else -working.get(key, _ZERO))
            error = position_over(key, rules.pos_qty, rules.pos_notional, before, before + signed, px, key)
            if error is not None:
                return error
        if rules.total_qty is not None or rules.total_notional is not None:
            at = rules.listing
            before = _ZERO
            for k in at.keys:
                before += self.qty.get(k, _ZERO) + (working.get(k, _ZERO) if buy else -working.get(k, _ZERO))
            detail = f"{at.native} over venues {at.venues}"
            return position_over(key, rules.total_qty, rules.total_notional, before, before + signed, px, detail)
        return None

    def exposure(
        self, rules: VenueRules, grow: Decimal, held_value: Decimal, value_after: Decimal, value_before: Decimal
    ) -> RiskLimitError | None:
        """The refusal by a venue or total exposure limit of an order that grows its account's position in its
        key (the engine's account rules measured it: ``grow`` in |value|, from ``held_value`` at the mark, the
        position worth ``value_before`` and ``value_after`` at the order's price), or None."""
        venue = rules.listing.venue
        lim = rules.gross
        if lim is not None:
            gross = self.gross.get(venue, _ZERO) + grow
            if gross > lim.value:
                return over("exposure", lim, gross)
        lim = rules.net
        if lim is not None:
            rest = self.net.get(venue, _ZERO) - held_value
            net = abs(rest + value_after)
            if net > lim.value and net > abs(rest + value_before):
                return over("exposure", lim, net)
        lim = rules.total_gross
        if lim is not None and self.total_gross + grow > lim.value:
            return over("exposure", lim, self.total_gross + grow, "every venue")
        return None

    def _sums(self, node: TradingNode, accounts: Mapping[str, AccountFigures], stamp: int) -> None:
        qty: dict[str, Decimal] = {}
        gross: dict[str, Decimal] = {}
        net: dict[str, Decimal] = {}
        total = _ZERO
        for acct in accounts.values():
            for key, q in acct.qty.items():
                qty[key] = qty.get(key, _ZERO) + q
            for key, value in acct.values.items():
                venue = self.venue_of(node, key)
                gross[venue] = gross.get(venue, _ZERO) + abs(value)
                net[venue] = net.get(venue, _ZERO) + value
                total += abs(value)
        self.qty, self.gross, self.net, self.total_gross = qty, gross, net, total
        self._stamp = stamp


def _find(limits: LimitSet, name: str, scope: Scope, scope_id: str) -> Limit | None:
    value = limits.get(name, scope, scope_id)
    return None if value is None else Limit(name, value, scope, scope_id)


def _tighter(limits: LimitSet, name: str, native: str) -> Limit | None:
    """A total limit: the global one or the native symbol's, whichever is smaller (the symbol's on a tie)."""
    candidates = (_find(limits, name, Scope.SYMBOL, native), _find(limits, name, Scope.GLOBAL, "*"))
    found = [x for x in candidates if x is not None]
    return min(found, key=lambda x: x.value) if found else None


__all__ = ["AccountFigures", "Listing", "VenueRisk", "VenueRules"]
