"""Invariants of the matching engine over random command sequences (hypothesis)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.benchmarks.matching import NaiveBook
from alphintra.engine.core.enums import OrderSide, SelfTradeMode, TimeInForce
from alphintra.engine.core.errors import NotFoundError
from alphintra.engine.core.matching import Fill, MatchingEngine, MatchResult, MatchStatus

B, S = OrderSide.BUY, OrderSide.SELL
sides = st.sampled_from([B, S])
prices = st.integers(95, 105)
accounts = st.sampled_from(["a", "b", "c"])
limit_cmd = st.tuples(
    st.just("limit"), sides, prices, st.integers(1, 6), st.sampled_from(list(TimeInForce)), st.booleans(), accounts
)
market_cmd = st.tuples(st.just("market"), sides, st.integers(1, 15), st.booleans(), accounts)
cancel_cmd = st.tuples(st.just("cancel"), st.integers(0, 500))
modify_cmd = st.tuples(st.just("modify"), st.integers(0, 500), st.none() | prices, st.none() | st.integers(1, 8))
commands = st.lists(st.one_of(limit_cmd, limit_cmd, market_cmd, cancel_cmd, modify_cmd), max_size=60)
modes = st.sampled_from(list(SelfTradeMode))


@dataclass
class Tally:
    """What the test expects of each order: lots given to the book = filled + resting + canceled."""

    budget: Counter[int] = field(default_factory=Counter)
    filled: Counter[int] = field(default_factory=Counter)
    canceled: Counter[int] = field(default_factory=Counter)
    limits: dict[int, tuple[OrderSide, int | None]] = field(default_factory=dict)
    post_only: set[int] = field(default_factory=set)
    fills: list[Fill] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    # The taker's side and limit when each fill happened (a later modify may change the limit).
    fill_limits: dict[int, tuple[OrderSide, int | None]] = field(default_factory=dict)


def record(tally: Tally, taker: int, result: MatchResult) -> None:
    tally.results.append(result)
    assert sum(f.qty for f in result.fills) == result.filled  # what the makers gave is what the taker got
    for f in result.fills:
        assert f.taker_id == taker
        tally.fill_limits[f.seq] = tally.limits[taker]
        tally.filled[f.maker_id] += f.qty
        tally.filled[f.taker_id] += f.qty
    tally.canceled[taker] += result.canceled
    for gone in result.stp_canceled:
        tally.canceled[gone.order_id] += gone.qty
    tally.fills.extend(result.fills)


def play(engine: MatchingEngine, cmds: list[tuple[Any, ...]], check: bool = True) -> Tally:
    tally = Tally()
    issued: list[int] = []
    for number, cmd in enumerate(cmds, start=1):
        kind = cmd[0]
        if kind == "limit":
            _, side, price, qty, tif, post_only, account = cmd
            post_only = post_only and tif not in (TimeInForce.IOC, TimeInForce.FOK)
            tally.budget[number] = qty
            tally.limits[number] = (side, price)
            if post_only:
                tally.post_only.add(number)
            issued.append(number)
            record(tally, number, engine.limit(number, account, side, price, qty, tif=tif, post_only=post_only))
        elif kind == "market":
            _, side, qty, fok, account = cmd
            tally.budget[number] = qty
            tally.limits[number] = (side, None)
            record(tally, number, engine.market(number, account, side, qty, fok=fok))
        elif kind == "cancel" and issued:
            target = issued[cmd[1] % len(issued)]
            tally.canceled[target] += engine.cancel(target)
        elif kind == "modify" and issued:
            target = issued[cmd[1] % len(issued)]
            resting = engine.book.get(target)
            if resting is None:
                try:
                    engine.modify(target, price=cmd[2], qty=cmd[3])
                except NotFoundError:
                    continue
                raise AssertionError("modify of an order not in the book must raise NotFoundError")
            result = engine.modify(target, price=cmd[2], qty=cmd[3])
            if result.status is not MatchStatus.REJECTED:
                new_qty = resting.qty if cmd[3] is None else cmd[3]
                tally.budget[target] += new_qty - resting.qty
                if cmd[2] is not None:
                    tally.limits[target] = (resting.side, cmd[2])
            record(tally, target, result)
        if check:
            check_invariants(engine, tally)
    return tally


def check_invariants(engine: MatchingEngine, tally: Tally) -> None:
    book = engine.book
    assert not book.is_crossed()
    bids, asks = book.l3()
    depth_bids, depth_asks = book.depth(10**6)
    for resting, depth in ((bids, depth_bids), (asks, depth_asks)):
        per_level: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for order in resting:
            assert order.qty > 0
            per_level[order.price][0] += order.qty
            per_level[order.price][1] += 1
        assert [(d.price, d.qty, d.orders) for d in depth] == [(p, q, n) for p, (q, n) in per_level.items()]
        assert sorted(per_level, reverse=resting is bids) == list(per_level)  # best first
    resting_qty = {o.order_id: o.qty for o in bids + asks}
    assert len(resting_qty) == len(book)
    for order_id, budget in tally.budget.items():
        assert tally.filled[order_id] <= budget
        assert tally.filled[order_id] + resting_qty.get(order_id, 0) + tally.canceled[order_id] == budget


@settings(max_examples=600, deadline=None)
@given(commands, modes)
def test_invariants_hold_after_every_command(cmds: list[tuple[Any, ...]], mode: SelfTradeMode) -> None:
    engine = MatchingEngine(mode)
    tally = play(engine, cmds)
    assert [f.seq for f in tally.fills] == list(range(1, len(tally.fills) + 1))
    for f in tally.fills:
        if mode is not SelfTradeMode.ALLOW:
            assert f.maker_account != f.taker_account
        side, limit = tally.fill_limits[f.seq]
        assert f.taker_side is side
        if limit is not None:
            assert f.price <= limit if side is B else f.price >= limit
    takers = {f.taker_id for f in tally.fills}
    assert not takers & tally.post_only


@settings(max_examples=300, deadline=None)
@given(commands, modes)
def test_replaying_the_same_commands_gives_the_same_book(cmds: list[tuple[Any, ...]], mode: SelfTradeMode) -> None:
    first, second = MatchingEngine(mode), MatchingEngine(mode)
    tally_1 = play(first, cmds, check=False)
    tally_2 = play(second, cmds, check=False)
    assert tally_1.results == tally_2.results
    assert first.state() == second.state()
    assert first.book.depth(50) == second.book.depth(50)


simple_cmds = st.lists(
    st.one_of(
        st.tuples(
            st.just("limit"), sides, prices, st.integers(1, 6), st.just(TimeInForce.GTC), st.just(False), accounts
        ),
        market_cmd.map(lambda c: (c[0], c[1], c[2], False, c[4])),
        cancel_cmd,
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(simple_cmds)
def test_same_trades_as_the_naive_reference(cmds: list[tuple[Any, ...]]) -> None:
    engine = MatchingEngine(SelfTradeMode.ALLOW)
    tally = play(engine, cmds, check=False)
    naive = NaiveBook()
    issued: list[int] = []
    for number, cmd in enumerate(cmds, start=1):
        if cmd[0] == "limit":
            naive.limit(number, cmd[6], cmd[1], Decimal(cmd[2]), cmd[3])
            issued.append(number)
        elif cmd[0] == "market":
            naive.market(number, cmd[1], cmd[2])
        elif issued:
            naive.cancel(issued[cmd[1] % len(issued)])
    assert [(f.maker_id, f.taker_id, Decimal(f.price), f.qty) for f in tally.fills] == naive.fills
    naive_bids = [(e[2], -e[0], e[4]) for e in naive.bids]
    naive_asks = [(e[2], e[0], e[4]) for e in naive.asks]
    bids, asks = engine.book.l3()
    assert [(o.order_id, o.price, o.qty) for o in bids] == naive_bids
    assert [(o.order_id, o.price, o.qty) for o in asks] == naive_asks
