"""A real Dask cluster on 127.0.0.1 for the tests: a scheduler and worker processes started with the `dask` command.

Workers run without a nanny, so a worker is one operating-system process: killing it (``kill_worker``) kills a real
worker, which nothing restarts. Everything listens on and dials 127.0.0.1 only, and the processes are killed at the
end whatever happened. Workers import alphintra from this checkout (``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


@dataclass
class DaskProcesses:
    address: str
    client: Any  # a client of the test itself: it watches the scheduler (who is processing what)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # worker address -> its process

    def kill_worker(self, address: str) -> None:
        proc = self.workers.pop(address)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def processing(self, address: str) -> list[str]:
        """The keys the scheduler has given the worker at ``address`` and not seen finish."""
        return list(self.client.processing(workers=[address]).get(address, ()))

    def worker_count(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHINTRA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["ALPHINTRA_HOME"] = str(home)
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    return env


def _wait_for(what: str, check: Any, procs: list[subprocess.Popen[bytes]]) -> Any:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a dask process exited (code {dead[0].returncode}) while waiting for {what}")
        time.sleep(0.05)
    raise TimeoutError(f"no {what} after {START_TIMEOUT} s")


@contextlib.contextmanager
def dask_cluster(tmp: Path, workers: int = 2) -> Iterator[DaskProcesses]:
    from distributed import Client

    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    info = tmp / "scheduler.json"
    env = _env(tmp / "worker-home")
    logs = tmp / "dask-logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(logs / log, "wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
        procs.append(proc)
        return proc

    client = None
    try:
        start(
            [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            "scheduler.log",
        )
        _wait_for("scheduler file", lambda: info.exists() and info.stat().st_size > 0, procs)
        address = json.loads(info.read_text())["address"]
        by_name = {}
        for i in range(workers):
            name = f"w{i}"
            by_name[name] = start(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    name,
                    # Imported while the worker starts (both workers at once), not by its first task of a test.
                    "--preload",
                    "alphintra.strategies.backtest",
                ],
                f"{name}.log",
            )
        client = Client(address, set_as_default=False, timeout=START_TIMEOUT)
        _wait_for(f"{workers} workers", lambda: len(client.scheduler_info(n_workers=-1)["workers"]) >= workers, procs)
        cluster = DaskProcesses(address, client)
        for addr, w in client.scheduler_info(n_workers=-1)["workers"].items():
            cluster.workers[addr] = by_name[w["name"]]
        yield cluster
    finally:
        if client is not None:
            client.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
