"""The daemon's heap policy (gcpolicy.py): survivors of full collections are frozen, so a full collection walks only
newer objects; cycles among frozen objects are found again at the next reclaim, which waits for an idle engine."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from alphintra.daemon.gcpolicy import HeapPolicy, policy_for


class _Cycle:
    def __init__(self) -> None:
        self.me = self


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def thawed() -> Iterator[None]:
    # Only the tests' own collections run meanwhile (an automatic one would be a full collection of its own).
    enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # the test process keeps collecting as before, whatever a test left frozen
        if enabled:
            gc.enable()


def test_start_freezes_and_stop_gives_everything_back(thawed: None) -> None:
    policy = HeapPolicy()
    policy.start()
    assert gc.get_freeze_count() > 0
    policy.stop()
    assert gc.get_freeze_count() == 0


def test_survivors_of_a_full_collection_are_frozen_at_the_next_tick(thawed: None) -> None:
    policy = HeapPolicy()
    policy.start()
    kept = [_Cycle() for _ in range(1000)]  # new, not frozen yet
    before = gc.get_freeze_count()
    policy.tick()
    assert gc.get_freeze_count() == before  # no full collection ran since the start: nothing to do
    gc.collect()  # a full collection, as the interpreter runs them
    policy.tick()
    assert gc.get_freeze_count() >= before + len(kept)
    assert policy.freezes == 2


def test_a_frozen_cycle_is_reclaimed_only_when_due_and_the_engine_is_idle(thawed: None) -> None:
    clock, idle = _Clock(), [False]
    policy = HeapPolicy(idle=lambda: idle[0], reclaim_every_s=600, clock=clock)
    cycle = _Cycle()
    alive = weakref.ref(cycle)
    policy.start()  # the cycle is frozen with everything else
    del cycle
    gc.collect()
    assert alive() is not None  # frozen: the collector does not walk it
    clock.now = 601
    policy.tick()  # due, but the engine is busy
    assert alive() is not None and policy.reclaims == 0
    idle[0] = True
    policy.tick()
    assert alive() is None and policy.reclaims == 1
    assert gc.get_freeze_count() > 0  # frozen again after the reclaim


def test_the_daemon_host_decides_when_it_is_idle() -> None:
    class Host:
        def __init__(self) -> None:
            self.asked: list[float] = []

        def idle_for(self, seconds: float) -> bool:
            self.asked.append(seconds)
            return False

    host = Host()
    policy = policy_for(host)
    assert policy._idle() is False and host.asked == [1.0]
    assert policy_for(object())._idle() is True
