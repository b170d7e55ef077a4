"""TWAP and VWAP: exact slicing on the lot grid, schedules on the TestClock, fills on bars, the guard, cancel,
and journal replay + resume continuing the schedule."""

from __future__ import annotations

from decimal import Context, Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from node_kit import BUY, GOOG, MIN, SELL, D, bar, kinds, make_node

from alphintra.engine.algos import (
    AlgoStatus,
    GuardMode,
    Slice,
    TwapRequest,
    VwapRequest,
    respread,
    split_lots,
    volume_profile,
    volume_profile_from_bars,
)
from alphintra.engine.core.enums import OrderStatus, OrderType
from alphintra.engine.core.errors import ConflictError, ValidationError
from alphintra.engine.node import TradingNode
from alphintra.engine.risk import RiskEngine
from alphintra.storage.journal import FsyncPolicy, Journal

S = OrderStatus
AVG = Context(prec=34)  # averages are quotients to 34 significant digits (see Order.average_price)
OPENS = ["101", "102", "103", "104", "105", "106", "107", "108"]


def ready(**kwargs: object) -> TradingNode:
    node = make_node(**kwargs)  # type: ignore[arg-type]
    node.open_account("main", cash={"USD": "100000", "GOOG": "100"})
    node.process_bar(bar(1, "100", "101", "99", "100"))  # the clock is now at 2 * MIN - 1
    return node


def feed(node: TradingNode, first: int, last: int) -> None:
    for t in range(first, last + 1):
        o = OPENS[t - 2]
        node.process_bar(bar(t, o, str(D(o) + 1), str(D(o) - 1), o))


# -- splitting -----------------------------------------------------------------------------------------------


@given(
    total=st.integers(0, 10_000),
    weights=st.lists(st.integers(0, 50).map(Decimal), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
    min_lots=st.integers(1, 20),
)
def test_split_is_exact_and_respects_the_minimum(total: int, weights: list[Decimal], min_lots: int) -> None:
    lots = split_lots(total, weights, min_lots)
    assert len(lots) == len(weights) and sum(lots) == total
    nonzero = [x for x in lots if x]
    assert all(x >= min_lots for x in nonzero) or len(nonzero) == 1


@given(
    lots=st.lists(st.integers(0, 40), min_size=1, max_size=20),
    left=st.integers(0, 2_000),
)
def test_respread_keeps_the_times_and_splits_exactly_what_is_left(lots: list[int], left: int) -> None:
    plan = tuple(Slice(i * MIN, D(n)) for i, n in enumerate(lots))
    again = respread(GOOG, plan, D(left))
    assert [s.due_ns for s in again] == [s.due_ns for s in plan] and sum(s.quantity for s in again) == left
    if sum(lots) > 0:  # nothing changed: the plan comes back as it was
        assert respread(GOOG, plan, D(sum(lots))) == plan


def test_leftover_lots_go_to_the_last_slices() -> None:
    assert split_lots(23, [D(1)] * 5) == [4, 4, 5, 5, 5]
    assert split_lots(20, [D(1), D(2), D(3), D(4)]) == [2, 4, 6, 8]
    # Too small slices merge forward; an undersized last one joins the previous slice.
    assert split_lots(3, [D(1)] * 5, min_lots=2) == [0, 0, 0, 3, 0]


# -- TWAP on the clock ---------------------------------------------------------------------------------------


def test_twap_slices_go_out_at_their_times_with_exact_sizes() -> None:
    node = ready()
    start = 2 * MIN - 1
    progress = node.submit_twap(TwapRequest("GOOG", BUY, D(23), duration_ns=5 * MIN, slices=5, tags=("t1",)))
    plan = node.algos.plan(progress.algo_id)
    assert [(s.due_ns - start, s.quantity) for s in plan] == [(i * MIN, q) for i, q in enumerate(map(D, "44555"))]
    assert progress.slices_sent == 1  # the first slice is due now
    feed(node, 2, 7)
    children = node.algos.children(progress.algo_id)
    assert [(c.created_at - start, c.quantity) for c in children] == [(s.due_ns - start, s.quantity) for s in plan]
    first = children[0]
    assert (first.parent_order_id, first.client_order_id) == (progress.algo_id, f"{progress.algo_id}/0")
    assert first.tags == ("t1", f"algo:{progress.algo_id}", "slice:0") and first.order_type is OrderType.MARKET
    done = node.algos.progress(progress.algo_id)
    assert (done.status, done.filled, done.remaining, done.slices_done) == (AlgoStatus.COMPLETED, D(23), D(0), 5)
    # Each child filled at the open of the bar after it was sent: 4 x 101 + 4 x 102 + 5 x (103 + 104 + 105).
    assert done.average_price == AVG.divide(D(2372), D(23))
    assert [c.average_price for c in children] == [D(101), D(102), D(103), D(104), D(105)]


def test_randomised_twap_is_reproducible_and_stays_in_its_intervals() -> None:
    request = TwapRequest("GOOG", SELL, D(50), duration_ns=10 * MIN, slices=10, randomize=D("0.5"), seed=7)
    plans = []
    for _ in range(2):
        node = ready()
        plans.append(node.algos.plan(node.submit_twap(request).algo_id))
    assert plans[0] == plans[1]
    start = 2 * MIN - 1
    assert sum(s.quantity for s in plans[0]) == D(50)
    for i, s in enumerate(plans[0]):
        assert start + i * MIN <= s.due_ns < start + i * MIN + MIN // 2
    assert len({s.quantity for s in plans[0]}) > 1 and len({s.due_ns - i * MIN for i, s in enumerate(plans[0])}) > 1
    other = ready()
    assert other.algos.plan(other.submit_twap(request.__class__(**{**_fields(request), "seed": 8})).algo_id) != plans[0]


def _fields(request: TwapRequest) -> dict[str, object]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}


