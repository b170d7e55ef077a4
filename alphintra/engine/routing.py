"""Smart order routing of one parent order over the venues listing its symbol (engine core, no I/O).

Planning is pure (:func:`plan_best`, :func:`plan_split`) over a :class:`~alphintra.engine.book_merge.ConsolidatedBook`:

* ``best``: the one venue with the best all-in cost of the whole quantity (its book walked, its taker fee added),
  among the venues whose account can pay for it (a buy: the free quote balance covers the all-in cost; a sell: the
  free base balance covers the quantity). A venue whose book is too thin for the whole quantity is not a candidate.
* ``split``: the consolidated book walked level by level by all-in price, each level taken as far as its venue's
  account can pay; the quantity taken per venue becomes one child order.

Each child is a LIMIT IOC order on its venue's key and account, priced at the worst level planned there (the
limit-price guard: a child never pays beyond what was planned; the user's ``limit`` stops the walk too). The
:class:`Router` follows the children: a child refused at submission, rejected by its venue, or ending with
quantity unfilled is never dropped -- what it left is planned again over the other venues (``split`` over the
current books, without the venues that failed this parent) and sent; what no venue can take is reported as
``unrouted`` with the reasons, in the parent's execution report (average price, fees, slippage against the
consolidated mid at entry, and what the best single venue would have cost).

A parent lives in memory (the daemon's ``/orders/routed``); its children are ordinary journaled orders tagged
``route:<parent id>``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Literal

from alphintra.engine.book_merge import BookLevel, ConsolidatedBook, Depth, VenueBook, consolidate, num
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType, TimeInForce
from alphintra.engine.core.errors import AlphintraError, ValidationError
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.orders import Order

if TYPE_CHECKING:
    from alphintra.engine.node import TradingNode

RouteMode = Literal["best", "split"]
ROUTE_TAG = "route:"


@dataclass(frozen=True, slots=True)
class Leg:
    """One planned child: ``quantity`` on ``venue`` (key ``key``), no worse than ``limit``; ``cost`` all-in."""

    venue: str
    key: str
    quantity: Decimal
    limit: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Plan:
    legs: tuple[Leg, ...]
    unfilled: Decimal  # what the book (or the funds, or the limit) could not take

    @property
    def cost(self) -> Decimal:
        return sum((leg.cost for leg in self.legs), Decimal(0))


def _quantize(qty: Decimal, lot: Decimal | None) -> Decimal:
    return qty if not lot else (qty / lot).to_integral_value(ROUND_DOWN) * lot


def _beyond(level: BookLevel, buy: bool, limit: Decimal | None) -> bool:
    return limit is not None and (level.price > limit if buy else level.price < limit)


def walk(
    levels: Iterable[BookLevel],
    buy: bool,
    quantity: Decimal,
    funds: Mapping[str, Decimal] | None = None,
    lots: Mapping[str, Decimal] | None = None,
    limit: Decimal | None = None,
) -> Plan:
    """Take ``quantity`` from ``levels`` in their order; ``funds``: venue -> what its account can spend (a buy: quote,
    all-in; a sell: base), None for no bound. One leg per venue, in the order first reached."""
    left = quantity
    spend = dict(funds) if funds is not None else None
    taken: dict[str, list[Any]] = {}  # venue -> [key, qty, worst price, cost]
    for level in levels:
        if left <= 0:
            break
        if _beyond(level, buy, limit):  # sorted by all-in price: another venue's later level may still be inside
            continue
        take = min(level.quantity, left)
        if spend is not None:
            can = spend.get(level.venue, Decimal(0))
            cap = can / level.all_in if buy else can
            take = _quantize(min(take, cap), (lots or {}).get(level.venue))
            if take <= 0:
                continue
            spend[level.venue] = can - (take * level.all_in if buy else take)
        got = taken.setdefault(level.venue, [level.key, Decimal(0), level.price, Decimal(0)])
        got[1] += take
        got[2] = level.price
        got[3] += take * level.all_in
        left -= take
    legs = tuple(Leg(v, key, qty, worst, cost) for v, (key, qty, worst, cost) in taken.items())
    return Plan(legs, left)


def single_venue_costs(book: ConsolidatedBook, buy: bool, quantity: Decimal) -> dict[str, Decimal | None]:
    """Venue -> the all-in cost (a sell: proceeds) of the whole quantity on it alone; None when too thin."""
    out: dict[str, Decimal | None] = {}
    for venue in book.venues():
        plan = walk((lvl for lvl in book.side(buy) if lvl.venue == venue), buy, quantity)
        out[venue] = plan.cost if plan.unfilled == 0 else None
    return out


def plan_best(
    book: ConsolidatedBook,
    buy: bool,
    quantity: Decimal,
    funds: Mapping[str, Decimal],
    limit: Decimal | None = None,
) -> Plan:
    """The whole quantity on the one venue with the best all-in price that can pay for it (see the module)."""
    best: Plan | None = None
    for venue in book.venues():
        plan = walk((lvl for lvl in book.side(buy) if lvl.venue == venue), buy, quantity, limit=limit)
        affordable = plan.cost <= funds.get(venue, Decimal(0)) if buy else quantity <= funds.get(venue, Decimal(0))
        if plan.unfilled or not affordable:
            continue
        if best is None or (plan.cost < best.cost if buy else plan.cost > best.cost):
            best = plan
    return best if best is not None else Plan((), quantity)


def plan_split(
    book: ConsolidatedBook,
    buy: bool,
    quantity: Decimal,
    funds: Mapping[str, Decimal],
    lots: Mapping[str, Decimal] | None = None,
    limit: Decimal | None = None,
    exclude: Iterable[str] = (),
) -> Plan:
    """The consolidated book walked by all-in price over the venues not excluded (see the module)."""
    skip = set(exclude)
    return walk((lvl for lvl in book.side(buy) if lvl.venue not in skip), buy, quantity, funds, lots, limit)


# -- execution ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteRequest:
    symbol: str  # the native symbol (BTC/USDT)
    side: OrderSide
    quantity: Decimal
    mode: RouteMode = "best"
    venues: tuple[str, ...] = ()  # () : every venue listing it
    limit: Decimal | None = None  # the worst raw price any child may trade at
    strategy: str | None = None


@dataclass
class RoutedOrder:
    id: str
    request: RouteRequest
    created_at: int
    mid: Decimal | None
    single: dict[str, Decimal | None]
    children: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # venue -> why a child there failed
    unrouted: Decimal = Decimal(0)
    notes: list[str] = field(default_factory=list)
    finished: dict[str, tuple[dict[str, Any], Decimal, Decimal, Decimal]] = field(default_factory=dict)


class Router:
    """Routes parent orders over the venues of ``node`` (see the module). ``depth``: instrument key -> its book."""

    def __init__(self, node: TradingNode, depth: Callable[[str], Depth]) -> None:
        self.node = node
        self.depth = depth
        self.parents: dict[str, RoutedOrder] = {}
        self._seq = itertools.count(1)
        node.listeners.append(self._on_event)

    def book(self, symbol: str, venues: Iterable[str] = ()) -> ConsolidatedBook:
        """The consolidated book of ``symbol`` over ``venues`` (default: every venue listing it)."""
        listed = self.node.listings.venues_of(symbol)
        if not listed:
            listed = {self.node.venue_for(symbol).name: symbol}
        wanted = list(venues) or list(listed)
        for venue in wanted:
            if venue not in listed:
                raise ValidationError("venues", f"{venue!r} does not list {symbol} (listed on: {', '.join(listed)})")
        books = []
        for venue in wanted:
            key = listed[venue]
            fee = self.node.instruments.get(key).taker_fee
            books.append(VenueBook.of(venue, key, fee, self.depth(key)))
        return consolidate(self.node.listings.native(symbol)[0], books)

    def funds(self, book: ConsolidatedBook, buy: bool) -> dict[str, Decimal]:
        """Venue -> what its (first) account has free for this side: quote to buy, base to sell."""
        out: dict[str, Decimal] = {}
        for venue in book.venues():
            accounts = self.node.accounts_on(venue) or [self.node.default_account]
            inst = self.node.instruments.get(self.node.listings.venues_of(book.symbol).get(venue, book.symbol))
            out[venue] = self.node.ledger.balance(accounts[0], inst.quote if buy else inst.base).available
        return out

    def lots(self, book: ConsolidatedBook) -> dict[str, Decimal]:
        return {lvl.venue: self.node.instruments.get(lvl.key).lot_size for lvl in (*book.bids, *book.asks)}

    def submit(self, request: RouteRequest) -> RoutedOrder:
        if request.quantity <= 0:
            raise ValidationError("quantity", "must be > 0", request.quantity)
        buy = request.side is OrderSide.BUY
        book = self.book(request.symbol, request.venues)
        if not book.side(buy):
            raise ValidationError("symbol", f"no {'asks' if buy else 'bids'} on venues {', '.join(book.venues())}")
        parent = RoutedOrder(
            f"R-{next(self._seq):06d}",
            request,
            self.node.clock.now_ns(),
            book.mid,
            single_venue_costs(book, buy, request.quantity),
        )
        funds = self.funds(book, buy)
        if request.mode == "best":
            plan = plan_best(book, buy, request.quantity, funds, request.limit)
            if not plan.legs:
                raise ValidationError(
                    "route", "no single venue can fill the whole quantity with the funds there; try --route split"
                )
        else:
            plan = plan_split(book, buy, request.quantity, funds, self.lots(book), request.limit)
            if not plan.legs:
                raise ValidationError("route", "no venue can take any of the quantity (depth, funds or limit)")
        self.parents[parent.id] = parent
        self._send(parent, plan)
        return parent

    def _send(self, parent: RoutedOrder, plan: Plan) -> None:
        if plan.unfilled > 0:
            parent.unrouted += plan.unfilled
            parent.notes.append(f"{plan.unfilled} could not be routed (depth, funds or limit)")
        for leg in plan.legs:
            accounts = self.node.accounts_on(leg.venue) or [self.node.default_account]
            req = parent.request
            child = OrderRequest(
                leg.key,
                req.side,
                leg.quantity,
                OrderType.LIMIT,
                price=leg.limit,
                time_in_force=TimeInForce.IOC,
                account=accounts[0],
                strategy=req.strategy,
                tags=(ROUTE_TAG + parent.id,),
            )
            try:
                order = self.node.submit(child)
            except AlphintraError as exc:
                parent.notes.append(f"child on {leg.venue} refused: {exc}")
                self._reroute(parent, leg.venue, leg.quantity, str(exc))
                continue
            if order.id not in parent.children:
                parent.children.append(order.id)

    def _reroute(self, parent: RoutedOrder, venue: str, quantity: Decimal, why: str) -> None:
        """What a failed child left goes to the other venues (never silently dropped)."""
        parent.failed[venue] = why
        req = parent.request
        buy = req.side is OrderSide.BUY
        try:
            book = self.book(req.symbol, req.venues)
        except AlphintraError as exc:
            parent.unrouted += quantity
            parent.notes.append(f"{quantity} left unrouted: {exc}")
            return
        book = self._minus_working(book, parent, buy)
        plan = plan_split(book, buy, quantity, self.funds(book, buy), self.lots(book), req.limit, parent.failed)
        if plan.legs:
            to = ", ".join(leg.venue for leg in plan.legs)
            parent.notes.append(f"{quantity - plan.unfilled} re-routed from {venue} to {to}")
        self._send(parent, plan)

    def _minus_working(self, book: ConsolidatedBook, parent: RoutedOrder, buy: bool) -> ConsolidatedBook:
        """``book`` without the depth this parent's working children are about to take (each takes its leaves from
        the best of its venue's levels): a re-route never plans on liquidity a sibling already claimed."""
        claimed: dict[str, Decimal] = {}
        for child_id in parent.children:
            order = self.node.orders.get(child_id)
            if order is not None and not order.is_terminal:
                venue = self.node.venue_for(order.symbol).name
                claimed[venue] = claimed.get(venue, Decimal(0)) + order.leaves_quantity
        if not claimed:
            return book
        levels = []
        for level in book.side(buy):
            take = min(claimed.get(level.venue, Decimal(0)), level.quantity)
            if take:
                claimed[level.venue] -= take
            if level.quantity > take:
                levels.append(dataclasses.replace(level, quantity=level.quantity - take))
        if buy:
            return dataclasses.replace(book, asks=tuple(levels))
        return dataclasses.replace(book, bids=tuple(levels))

    def _on_event(self, order: Order, event: OrderEvent) -> None:
        if not order.is_terminal or not order.tags:
            return
        tag = next((t for t in order.tags if t.startswith(ROUTE_TAG)), None)
        parent = None if tag is None else self.parents.get(tag[len(ROUTE_TAG) :])
        if parent is None:
            return
        if order.id not in parent.children:  # it finished inside node.submit (a venue that answers at once)
            parent.children.append(order.id)
        parent.finished[order.id] = child_view(self.node, order)  # kept: retention may drop the order from memory
        if order.leaves_quantity <= 0:
            return
        venue = self.node.venue_for(order.symbol).name
        why = f"{order.status.value}" + (f": {order.status_message}" if order.status_message else "")
        parent.notes.append(f"child {order.id} on {venue} ended {why} with {order.leaves_quantity} unfilled")
        self._reroute(parent, venue, order.leaves_quantity, why)

    # -- the report ---------------------------------------------------------------------------------------------

    def report(self, parent_id: str) -> dict[str, Any]:
        parent = self.parents.get(parent_id)
        if parent is None:
            from alphintra.engine.core.errors import NotFoundError

            raise NotFoundError(f"routed order {parent_id!r} not found")
        return execution_report(self.node, parent)


