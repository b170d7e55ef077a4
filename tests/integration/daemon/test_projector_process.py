"""The state projection's process, started again after it dies: at once after one that ran, ever less often after
ones that could not even start (a lock file or a store that refuses it, e.g. on a full disk), and caught up once
it can start again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from alphintra.daemon.trading import projector_process
from alphintra.daemon.trading.projector_process import ProjectorProcess
from alphintra.daemon.trading.statedb import StateDatabase
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.workerproc import restart_delay
from tests.waiting import wait_for


def test_a_projection_that_cannot_start_is_retried_ever_less_often_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []

    def quick(failures: int) -> float:
        asked.append(failures)
        return 0.05  # the pause itself is restart_delay's (workerproc): here only who asks for which one

    monkeypatch.setattr(projector_process, "restart_delay", quick)
    journal = tmp_path / "journal"
    journal.mkdir()
    lock = journal / "projector.lock"
    lock.mkdir()  # the lock file cannot be opened: every process dies before it opens the store
    db = StateDatabase(f"sqlite:///{tmp_path / 'state.db'}")
    db.store().close()  # the tables, as the daemon makes them before it starts the projection
    db.close()
    projector = ProjectorProcess(db.url, journal, InstrumentRegistry(()))
    try:
        wait_for(lambda: len(asked) >= 3, "three restarts")
        assert asked[:3] == [0, 1, 2]  # each one that never came up waits longer before the next
        lock.rmdir()
        wait_for(lambda: projector.state.values[2], "a process that opened the store")  # _OPENED
        assert projector.wait_applied(0, timeout=60)
        seen = len(asked)
        pid = projector.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(asked) > seen and projector.pid != pid, "a restart after the kill")
        assert asked[seen] == 0  # it had run: the next one starts after the shortest pause
        wait_for(lambda: projector.state.values[2], "the new process opened the store")
    finally:
        projector.close()
    assert lock.is_file()  # the last process took its lock the usual way


def test_the_pause_before_a_new_worker_doubles_from_a_second_up_to_half_a_minute() -> None:
    assert [restart_delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert restart_delay(10_000) == 30  # no overflow however long it has been failing
