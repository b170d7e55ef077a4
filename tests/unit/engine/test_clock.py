from __future__ import annotations

import pytest

from alphintra.engine.clock import LiveClock, TestClock


def test_timers_fire_in_time_order_at_their_own_time() -> None:
    clock = TestClock(start_ns=100)
    seen: list[tuple[str, int, int]] = []
    clock.set_timer("b", lambda n, t: seen.append((n, t, clock.now_ns())), at_ns=300)
    clock.set_timer("a", lambda n, t: seen.append((n, t, clock.now_ns())), at_ns=200)
    clock.set_timer("tick", lambda n, t: seen.append((n, t, clock.now_ns())), interval_ns=150, stop_ns=400)
    assert clock.advance_to(1000) == 4
    # the repeating timer starts one interval after "now" and stops at stop_ns (550 would be past it)
    assert seen == [("a", 200, 200), ("tick", 250, 250), ("b", 300, 300), ("tick", 400, 400)]
    assert clock.now_ns() == 1000
    assert clock.next_due_ns() is None


def test_cancel_and_replace() -> None:
    clock = TestClock()
    seen: list[str] = []
    clock.set_timer("x", lambda n, t: seen.append("first"), at_ns=10)
    clock.set_timer("x", lambda n, t: seen.append("second"), at_ns=20)
    clock.set_timer("y", lambda n, t: seen.append("y"), at_ns=15)
    clock.cancel_timer("y")
    clock.advance_to(50)
    assert seen == ["second"]


def test_time_never_goes_backwards() -> None:
    clock = TestClock(start_ns=10)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(5)


def test_live_clock_fires_only_due_timers() -> None:
    clock = LiveClock()
    seen: list[str] = []
    now = clock.now_ns()
    clock.set_timer("past", lambda n, t: seen.append(n), at_ns=now - 1)
    clock.set_timer("future", lambda n, t: seen.append(n), at_ns=now + 3_600 * 10**9)
    assert clock.fire_due() == 1
    assert seen == ["past"]
    assert clock.next_due_ns() == now + 3_600 * 10**9
