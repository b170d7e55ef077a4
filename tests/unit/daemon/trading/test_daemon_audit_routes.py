"""The audit hook on a real trading host: every acknowledged order (REST, batch, order-entry stream) is in the log
before its answer; refused or failed requests are not; registered users reach only their accounts."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trading_support import Engine

from alphintra.daemon.audit import AuditLog
from alphintra.daemon.protocol import Role
from alphintra.daemon.users import UserStore

ORDER = {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001", "type": "LIMIT", "price": "50000"}


@pytest.fixture
def audited(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, AuditLog, UserStore]]:
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    log, users = AuditLog(isolated_home), UserStore(isolated_home)
    eng = Engine(audit=log, users=users)
    try:
        yield eng, log, users
    finally:
        eng.close()


def test_every_acknowledged_order_is_audited_once(audited: tuple[Engine, AuditLog, UserStore]) -> None:
    engine, log, _ = audited
    engine.tick("BTC/USD", "60000")
    tom = engine.tcp("tom", "trader")
    assert tom.post("/api/v1/orders", json=ORDER).status_code == 201
    assert tom.post("/api/v1/orders", json={**ORDER, "quantity": "-1"}).status_code == 422  # refused: no entry
    batch = tom.post("/api/v1/orders/batch", json={"orders": [ORDER, ORDER]})
    assert batch.status_code == 200
    with tom.websocket_connect("/api/v1/orders/entry") as ws:
        ws.send_text(json.dumps({"ref": 1, "order": ORDER}))
        streamed = ws.receive_json()
        ws.send_text(json.dumps({"ref": 2, "order": {**ORDER, "symbol": "NOPE/USD"}}))
        assert "error" in ws.receive_json()
        for ref in range(3, 23):  # pipelined: answers share fsyncs and still come in order
            ws.send_text(json.dumps({"ref": ref, "order": ORDER}))
        pipelined = [ws.receive_json() for _ in range(20)]
    assert [a["ref"] for a in pipelined] == list(range(3, 23)) and all("order" in a for a in pipelined)
    entries = log.read()
    assert [e["after"] for e in entries[4:]] == pipelined
    entries = entries[:4]
    assert [(e["user"], e["via"], e["action"], e["target"]) for e in entries] == [
        (getpass.getuser(), "unix", "market.tick", "/api/v1/market-data/ticks"),
        ("tom", "tcp", "order.create", "/api/v1/orders"),
        ("tom", "tcp", "order.batch", "/api/v1/orders/batch"),
        ("tom", "tcp", "order.create", "/api/v1/orders/entry"),
    ]
    assert entries[2]["after"] == batch.json() and entries[2]["request"] == {"orders": [ORDER, ORDER]}
    assert entries[3]["after"] == streamed and entries[3]["peer"] == "testclient:50000"
    admin = engine.tcp("ann", "admin")
    assert admin.get("/api/v1/audit", params={"user": "tom", "limit": 2}).json() == log.read(user="tom")[-2:]
    bad = admin.get("/api/v1/audit", params={"since": "yesterday"})
    assert (bad.status_code, bad.json()["field"]) == (422, "since")


def test_registered_users_reach_only_their_accounts(audited: tuple[Engine, AuditLog, UserStore]) -> None:
    engine, log, users = audited
    users.add("tom", Role.TRADER, ("main",), now="t0")
    users.add("eve", Role.TRADER, ("other",), now="t0")
    users.add("vic", Role.VIEWER, ("main",), now="t0")
    engine.tick("BTC/USD", "60000")
    tom, eve, vic = engine.tcp("tom", "trader"), engine.tcp("eve", "trader"), engine.tcp("vic", "viewer")
    placed = tom.post("/api/v1/orders", json=ORDER)
    assert placed.status_code == 201
    # An existing order is checked against its own account.
    assert eve.post(f"/api/v1/orders/{placed.json()['id']}/cancel").status_code == 403
    assert tom.post("/api/v1/orders", json={**ORDER, "account": "other"}).status_code == 403
    refused: Any = eve.post("/api/v1/orders", json=ORDER)
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "forbidden", "detail": "user eve may not use account 'main'", "field": None},
    )
    assert eve.get("/api/v1/orders").json() == []  # a listing is filtered to her accounts, not refused
    assert eve.get("/api/v1/market-data/symbols").status_code == 200  # not an account's data
    assert len(vic.get("/api/v1/orders").json()) == 1
    assert vic.post("/api/v1/orders", json=ORDER).status_code == 403
    users.grant("eve", "main", now="t1")
    assert eve.post("/api/v1/orders", json=ORDER).status_code == 201
    assert [e["user"] for e in log.read() if e["action"] == "order.create"] == ["tom", "eve"]


class _FullDisk(AuditLog):
    def sync(self, upto: int) -> None:
        raise OSError(28, "No space left on device")


def test_a_change_whose_audit_entry_cannot_be_written_is_not_acknowledged(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()
    eng = Engine(audit=_FullDisk(isolated_home))
    try:
        tick = eng.client.post("/api/v1/market-data/ticks", json={"symbol": "BTC/USD", "price": "60000"})
        assert tick.status_code == 503  # every change's answer is withheld, not only orders'
        r = eng.client.post("/api/v1/orders", json=ORDER)
        assert (r.status_code, r.headers["retry-after"]) == (503, "5")
        assert r.json() == {
            "error": "storage_unavailable",
            "detail": "the audit log could not be written (No space left on device); the change may have been "
            "applied: check before retrying",
            "field": None,
        }
        assert eng.client.get("/api/v1/auth/whoami").status_code == 200  # reads are not held
    finally:
        eng.close()
