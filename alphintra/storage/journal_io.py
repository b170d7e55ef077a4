"""The system calls the journal writes its files with, and a disk that fills up on purpose for tests.

:class:`JournalIO` is the real thing (``os.write``, ``os.fsync``...). :class:`FillingDisk` performs the same
real calls on the same real files, but has a byte budget: a write that crosses it writes the part that fits (a
genuine partial record on disk, as a full file system leaves it) and then fails with ``ENOSPC``; an fsync can be
made to fail with ``EIO`` once. It is a fault injector for the journal's error paths, not a mock: what the journal
leaves on disk after a failure is what a later open or reader really finds.
"""

from __future__ import annotations

import errno
import os


class JournalIO:
    """The real system calls (the journal's default)."""

    def open(self, path: os.PathLike[str] | str, flags: int, mode: int = 0o600) -> int:
        return os.open(path, flags, mode)

    def write(self, fd: int, data: memoryview) -> int:
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)


class FillingDisk(JournalIO):
    """Real writes until ``free`` bytes have been written, then ``ENOSPC`` (for tests of the full-disk paths).

    ``free=None`` is unlimited. Truncating a file gives its cut bytes back, like a real file system. Call
    :meth:`make_room` to free space, :meth:`fail_next_fsync` / :meth:`fail_next_truncate` to make the next fsync
    or ftruncate report an I/O error.
    """

    def __init__(self, free: int | None = None) -> None:
        self.free = free
        self.fsync_errors: list[int] = []
        self.truncate_errors: list[int] = []
        self.failures = 0

    def make_room(self, free: int | None) -> None:
        self.free = free

    def fail_next_fsync(self, code: int = errno.EIO) -> None:
        self.fsync_errors.append(code)

    def fail_next_truncate(self, code: int = errno.EIO) -> None:
        self.truncate_errors.append(code)

    def open(self, path: os.PathLike[str] | str, flags: int, mode: int = 0o600) -> int:
        # A full file system has no block for a new file either.
        if flags & os.O_CREAT and self.free is not None and self.free <= 0 and not os.path.exists(path):
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.open(path, flags, mode)

    def write(self, fd: int, data: memoryview) -> int:
        if self.free is not None:
            if self.free <= 0:
                self.failures += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = data[: self.free]
        written = os.write(fd, data)
        if self.free is not None:
            self.free -= written
        return written

    def fsync(self, fd: int) -> None:
        if self.fsync_errors:
            code = self.fsync_errors.pop(0)
            self.failures += 1
            raise OSError(code, os.strerror(code))
        os.fsync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        if self.truncate_errors:
            code = self.truncate_errors.pop(0)
            self.failures += 1
            raise OSError(code, os.strerror(code))
        before = os.fstat(fd).st_size
        os.ftruncate(fd, size)
        if self.free is not None and before > size:
            self.free += before - size


__all__ = ["FillingDisk", "JournalIO"]
