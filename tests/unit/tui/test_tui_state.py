"""The update buffer coalesces per frame; the state folds updates exactly; the chart draws what it is given."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from alphintra.tui.buffer import Update, UpdateBuffer
from alphintra.tui.chart import Mark, Point, bucket, render_chart
from alphintra.tui.models import Candle, Connection
from alphintra.tui.state import TuiState


def order(oid: str, status: str, created: int = 1, strategy: str | None = None) -> dict[str, object]:
    return {
        "id": oid,
        "symbol": "GOOG",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": "2",
        "price": "700",
        "status": status,
        "created_at": created,
        "updated_at": created,
        "strategy": strategy,
    }


def fill(
    fid: str, side: str, qty: str, price: str, fee: str, strategy: str | None = "dca", ts: int = 1
) -> dict[str, object]:
    return {
        "id": fid,
        "order_id": "O-1",
        "symbol": "GOOG",
        "side": side,
        "quantity": qty,
        "price": price,
        "fee": fee,
        "fee_asset": "USD",
        "timestamp": ts,
        "strategy": strategy,
    }


def test_the_buffer_keeps_only_the_newest_update_per_key_in_first_arrival_order() -> None:
    buffer = UpdateBuffer()
    for i in range(1000):
        buffer.put("book", "GOOG", {"n": i})
    buffer.put("fill", "T1", 1)
    buffer.put("book", "BTC/USD", {"n": -1})
    buffer.put("fill", "T2", 2)
    assert buffer.drain() == [
        Update("book", "GOOG", {"n": 999}),
        Update("fill", "T1", 1),
        Update("book", "BTC/USD", {"n": -1}),
        Update("fill", "T2", 2),
    ]
    assert (buffer.received, buffer.delivered, len(buffer)) == (1003, 4, 0)
    assert buffer.drain() == []


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("xyz"), st.integers()), max_size=200))
def test_draining_equals_replaying_the_updates_into_a_dict(puts: list[tuple[str, str, int]]) -> None:
    buffer = UpdateBuffer()
    expected: dict[tuple[str, str], int] = {}
    for kind, key, value in puts:
        buffer.put(kind, key, value)
        expected[(kind, key)] = value
    assert {(u.kind, u.key): u.data for u in buffer.drain()} == expected


def test_order_updates_and_snapshots_keep_only_what_is_open() -> None:
    state = TuiState()
    changed = state.apply(
        [Update("order", "A", order("A", "ACCEPTED", 1)), Update("order", "B", order("B", "ACCEPTED", 2))]
    )
    assert changed == {"orders"}
    assert [o.id for o in state.open_orders()] == ["B", "A"]
    state.apply([Update("order", "A", order("A", "CANCELED", 1))])
    assert [o.id for o in state.open_orders()] == ["B"]
    # A snapshot after a reconnect that no longer lists B: B was closed while the stream was down.
    state.apply([Update("orders", "all", [order("C", "PARTIALLY_FILLED", 3)])])
    assert [o.id for o in state.open_orders()] == ["C"]
    assert state.orders["A"].status == "CANCELED"


def test_fills_are_deduplicated_and_strategy_pnl_is_exact() -> None:
    state = TuiState()
    state.apply(
        [
            Update(
                "fills", "all", [fill("T1", "BUY", "2", "100.10", "0.2002"), fill("T0", "BUY", "1", "5", "0", None)]
            ),
            Update("fill", "T1", fill("T1", "BUY", "2", "100.10", "0.2002")),
            Update("fill", "T2", fill("T2", "SELL", "1", "101.00", "0.101", ts=2)),
            Update(
                "ticker",
                "GOOG",
                {
                    "symbol": "GOOG",
                    "last": "102.50",
                    "bid": "102",
                    "ask": "103",
                    "change_pct": 1.5,
                    "volume": "10",
                    "ts": 9,
                },
            ),
        ]
    )
    assert [f.id for f in state.fills] == ["T0", "T1", "T2"]
    # -200.20 - 0.2002 + 101.00 - 0.101 + 1 x 102.50
    assert state.strategy_pnl("dca") == Decimal("2.9988")
    assert state.strategy_pnl("other") == Decimal(0)


def test_a_malformed_update_becomes_a_log_line_not_an_exception() -> None:
    state = TuiState()
    changed = state.apply([Update("order", "X", {"id": "X"}), Update("mystery", "k", 1)])
    assert changed == {"log"}
    assert [line.level for line in state.log] == ["ERROR", "ERROR"]
    assert state.log[0].text == "ignored a malformed order update: symbol: must be a non-empty string"
    assert state.log[1].text == "ignored a malformed mystery update: \"unknown update kind 'mystery'\""


def test_connection_changes_are_logged_once_per_change() -> None:
    state = TuiState()
    state.apply([Update("connection", "engine", Connection(True))])
    state.apply([Update("connection", "engine", Connection(False, "no engine is running", 1))])
    state.apply([Update("connection", "engine", Connection(False, "no engine is running", 2))])
    state.apply([Update("connection", "engine", Connection(True))])
    assert [(line.level, line.text) for line in state.log] == [
        ("INFO", "connected to the engine"),
        ("WARNING", "engine connection lost: no engine is running"),
        ("INFO", "connected to the engine"),
    ]
    assert state.log_total == 3


def test_a_live_venue_that_is_not_connected_is_logged_when_it_goes_and_comes_back() -> None:
    state = TuiState()
    state.apply([Update("connection", "engine", Connection(True))])
    state.apply([Update("connection", "engine", Connection(True, venues="binance1 reconnecting"))])
    state.apply([Update("connection", "engine", Connection(True, venues="binance1 reconnecting"))])
    state.apply([Update("connection", "engine", Connection(True))])
    assert [(line.level, line.text) for line in state.log] == [
        ("INFO", "connected to the engine"),
        ("WARNING", "venue binance1 reconnecting"),
        ("INFO", "venues connected"),
    ]


def candle(t: int, o: str, h: str, low: str, c: str) -> Candle:
    return Candle(t, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(1))


def test_the_chart_has_its_height_and_draws_bodies_wicks_marks_and_fills() -> None:
    bars = [candle(60_000_000_000 * i, "10", "12", "8", "11" if i % 2 else "9") for i in range(5)]
    text = render_chart(
        bars,
        30,
        10,
        marks=[Mark(Decimal("8"), "B ", "green")],
        points=[Point(60_000_000_000 * 4, Decimal("12"), "▼", "red")],
    )
    lines = text.plain.split("\n")
    assert len(lines) == 10
    plot = [line[:5] for line in lines[:9]]
    assert plot[0] == "││││▼"  # highs at the top row, the fill marker in the last bar's column
    assert plot[8] == "│││││"  # the lows' wicks sit on the order's line at 8.00 ...
    assert lines[8][5:21] == "╌" * 16  # ... which runs across the rest of the plot (21 columns beside the axis)
    assert lines[8].endswith("┤B 8.00")
    assert lines[0].endswith("12.00")
    assert lines[9].startswith("00:00")


def test_bucketing_merges_runs_of_bars_exactly() -> None:
    bars = [candle(i, str(10 + i), str(20 + i), str(i), str(11 + i)) for i in range(10)]
    merged = bucket(bars, 3)
    assert [(c.time, c.open, c.high, c.low, c.close) for c in merged] == [
        (0, Decimal(10), Decimal(22), Decimal(0), Decimal(13)),
        (3, Decimal(13), Decimal(25), Decimal(3), Decimal(16)),
        (6, Decimal(16), Decimal(29), Decimal(6), Decimal(20)),
    ]
    assert sum(c.volume for c in merged) == Decimal(10)
    assert bucket(bars, 20) == bars


def test_amounts_round_half_even_whatever_the_thread_decimal_context() -> None:
    # ccxt leaves the thread's decimal context at ROUND_HALF_UP; the full run then drew a 4.50225 fee as 4.5023 in
    # the dashboard snapshot. The TUI must round as the ledger and the tables do.
    from decimal import ROUND_HALF_UP, localcontext

    from alphintra.tui.base import money, signed

    with localcontext() as ctx:
        ctx.rounding = ROUND_HALF_UP
        assert money(Decimal("4.50225"), 4) == "4.5022"
        assert money(Decimal("1234.125")) == "1,234.12"
        assert signed(Decimal("0.125")).plain == "+0.12"
        assert signed(Decimal("-0.125")).plain == "-0.12"
    assert money(None) == "-"
