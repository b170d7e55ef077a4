"""Crash test of live mode: orders work at the fake exchange, the daemon is SIGKILLed, and while it is down the
exchange fills two of them and cancels one from outside. The restarted daemon reconciles with the exchange before
it trades: each fill is booked exactly once, the canceled order is closed, the balances match the exchange's to
the last unit, nothing is sent again (the exchange's own log holds one order per client order id), and the order
that kept working is still working."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from engine_e2e_support import daemon_home
from live_e2e_support import ACCOUNT, D, live_home

from alphintra.venues.fake.testing import FakeHandle, running_fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


@pytest.mark.both_backends
def test_fills_and_a_cancel_while_the_daemon_is_down_are_booked_once_after_restart(fake: FakeHandle) -> None:
    with daemon_home() as d:
        live = live_home(d, fake)
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
        d.start()
        terms = [("buy", "29000"), ("buy", "28900"), ("buy", "28800"), ("sell", "31000")]
        ids = []
        for side, price in terms:
            placed = live.ok("order", side, "BTC/USDT", "0.01", "--limit", price, "--account", ACCOUNT, "--yes")
            ids.append(placed["id"])
        for order_id in ids:
            live.wait_status(order_id, "ACCEPTED")
        filled_a, filled_b, canceled, kept = ids
        d.kill()
        for order_id in (filled_a, filled_b):
            fake.admin("POST", "fill", {"api_key": live.api_key, "client_order_id": order_id})
        fake.admin("POST", "cancel", {"api_key": live.api_key, "client_order_id": canceled})
        d.start()
        for order_id in (filled_a, filled_b):
            done = live.wait_status(order_id, "FILLED")
            assert D(done["filled_quantity"]) == D("0.01") and len(done["trade_ids"]) == 1
        live.wait_status(canceled, "CANCELED")
        assert live.order(kept)["status"] == "ACCEPTED"
        per_order = Counter(t["order_id"] for t in live.ok("trades", "list"))
        assert per_order == {filled_a: 1, filled_b: 1}
        live.assert_agrees()
        log = live.order_log()
        assert sorted(o["client_order_id"] for o in log) == sorted(ids)
        # a second restart finds nothing new to book
        d.stop()
        d.start()
        assert Counter(t["order_id"] for t in live.ok("trades", "list")) == per_order
        live.assert_agrees()
