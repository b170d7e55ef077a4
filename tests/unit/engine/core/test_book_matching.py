from __future__ import annotations

import pytest

from alphintra.engine.core.book import BookOrder, DepthLevel, RestingOrder
from alphintra.engine.core.enums import OrderSide, RejectReason, SelfTradeMode, TimeInForce
from alphintra.engine.core.errors import ConflictError, NotFoundError, ValidationError
from alphintra.engine.core.matching import Fill, MatchingEngine, MatchStatus

B, S = OrderSide.BUY, OrderSide.SELL
M = MatchStatus


def ladder(stp: SelfTradeMode = SelfTradeMode.CANCEL_RESTING) -> MatchingEngine:
    """Asks: 101 x5 (a1, acct a) then 101 x3 (b1, acct b), 102 x4 (c1); bids: 99 x2 (d1), 98 x6 (e1)."""
    engine = MatchingEngine(stp)
    for order_id, account, side, price, qty in [
        ("a1", "a", S, 101, 5),
        ("b1", "b", S, 101, 3),
        ("c1", "c", S, 102, 4),
        ("d1", "d", B, 99, 2),
        ("e1", "e", B, 98, 6),
    ]:
        assert engine.limit(order_id, account, side, price, qty).status is M.RESTED
    return engine


def test_resting_orders_show_in_l2_and_l3() -> None:
    book = ladder().book
    assert book.depth() == (
        [DepthLevel(99, 2, 1), DepthLevel(98, 6, 1)],
        [DepthLevel(101, 8, 2), DepthLevel(102, 4, 1)],
    )
    assert book.depth(1) == ([DepthLevel(99, 2, 1)], [DepthLevel(101, 8, 2)])
    bids, asks = book.l3()
    assert [o.order_id for o in bids] == ["d1", "e1"]
    assert asks == [
        RestingOrder("a1", "a", S, 101, 5),
        RestingOrder("b1", "b", S, 101, 3),
        RestingOrder("c1", "c", S, 102, 4),
    ]
    assert (book.best_bid(), book.best_ask()) == (99, 101)
    assert book.queue_position("b1") == 5 and book.queue_position("a1") == 0
    assert book.get("c1") == RestingOrder("c1", "c", S, 102, 4)
    assert len(book) == 5 and "a1" in book and "zz" not in book


def test_price_time_priority_and_maker_prices() -> None:
    engine = ladder()
    result = engine.limit("t1", "t", B, 102, 10)
    assert result.status is M.FILLED and (result.filled, result.canceled) == (10, 0)
    assert result.fills == (
        Fill(1, 101, 5, B, "a1", "a", "t1", "t"),
        Fill(2, 101, 3, B, "b1", "b", "t1", "t"),
        Fill(3, 102, 2, B, "c1", "c", "t1", "t"),
    )
    assert engine.book.get("c1") == RestingOrder("c1", "c", S, 102, 2)
    assert engine.book.depth()[1] == [DepthLevel(102, 2, 1)]
    assert engine.trade_seq == 3


def test_limit_partial_fill_rests_the_remainder() -> None:
    engine = ladder()
    result = engine.limit("t1", "t", B, 101, 10)
    assert result.status is M.PARTIALLY_FILLED and (result.filled, result.canceled) == (8, 0)
    assert engine.book.get("t1") == RestingOrder("t1", "t", B, 101, 2)
    assert (engine.book.best_bid(), engine.book.best_ask()) == (101, 102)


def test_sell_side_matches_bids_best_first() -> None:
    engine = ladder()
    result = engine.limit("t1", "t", S, 98, 3)
    assert [(f.maker_id, f.price, f.qty) for f in result.fills] == [("d1", 99, 2), ("e1", 98, 1)]
    assert result.status is M.FILLED


def test_market_walks_the_book_and_cancels_the_rest() -> None:
    engine = ladder()
    result = engine.market("m1", "t", B, 20)
    assert result.status is M.CANCELED and (result.filled, result.canceled) == (12, 8)
    assert [(f.price, f.qty) for f in result.fills] == [(101, 5), (101, 3), (102, 4)]
    assert engine.book.depth()[1] == [] and "m1" not in engine.book
    empty = MatchingEngine().market("m2", "t", S, 1)
    assert (empty.status, empty.filled, empty.canceled, empty.fills) == (M.CANCELED, 0, 1, ())


def test_ioc_fills_what_it_can_and_never_rests() -> None:
    engine = ladder()
    result = engine.limit("i1", "t", B, 101, 10, tif=TimeInForce.IOC)
    assert result.status is M.CANCELED and (result.filled, result.canceled) == (8, 2)
    assert "i1" not in engine.book
    passive = engine.limit("i2", "t", B, 100, 4, tif=TimeInForce.IOC)
    assert (passive.status, passive.filled, passive.canceled) == (M.CANCELED, 0, 4)
    assert "i2" not in engine.book