def child_view(node: TradingNode, order: Order) -> tuple[dict[str, Any], Decimal, Decimal, Decimal]:
    """A child's row of the report, with its filled quantity, notional and fees valued in the quote asset."""
    inst = node.instruments.get(order.symbol)
    qty = notional = fee = Decimal(0)
    for ev in order.events:
        if isinstance(ev, OrderFilled):
            qty += ev.last_qty
            notional += ev.last_qty * ev.last_px
            fee += ev.fee * ev.last_px if ev.fee_asset == inst.base else ev.fee
    view = {
        "order_id": order.id,
        "venue": node.venue_for(order.symbol).name,
        "symbol": order.symbol,
        "account": order.account,
        "quantity": num(order.quantity),
        "limit_price": None if order.price is None else num(order.price),
        "filled": num(qty),
        "avg_price": None if not qty else num(notional / qty),
        "fees": num(fee),
        "status": order.status.value,
        "message": order.status_message,
    }
    return view, qty, notional, fee


def execution_report(node: TradingNode, parent: RoutedOrder) -> dict[str, Any]:
    """The parent, its children and what the execution cost (see the module). Fees are valued in the quote asset
    (a fee charged in the base asset at its fill's price)."""
    req = parent.request
    buy = req.side is OrderSide.BUY
    children = []
    filled = notional = fees = Decimal(0)
    working = False
    for child_id in parent.children:
        order = node.orders.get(child_id)
        if order is None or child_id in parent.finished:
            view, c_qty, c_notional, c_fee = parent.finished[child_id]
        else:
            view, c_qty, c_notional, c_fee = child_view(node, order)
            working = working or not order.is_terminal
        filled, notional, fees = filled + c_qty, notional + c_notional, fees + c_fee
        children.append(view)
    all_in = notional + fees if buy else notional - fees
    avg = notional / filled if filled else None
    best = [(v, c) for v, c in parent.single.items() if c is not None]
    best_single = (min if buy else max)(best, key=lambda vc: vc[1]) if best else None
    left = req.quantity - filled
    status = "WORKING" if working else ("FILLED" if left == 0 else ("PARTIALLY_FILLED" if filled else "UNFILLED"))
    slippage = None
    if avg is not None and parent.mid:
        slippage = (avg - parent.mid) * filled if buy else (parent.mid - avg) * filled
    return {
        "route_id": parent.id,
        "symbol": req.symbol,
        "side": req.side.value,
        "quantity": num(req.quantity),
        "mode": req.mode,
        "limit": None if req.limit is None else num(req.limit),
        "status": status,
        "filled": num(filled),
        "unrouted": num(parent.unrouted),
        "avg_price": None if avg is None else num(avg),
        "notional": num(notional),
        "fees": num(fees),
        "all_in": num(all_in),
        "mid_at_entry": None if parent.mid is None else num(parent.mid),
        "slippage": None if slippage is None else num(slippage),
        "slippage_bps": None
        if slippage is None or not parent.mid
        else num((slippage / (parent.mid * filled) * 10000).quantize(Decimal("0.01"))),
        "single_venue": {v: None if c is None else num(c) for v, c in parent.single.items()},
        "best_single_venue": None if best_single is None else {"venue": best_single[0], "all_in": num(best_single[1])},
        "saved_vs_best_single": None
        if best_single is None or left
        else num(best_single[1] - all_in if buy else all_in - best_single[1]),
        "failed_venues": dict(parent.failed),
        "notes": list(parent.notes),
        "children": children,
    }


__all__ = [
    "ROUTE_TAG",
    "Leg",
    "Plan",
    "RouteMode",
    "RouteRequest",
    "RoutedOrder",
    "Router",
    "child_view",
    "execution_report",
    "plan_best",
    "plan_split",
    "single_venue_costs",
    "walk",
]
