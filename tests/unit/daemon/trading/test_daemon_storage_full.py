"""A journal that cannot be written (disk full): the batch's callers get 503 storage_unavailable, the engine's
memory goes back to what the journal holds, the daemon turns read-only (``/ready``, engine status, metrics) until a
write succeeds again, and a restart neither loses an acknowledged order nor brings back a refused one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from trading_support import Engine

from alphintra.cli.engine import _storage
from alphintra.errors import StorageUnavailable
from tests.waiting import wait_for


class FullDisk:
    """A test twin of the journal port: the real Journal, whose writes fail with ENOSPC while ``full`` is set.

    As the journal promises for a failed write, nothing of it is kept and ``last_seq`` does not move.
    """

    def __init__(self, journal: Any) -> None:
        self.journal = journal
        self.full = False
        self.refused = 0

    def append_many(self, records: Any) -> list[int]:
        if self.full:
            self.refused += 1
            raise StorageUnavailable("journal write failed: [Errno 28] No space left on device")
        return list(self.journal.append_many(records))

    def sync(self) -> int:
        if self.full and self.journal.durable_seq < self.journal.last_seq:  # only a real fsync can fail
            raise StorageUnavailable("journal fsync failed: [Errno 28] No space left on device")
        return int(self.journal.sync())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)


def fill_the_disk(engine: Engine) -> FullDisk:
    def install() -> FullDisk:
        disk = FullDisk(engine.host.journal.journal)
        engine.host.journal.journal = disk
        return disk

    return engine.host.call(install)


def usd(engine: Engine) -> tuple[Decimal, Decimal]:
    balances = engine.client.get("/api/v1/portfolio/balances").json()
    row = next(b for b in balances if b["asset"] == "USD")
    return Decimal(row["total"]), Decimal(row["locked"])


def limit(client_id: str, price: str = "2500") -> dict[str, str]:
    return {"symbol": "ETH/USD", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": price,
            "client_order_id": client_id}  # fmt: skip


@pytest.mark.parametrize("engine", ["spot"], indirect=True)  # spot buys lock cash; the test counts it
def test_a_full_disk_refuses_undoes_turns_read_only_and_recovers(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")
    kept = engine.order(**limit("kept"))
    before = usd(engine)
    seq = engine.host.journal.last_seq
    disk = fill_the_disk(engine)
    disk.full = True

    refused = c.post("/api/v1/orders", json=limit("lost"))
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "storage_unavailable"
    assert refused.headers["Retry-After"] == "5"
    # The engine's memory is what the journal holds: no order "lost", no lock for it.
    listed = c.get("/api/v1/orders").json()
    assert [o["client_order_id"] for o in listed] == ["kept"]
    assert usd(engine) == before
    assert engine.host.journal.last_seq == seq

    ready = c.get("/ready")
    assert ready.status_code == 503 and "read-only" in ready.json()["detail"]
    assert "No space left on device" in ready.json()["detail"]
    status = c.get("/api/v1/engine/status").json()
    assert status["ready"] is False and status["host"]["storage"]["read_only"] is True
    # `alphintra engine status` shows it from the same answer.
    assert _storage(status) == (
        "READ-ONLY, new orders refused: journal write failed: [Errno 28] No space left on device"
    )
    assert engine.gauge("alphintra_storage_read_only") == 1
    # Read-only: a new order (and any other change) is refused before it reaches the engine; reads still work.
    again = c.post("/api/v1/orders", json=limit("lost"))
    assert again.status_code == 503 and again.json()["error"] == "storage_unavailable"
    assert again.headers["Retry-After"] == "5"  # the read-only gate answers like the engine's refusal
    cancel = c.delete(f"/api/v1/orders/{kept['id']}")
    assert cancel.status_code == 503
    assert c.get(f"/api/v1/orders/{kept['id']}").json()["status"] == "ACCEPTED"

    disk.full = False  # space comes back: the engine's probe writes and leaves read-only mode
    wait_for(lambda: c.get("/ready").status_code == 200, "the engine to leave read-only mode")
    assert engine.gauge("alphintra_storage_read_only") == 0
    assert _storage(c.get("/api/v1/engine/status").json()) == "ok"
    resent = c.post("/api/v1/orders", json=limit("lost"))
    assert resent.status_code == 201, resent.text  # a NEW order, acknowledged once durable
    new_id = resent.json()["id"]
    after = usd(engine)
    assert after[1] > before[1]

    engine.close()
    restarted = Engine()
    try:
        orders = restarted.client.get("/api/v1/orders").json()
        assert sorted((o["client_order_id"], o["id"]) for o in orders) == sorted(
            [("kept", kept["id"]), ("lost", new_id)]
        )
        assert usd(restarted) == after
    finally:
        restarted.close()


def test_an_order_refused_by_a_full_disk_never_comes_back_after_a_restart(engine: Engine) -> None:
    c = engine.client
    engine.tick("ETH/USD", "3000")
    kept = engine.order(**limit("kept"))
    locked_before = usd(engine)
    disk = fill_the_disk(engine)
    disk.full = True
    assert c.post("/api/v1/orders", json=limit("refused")).status_code == 503
    engine.close()  # stops while still read-only: nothing of the refused order may reach the disk
    restarted = Engine()
    try:
        orders = restarted.client.get("/api/v1/orders").json()
        assert [o["client_order_id"] for o in orders] == ["kept"] and orders[0]["id"] == kept["id"]
        assert usd(restarted) == locked_before
        again = restarted.client.post("/api/v1/orders", json=limit("refused"))
        assert again.status_code == 201 and again.json()["id"] != kept["id"]
    finally:
        restarted.close()


def test_a_failure_in_a_timer_still_answers_a_durable_command(engine: Engine) -> None:
    """The engine loop's generic failure path: the command's records are written, so its caller gets its answer;
    the order exists after a restart."""
    engine.tick("ETH/USD", "3000")

    def arm_a_broken_timer() -> None:
        node = engine.host.node
        assert node is not None

        def boom(_name: str, _ts: int) -> None:
            raise RuntimeError("a broken timer")

        node.clock.set_timer("broken", boom, at_ns=0)

    engine.host.call(arm_a_broken_timer)
    placed = engine.order(**limit("timer"))
    assert engine.host.journal.durable_seq == engine.host.journal.last_seq
    engine.close()
    restarted = Engine()
    try:
        assert restarted.client.get(f"/api/v1/orders/{placed['id']}").json()["client_order_id"] == "timer"
    finally:
        restarted.close()


def _thread_cpu_s(native_id: int) -> float:
    import os
    from pathlib import Path

    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_read_only_engine_sleeps_between_probes(engine: Engine) -> None:
    """Read-only, the market and the timers wait for the journal: the engine thread wakes for commands and for the
    storage probe only (it used to spin once a bar time had passed)."""
    import threading
    import time

    engine.tick("ETH/USD", "3000")
    disk = fill_the_disk(engine)
    disk.full = True
    assert engine.client.post("/api/v1/orders", json=limit("refused")).status_code == 503
    thread = next(t for t in threading.enumerate() if t.name == "engine")
    assert thread.native_id is not None
    time.sleep(1.5)  # past the first bar time (60 / replay_speed = 1 s)
    before, started = _thread_cpu_s(thread.native_id), time.monotonic()
    time.sleep(3.0)
    used, elapsed = _thread_cpu_s(thread.native_id) - before, time.monotonic() - started
    assert engine.host.guard.read_only and disk.refused >= 2  # it kept probing (once a second)
    assert used / elapsed < 0.15, f"the read-only engine thread used {used:.2f} s of CPU in {elapsed:.1f} s"
