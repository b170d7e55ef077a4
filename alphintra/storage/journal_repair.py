"""Repair a damaged journal: back it up whole, then cut it at the first invalid record.

The engine refuses to start on a journal with damage other than a torn tail (see :mod:`alphintra.storage.journal`),
because dropping a complete record could re-execute an acknowledged fill. Repair is the explicit, human decision
to give up what follows the damage: :func:`find_damage` scans every record; :func:`repair_journal` takes the
journal's LOCK (so no engine runs meanwhile), copies the whole directory into a timestamped backup first (and makes
the copy durable), and only then truncates the damaged segment at the bad record. Segments after it, and snapshots
that cover records past the cut, are moved into the backup rather than deleted. Every valid record before the
damage is kept, so the journal replays up to its last good sequence number.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alphintra.errors import ConflictError, NotFoundError, StorageUnavailable
from alphintra.storage.journal import (
    _SNAPSHOT,
    JournalCorrupted,
    _decode,
    _fsync_dir,
    _lines,
    _load,
    _os_error,
    _segments,
    _why_invalid,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no single-writer check
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Damage:
    """Where a journal stops being valid, and what cutting it there gives up."""

    segment: Path
    offset: int
    why: str
    last_good_seq: int
    records: int  # valid records before the damage
    cut_bytes: int
    records_lost: int  # lines (records or fragments) at and after the damage
    later_segments: tuple[Path, ...]
    later_snapshots: tuple[Path, ...]
    misnamed: bool = False  # the segment's name does not continue the journal: it moves whole

    def to_dict(self) -> dict[str, object]:
        return {
            "file": str(self.segment),
            "offset": self.offset,
            "problem": self.why,
            "last_good_seq": self.last_good_seq,
            "records_kept": self.records,
            "cut_bytes": self.cut_bytes,
            "records_lost": self.records_lost,
            "moved_segments": [str(p) for p in self.later_segments],
            "moved_snapshots": [str(p) for p in self.later_snapshots],
        }


@dataclass(frozen=True, slots=True)
class RepairReport:
    directory: Path
    damage: Damage | None
    backup: Path | None = None
    moved: tuple[Path, ...] = field(default=())

    @property
    def repaired(self) -> bool:
        return self.damage is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "journal": str(self.directory),
            "damaged": self.damage is not None,
            "backup": None if self.backup is None else str(self.backup),
            **({} if self.damage is None else self.damage.to_dict()),
        }


def _count_lines(path: Path, offset: int) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def find_damage(directory: Path | str) -> Damage | None:
    """Scan every record of the journal in ``directory``; None when it is intact (a torn tail counts as damage).

    Reads only: safe while an engine writes (it may then report the record being written as incomplete).
    """
    root = Path(directory)
    if not root.is_dir():
        raise NotFoundError(f"no journal at {root}")
    segments = _segments(root)
    expected: int | None = None
    records = 0
    for index, (first, path) in enumerate(segments):
        where: tuple[int, str] | None = None
        misnamed = expected is not None and first != expected
        if misnamed:
            where = (0, f"segment starts at seq {first}, expected {expected}")
        else:
            expected = first
            for offset, _, raw in _lines(path):
                frame = _decode(raw)
                if frame is None:
                    where = (offset, _why_invalid(raw, index == len(segments) - 1))
                elif frame[0] != expected:
                    where = (offset, f"sequence {frame[0]} where {expected} was expected")
                else:
                    try:
                        _load(path, offset, frame[1])
                    except JournalCorrupted as exc:
                        where = (offset, exc.why)
                if where is not None:
                    break
                expected += 1
                records += 1
        if where is None:
            continue
        offset, why = where
        last_good = (expected if expected is not None else first) - 1
        later = tuple(p for _, p in segments[index + 1 :])
        snapshots = tuple(
            p for p in sorted(root.iterdir()) if (m := _SNAPSHOT.fullmatch(p.name)) and int(m.group(1)) > last_good
        )
        return Damage(
            segment=path,
            offset=offset,
            why=why,
            last_good_seq=last_good,
            records=records,
            cut_bytes=path.stat().st_size - offset + sum(p.stat().st_size for p in later),
            records_lost=_count_lines(path, offset) + sum(_count_lines(p, 0) for p in later),
            later_segments=later,
            later_snapshots=snapshots,
            misnamed=misnamed,
        )
    return None


def _lock(directory: Path) -> int:
    fd = os.open(directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConflictError(
                f"the journal {directory} is in use by a running engine",
                detail="stop it first with `alphintra engine stop`",
            ) from None
    return fd


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(root)
    _fsync_dir(root.parent)


def _backup(directory: Path, backups: Path, now: datetime) -> Path:
    backups.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backups / f"journal-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = backups / f"journal-{stamp}-{n}"
    try:
        shutil.copytree(directory, target, ignore=shutil.ignore_patterns("LOCK"))
        os.chmod(target, 0o700)
        _fsync_tree(target)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise StorageUnavailable(
            f"cannot back up the journal to {target} ({_os_error(exc)}); nothing was changed"
        ) from None
    return target


def repair_journal(
    directory: Path | str, backups: Path | str, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> RepairReport:
    """Back the journal up into ``backups`` and cut it at its first invalid record (nothing to do when intact).

    Raises ConflictError while an engine holds the journal, StorageUnavailable when the backup cannot be made
    (the journal is then untouched).
    """
    root = Path(directory)
    if not root.is_dir():
        raise NotFoundError(f"no journal at {root}")
    lock = _lock(root)
    try:
        damage = find_damage(root)
        if damage is None:
            return RepairReport(root, None)
        backup = _backup(root, Path(backups), now())
        moved: list[Path] = []
        # Move what lies wholly after the damage first, so that a crash half-way leaves a journal that ends
        # at the damaged segment (still refused, repaired by running this again), never a gap.
        for path in (*reversed(damage.later_segments), *damage.later_snapshots):
            os.replace(path, backup / path.name)
            moved.append(backup / path.name)
        if damage.misnamed:
            os.replace(damage.segment, backup / damage.segment.name)  # even its name is wrong
            moved.append(backup / damage.segment.name)
        else:
            fd = os.open(damage.segment, os.O_WRONLY)
            try:
                os.ftruncate(fd, damage.offset)
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(root)
        return RepairReport(root, damage, backup, tuple(moved))
    finally:
        with contextlib.suppress(OSError):
            os.close(lock)


__all__ = ["Damage", "RepairReport", "find_damage", "repair_journal"]