def test_guard_skip_rolls_the_quantity_forward() -> None:
    node = ready()
    progress = node.submit_twap(
        TwapRequest("GOOG", BUY, D(20), duration_ns=4 * MIN, slices=4, limit_price=D("101.5"), guard=GuardMode.SKIP)
    )
    algo = progress.algo_id
    feed(node, 2, 2)  # opens 101 (slice 0 fills), closes 101: slice 1 is sent as market
    feed(node, 3, 3)  # closes 102 > 101.5: slice 2 is skipped
    children = node.algos.children(algo)
    assert [c.quantity for c in children] == [D(5), D(5)]
    assert node.algos.progress(algo).slices_done == 3
    node.process_bar(bar(4, "101", "101.2", "100.8", "101"))  # back under the guard: slice 3 catches up
    children = node.algos.children(algo)
    assert [c.quantity for c in children] == [D(5), D(5), D(10)]
    node.process_bar(bar(5, "101", "101.2", "100.8", "101"))
    done = node.algos.progress(algo)
    assert (done.status, done.filled, done.average_price) == (AlgoStatus.COMPLETED, D(20), D("101.25"))


def test_guard_limit_sends_a_limit_at_the_guard_and_cancels_it_at_the_next_slice() -> None:
    node = ready()
    progress = node.submit_twap(
        TwapRequest("GOOG", BUY, D(10), duration_ns=2 * MIN, slices=2, limit_price=D("99.5"), guard=GuardMode.LIMIT)
    )
    first = node.algos.children(progress.algo_id)[0]
    assert (first.order_type, first.price, first.quantity) == (OrderType.LIMIT, D("99.5"), D(5))
    node.process_bar(bar(2, "100", "100.5", "99.8", "100"))  # never down to the guard
    second = node.algos.children(progress.algo_id)[1]
    assert first.status is S.CANCELED and first.status_message == "algo: the next slice is due"
    assert (second.order_type, second.price, second.quantity) == (OrderType.LIMIT, D("99.5"), D(10))
    node.process_bar(bar(3, "100", "100.2", "99", "99.2"))  # reaches 99.50: fills as maker at the guard
    done = node.algos.progress(progress.algo_id)
    assert (done.status, done.filled, done.average_price) == (AlgoStatus.COMPLETED, D(10), D("99.5"))


def test_cancel_stops_the_schedule_and_the_working_child() -> None:
    node = ready()
    progress = node.submit_twap(TwapRequest("GOOG", SELL, D(30), duration_ns=6 * MIN, slices=6))
    feed(node, 2, 2)
    working = node.algos.children(progress.algo_id)[-1]
    assert working.status is S.ACCEPTED
    canceled = node.algos.cancel(progress.algo_id, reason="enough")
    assert (canceled.status, canceled.filled, canceled.slices_sent) == (AlgoStatus.CANCELED, D(5), 2)
    assert working.status is S.CANCELED and working.status_message == "algo canceled: enough"
    assert f"algo:{progress.algo_id}" not in node.clock.timer_names()  # type: ignore[attr-defined]
    feed(node, 3, 7)
    assert len(node.algos.children(progress.algo_id)) == 2
    assert node.ledger.balance("main", "GOOG").total == D(95)
    with pytest.raises(ConflictError):
        node.algos.cancel(progress.algo_id)


