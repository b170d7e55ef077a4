"""The daemon's snapshots and retention: a restart after snapshots keeps every order, lock and balance; finished
orders leave the engine's memory and are still served (from the projection); their client ids stay used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from alphintra.formatting import ns_from_iso
from tests.waiting import wait_for

MakeEngine = Callable[..., Engine]


@pytest.fixture
def make_engine(isolated_home: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeEngine]:
    """Started hosts with engine settings given as keywords (paper feed off)."""
    from alphintra.config.settings import reset_settings_cache

    engines: list[Engine] = []

    def make(**engine_settings: str) -> Engine:
        for key, value in engine_settings.items():
            monkeypatch.setenv(f"ALPHINTRA_ENGINE__{key.upper()}", value)
        monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
        reset_settings_cache()
        engines.append(Engine())
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


def exact(view: dict[str, Any]) -> dict[str, Any]:
    """A trade view with its amounts as numbers (the projection stores them normalised: 3001.5 for 3001.50) and
    its time in whole microseconds (the projection's datetime precision)."""
    out = {k: Decimal(v) if k in ("quantity", "price", "fee") else v for k, v in view.items()}
    out["timestamp"] = micros(view["timestamp"])
    return out


_AMOUNTS = ("quantity", "price", "stop_price", "filled_quantity", "leaves_quantity", "average_price", "filled_notional")


def comparable(view: dict[str, Any]) -> dict[str, Any]:
    """An order view with amounts as numbers and times in microseconds (what the projection keeps)."""
    out = {k: (None if v is None else Decimal(v)) if k in _AMOUNTS else v for k, v in view.items()}
    out["fees"] = {asset: Decimal(amount) for asset, amount in view["fees"].items()}
    for key in ("created_at", "updated_at", "expires_at"):
        out[key] = micros(view[key])
    return out


def micros(text: str | None) -> int | None:
    """An API time (ISO-8601 text) in whole microseconds."""
    ns = ns_from_iso(text)
    return None if ns is None else ns // 1000


def balances(engine: Engine) -> dict[str, tuple[Decimal, Decimal]]:
    rows = engine.client.get("/api/v1/portfolio/balances").json()
    return {b["asset"]: (Decimal(b["total"]), Decimal(b["locked"])) for b in rows}


def test_a_restart_after_snapshots_keeps_orders_locks_and_balances(make_engine: MakeEngine) -> None:
    engine = make_engine(snapshot_every="100")
    engine.tick("ETH/USD", "3000")
    market = {}
    for i in range(30):  # fills and resting orders: well over 100 journal records
        market[i] = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", client_order_id=f"m-{i}")
        engine.order(symbol="ETH/USD", side="BUY", type="LIMIT", quantity="0.1", price="2000", client_order_id=f"l-{i}")
    snapshots = engine.host.snapshots
    assert snapshots is not None
    wait_for(lambda: snapshots.taken >= 1, "a snapshot to be written")
    late = engine.order(
        symbol="ETH/USD", side="SELL", type="LIMIT", quantity="0.2", price="4000", client_order_id="late"
    )
    before = balances(engine)
    working = {o["id"] for o in engine.client.get("/api/v1/orders", params={"open": True, "limit": 1000}).json()}
    assert late["id"] in working and len(working) == 31
    engine.close()

    restarted = make_engine()
    assert restarted.host.snapshots is not None and restarted.host.snapshots.last_seq > 0  # started from one
    again = restarted.client.get("/api/v1/orders", params={"open": True, "limit": 1000}).json()
    assert {o["id"] for o in again} == working
    assert balances(restarted) == before
    body = {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.1", "client_order_id": "m-3"}
    dup = restarted.client.post("/api/v1/orders", json=body)
    assert dup.status_code == 200 and dup.json()["id"] == market[3]["id"]  # the same order, not a new one


def test_finished_orders_leave_memory_and_are_served_from_the_projection(make_engine: MakeEngine) -> None:
    engine = make_engine(order_retention="2")
    c = engine.client
    engine.tick("ETH/USD", "3000")
    first = engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", client_order_id="gone")
    assert first["status"] == "FILLED"
    trade = c.get("/api/v1/trades", params={"order_id": first["id"]}).json()[0]
    for i in range(3):  # retention 2: the oldest finished order goes once three more finished
        engine.order(symbol="ETH/USD", side="BUY", quantity="0.1", client_order_id=f"next-{i}")

    def in_memory() -> bool:
        node = engine.host.node
        assert node is not None
        return first["id"] in node.orders

    wait_for(lambda: not engine.host.call(in_memory), "retention to drop the oldest finished order")
    wait_for(lambda: engine.host.archive.order(first["id"]) is not None, "the projection to hold the order")
    served = c.get(f"/api/v1/orders/{first['id']}")
    assert served.status_code == 200, served.text
    view: dict[str, Any] = served.json()
    assert (view["id"], view["client_order_id"], view["status"]) == (first["id"], "gone", "FILLED")
    assert Decimal(view["filled_quantity"]) == Decimal("0.1")
    assert Decimal(view["average_price"]) == Decimal(first["average_price"])
    assert set(view) == set(first)  # the archived view has the live view's shape
    for key in ("created_at", "updated_at", "expires_at"):
        assert isinstance(view[key], str) or view[key] is None, key
        assert micros(view[key]) == micros(first[key]), key
    assert comparable(view) == comparable(first)
    served_trade = c.get(f"/api/v1/trades/{trade['id']}")
    assert served_trade.status_code == 200
    assert exact(served_trade.json()) == exact(trade)
    # Its client order id stays used for the life of the home.
    reused = c.post(
        "/api/v1/orders", json={"symbol": "ETH/USD", "side": "BUY", "quantity": "0.1", "client_order_id": "gone"}
    )
    assert reused.status_code == 409 and "client_order_id 'gone' was used" in reused.json()["detail"]
    assert c.get("/api/v1/orders/no-such-order").status_code == 404
