"""Accounts owned by users, on a real trading host with two accounts on one venue (ownership.py): each trader's
listings, by-id reads, changes and streams reach only the accounts they own; an admin reaches every account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from trading_support import Engine

from alphintra.daemon.audit import AuditLog
from alphintra.daemon.protocol import Role
from alphintra.daemon.users import UserStore

CONFIG = """
[accounts.main]
venue = "sim"

[accounts.other]
venue = "sim"
"""
LIMIT = {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001", "type": "LIMIT", "price": "50000"}
MARKET = {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001", "type": "MARKET"}


@pytest.fixture
def desk(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, AuditLog]]:
    """tom owns main, eve owns other, vic views main, ann is the admin."""
    from alphintra.config.settings import reset_settings_cache

    config = isolated_home.parent / "two-accounts.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("ALPHINTRA_CONFIG", str(config))
    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    log, users = AuditLog(isolated_home), UserStore(isolated_home)
    users.add("tom", Role.TRADER, ("main",), now="t0")
    users.add("eve", Role.TRADER, ("other",), now="t0")
    users.add("vic", Role.VIEWER, ("main",), now="t0")
    users.add("ann", Role.ADMIN, (), now="t0")
    eng = Engine(audit=log, users=users)
    try:
        eng.tick("BTC/USD", "60000")
        yield eng, log
    finally:
        eng.close()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def forbidden(response: Any, user: str, account: str) -> None:
    assert (response.status_code, response.json()) == (
        403,
        {"error": "forbidden", "detail": f"user {user} may not use account {account!r}", "field": None},
    ), response.text


def stream(client: TestClient, topic: str) -> Any:
    return client.websocket_connect(f"/ws/{topic}")


def test_listings_and_streams_show_each_trader_only_their_accounts(desk: tuple[Engine, AuditLog]) -> None:
    engine, _ = desk
    tom, eve, vic, ann = (
        engine.tcp(u, r) for u, r in (("tom", "trader"), ("eve", "trader"), ("vic", "viewer"), ("ann", "admin"))
    )
    with (
        stream(tom, "orders/updates") as tom_orders,
        stream(tom, "trades/updates") as tom_fills,
        stream(eve, "orders/updates") as eve_orders,
        stream(eve, "trades/updates") as eve_fills,
        stream(ann, "trades/updates") as all_fills,
        stream(eve, "market-data/trades/BTC/USD") as eve_market,
    ):
        hellos = [ws.receive_json() for ws in (tom_orders, tom_fills, eve_orders, eve_fills, all_fills, eve_market)]
        assert [h["type"] for h in hellos] == ["subscribed"] * 6
        assert [h["seq"] for h in hellos[:4]] == [0, 0, 0, 0]  # a limited stream counts its own messages
        # Interleaved, so a leak would show in either stream before the owner's own messages.
        eve_limit = ok(eve.post("/api/v1/orders", json={**LIMIT, "account": "other"}), 201)
        tom_limit = ok(tom.post("/api/v1/orders", json=LIMIT), 201)
        eve_fill = ok(eve.post("/api/v1/orders", json={**MARKET, "account": "other"}), 201)
        tom_fill = ok(tom.post("/api/v1/orders", json=MARKET), 201)
        assert (eve_limit["account"], tom_limit["account"]) == ("other", "main")
        assert (eve_fill["status"], tom_fill["status"]) == ("FILLED", "FILLED")

        def until(ws: Any, order_id: str, status: str | None = None) -> list[dict[str, Any]]:
            got = []
            while True:
                message = ws.receive_json()
                got.append(message)
                data = message["data"]
                if data.get("order_id", data.get("id")) == order_id and status in (None, data.get("status")):
                    return got

        tom_seen = until(tom_orders, tom_fill["id"], "FILLED")
        eve_seen = until(eve_orders, eve_fill["id"], "FILLED")
        assert {m["data"]["account"] for m in tom_seen} == {"main"}
        assert {m["data"]["account"] for m in eve_seen} == {"other"}
        assert {m["data"]["id"] for m in tom_seen} == {tom_limit["id"], tom_fill["id"]}
        assert [m["seq"] for m in tom_seen] == list(range(1, len(tom_seen) + 1))  # gapless: no one else's
        assert [m["data"]["order_id"] for m in until(tom_fills, tom_fill["id"])] == [tom_fill["id"]]
        assert [m["data"]["order_id"] for m in until(eve_fills, eve_fill["id"])] == [eve_fill["id"]]
        admin_fills = [m["data"]["order_id"] for m in until(all_fills, tom_fill["id"])]
        assert admin_fills == [eve_fill["id"], tom_fill["id"]]
        # public market data (the prints of both accounts' fills, no account named) stays visible to every role
        prints = [eve_market.receive_json() for _ in range(2)]
        assert [(p["type"], Decimal(p["data"]["quantity"]), "account" in p["data"]) for p in prints] == [
            ("trade", Decimal("0.001"), False)
        ] * 2

    def ids(client: TestClient, path: str, **params: Any) -> set[str]:
        return {row["id"] for row in ok(client.get(path, params=params))}

    assert ids(tom, "/api/v1/orders") == {tom_limit["id"], tom_fill["id"]}
    assert ids(eve, "/api/v1/orders") == {eve_limit["id"], eve_fill["id"]}
    assert ids(vic, "/api/v1/orders", open=True) == {tom_limit["id"]}
    assert ids(ann, "/api/v1/orders") == {tom_limit["id"], tom_fill["id"], eve_limit["id"], eve_fill["id"]}
    assert {t["order_id"] for t in ok(tom.get("/api/v1/trades"))} == {tom_fill["id"]}
    assert {t["order_id"] for t in ok(eve.get("/api/v1/trades"))} == {eve_fill["id"]}
    assert ok(eve.get("/api/v1/trades/summary"))["count"] == 1
    assert ok(ann.get("/api/v1/trades/summary"))["count"] == 2
    assert [a["account"] for a in ok(eve.get("/api/v1/portfolio/accounts"))] == ["other"]
    assert [a["account"] for a in ok(ann.get("/api/v1/portfolio/accounts"))] == ["main", "other"]
    assert ok(eve.get("/api/v1/portfolio", params={"account": "other"}))["account"] == "other"
    assert ok(eve.get("/api/v1/portfolio/positions", params={"account": "other"}))[0]["symbol"] == "BTC/USD"

    # Reads by id and by name are refused (403 naming the account), not filtered.
    eve_trade = ok(eve.get("/api/v1/trades"))[0]["id"]
    forbidden(tom.get(f"/api/v1/orders/{eve_limit['id']}"), "tom", "other")
    forbidden(tom.get(f"/api/v1/trades/{eve_trade}"), "tom", "other")
    forbidden(tom.get("/api/v1/portfolio/balances", params={"account": "other"}), "tom", "other")
    forbidden(eve.get("/api/v1/portfolio"), "eve", "main")  # the engine's account is tom's
    forbidden(eve.get("/api/v1/risk/metrics"), "eve", "main")
    assert ok(eve.get(f"/api/v1/orders/{eve_limit['id']}"))["id"] == eve_limit["id"]
    assert ok(ann.get(f"/api/v1/trades/{eve_trade}"))["account"] == "other"


def test_a_trader_cannot_change_another_traders_orders(desk: tuple[Engine, AuditLog]) -> None:
    engine, log = desk
    tom, eve = engine.tcp("tom", "trader"), engine.tcp("eve", "trader")
    eve_order = ok(eve.post("/api/v1/orders", json={**LIMIT, "account": "other"}), 201)
    tom_order = ok(tom.post("/api/v1/orders", json=LIMIT), 201)
    path = f"/api/v1/orders/{eve_order['id']}"

    forbidden(tom.post(f"{path}/cancel"), "tom", "other")
    forbidden(tom.delete(path), "tom", "other")
    forbidden(tom.put(path, json={"price": "40000"}), "tom", "other")
    forbidden(tom.post("/api/v1/orders", json={**LIMIT, "account": "other"}), "tom", "other")
    with tom.websocket_connect("/api/v1/orders/entry") as entry:
        entry.send_text(json.dumps({"ref": 1, "order": {**LIMIT, "account": "other"}}))
        refused = entry.receive_json()
        entry.send_text(json.dumps({"ref": 2, "order": LIMIT}))  # the stream stays open for tom's own account
        placed = entry.receive_json()
    assert refused == {
        "ref": 1,
        "error": {"error": "forbidden", "detail": "user tom may not use account 'other'", "field": None},
    }
    assert placed["order"]["account"] == "main"
    # tom's cancel-all cancels his own orders only
    canceled = ok(tom.post("/api/v1/orders/cancel-all", json={}))["canceled"]
    assert sorted(canceled) == sorted([tom_order["id"], placed["order"]["id"]])

    still = ok(engine.client.get(path))  # the owner on the unix socket: every account
    assert (still["status"], still["price"]) == ("ACCEPTED", eve_order["price"])
    assert ok(eve.post(f"{path}/cancel"))["status"] == "CANCELED"
    # The audit log records changes made, not refusals: none of tom's refused attempts is in it.
    toms = [(e["action"], e["target"]) for e in log.read(user="tom")]
    assert toms == [
        ("order.create", "/api/v1/orders"),
        ("order.create", "/api/v1/orders/entry"),
        ("order.cancel_all", "/api/v1/orders/cancel-all"),
    ]


def test_strategies_and_schedules_belong_to_the_account_they_trade_in(desk: tuple[Engine, AuditLog]) -> None:
    engine, _ = desk
    tom, eve, ann = engine.tcp("tom", "trader"), engine.tcp("eve", "trader"), engine.tcp("ann", "admin")
    dca = {"name": "d1", "strategy": "dca", "symbols": ["BTC/USD"], "params": {"amount": "100"}}
    # BTC/USD strategies trade in the venue's first account, main: eve may not run one there.
    forbidden(eve.post("/api/v1/strategies", json=dca), "eve", "main")
    row = ok(tom.post("/api/v1/strategies", json=dca), 201)
    assert [s["name"] for s in ok(tom.get("/api/v1/strategies"))] == ["d1"]
    assert ok(eve.get("/api/v1/strategies")) == []
    assert [s["name"] for s in ok(ann.get("/api/v1/strategies"))] == ["d1"]
    for response in (
        eve.get(f"/api/v1/strategies/{row['id']}"),
        eve.get(f"/api/v1/strategies/{row['id']}/status"),
        eve.post(f"/api/v1/strategies/{row['id']}/start"),
        eve.delete(f"/api/v1/strategies/{row['id']}"),
    ):
        forbidden(response, "eve", "main")
    assert ok(tom.get(f"/api/v1/strategies/{row['id']}"))["running"] is False
    # Schedules likewise: a schedule runs its strategy in its first symbol's account.
    job = {"name": "dca-y", "cron": "0 0 1 1 *", "strategy": "dca", "symbols": ["BTC/USD"], "params": {"amount": "1"}}
    forbidden(eve.post("/api/v1/schedules", json=job), "eve", "main")
    added = ok(tom.post("/api/v1/schedules", json=job), 201)
    assert [j["id"] for j in ok(tom.get("/api/v1/schedules"))] == [added["id"]]
    assert ok(eve.get("/api/v1/schedules")) == []
    forbidden(eve.get(f"/api/v1/schedules/{added['id']}"), "eve", "main")
    forbidden(eve.post(f"/api/v1/schedules/{added['id']}/pause"), "eve", "main")
    assert ok(ann.get(f"/api/v1/schedules/{added['id']}"))["enabled"] is True


def test_a_trader_halts_any_trading_but_cancels_and_flattens_only_their_own_accounts(
    desk: tuple[Engine, AuditLog],
) -> None:
    engine, _ = desk
    tom, eve, ann = (engine.tcp(u, r) for u, r in (("tom", "trader"), ("eve", "trader"), ("ann", "admin")))
    eve_limit = ok(eve.post("/api/v1/orders", json={**LIMIT, "account": "other"}), 201)
    tom_limit = ok(tom.post("/api/v1/orders", json=LIMIT), 201)

    def halt(client: TestClient, **body: Any) -> Any:
        return client.post("/api/v1/risk/halt", json={"reason": "test", **body})

    forbidden(halt(tom, scope="account", scope_id="other"), "tom", "other")
    refused = halt(tom, scope="global", cancel_orders=True)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "user tom may halt global trading but may not cancel or flatten in other users' accounts;"
        " halt scope account with one of yours to cancel or flatten it",
    )
    assert halt(tom, scope="symbol", scope_id="BTC/USD", flatten=True).status_code == 403
    assert ok(ann.get("/api/v1/risk/limits"))["halts"] == []
    # Refused halts changed nothing: eve's order still works.
    assert ok(eve.get(f"/api/v1/orders/{eve_limit['id']}"))["status"] == "ACCEPTED"

    # tom's own account: halted, its orders canceled; eve's untouched.
    assert ok(halt(tom, scope="account", scope_id="main", cancel_orders=True))["halted"] is True
    assert ok(tom.get(f"/api/v1/orders/{tom_limit['id']}"))["status"] == "CANCELED"
    assert ok(eve.get(f"/api/v1/orders/{eve_limit['id']}"))["status"] == "ACCEPTED"
    # The kill switch for everyone stays in every trader's hand, without reaching into other accounts.
    assert ok(halt(eve, scope="global"))["halted"] is True
    assert ok(eve.get(f"/api/v1/orders/{eve_limit['id']}"))["status"] == "ACCEPTED"
    # An admin cancels everywhere.
    ok(ann.post("/api/v1/risk/resume", json={"scope": "global"}))
    assert ok(halt(ann, scope="global", cancel_orders=True))["halted"] is True
    assert ok(eve.get(f"/api/v1/orders/{eve_limit['id']}"))["status"] == "CANCELED"


def test_a_routed_order_is_shown_only_to_the_owner_of_the_accounts_it_traded_in(
    desk: tuple[Engine, AuditLog],
) -> None:
    engine, _ = desk
    tom, eve, ann = (engine.tcp(u, r) for u, r in (("tom", "trader"), ("eve", "trader"), ("ann", "admin")))
    engine.tick("BTC/USD", "60000")
    routed = ok(tom.post("/api/v1/orders/routed", json={"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001"}), 201)
    assert {c["account"] for c in routed["children"]} == {"main"}
    assert [r["route_id"] for r in ok(tom.get("/api/v1/orders/routed"))] == [routed["route_id"]]
    assert [r["route_id"] for r in ok(ann.get("/api/v1/orders/routed"))] == [routed["route_id"]]
    assert ok(eve.get("/api/v1/orders/routed")) == []
    forbidden(eve.get(f"/api/v1/orders/routed/{routed['route_id']}"), "eve", "main")
    assert ok(tom.get(f"/api/v1/orders/routed/{routed['route_id']}"))["route_id"] == routed["route_id"]


def test_a_strategys_streams_reach_only_the_users_of_its_account(desk: tuple[Engine, AuditLog]) -> None:
    engine, _ = desk
    tom, eve, ann = engine.tcp("tom", "trader"), engine.tcp("eve", "trader"), engine.tcp("ann", "admin")
    dca = {"name": "d2", "strategy": "dca", "symbols": ["BTC/USD"], "params": {"amount": "100"}}
    row = ok(tom.post("/api/v1/strategies", json=dca), 201)
    topic = f"strategies/{row['id']}/status"
    with stream(eve, topic) as eve_ws, stream(tom, topic) as tom_ws, stream(ann, topic) as ann_ws:
        assert [ws.receive_json()["type"] for ws in (eve_ws, tom_ws, ann_ws)] == ["subscribed"] * 3
        ok(tom.post(f"/api/v1/strategies/{row['id']}/start"))
        ok(tom.post(f"/api/v1/strategies/{row['id']}/stop"))
        for ws in (tom_ws, ann_ws):
            statuses = [ws.receive_json() for _ in range(2)]
            assert [(m["type"], m["data"]["running"]) for m in statuses] == [("status", True), ("status", False)]
        # eve's stream got neither: a message of her account published after them is the first she receives
        # (a subscriber's messages arrive in publishing order).
        hub = engine.host.hub()
        assert hub is not None
        hub.publish(topic, "status", {"marker": True}, account="other")
        assert eve_ws.receive_json()["data"] == {"marker": True}