def test_end_of_schedule_cancels_an_unfilled_child_and_reports_the_remainder() -> None:
    node = ready()
    progress = node.submit_twap(
        TwapRequest("GOOG", BUY, D(4), duration_ns=2 * MIN, slices=2, limit_price=D(90), guard=GuardMode.LIMIT)
    )
    feed(node, 2, 4)
    done = node.algos.progress(progress.algo_id)
    assert (done.status, done.filled, done.remaining, done.working_order_id) == (AlgoStatus.COMPLETED, 0, 4, None)
    assert [kinds(c)[-1] for c in node.algos.children(progress.algo_id)] == ["OrderCanceled", "OrderCanceled"]
    assert node.ledger.balance("main", "USD").locked == 0


# -- VWAP ----------------------------------------------------------------------------------------------------


def test_volume_profile_buckets_history_by_time_of_day() -> None:
    day = 86_400 * 10**9
    hour = 3_600 * 10**9
    samples = [(d * day + h * hour, vol) for d in range(2) for h, vol in ((9, 10), (10, 30), (11, 60), (15, 999))]
    weights = volume_profile(samples, start_ns=5 * day + 9 * hour, duration_ns=3 * hour, slices=3)
    assert weights == (D("0.1"), D("0.3"), D("0.6"))
    bars = [bar(t, "100", "100", "100", "100", v) for t, v in ((0, "1"), (1, "3"), (2, "0"), (3, "4"))]
    assert volume_profile_from_bars(bars, 0, 4 * MIN, 2, period_ns=4 * MIN) == (D("0.5"), D("0.5"))
    with pytest.raises(ValidationError) as info:
        volume_profile(samples, start_ns=0, duration_ns=hour, slices=1)
    assert info.value.field == "volume"


def test_vwap_sizes_follow_the_profile_and_fill_on_bars() -> None:
    node = ready()
    progress = node.submit_vwap(
        VwapRequest("GOOG", BUY, D(20), duration_ns=4 * MIN, weights=(D("0.1"), D("0.2"), D("0.3"), D("0.4")))
    )
    feed(node, 2, 6)
    children = node.algos.children(progress.algo_id)
    assert [(c.quantity, c.average_price) for c in children] == [
        (D(2), D(101)),
        (D(4), D(102)),
        (D(6), D(103)),
        (D(8), D(104)),
    ]
    done = node.algos.progress(progress.algo_id)
    assert (done.kind, done.status, done.filled) == ("VWAP", AlgoStatus.COMPLETED, D(20))
    assert done.average_price == D(103)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slices": 0}, "slices"),
        ({"duration_ns": 3}, "duration_ns"),
        ({"randomize": D("0.2")}, "seed"),
        ({"randomize": D(1), "seed": 1}, "randomize"),
        ({"quantity": D("1.5")}, "quantity"),
        ({"symbol": "NOPE"}, "symbol"),
        ({"limit_price": D("100.001")}, "limit_price"),
        ({"account": "ghost"}, "account"),
        ({"start_ns": 0}, "start_ns"),
    ],
)
def test_bad_algorithm_requests_are_refused_and_change_nothing(changes: dict[str, object], field: str) -> None:
    node = ready()
    base = {"symbol": "GOOG", "side": BUY, "quantity": D(10), "duration_ns": 5 * MIN, "slices": 5}
    before = (dict(node.orders), node.clock.timer_names())  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as info:
        node.submit_twap(TwapRequest(**{**base, **changes}))  # type: ignore[arg-type]
    assert info.value.field == field
    assert (dict(node.orders), node.clock.timer_names(), node.algos.list_algos()) == (*before, [])  # type: ignore[attr-defined]


# -- recovery ------------------------------------------------------------------------------------------------


