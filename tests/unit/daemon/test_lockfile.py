"""The one lock-file helper (alphintra.lockfile): exclusive while held, free when the block ends, never waiting
when told not to, and an error of the block itself never mistaken for a lock held elsewhere."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from alphintra.errors import ConflictError
from alphintra.lockfile import locked


def _busy() -> ConflictError:
    return ConflictError("held elsewhere")


def test_a_held_lock_refuses_another_holder_that_will_not_wait_and_is_free_once_the_block_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "home" / "x.lock"  # the directory is made too
    with locked(path), pytest.raises(ConflictError, match="held elsewhere"), locked(path, busy=_busy):
        pass
    with locked(path, busy=_busy):
        pass
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600


def test_a_holder_that_waits_gets_the_lock_when_the_other_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    held, release, order = threading.Event(), threading.Event(), []

    def other() -> None:
        with locked(path):
            held.set()
            release.wait(30)
            order.append("other let go")

    thread = threading.Thread(target=other)
    thread.start()
    assert held.wait(30)
    release.set()
    with locked(path):  # waits for the other's block to end
        order.append("this one holds it")
    thread.join(30)
    assert order == ["other let go", "this one holds it"]


def test_an_error_of_the_block_is_not_taken_for_a_lock_held_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(BlockingIOError, match="the block's own"), locked(tmp_path / "x.lock", busy=_busy):
        raise BlockingIOError("the block's own")
