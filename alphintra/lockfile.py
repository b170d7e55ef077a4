"""An exclusive lock on a file of its own (``flock``), held for the length of a ``with`` block.

The lock goes with the descriptor: the block's end closes it, and so does the kernel when the process dies, so a
crash never leaves the lock held. The file itself stays (it holds nothing); only its lock means anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def locked(path: Path, *, busy: Callable[[], BaseException] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made, mode 0600, with its directory, if missing) until the block ends.

    Without ``busy`` it waits for a holder elsewhere to let go; with it, it does not wait: a lock held elsewhere
    raises ``busy()`` (an error of the block itself is never taken for that)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if busy is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy() from None
        yield
    finally:
        os.close(fd)


__all__ = ["locked"]