def test_fok_checks_before_touching_the_book() -> None:
    engine = ladder()
    before = engine.state()
    result = engine.limit("f1", "t", B, 101, 9, tif=TimeInForce.FOK)
    assert result.status is M.REJECTED and result.reason is RejectReason.FOK_NOT_FILLABLE
    assert (result.filled, result.canceled, result.fills) == (0, 9, ())
    assert engine.state() == before
    passive = engine.limit("f2", "t", B, 100, 1, tif=TimeInForce.FOK)
    assert passive.reason is RejectReason.FOK_NOT_FILLABLE and engine.state() == before
    full = engine.limit("f3", "t", B, 102, 12, tif=TimeInForce.FOK)
    assert full.status is M.FILLED and full.filled == 12
    assert engine.market("f4", "t", S, 9, fok=True).reason is RejectReason.FOK_NOT_FILLABLE
    assert engine.market("f5", "t", S, 8, fok=True).status is M.FILLED


def test_fok_does_not_count_own_liquidity_that_stp_would_remove() -> None:
    engine = ladder()  # CANCEL_RESTING: a's 5 lots at 101 would be canceled, not traded
    before = engine.state()
    assert engine.limit("f1", "a", B, 102, 8, tif=TimeInForce.FOK).reason is RejectReason.FOK_NOT_FILLABLE
    assert engine.state() == before
    assert engine.limit("f2", "a", B, 102, 7, tif=TimeInForce.FOK).status is M.FILLED
    taker_mode = ladder(SelfTradeMode.CANCEL_TAKER)  # matching would stop at a1 right away
    assert taker_mode.limit("f3", "a", B, 102, 1, tif=TimeInForce.FOK).reason is RejectReason.FOK_NOT_FILLABLE
    allow = ladder(SelfTradeMode.ALLOW)
    assert allow.limit("f4", "a", B, 102, 12, tif=TimeInForce.FOK).status is M.FILLED


def test_post_only_rejects_instead_of_taking() -> None:
    engine = ladder()
    before = engine.state()
    result = engine.limit("p1", "t", B, 101, 1, post_only=True)
    assert result.status is M.REJECTED and result.reason is RejectReason.POST_ONLY_WOULD_TRADE
    assert engine.state() == before
    assert engine.limit("p2", "t", B, 100, 1, post_only=True).status is M.RESTED
    assert engine.book.best_bid() == 100


def test_gtd_rests_like_gtc() -> None:
    engine = ladder()
    assert engine.limit("g1", "t", B, 100, 1, tif=TimeInForce.GTD).status is M.RESTED
    assert "g1" in engine.book


def test_stp_cancel_resting_removes_own_quotes_and_keeps_matching() -> None:
    engine = ladder()
    result = engine.limit("t1", "a", B, 102, 4)
    assert result.stp_canceled == (RestingOrder("a1", "a", S, 101, 5),)
    assert [(f.maker_id, f.price, f.qty) for f in result.fills] == [("b1", 101, 3), ("c1", 102, 1)]
    assert "a1" not in engine.book
    assert all(f.maker_account != f.taker_account for f in result.fills)


def test_stp_cancel_taker_stops_at_own_order() -> None:
    engine = MatchingEngine(SelfTradeMode.CANCEL_TAKER)
    engine.limit("x1", "x", S, 100, 2)
    engine.limit("a1", "a", S, 101, 5)
    engine.limit("y1", "y", S, 101, 5)
    result = engine.limit("t1", "a", B, 101, 10)
    assert result.status is M.CANCELED and result.reason is RejectReason.SELF_TRADE
    assert (result.filled, result.canceled) == (2, 8)
    assert [(f.maker_id, f.qty) for f in result.fills] == [("x1", 2)]
    assert result.stp_canceled == ()
    assert engine.book.get("a1") == RestingOrder("a1", "a", S, 101, 5) and "t1" not in engine.book


def test_stp_cancel_both() -> None:
    engine = MatchingEngine(SelfTradeMode.CANCEL_BOTH)
    engine.limit("a1", "a", S, 101, 5)
    engine.limit("y1", "y", S, 101, 5)
    result = engine.limit("t1", "a", B, 101, 10)
    assert (result.status, result.reason, result.filled, result.canceled) == (
        M.CANCELED,
        RejectReason.SELF_TRADE,
        0,
        10,
    )
    assert result.stp_canceled == (RestingOrder("a1", "a", S, 101, 5),)
    assert engine.book.l3()[1] == [RestingOrder("y1", "y", S, 101, 5)]


