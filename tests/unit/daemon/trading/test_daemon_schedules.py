"""Schedules in the daemon: fire on a cron, run now, pause, resume, remove, survive a restart, record misfires."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from trading_support import Engine

from alphintra.daemon.trading.scheduler import ScheduleCreate, add_job_row
from alphintra.storage.journal import read_journal
from alphintra.storage.state import StateStore
from alphintra.strategies.base import Strategy
from alphintra.strategies.registry import register
from tests.waiting import wait_for


@register
class Flaky(Strategy):
    """Fails on odd evaluations of one instance (so a rebuilt instance fails again on its first)."""

    name = "test_flaky"

    def on_start(self) -> None:
        self.calls = 0

    def on_schedule(self) -> None:
        self.calls += 1
        if self.calls % 2:
            raise ValueError(f"odd call {self.calls}")


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


JOB: dict[str, Any] = {
    "name": "dca-eth",
    "cron": "0 0 1 1 *",  # once a year: nothing fires by itself during a test
    "strategy": "dca",
    "symbols": ["ETH/USD"],
    "params": {"every_bars": 1, "amount": "300"},
}


def _job(engine: Engine, job_id: str) -> dict[str, Any]:
    r = engine.client.get(f"/api/v1/schedules/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_fast_cron_fires_and_buys(engine: Engine) -> None:
    r = engine.client.post("/api/v1/schedules", json={**JOB, "cron": "* * * * * *"})
    assert r.status_code == 201, r.text
    assert r.json()["next_run_at"] is not None
    wait_for(lambda: _job(engine, "dca-eth")["run_count"] >= 2, "two firings")
    job = _job(engine, "dca-eth")
    assert (job["last_status"], job["last_error"]) == ("OK", None)
    orders = engine.orders("dca-eth")
    assert len(orders) >= 2
    # 300 / 1.001 / 3000 = 0.0999 -> 0.099 ETH (0.001 lots), each filled at the ladder.
    assert {(o["side"], o["quantity"], o["status"]) for o in orders} == {("BUY", "0.099", "FILLED")}
    assert engine.hub.last_seq("strategies/schedule:dca-eth/status") >= 2


def test_run_now_pause_resume_remove(engine: Engine) -> None:
    c = engine.client
    c.post("/api/v1/schedules", json=JOB)
    r = c.post("/api/v1/schedules/dca-eth/run")
    out = r.json()
    assert (r.status_code, out["ok"], out["fills"], len(out["orders"])) == (200, True, 1, 1)
    job = _job(engine, "dca-eth")
    assert (job["run_count"], job["last_status"]) == (1, "OK")

    paused = c.post("/api/v1/schedules/dca-eth/pause").json()
    assert (paused["enabled"], paused["next_run_at"]) == (False, None)
    assert engine.host.scheduler.aps.get_job("dca-eth").next_run_time is None
    assert c.post("/api/v1/schedules/dca-eth/run").json()["ok"] is True  # run-now works while paused
    resumed = c.post("/api/v1/schedules/dca-eth/resume").json()
    assert resumed["enabled"] is True
    assert resumed["next_run_at"] == f"{datetime.now(UTC).year + 1}-01-01T00:00:00+00:00"

    assert c.delete("/api/v1/schedules/dca-eth").json() == {"removed": "dca-eth"}
    assert c.get("/api/v1/schedules").json() == []
    assert c.get("/api/v1/schedules/dca-eth").status_code == 404
    fired = [r.record for r in read_journal(engine.settings.paths.journal) if r.record["type"] == "ScheduleFired"]
    assert [(f["job"], f["ok"], len(f["orders"])) for f in fired] == [("dca-eth", True, 1), ("dca-eth", True, 1)]


def test_the_schedule_instance_lives_between_firings(engine: Engine) -> None:
    c = engine.client
    c.post("/api/v1/schedules", json={**JOB, "params": {"amount": "300"}})
    # dca's on_schedule buys once per firing; its purchase counter keeps counting, so the instance carried over.
    counts = [len(c.post("/api/v1/schedules/dca-eth/run").json()["orders"]) for _ in range(3)]
    assert counts == [1, 1, 1]
    assert engine.host.scheduler.instances["dca-eth"].runner.strategy.purchases == 3  # type: ignore[attr-defined]


def test_failures_are_recorded_and_the_instance_rebuilt(engine: Engine) -> None:
    c = engine.client
    c.post("/api/v1/schedules", json={**JOB, "name": "flaky", "strategy": "test_flaky", "params": {}})
    first = c.post("/api/v1/schedules/flaky/run").json()
    assert (first["ok"], first["error"]) == (False, "strategy flaky failed in on_schedule: ValueError: odd call 1")
    job = _job(engine, "flaky")
    assert (job["last_status"], job["last_error"]) == ("FAILED", first["error"])
    assert "flaky" not in engine.host.scheduler.instances
    # Rebuilt fresh: its call counter starts again at 1, so it fails the same way (not "call 2").
    assert c.post("/api/v1/schedules/flaky/run").json()["error"] == first["error"]


def test_bad_schedules_are_refused(engine: Engine) -> None:
    c = engine.client
    r = c.post("/api/v1/schedules", json={**JOB, "name": "bad", "strategy": "no_such"})
    assert (r.status_code, c.get("/api/v1/schedules/bad").status_code) == (404, 404)
    r = c.post("/api/v1/schedules", json={**JOB, "cron": "* * *"})
    assert (r.status_code, r.json()["field"]) == (422, "cron")
    r = c.post("/api/v1/schedules", json={**JOB, "symbols": ["XYZ"]})
    assert (r.status_code, r.json()["field"]) == (422, "symbols")
    assert c.post("/api/v1/schedules", json=JOB).status_code == 201
    assert c.post("/api/v1/schedules", json=JOB).status_code == 409
    viewer = engine.tcp("vera", "viewer")
    assert viewer.get("/api/v1/schedules").status_code == 200
    assert viewer.post("/api/v1/schedules/dca-eth/run").status_code == 403


def test_schedules_survive_a_restart(feed_off: None) -> None:
    first = Engine()
    try:
        first.client.post("/api/v1/schedules", json=JOB)
        first.client.post("/api/v1/schedules", json={**JOB, "name": "off"})
        first.client.post("/api/v1/schedules/off/pause")
    finally:
        first.close()
    again = Engine()
    try:
        jobs = {j["id"]: j for j in again.client.get("/api/v1/schedules").json()}
        assert sorted(jobs) == ["dca-eth", "off"]
        assert (jobs["dca-eth"]["enabled"], jobs["off"]["enabled"]) == (True, False)
        assert jobs["off"]["next_run_at"] is None
        assert again.client.post("/api/v1/schedules/dca-eth/run").json()["ok"] is True
    finally:
        again.close()


def test_a_firing_missed_while_down_is_recorded_not_replayed(feed_off: None) -> None:
    from alphintra.config.settings import get_settings

    store = StateStore(get_settings().effective_database_url)
    store.create_all()
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    add_job_row(store, ScheduleCreate(**JOB), None, next_run=long_ago)
    recent = datetime.now(UTC) - timedelta(seconds=5)
    add_job_row(store, ScheduleCreate(**{**JOB, "name": "recent"}), None, next_run=recent)
    engine = Engine()
    try:
        wait_for(lambda: store.get_job("dca-eth").last_status == "MISSED", "the missed firing to be recorded")
        wait_for(lambda: store.get_job("recent").last_status == "OK", "the recent firing to run once")
        missed = store.get_job("dca-eth")
        assert missed.run_count == 1
        assert missed.last_error is not None and "later than the grace time" in missed.last_error
        assert engine.orders("dca-eth") == []
        assert len(engine.orders("recent")) == 1
    finally:
        engine.close()
        store.close()


def test_a_stop_while_a_firing_runs_waits_for_it_and_does_not_hang(engine: Engine) -> None:
    """APScheduler's shutdown(wait=True) holds its job-store lock while it waits for running jobs; a firing reads its
    next run time through that lock when it records itself, so a stop during a firing used to hang for good."""
    import threading

    host = engine.host
    scheduler = host.scheduler
    assert scheduler is not None
    r = engine.client.post("/api/v1/schedules", json={**JOB, "cron": "* * * * * *"})  # a firing every second
    assert r.status_code == 201, r.text
    wait_for(lambda: _job(engine, "dca-eth")["run_count"] >= 1, "a first firing")
    before = _job(engine, "dca-eth")["run_count"]
    gate, holding = threading.Event(), threading.Event()

    def hold_engine() -> None:
        holding.set()
        gate.wait(30)

    blocker = threading.Thread(target=lambda: host.call(hold_engine, timeout=60))
    blocker.start()
    assert holding.wait(10)
    # The next firing queues behind the held engine thread and waits there.
    wait_for(lambda: scheduler._firings == 1, "a firing waiting on the engine thread")
    stopper = threading.Thread(target=scheduler.shutdown)
    stopper.start()
    wait_for(lambda: not scheduler.aps.running, "APScheduler told to stop")
    gate.set()  # the firing runs, records its run (reading its next run time) and ends; the stop then returns
    stopper.join(15)
    blocker.join(15)
    assert not stopper.is_alive(), "the stop hung on a firing in progress"
    assert scheduler._firings == 0
    assert _job(engine, "dca-eth")["run_count"] >= before + 1
