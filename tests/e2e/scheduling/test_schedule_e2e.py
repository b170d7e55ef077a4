"""Scheduling end to end: real daemon processes on a temporary data home, driven through the CLI.

A DCA schedule on a two-second cron fires and buys inside the daemon and survives a restart; without a daemon,
`strategy run-once` is safe under cron (lock, log line, exit code) and `schedule crontab` prints the lines; a
started strategy resumes after the daemon restarts.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import alphintra
from alphintra.daemon.client import EngineClient
from alphintra.daemon.runfiles import probe_daemon
from tests.pg_support import state_database
from tests.waiting import wait_for

REPO = Path(alphintra.__file__).resolve().parent.parent

# The real entry point, with the groups these tests use joined whether or not the root app registers them yet.
CLI = """
import sys
from alphintra.cli import engine, schedule, strategy
from alphintra.cli.main import app, main
names = {group.name for group in app.registered_groups}
for name, sub in (("engine", engine.app), ("schedule", schedule.app), ("strategy", strategy.app)):
    if name not in names:
        app.add_typer(sub, name=name)
main(sys.argv[1:])
"""


class Home:
    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.socket = root / "engine.sock"
        self.pid_file = root / "engine.pid"
        self.env = dict(os.environ)
        self.env["ALPHINTRA_HOME"] = str(root)
        self.env["ALPHINTRA_PAPER__FEED"] = "none"  # prices move only when a test says so
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + self.env.get("PYTHONPATH", "")
        if database_url is not None:  # the trading state (schedules included) in a PostgreSQL scratch schema
            self.env["ALPHINTRA_DATABASE_URL"] = database_url

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", CLI, *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> Any:
        done = self.cli(*args)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return json.loads(done.stdout) if "--json" in args else done

    def client(self) -> EngineClient:
        return EngineClient(socket_path=self.socket, timeout=10)

    def orders(self, strategy: str) -> list[dict[str, Any]]:
        with self.client() as c:
            return list(c.get("/api/v1/orders", params={"strategy": strategy}))

    def run_log(self) -> list[dict[str, Any]]:
        path = self.root / "logs" / "run-once.log"
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def home() -> Iterator[Home]:
    # A short path: a unix socket path may not exceed 107 bytes.
    with state_database() as url, tempfile.TemporaryDirectory(prefix="as", dir="/tmp") as name:
        home = Home(Path(name), url)
        try:
            yield home
        finally:
            probe = probe_daemon(home.pid_file)
            if probe.running and probe.pid:  # a failed test must not leave its daemon behind
                os.kill(probe.pid, signal.SIGTERM)
                wait_for(lambda: not probe_daemon(home.pid_file).running, "leftover daemon to stop")


@pytest.mark.both_backends
def test_a_scheduled_dca_fires_on_a_fast_cron_and_buys(home: Home) -> None:
    home.ok("engine", "start")
    job = home.ok(
        "schedule", "add", "--cron", "*/2 * * * * *", "--strategy", "dca", "--symbol", "BTC/USD",
        "--param", "every_bars=1", "--param", "amount=500", "--name", "dca-fast", "--json",
    )  # fmt: skip
    assert (job["id"], job["cron"], job["enabled"]) == ("dca-fast", "*/2 * * * * *", True)
    wait_for(lambda: len(home.orders("dca-fast")) >= 2, "two scheduled DCA buys")
    orders = home.orders("dca-fast")
    # 500 USD less the 0.1 % taker fee at 60,000, in whole 0.0001 lots: 0.0083 BTC per firing, filled at once.
    assert {(o["side"], o["quantity"], o["status"]) for o in orders} == {("BUY", "0.0083", "FILLED")}

    paused = home.ok("schedule", "pause", "dca-fast", "--json")
    assert (paused["enabled"], paused["next_run_at"]) == (False, None)
    listed = {j["id"]: j for j in home.ok("schedule", "list", "--json")}
    assert listed["dca-fast"]["run_count"] >= 2
    assert listed["dca-fast"]["last_status"] == "OK"
    bought = len(home.orders("dca-fast"))
    with home.client() as c:
        positions = {p["symbol"]: Decimal(p["quantity"]) for p in c.get("/api/v1/portfolio/positions")}
    assert positions["BTC/USD"] == Decimal("0.0083") * bought
    home.ok("engine", "stop")

    # The schedule is stored: after a restart it is still there, still paused, and fires again once resumed.
    home.ok("engine", "start")
    listed = {j["id"]: j for j in home.ok("schedule", "list", "--json")}
    assert listed["dca-fast"]["enabled"] is False
    assert len(home.orders("dca-fast")) == bought
    home.ok("schedule", "resume", "dca-fast")
    wait_for(lambda: len(home.orders("dca-fast")) > bought, "a firing after the restart")
    home.ok("schedule", "remove", "dca-fast")
    assert home.ok("schedule", "list", "--json") == []
    home.ok("engine", "stop")


def test_run_once_without_a_daemon_is_safe_under_cron(home: Home) -> None:
    out = home.ok(
        "strategy", "run-once", "dca", "--symbol", "ETH/USD", "--param", "amount=300", "--name", "cron-dca", "--json"
    )
    assert (out["ok"], out["fills"], len(out["orders"])) == (True, 1, 1)
    assert [(r["name"], r["ok"], r["via"]) for r in home.run_log()] == [("cron-dca", True, "in-process")]

    # An overlapping run (the lock is held) does not collide: it exits non-zero and says why.
    locks = home.root / "locks"
    fd = os.open(locks / "run-once-cron-dca.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = home.cli("strategy", "run-once", "dca", "--symbol", "ETH/USD", "--name", "cron-dca")
    finally:
        os.close(fd)
    assert held.returncode == 1
    assert "another run of 'cron-dca' holds" in held.stderr
    bad = home.cli("strategy", "run-once", "dca", "--symbol", "ETH/USD", "--param", "amount=-5", "--name", "cron-dca")
    assert bad.returncode == 2
    assert "amount" in bad.stderr
    log = home.run_log()
    assert [r["ok"] for r in log] == [True, False, False]
    assert "holds" in log[1]["error"]

    # Schedules added without a daemon become crontab lines (the seconds field cannot be one).
    home.ok("schedule", "add", "--cron", "*/5 * * * *", "--strategy", "dca", "--symbol", "ETH/USD",
            "--param", "amount=300", "--name", "eth-5m")  # fmt: skip
    home.ok("schedule", "add", "--cron", "*/2 * * * * *", "--strategy", "dca", "--symbol", "ETH/USD", "--name", "s")
    lines = home.ok("schedule", "crontab").stdout.splitlines()
    assert lines[1] == "CRON_TZ=UTC"
    assert lines[2].startswith(f"*/5 * * * * ALPHINTRA_HOME={home.root} {sys.executable} -m alphintra strategy ")
    assert "run-once dca --name eth-5m --symbol ETH/USD --param amount=300 >> " in lines[2]
    assert lines[3].startswith("# s: '*/2 * * * * *' has a seconds field")

    # The daemon starts from the same journal and store: the in-process buy and the offline schedules are there.
    home.ok("engine", "start")
    assert [(o["quantity"], o["status"]) for o in home.orders("cron-dca")] == [("0.099", "FILLED")]
    assert sorted(j["id"] for j in home.ok("schedule", "list", "--json")) == ["eth-5m", "s"]
    ran = home.ok("schedule", "run-now", "eth-5m", "--json")
    assert (ran["ok"], ran["fills"]) == (True, 1)
    home.ok("strategy", "run-once", "dca", "--symbol", "ETH/USD", "--param", "amount=300", "--name", "cron-dca")
    assert home.run_log()[-1]["via"] == "daemon"
    assert len(home.orders("cron-dca")) == 2

    # A started strategy resumes after a restart.
    home.ok("strategy", "start", "d1", "--strategy", "dca", "--symbol", "BTC/USD", "--param", "every_bars=1")
    with home.client() as c:
        c.post("/api/v1/market-data/ticks", json={"symbol": "BTC/USD", "price": "60000"})
    assert len(home.orders("d1")) == 1
    home.ok("engine", "stop")
    home.ok("engine", "start")
    status = home.ok("strategy", "status", "d1", "--json")
    assert (status["running"], status["status"], status["positions"]) == (True, "ACTIVE", {"BTC/USD": "0.0016"})
    home.ok("strategy", "stop", "d1")
    rows = {r["name"]: r for r in home.ok("strategy", "status", "--json")}
    assert (rows["d1"]["status"], rows["d1"]["running"]) == ("INACTIVE", False)
    home.ok("engine", "stop")
