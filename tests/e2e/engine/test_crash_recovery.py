"""SIGKILL the daemon while clients stream orders, restart it: no acknowledged order is lost or changed.

An order is acknowledged when the daemon answered its POST (it answers only once the journal holds the order
durably). After the kill and a restart from the journal, every acknowledged order is there in exactly the state
it was acknowledged in, the balances equal what the fills imply, the locks equal what the open orders need, and
resending a request whose answer never came (same client order id) never creates a second order. Every
acknowledged order's audit entry survived the kill too (it is fsync-ed beside the journal, before the answer).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from engine_e2e_support import Daemon, assert_books_balance, daemon_home, open_buy_lock, wait_for

from alphintra.daemon.audit import AuditLog
from alphintra.errors import AlphintraError

CLIENTS = 3
KILL_AFTER = 150  # acknowledged orders before the kill


def _stream(
    daemon: Daemon,
    worker: int,
    acked: dict[str, dict[str, Any]],
    sent: dict[str, dict[str, Any]],
    lock: threading.Lock,
    stop: threading.Event,
) -> None:
    with daemon.client(timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            cid = f"w{worker}-{n}"
            if n % 3 == 0:  # a market buy that fills at once
                body = {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.004", "client_order_id": cid}
            else:  # a limit buy that rests (the price never moves: no feed)
                price = str(50000 + worker * 100 + n % 7)
                body = {
                    "symbol": "BTC/USD",
                    "side": "BUY",
                    "quantity": "0.0002",
                    "type": "LIMIT",
                    "price": price,
                    "client_order_id": cid,
                }
            with lock:
                sent[cid] = body
            try:
                order = client.post("/api/v1/orders", body)
            except AlphintraError:
                return  # the daemon is gone: this request's answer never came
            with lock:
                acked[cid] = order


@pytest.mark.both_backends
def test_sigkill_while_streaming_loses_no_acknowledged_order() -> None:
    with daemon_home() as daemon:
        daemon.start()
        acked: dict[str, dict[str, Any]] = {}
        sent: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        stop = threading.Event()
        threads = [threading.Thread(target=_stream, args=(daemon, w, acked, sent, lock, stop)) for w in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(acked) >= KILL_AFTER, "orders to be acknowledged", timeout=60)
            daemon.kill()  # mid-stream: requests are in flight
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert len(acked) >= KILL_AFTER
        unanswered = [cid for cid in sent if cid not in acked]
        audited = {e["after"]["id"] for e in AuditLog(daemon.root).read() if e["action"] == "order.create"}
        assert not {o["id"] for o in acked.values()} - audited, "an acknowledged order has no audit entry"

        daemon.start()
        with daemon.client() as client:
            orders = {o["client_order_id"]: o for o in client.get("/api/v1/orders", params={"limit": 10_000})}
            for cid, before in acked.items():
                after = orders.get(cid)
                assert after is not None, f"acknowledged order {cid} ({before['id']}) was lost"
                for key in ("id", "status", "quantity", "price", "filled_quantity", "average_price", "fees"):
                    assert after[key] == before[key], f"{cid}.{key}: {before[key]} before the kill, {after[key]} after"
            assert {o["status"] for o in acked.values()} == {"ACCEPTED", "FILLED"}

            # A client that got no answer resends with the same client order id: at most one order results.
            for cid in unanswered:
                again = client.post("/api/v1/orders", sent[cid])
                assert again["client_order_id"] == cid
                if cid in orders:
                    assert again["id"] == orders[cid]["id"]
            everything = client.get("/api/v1/orders", params={"limit": 10_000})
            ids = [o["client_order_id"] for o in everything]
            assert len(ids) == len(set(ids))

            assert_books_balance(client)
            usd = {b["asset"]: b for b in client.get("/api/v1/portfolio/balances")}["USD"]
            assert Decimal(usd["locked"]) == open_buy_lock(everything)
