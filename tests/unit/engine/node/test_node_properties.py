"""Node-level invariants over random order sequences (hypothesis), in book mode and in bar mode.

Several accounts trade on the simulated venue -- against each other and the liquidity ladder in book mode, against
the bars in bar mode -- with every order type, OCO, brackets, GTD, modifies, cancels and TWAPs. After every step:

* the book is never crossed after matching;
* conservation: for every asset, the sum over all accounts plus the fees collected equals the deposits plus what
  came in from outside (fills against the liquidity ladder or the bars); trades between accounts come in exact,
  opposite pairs;
* no available balance (total - locked) and no lock is negative; a finished order holds no lock;
* filled <= quantity for every order, and the filled quantity is the sum of its fills (whose fees match the
  instrument's rates).

At the end the journal is replayed into a fresh node: orders, balances, positions and reservations are identical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_kit import BUY, MIN, SELL, D, ListJournal, bar, make_node

from alphintra.engine.algos import GuardMode, TwapRequest
from alphintra.engine.commands import BracketRequest, OrderRequest
from alphintra.engine.core.enums import LiquiditySide, OrderType, TimeInForce, TrailingOffsetType
from alphintra.engine.core.errors import ConflictError, InvalidTransition, ValidationError
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.liquidity import LiquidityModel

T = TypeVar("T")
ACCOUNTS = ("a", "b", "c")
DEPOSITS = {"USD": D(20000), "GOOG": D(60)}
LIQUIDITY = LiquidityModel(levels=4, spread_bps=D(20), level_notional=D(600))

accounts = st.sampled_from(ACCOUNTS)
sides = st.sampled_from([BUY, SELL])
prices = st.integers(-8, 8).map(lambda k: D(100) + D(k) / 4)  # 98.00 .. 102.00 in quarter steps
qtys = st.integers(1, 8)
tifs = st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])

order_cmds = [
    st.tuples(st.just("market"), accounts, sides, qtys),
    st.tuples(st.just("limit"), accounts, sides, prices, qtys, tifs, st.booleans()),
    st.tuples(st.just("limit"), accounts, sides, prices, qtys, tifs, st.booleans()),
    st.tuples(st.just("stop"), accounts, sides, prices, qtys, st.booleans()),
    st.tuples(st.just("trail"), accounts, sides, st.integers(1, 12), qtys),
    st.tuples(st.just("iceberg"), accounts, sides, prices, st.integers(2, 12), st.integers(1, 4)),
    st.tuples(st.just("gtd"), accounts, sides, prices, qtys, st.integers(1, 3)),
    st.tuples(st.just("oco"), accounts, sides, st.integers(1, 8), st.integers(1, 8), qtys),
    st.tuples(st.just("bracket"), accounts, sides, prices, st.integers(1, 8), st.integers(1, 8), qtys),
    st.tuples(st.just("cancel"), st.integers(0, 200)),
    st.tuples(st.just("modify"), st.integers(0, 200), st.none() | prices, st.none() | qtys),
]
book_cmds = st.lists(
    st.one_of(*order_cmds, st.tuples(st.just("tick"), prices), st.tuples(st.just("tick"), prices)),
    min_size=1,
    max_size=40,
)
bar_cmds = st.lists(
    st.one_of(
        *order_cmds,
        st.tuples(st.just("twap"), accounts, sides, st.integers(2, 20), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("bar"), prices, prices, st.integers(0, 4), st.integers(0, 4), st.integers(1, 40)),
        st.tuples(st.just("bar"), prices, prices, st.integers(0, 4), st.integers(0, 4), st.integers(1, 40)),
    ),
    min_size=1,
    max_size=40,
)


def attempt(fn: Callable[[], T]) -> T | None:
    """Run a command a user may legitimately have refused (funds, rules, state); a broken transition is a bug."""
    try:
        return fn()
    except InvalidTransition:
        raise
    except (ValidationError, ConflictError):
        return None


class Runner:
    def __init__(self, node: TradingNode, book: bool) -> None:
        self.node = node
        self.book = book
        self.t = 1  # bar / tick counter; engine time moves forward by one minute per market data step

    def ref(self) -> Decimal:
        return self.node.last_price("GOOG") or D(100)

    def run(self, cmd: tuple[Any, ...]) -> None:
        node = self.node
        kind = cmd[0]
        if kind == "tick":
            self.t += 1
            node.process_trade(TradeTick("GOOG", self.t * MIN, cmd[1], D(1)))
        elif kind == "bar":
            _, o, c, up, down, vol = cmd
            hi, lo = max(o, c) + D(up) / 4, min(o, c) - D(down) / 4
            self.t += 1
            node.process_bar(bar(self.t, str(o), str(hi), str(lo), str(c), str(vol)))
        elif kind == "market":
            _, acct, side, qty = cmd
            attempt(lambda: node.submit(OrderRequest("GOOG", side, D(qty), account=acct)))
        elif kind == "limit":
            _, acct, side, px, qty, tif, post = cmd
            post = post and tif is TimeInForce.GTC
            request = OrderRequest(
                "GOOG", side, D(qty), OrderType.LIMIT, price=px, time_in_force=tif, post_only=post, account=acct
            )
            attempt(lambda: node.submit(request))
        elif kind == "stop":
            _, acct, side, px, qty, with_limit = cmd
            kind_ = OrderType.STOP_LIMIT if with_limit else OrderType.STOP
            limit = (px + D("0.5") if side is BUY else px - D("0.5")) if with_limit else None
            request = OrderRequest("GOOG", side, D(qty), kind_, price=limit, stop_price=px, account=acct)
            attempt(lambda: node.submit(request))
        elif kind == "trail":
            _, acct, side, offset, qty = cmd
            request = OrderRequest(
                "GOOG",
                side,
                D(qty),
                OrderType.TRAILING_STOP,
                trailing_offset=D(offset) / 4,
                trailing_offset_type=TrailingOffsetType.PRICE,
                account=acct,
            )
            attempt(lambda: node.submit(request))
        elif kind == "iceberg":
            _, acct, side, px, qty, display = cmd
            request = OrderRequest(
                "GOOG", side, D(qty), OrderType.ICEBERG, price=px, display_quantity=D(min(display, qty)), account=acct
            )
            attempt(lambda: node.submit(request))
        elif kind == "gtd":
            _, acct, side, px, qty, ahead = cmd
            expires = node.clock.now_ns() + ahead * MIN
            request = OrderRequest(
                "GOOG",
                side,
                D(qty),
                OrderType.LIMIT,
                price=px,
                time_in_force=TimeInForce.GTD,
                expires_at=expires,
                account=acct,
            )
            attempt(lambda: node.submit(request))
        elif kind == "oco":
            _, acct, side, far, near, qty = cmd
            ref = self.ref()
            sign = 1 if side is SELL else -1
            take = OrderRequest("GOOG", side, D(qty), OrderType.LIMIT, price=ref + sign * D(far) / 4, account=acct)
            stop = OrderRequest("GOOG", side, D(qty), OrderType.STOP, stop_price=ref - sign * D(near) / 4, account=acct)
            attempt(lambda: node.submit_oco(take, stop))
        elif kind == "bracket":
            _, acct, side, px, tp_off, sl_off, qty = cmd
            sign = 1 if side is BUY else -1
            entry = OrderRequest("GOOG", side, D(qty), OrderType.LIMIT, price=px, account=acct)
            request = BracketRequest(entry, px + sign * D(tp_off) / 4, px - sign * D(sl_off) / 4)
            attempt(lambda: node.submit_bracket(request))
        elif kind == "twap":
            _, acct, side, qty, slices, guarded = cmd
            guard = self.ref() if guarded else None
            twap = TwapRequest(
                "GOOG",
                side,
                D(qty),
                duration_ns=slices * MIN,
                slices=slices,
                limit_price=guard,
                guard=GuardMode.LIMIT,
                account=acct,
            )
            attempt(lambda: node.submit_twap(twap))
        elif kind == "cancel":
            ids = list(node.orders)
            if ids:
                attempt(lambda: node.cancel(ids[cmd[1] % len(ids)]))
        elif kind == "modify":
            ids = list(node.orders)
            if ids and (cmd[2] is not None or cmd[3] is not None):
                order = node.orders[ids[cmd[1] % len(ids)]]
                if order.order_type in (OrderType.LIMIT, OrderType.ICEBERG) and order.parent_order_id is None:
                    qty = None if cmd[3] is None else order.filled_quantity + D(cmd[3])
                    attempt(lambda: node.modify(order.id, price=cmd[2], quantity=qty))


def check_invariants(node: TradingNode, *, pairs_only: bool) -> None:
    inst = node.instruments.get("GOOG")
    book = node.venue.engine("GOOG").book
    assert not book.is_crossed()
    # Fills: per order they add up; each fee is the instrument's rate; trades between accounts pair up exactly.
    by_order: dict[str, Decimal] = defaultdict(Decimal)
    groups: dict[str, list[Any]] = defaultdict(list)
    for fill in node.fills:
        by_order[fill.order_id] += fill.last_qty
        assert fill.fee == inst.fee(fill.last_qty, fill.last_px, fill.liquidity_side)
        groups[fill.trade_id.removesuffix("m")].append(fill)
    flows: dict[str, Decimal] = defaultdict(Decimal)
    for fills in groups.values():
        if len(fills) == 2:
            maker, taker = sorted(fills, key=lambda f: f.liquidity_side is LiquiditySide.TAKER)
            assert maker.liquidity_side is LiquiditySide.MAKER and taker.liquidity_side is LiquiditySide.TAKER
            assert (maker.last_qty, maker.last_px) == (taker.last_qty, taker.last_px)
            assert maker.side is not taker.side
            continue
        assert len(fills) == 1 and not pairs_only
        (fill,) = fills
        sign = 1 if fill.side is BUY else -1
        flows["GOOG"] += sign * fill.last_qty
        flows["USD"] -= sign * fill.last_qty * fill.last_px
    fees = node.ledger.fees_collected()
    for asset in ("USD", "GOOG"):
        held = sum((node.ledger.balance(a, asset).total for a in ACCOUNTS), Decimal(0))
        assert held + fees.get(asset, Decimal(0)) == DEPOSITS[asset] * len(ACCOUNTS) + flows[asset], asset
    for account in ACCOUNTS:
        for bal in node.ledger.balances(account).values():
            assert bal.locked >= 0 and bal.total - bal.locked >= 0, (account, bal)
    for order in node.orders.values():
        assert 0 <= order.filled_quantity <= order.quantity
        assert order.filled_quantity == by_order.get(order.id, Decimal(0))
        if order.is_terminal:
            assert node.ledger.reservation(order.id) is None, order
    # The working-order index agrees with a scan of every order, in placing order.
    assert node.open_orders() == [o for o in node.orders.values() if not o.is_terminal]
    assert node.open_count() == len(node.open_orders())


def state(node: TradingNode) -> tuple[Any, ...]:
    ledger = node.ledger.to_dict()
    ledger.pop("marks")  # marks come from market data, which is not journaled
    return dict(node.orders), ledger, [p for p in node.algos.list_algos()], [o.id for o in node.open_orders()]


def replayed(node: TradingNode, journal: ListJournal, mode: str) -> TradingNode:
    fresh = make_node(mode, liquidity=getattr(node.driver, "liquidity", None), latency_ns=node.venue.model.latency_ns)
    fresh.replay(journal.records)
    return fresh


def fresh_book_node(journal: ListJournal, liquidity: bool, latency: bool) -> TradingNode:
    node = make_node(
        "book", journal=journal, liquidity=LIQUIDITY if liquidity else None, latency_ns=500 if latency else 0
    )
    for account in ACCOUNTS:
        node.open_account(account, cash={k: str(v) for k, v in DEPOSITS.items()})
    node.process_trade(TradeTick("GOOG", MIN, D(100), D(1)))
    return node


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=book_cmds, liquidity=st.booleans(), latency=st.booleans())
def test_book_mode_invariants_and_replay(cmds: list[tuple[Any, ...]], liquidity: bool, latency: bool) -> None:
    journal = ListJournal()
    node = fresh_book_node(journal, liquidity, latency)
    runner = Runner(node, book=True)
    for cmd in cmds:
        runner.run(cmd)
        check_invariants(node, pairs_only=not liquidity)
    assert state(replayed(node, journal, "book")) == state(node)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=bar_cmds, participation=st.sampled_from([None, D("0.25")]))
def test_bar_mode_invariants_and_replay(cmds: list[tuple[Any, ...]], participation: Decimal | None) -> None:
    journal = ListJournal()
    node = make_node("bar", journal=journal, participation=participation)
    for account in ACCOUNTS:
        node.open_account(account, cash={k: str(v) for k, v in DEPOSITS.items()})
    node.process_bar(bar(1, "100", "100.5", "99.5", "100"))
    runner = Runner(node, book=False)
    for cmd in cmds:
        runner.run(cmd)
        check_invariants(node, pairs_only=False)
    assert state(replayed(node, journal, "bar")) == state(node)