def test_replay_and_resume_continue_the_schedule(tmp_path: Path) -> None:
    request = TwapRequest("GOOG", BUY, D(23), duration_ns=5 * MIN, slices=5, randomize=D("0.3"), seed=11)
    with Journal(tmp_path / "j", fsync=FsyncPolicy.GROUP) as journal:
        node = ready(journal=journal)
        algo = node.submit_twap(request).algo_id
        feed(node, 2, 3)
    node.journal = None  # the original goes on as the reference, without its (closed) journal
    # The process dies here. A new node replays the journal and resumes; both then see the same bars.
    records = [r.record for r in Journal(tmp_path / "j").read()]
    restored = make_node(start_ns=node.clock.now_ns())
    restored.replay(records)
    assert restored.algos.progress(algo) == node.algos.progress(algo)
    restored.resume()
    feed(node, 4, 7)
    feed(restored, 4, 7)
    original, again = node.algos.progress(algo), restored.algos.progress(algo)
    assert again.status is AlgoStatus.COMPLETED and again.filled == D(23)
    assert (again.filled, again.average_price, again.slices_sent) == (
        original.filled,
        original.average_price,
        original.slices_sent,
    )
    plan = restored.algos.plan(algo)
    assert [(c.created_at, c.quantity) for c in restored.algos.children(algo)] == [(s.due_ns, s.quantity) for s in plan]


# -- controls: cancel-all, halts, restarts (issue 14) --------------------------------------------------------


def test_cancel_all_stops_running_algorithms_and_their_working_children() -> None:
    node = ready()
    twap = node.submit_twap(TwapRequest("GOOG", SELL, D(30), duration_ns=6 * MIN, slices=6)).algo_id
    other = node.submit_twap(TwapRequest("GOOG", BUY, D(12), duration_ns=6 * MIN, slices=6, strategy="s2")).algo_id
    feed(node, 2, 2)
    working = [c for c in node.algos.children(twap) + node.algos.children(other) if not c.is_terminal]
    assert len(working) == 2
    assert node.algos.running(strategy="s2") == [other]
    done = node.cancel_all(reason="flat")
    assert sorted(o.id for o in done) == sorted(o.id for o in working)
    assert [node.algos.progress(a).status for a in (twap, other)] == [AlgoStatus.CANCELED] * 2
    assert node.algos.progress(twap).reason == "flat"
    feed(node, 3, 7)  # no slice goes out after the cancel-all
    assert [len(node.algos.children(a)) for a in (twap, other)] == [2, 2]
    assert node.algos.running() == []


def test_cancel_all_with_a_filter_leaves_other_algorithms_running() -> None:
    node = ready()
    mine = node.submit_twap(TwapRequest("GOOG", BUY, D(10), duration_ns=2 * MIN, slices=2, strategy="a")).algo_id
    theirs = node.submit_twap(TwapRequest("GOOG", BUY, D(10), duration_ns=2 * MIN, slices=2, strategy="b")).algo_id
    node.cancel_all(strategy="a")
    feed(node, 2, 4)
    assert (node.algos.progress(mine).status, node.algos.progress(theirs).status) == (
        AlgoStatus.CANCELED,
        AlgoStatus.COMPLETED,
    )
    assert node.algos.progress(theirs).filled == D(10)


def _risky() -> tuple[TradingNode, RiskEngine]:
    node = ready()
    risk = RiskEngine()
    node.risk = risk
    return node, risk


def test_a_halt_stops_slices_and_resume_respreads_the_rest_without_a_burst() -> None:
    node, risk = _risky()
    algo = node.submit_twap(TwapRequest("GOOG", BUY, D(60), duration_ns=6 * MIN, slices=6)).algo_id
    feed(node, 2, 2)  # slices 0 and 1 out (10 each); slice 0 filled at 101
    risk.halt(node, by="me", reason="look")
    feed(node, 3, 4)  # slices 2 and 3 come due while halted: nothing is sent
    assert [c.quantity for c in node.algos.children(algo)] == [D(10), D(10)]
    assert node.algos.notes(algo)[2].startswith("halted: ") and 3 in node.algos.notes(algo)
    risk.resume(node, by="me")
    feed(node, 5, 7)
    # 20 traded before the halt; the 40 left are spread over slices 4 and 5 (20 each), not 40 then 0.
    children = node.algos.children(algo)
    assert [c.quantity for c in children] == [D(10), D(10), D(20), D(20)]
    assert [s.quantity for s in node.algos.plan(algo)] == [D(10)] * 4 + [D(20)] * 2
    done = node.algos.progress(algo)
    assert (done.status, done.filled, done.slices_sent) == (AlgoStatus.COMPLETED, D(60), 4)


