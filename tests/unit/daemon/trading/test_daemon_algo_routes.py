"""/api/v1/algos: list, one with its slices, its child orders and cancel; cancel-all stops algorithms; /orders
can leave algorithm children out; a canceled algorithm stays canceled across a restart (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from trading_support import Engine

ALGOS = "/api/v1/algos"


@pytest.fixture
def feed_off(isolated_home: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()


@pytest.fixture
def engine(feed_off: None) -> Iterator[Engine]:
    eng = Engine()
    try:
        yield eng
    finally:
        eng.close()


def _twap(engine: Engine, quantity: str = "0.01", slices: int = 10, **extra: Any) -> dict[str, Any]:
    """A TWAP over an hour: its first slice goes out (and fills) at once, the next one only in six minutes."""
    body = {"symbol": "BTC/USD", "side": "BUY", "quantity": quantity} | extra
    r = engine.client.post(
        "/api/v1/orders", json={**body, "algo": {"kind": "twap", "duration_s": 3600, "slices": slices}}
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["algo"])


def test_algorithms_are_listed_shown_with_slices_and_children(engine: Engine) -> None:
    c = engine.client
    engine.tick("BTC/USD", "60000")
    algo = _twap(engine, strategy="s1")
    algo_id = algo["algo_id"]
    assert algo_id.startswith("ALGO-") and (algo["status"], algo["slices_sent"]) == ("RUNNING", 1)
    listed = c.get(ALGOS).json()
    assert [a["algo_id"] for a in listed] == [algo_id]
    one = listed[0]
    assert {k: one[k] for k in ("kind", "symbol", "side", "quantity", "filled", "remaining", "slices_total")} == {
        "kind": "TWAP",
        "symbol": "BTC/USD",
        "side": "BUY",
        "quantity": "0.0100",
        "filled": "0.0010",
        "remaining": "0.0090",
        "slices_total": 10,
    }
    assert one["start_at"].endswith("Z") and one["end_at"] > one["start_at"] and one["ended_at"] is None
    assert "child_order_ids" not in one  # the list stays small however many slices an algorithm has
    assert c.get(ALGOS, params={"strategy": "other"}).json() == []
    assert [a["algo_id"] for a in c.get(ALGOS, params={"status": "RUNNING", "symbol": "BTC/USD"}).json()] == [algo_id]

    shown = c.get(f"{ALGOS}/{algo_id}").json()
    child_id = shown["child_order_ids"][0]
    assert [(s["slice"], s["quantity"], s["order_id"]) for s in shown["slices"][:2]] == [
        (0, "0.0010", child_id),
        (1, "0.0010", None),
    ]
    children = c.get(f"{ALGOS}/{algo_id}/orders").json()
    assert [(o["id"], o["parent_order_id"], o["status"]) for o in children] == [(child_id, algo_id, "FILLED")]

    plain = engine.order(symbol="BTC/USD", side="BUY", quantity="0.001")
    every = [o["id"] for o in c.get("/api/v1/orders").json()]
    top = [o["id"] for o in c.get("/api/v1/orders", params={"children": "false"}).json()]
    assert (every, top) == ([plain["id"], child_id], [plain["id"]])

    missing = c.get(f"{ALGOS}/ALGO-99999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "algorithm 'ALGO-99999999' not found"


def test_cancel_an_algorithm_by_delete_or_post_and_only_once(engine: Engine) -> None:
    c = engine.client
    engine.tick("BTC/USD", "60000")
    first, second = _twap(engine)["algo_id"], _twap(engine)["algo_id"]
    viewer = engine.tcp("v", "viewer")
    assert viewer.delete(f"{ALGOS}/{first}").status_code == 403
    done = c.delete(f"{ALGOS}/{first}").json()
    assert (done["status"], done["filled"], done["reason"]) == ("CANCELED", "0.0010", "canceled by user")
    assert done["ended_at"].endswith("Z")
    assert c.post(f"{ALGOS}/{second}/cancel").json()["status"] == "CANCELED"
    again = c.post(f"{ALGOS}/{first}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == f"algorithm {first} is CANCELED; only a running one can be canceled"


def test_cancel_all_cancels_algorithms_and_says_which(engine: Engine) -> None:
    c = engine.client
    engine.tick("BTC/USD", "60000")
    engine.tick("ETH/USD", "3000")
    btc = _twap(engine)["algo_id"]
    eth = _twap(engine, quantity="1", symbol="ETH/USD")["algo_id"]
    resting = engine.order(symbol="BTC/USD", side="BUY", quantity="0.001", type="LIMIT", price="50000")
    answer = c.post("/api/v1/orders/cancel-all", json={"symbol": "BTC/USD"}).json()
    assert answer == {"canceled": [resting["id"]], "canceled_algos": [btc]}
    statuses = {a["algo_id"]: a["status"] for a in c.get(ALGOS).json()}
    assert statuses == {btc: "CANCELED", eth: "RUNNING"}


def test_a_canceled_algorithm_stays_canceled_after_a_restart(feed_off: None) -> None:
    first = Engine()
    try:
        first.tick("BTC/USD", "60000")
        algo_id = _twap(first)["algo_id"]
        first.client.post(f"{ALGOS}/{algo_id}/cancel")
    finally:
        first.close()
    again = Engine()
    try:
        shown = again.client.get(f"{ALGOS}/{algo_id}").json()
        assert (shown["status"], shown["filled"], shown["slices_sent"]) == ("CANCELED", "0.0010", 1)
        assert shown["reason"] == "canceled by user"
    finally:
        again.close()