def test_stp_allow_trades_with_itself() -> None:
    engine = ladder(SelfTradeMode.ALLOW)
    result = engine.limit("t1", "a", B, 101, 1)
    assert result.fills == (Fill(1, 101, 1, B, "a1", "a", "t1", "a"),)


def test_cancel_is_by_id_and_idempotent() -> None:
    engine = ladder()
    engine.limit("t1", "t", B, 101, 2)  # a1 now has 3 left
    assert engine.cancel("a1") == 3
    assert engine.cancel("a1") == 0
    assert engine.cancel("nope") == 0
    assert engine.cancel("b1") == 3
    assert engine.book.depth()[1] == [DepthLevel(102, 4, 1)]  # the emptied level is gone
    assert engine.book.best_ask() == 102


def test_cancelled_records_do_not_trade_and_queues_stay_compact() -> None:
    engine = MatchingEngine()
    for i in range(100):
        engine.limit(i, "m", S, 100, 1)
    for i in range(0, 99):
        engine.cancel(i)
    level = engine.book.asks.levels[-100]
    assert level.count == 1 and level.qty == 1
    assert len(level.queue) <= 2 * level.count + 8
    assert sum(1 for o in level.queue if o.qty == 0) <= 8  # compaction really dropped the dead records
    result = engine.market("t", "t", B, 5)
    assert [(f.maker_id, f.qty) for f in result.fills] == [(99, 1)]


def test_modify_down_keeps_priority_and_up_loses_it() -> None:
    engine = ladder()
    assert engine.modify("a1", qty=2).status is M.RESTED
    assert engine.book.l3()[1][:2] == [RestingOrder("a1", "a", S, 101, 2), RestingOrder("b1", "b", S, 101, 3)]
    assert engine.book.depth()[1][0] == DepthLevel(101, 5, 2)
    assert engine.modify("a1", qty=4).status is M.RESTED
    assert [o.order_id for o in engine.book.l3()[1]] == ["b1", "a1", "c1"]
    assert engine.book.depth()[1][0] == DepthLevel(101, 7, 2)


def test_modify_price_loses_priority_and_may_trade() -> None:
    engine = ladder()
    engine.modify("a1", price=102)
    assert [o.order_id for o in engine.book.l3()[1]] == ["b1", "c1", "a1"]
    result = engine.modify("d1", price=101)  # d1 (2 lots) crosses and takes 2 of b1's 3
    assert result.status is M.FILLED
    assert [(f.maker_id, f.price, f.qty, f.taker_id) for f in result.fills] == [("b1", 101, 2, "d1")]


def test_modify_of_a_post_only_order_across_the_spread_is_refused() -> None:
    engine = ladder()
    engine.limit("p1", "p", B, 100, 3, post_only=True)
    before = engine.state()
    result = engine.modify("p1", price=101)
    assert result.status is M.REJECTED and result.reason is RejectReason.POST_ONLY_WOULD_TRADE
    assert engine.state() == before
    assert engine.modify("p1", price=100, qty=5).status is M.RESTED


def test_modify_errors() -> None:
    engine = ladder()
    with pytest.raises(NotFoundError):
        engine.modify("zz", qty=1)
    with pytest.raises(ValidationError) as err:
        engine.modify("a1", qty=0)
    assert err.value.field == "qty"
    with pytest.raises(ValidationError):
        engine.modify("a1", price=0)


def test_bad_submissions() -> None:
    engine = ladder()
    with pytest.raises(ConflictError):
        engine.limit("a1", "a", S, 105, 1)
    with pytest.raises(ConflictError):
        engine.market("a1", "a", B, 1)
    with pytest.raises(ValidationError) as err:
        engine.limit("n1", "a", S, 105, 0)
    assert err.value.field == "qty"
    with pytest.raises(ValidationError) as err:
        engine.submit(BookOrder("n2", "a", S, -1, 1))
    assert err.value.field == "price"
    with pytest.raises(ValidationError):
        engine.market("n3", "a", B, 0)
    for bad_side in ("BUY", "SELL"):  # plain strings would be compared by identity and misread
        with pytest.raises(ValidationError) as err:
            engine.limit("n4", "a", bad_side, 100, 1)  # type: ignore[arg-type]
        assert err.value.field == "side"
        with pytest.raises(ValidationError):
            engine.market("n5", "a", bad_side, 1)  # type: ignore[arg-type]
    assert len(engine.book) == 5


def test_fill_sequence_is_consecutive() -> None:
    engine = ladder()
    seqs = [f.seq for f in engine.market("m", "t", B, 6).fills + engine.market("n", "t", S, 8).fills]
    assert seqs == list(range(1, len(seqs) + 1))