def test_a_halt_that_outlasts_the_schedule_completes_with_the_remainder() -> None:
    node, risk = _risky()
    algo = node.submit_twap(TwapRequest("GOOG", BUY, D(20), duration_ns=4 * MIN, slices=4)).algo_id
    risk.halt(node, by="me", reason="stop")
    feed(node, 2, 7)
    done = node.algos.progress(algo)
    assert (done.status, done.filled, done.remaining, done.reason) == (
        AlgoStatus.COMPLETED,
        D(5),
        D(15),
        "the schedule ended",
    )


def test_a_restart_after_missed_slices_respreads_the_rest(tmp_path: Path) -> None:
    request = TwapRequest("GOOG", BUY, D(60), duration_ns=6 * MIN, slices=6)
    with Journal(tmp_path / "j", fsync=FsyncPolicy.GROUP) as journal:
        node = ready(journal=journal)
        algo = node.submit_twap(request).algo_id
        feed(node, 2, 2)  # slices 0 and 1 sent; slice 0 filled
    records = [r.record for r in Journal(tmp_path / "j").read()]
    # The engine was down for slices 2 and 3 and comes back just after slice 4 was due.
    restored = make_node(start_ns=6 * MIN - 1)
    restored.replay(records)
    restored.resume()
    children = restored.algos.children(algo)
    # Slice 1 (10) was still working and is canceled as slice 4 is due; the 50 left go 25 + 25 over 4 and 5.
    assert [c.quantity for c in children] == [D(10), D(10), D(25)]
    assert "missed" in restored.algos.notes(algo)[2] and "missed" in restored.algos.notes(algo)[3]
    for t in range(6, 9):
        restored.process_bar(bar(t, "100", "101", "99", "100"))
    done = restored.algos.progress(algo)
    assert (done.status, done.filled, [c.quantity for c in restored.algos.children(algo)]) == (
        AlgoStatus.COMPLETED,
        D(60),
        [D(10), D(10), D(25), D(25)],
    )


def test_a_restart_after_the_end_sends_nothing_more(tmp_path: Path) -> None:
    with Journal(tmp_path / "j", fsync=FsyncPolicy.GROUP) as journal:
        node = ready(journal=journal)
        algo = node.submit_twap(TwapRequest("GOOG", BUY, D(20), duration_ns=4 * MIN, slices=4)).algo_id
    records = [r.record for r in Journal(tmp_path / "j").read()]
    restored = make_node(start_ns=60 * MIN)
    restored.replay(records)
    restored.resume()
    restored.process_bar(bar(60, "100", "101", "99", "100"))
    done = restored.algos.progress(algo)
    assert (done.status, done.slices_sent, done.filled) == (AlgoStatus.COMPLETED, 1, D(5))


def test_cancel_and_respread_are_journaled_and_replayed(tmp_path: Path) -> None:
    with Journal(tmp_path / "j", fsync=FsyncPolicy.GROUP) as journal:
        node = ready(journal=journal)
        node.risk = risk = RiskEngine()
        halted = node.submit_twap(TwapRequest("GOOG", BUY, D(60), duration_ns=6 * MIN, slices=6)).algo_id
        canceled = node.submit_twap(TwapRequest("GOOG", SELL, D(10), duration_ns=6 * MIN, slices=2)).algo_id
        node.algos.cancel(canceled, reason="changed my mind")
        risk.halt(node, by="me", reason="look")
        feed(node, 2, 3)
        risk.resume(node, by="me")
        feed(node, 4, 4)
    node.journal = None
    records = [r.record for r in Journal(tmp_path / "j").read()]
    assert [r["type"] for r in records if r["type"] == "AlgoRespread"] == ["AlgoRespread"]
    restored = make_node(start_ns=node.clock.now_ns())
    restored.replay(records)
    for algo in (halted, canceled):
        assert restored.algos.progress(algo) == node.algos.progress(algo)
        assert restored.algos.plan(algo) == node.algos.plan(algo)
    assert restored.algos.progress(canceled).reason == "changed my mind"
    restored.resume()
    assert restored.algos.running() == [halted]  # a replay never restarts a canceled algorithm
