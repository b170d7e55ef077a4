"""The legs of an arbitrage round trip, and what is done when one of them fails (``arbitrage``, ``triangular``).

An arbitrage is only as good as its weakest leg: when one leg fills and another is refused, expires or fills only
in part, the account holds an exposure the edge never paid for. :class:`Legging` places the legs of a
:class:`RoundTrip` and keeps each one's order; an order the engine refuses at submission becomes a failed leg (not
an exception, which would leave the legs already placed unhedged); a leg still working ``timeout_ns`` after it was
placed is cancelled (what is left of it would not trade at the price the edge was computed at). Once a leg came up
short, the strategy says which orders bring the account back (its own rule: the triangle converts what it holds
back to its starting asset, the two-venue arbitrage trades the excess of the longer leg back), and
:meth:`Legging.unwind` places them, logged and signalled as a risk alert (rule ``arbitrage_legging``) that the
daemon raises like the risk engine's own.

What a round trip made is counted from its orders' fills, never from the prices it expected: every asset's net
flow (base in and quote out for a buy, the reverse for a sell, each fee out in its own asset), so the realised
profit of a round trip is its home asset's flow, to the last unit. :meth:`Legging.finish` signals it
(``round_trip``), with the edge it made on what it committed; the run's notes list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from alphintra.engine.core.errors import ValidationError
from alphintra.formatting import plain
from alphintra.strategies.context import RISK_ALERT

if TYPE_CHECKING:
    from alphintra.engine.core.orders import Order
    from alphintra.strategies.base import Strategy

LEGGING_RULE = "arbitrage_legging"
REBALANCE_RULE = "arbitrage_rebalance"
ROUND_TRIP = "round_trip"  # the signal of a finished round trip (notes.py reads it)
ZERO = Decimal(0)
_EDGE = Decimal("1e-8")


@dataclass
class Leg:
    symbol: str
    side: OrderSide
    quantity: Decimal
    role: str = "leg"  # "unwind": undoes what a failed leg left; "sweep": takes the legs' rounding back home
    order: Order | None = None
    refused: str = ""  # why the engine refused it at submission (then there is no order)
    placed_at: int = 0

    @property
    def done(self) -> bool:
        return self.order is None or self.order.is_terminal

    @property
    def filled(self) -> Decimal:
        return ZERO if self.order is None else self.order.filled_quantity

    @property
    def short(self) -> bool:
        """Finished with less than was asked: refused, rejected, cancelled or expired with a remainder."""
        return self.done and self.filled < self.quantity

    def why(self) -> str:
        if self.order is None:
            return f"refused: {self.refused}"
        status = self.order.status.value.lower()
        text = f"{status} after {plain(self.filled)} of {plain(self.quantity)}"
        return f"{text} ({self.order.status_message})" if self.order.status_message else text


@dataclass
class RoundTrip:
    number: int
    home: str  # the asset the profit is counted in
    committed: Decimal  # what the round trip put at stake, in the home asset
    started_at: int
    legs: list[Leg] = field(default_factory=list)
    stage: str = ""  # the strategy's own progress marker

    @property
    def working(self) -> bool:
        return any(not leg.done for leg in self.legs)

    @property
    def unwinds(self) -> list[Leg]:
        """The orders placed after the legs (unwinds and sweeps)."""
        return [leg for leg in self.legs if leg.role != "leg"]

    def flows(self, strategy: Strategy, venue: str | None = None) -> dict[str, Decimal]:
        """Each asset's net change from the round trip's fills, fees included (only its legs on ``venue``: on
        several venues each venue's account has its own money)."""
        out: dict[str, Decimal] = {}
        node = strategy.ctx.node
        for leg in self.legs:
            order = leg.order
            if order is None or order.filled_quantity == 0:
                continue
            if venue is not None and node.venue_for(order.symbol).name != venue:
                continue
            inst = strategy.ctx.node.instruments.get(order.symbol)
            sign = 1 if order.side is OrderSide.BUY else -1
            out[inst.base] = out.get(inst.base, ZERO) + sign * order.filled_quantity
            out[inst.quote] = out.get(inst.quote, ZERO) - sign * order.filled_notional
            for asset, fee in order.fees.items():
                out[asset] = out.get(asset, ZERO) - fee
        return out


class Legging:
    """Places and watches the legs of a strategy's round trips; see the module docstring."""

    def __init__(self, strategy: Strategy, *, timeout_ns: int) -> None:
        self.strategy = strategy
        self.timeout_ns = timeout_ns
        self.opened = 0
        self.finished = 0
        # Set while an order is being placed: an event it causes at once (a venue that fills or refuses inside the
        # submission) must wait for the placing code, which looks at the legs when it is done.
        self.placing = False
        self.pending: list[tuple[str, str, dict[str, Any]]] = []

    def open(self, home: str, committed: Decimal) -> RoundTrip:
        self.opened += 1
        return RoundTrip(self.opened, home, committed, self.strategy.now())

    def place(
        self,
        trip: RoundTrip,
        symbol: str,
        side: OrderSide,
        quantity: Decimal,
        *,
        limit: Decimal | None = None,
        role: str = "leg",
    ) -> Leg:
        """A market order for the round trip, or with ``limit`` an immediate-or-cancel limit (a leg that trades at
        the price its edge was computed at or not at all, and locks exactly what it was sized for); a refusal is a
        failed leg (``leg.short``), never an exception."""
        leg = Leg(symbol, side, quantity, role, placed_at=self.strategy.now())
        trip.legs.append(leg)
        kw = {} if limit is None else {"order_type": OrderType.LIMIT, "price": limit, "time_in_force": TimeInForce.IOC}
        self.placing = True
        try:
            leg.order = self.strategy.ctx.order(symbol, side, quantity, **kw)
        except ValidationError as exc:  # OrderRejectedError is one: funds, risk, halts, lot and notional rules
            leg.refused = exc.message
            self.strategy.log.warning(
                "round trip %d: %s %s %s refused: %s", trip.number, side.value, plain(quantity), symbol, exc.message
            )
        finally:
            self.placing = False
        return leg

    def expire(self, trip: RoundTrip, symbol: str, bar_ts: int) -> None:
        """On a bar of ``symbol``: cancel the legs still working ``timeout_ns`` after they were placed. At an
        exchange the time alone says; a simulated venue fills on bars, so there a leg must also have had a bar of
        its own symbol that opened after it was placed (in a backtest a leg placed at a bar waits for the next)."""
        now = self.strategy.now()
        node = self.strategy.ctx.node
        for leg in trip.legs:
            order = leg.order
            if order is None or leg.done or order.status is OrderStatus.PENDING_CANCEL:
                continue
            if now - leg.placed_at < self.timeout_ns:
                continue
            if node.venue_for(leg.symbol).capabilities.keeps_state or (symbol == leg.symbol and bar_ts > leg.placed_at):
                self.strategy.log.info("round trip %d: %s %s timed out, cancelled", trip.number, order.id, leg.symbol)
                self.strategy.cancel(order.id)

    def unwind(self, trip: RoundTrip, orders: list[tuple[str, OrderSide, Decimal]], failed: list[Leg]) -> None:
        """Place ``orders`` to undo what the ``failed`` legs left; logged, signalled and alerted."""
        what = "; ".join(f"{leg.side.value} {leg.symbol} {leg.why()}" for leg in failed)
        plan = ", ".join(f"{side.value} {plain(qty)} {symbol}" for symbol, side, qty in orders) or "nothing to undo"
        message = f"{self.strategy.name} round trip {trip.number}: leg came up short ({what}); unwinding: {plan}"
        self.strategy.log.warning("%s", message)
        self.alert(
            "leg_failed",
            LEGGING_RULE,
            "WARNING",
            message,
            failed[0].symbol if failed else None,
            round_trip=trip.number,
            unwind=[[symbol, side.value, plain(qty)] for symbol, side, qty in orders],
        )
        for symbol, side, qty in orders:
            self.place(trip, symbol, side, qty, role="unwind")

    def alert(
        self,
        signal: str,
        rule: str,
        severity: str,
        message: str,
        symbol: str | None,
        *,
        in_bar: bool = False,
        **data: Any,
    ) -> None:
        """A signal that the daemon also raises as a risk alert (``RISK_ALERT``); a backtest keeps it as a signal.
        ``in_bar``: raised from ``on_bar`` (signalled at once), not from an order event."""
        alert = {"rule": rule, "severity": severity, "message": message[:1000]}
        if symbol is not None:
            alert["symbol"] = symbol
        if in_bar:
            self.strategy.signal(signal, message[:200], **data, **{RISK_ALERT: alert})
        else:
            self._signal(signal, message[:200], {**data, RISK_ALERT: alert})

    def _signal(self, name: str, value: str, data: dict[str, Any]) -> None:
        """Signal now at an exchange; on a simulated venue at the strategy's next bar (:meth:`flush`). A simulated
        fill happens while the backtester trades a bar, stamped with that bar's open, which is the close of the bar
        before: signalled then, what the fill caused would be filed under a bar that had not seen it."""
        if self.strategy.ctx.node.venue_for(self.strategy.symbols[0]).capabilities.keeps_state:
            self.strategy.signal(name, value, **data)
        else:
            self.pending.append((name, value, data))

    def flush(self) -> None:
        """Give the signals held for the bar (call first thing in ``on_bar``)."""
        pending, self.pending = self.pending, []
        for name, value, data in pending:
            self.strategy.signal(name, value, **data)

    def finish(self, trip: RoundTrip, marks: dict[str, Decimal] | None = None, **extra: Any) -> Decimal:
        """Signal the round trip's realised profit (its home asset's flow) and edge on what it committed. With
        ``marks`` (asset -> price in the home asset) what is left of the other assets (a fee charged in the asset
        bought) is valued too: ``valued`` is the profit with it, the edge is on that."""
        self.finished += 1
        flows = trip.flows(self.strategy)
        profit = flows.get(trip.home, ZERO)
        others = {a: plain(v) for a, v in sorted(flows.items()) if a != trip.home and v != 0}
        if marks is not None:
            value = profit + sum((v * marks[a] for a, v in flows.items() if a != trip.home and a in marks), ZERO)
            extra["valued"] = plain(value)
        else:
            value = profit
        edge = (value / trip.committed).quantize(_EDGE) if trip.committed > 0 else ZERO
        report = {
            "number": trip.number,
            "home": trip.home,
            "profit": plain(profit),
            "committed": plain(trip.committed),
            "edge": plain(edge),
            "legs": sum(leg.role == "leg" for leg in trip.legs),
            "unwinds": sum(leg.role == "unwind" for leg in trip.legs),
            "sweeps": sum(leg.role == "sweep" for leg in trip.legs),
            "left": others,  # dust below a lot (or what could not be unwound), per asset
            **extra,
        }
        self._signal(ROUND_TRIP, plain(profit), report)
        self.strategy.log.info(
            "round trip %d: realised %s %s on %s (edge %s)",
            trip.number,
            plain(profit),
            trip.home,
            plain(trip.committed),
            plain(edge),
        )
        return profit


__all__ = ["LEGGING_RULE", "REBALANCE_RULE", "ROUND_TRIP", "Leg", "Legging", "RoundTrip"]
