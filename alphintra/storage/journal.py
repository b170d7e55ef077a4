"""The event journal: an append-only, checksummed log of records, with snapshots, for crash recovery.

Format -- JSON lines, one record per line::

    {"seq":42,"crc":"9a0b1c2d","rec":{"type":"OrderFilled",...}}

``seq`` increases by one per record across the whole journal; ``crc`` is the CRC32 (8 hex digits) of the text
``"<seq>:"`` followed by the exact bytes of ``rec`` as written, so a record is checked without re-serialising it.
JSON lines rather than binary length-prefixed frames because the journal is also a debugging tool: ``tail``,
``grep`` and ``jq`` read it as is. JSON never contains a raw newline, so the newline is an unambiguous frame end and
a record without one is a torn write. Records are plain ``dict[str, Any]`` (event ``to_dict()`` output): the
journal knows nothing of event classes.

Files: ``segment-<first seq>.jsonl`` (a new segment starts once the current one passes ``segment_bytes``),
``snapshot-<seq>.json`` (a state dict covering every record up to ``seq``) and ``LOCK``: one process at a time
may write (an ``flock``; a second writer gets ``ConflictError``).

Durability (``fsync``):

* ``every`` -- each append is written and ``fsync``-ed before :meth:`Journal.append` returns. A returned sequence
  number is on disk: this is the guarantee behind "an event is journalled before it is acknowledged".
* ``group`` -- each append is written to the OS at once (a process crash loses nothing) and ``fsync``-ed in
  groups: as soon as ``group_records`` records or ``group_interval_ms`` have accumulated, at :meth:`Journal.sync`,
  at segment rotation and at close. A power loss may lose the last group. With ``flusher=True`` a background
  thread enforces the time bound when appends stop. :meth:`Journal.wait_durable` lets a caller acknowledge only
  once its record is on disk, while still sharing one fsync with its neighbours.

A write or fsync that fails (``ENOSPC``, ``EIO``, ``EDQUOT``...) leaves nothing behind: the segment is cut back
to where the batch began -- after a failed fsync, to where the last good fsync left it, since the kernel may have
dropped the pages it could not write and a later fsync would not say so -- ``last_seq`` does not move (the cut
records' numbers go to the next ones) and :class:`~alphintra.errors.StorageUnavailable` names the file and the
error. The next append works as soon as space returns. A segment or snapshot that cannot be started while the
records are already durable is only logged: the append succeeded. ``io`` swaps the system calls for a
:class:`~alphintra.storage.journal_io.FillingDisk` in tests.

Recovery on open: only the newest segment can end in a torn record (a segment is fsync-ed before the next one is
started), and a torn record is one without its newline: the crash interrupted its write, so it was never
acknowledged, and it is cut. Everything else is corruption and :class:`JournalCorrupted` is raised, naming the
file and the byte offset, with nothing repaired automatically: a complete line that fails its checksum (even the
last one: it was written whole and may have been acknowledged), a sequence gap, a sealed segment that does not end
exactly at a record boundary or whose last record is not the one before the next segment's first.
``alphintra engine repair`` (:mod:`alphintra.storage.journal_repair`) backs the journal up and cuts it at the
first invalid record.

Snapshots are written atomically (temporary file, fsync, rename, fsync of the directory) after the records they
cover are durable; replay = newest snapshot + the records after it (:meth:`Journal.replay`).

Thread safety: appends, syncs, rotation and snapshots hold one lock; readers (:meth:`Journal.read`) may run on
other threads and see every record appended before they started. :func:`read_journal` reads a journal that
another process may be writing (it stops quietly at a half-written last line).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import logging
import math
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from alphintra.errors import ConflictError, OperationFailed, StorageUnavailable, ValidationError
from alphintra.osthread import name_os_thread
from alphintra.storage.journal_io import JournalIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the single-writer rule is then not enforced
    fcntl = None  # type: ignore[assignment]

_log = logging.getLogger("alphintra.storage.journal")

_SEGMENT = re.compile(r"segment-(\d{20})\.jsonl")
_SNAPSHOT = re.compile(r"snapshot-(\d{20})\.json")
# Dataclasses, datetimes and subclasses (enums) are not plain JSON to json.dumps: orjson hands them back (TypeError)
# and the json path decides, as it always did.
_ORJSON_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_FRAME = re.compile(rb'\{"seq":(\d+),"crc":"([0-9a-f]{8})","rec":(.*)\}\n\Z', re.DOTALL)


class FsyncPolicy(StrEnum):
    EVERY = "every"
    GROUP = "group"


class JournalCorrupted(OperationFailed):
    """The journal holds an invalid record that is not a torn tail; it needs a human (or a backup)."""

    code = "journal_corrupted"

    def __init__(self, path: Path, offset: int, why: str) -> None:
        self.path = path
        self.offset = offset
        self.why = why
        super().__init__(
            f"journal corrupted: {path} at byte {offset}: {why}",
            detail="the engine will not start on a damaged journal; run `alphintra engine repair` "
            "(it keeps a backup of the journal, then cuts it at the first damaged record)",
        )


@dataclass(frozen=True, slots=True)
class JournalRecord:
    seq: int
    record: dict[str, Any]


class Snapshot:
    """A state that covers every journal record up to and including ``seq``.

    The state of a snapshot just written is read back from its JSON only if someone asks: the daemon writes one
    every few thousand records and never reads it, and parsing megabytes is one C call that holds the GIL the
    order path needs for its whole length.
    """

    __slots__ = ("_payload", "_state", "path", "seq")

    def __init__(self, seq: int, state: dict[str, Any] | None, path: Path, *, payload: bytes | None = None) -> None:
        if state is None and payload is None:
            raise ValueError("a snapshot needs its state or its JSON")
        self.seq = seq
        self.path = path
        self._state = state
        self._payload = payload

    @property
    def state(self) -> dict[str, Any]:
        if self._state is None:
            assert self._payload is not None
            self._state = _json_loads(self._payload)
            self._payload = None
        return self._state

    def __repr__(self) -> str:
        return f"Snapshot(seq={self.seq}, path={str(self.path)!r})"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What opening the journal repaired: the torn tail cut from the last segment (0 bytes when clean)."""

    segment: Path | None
    truncated_bytes: int
    last_seq: int


# ---------------------------------------------------------------------------------------------- frames


def _encode(record: object) -> bytes:
    """The record's compact JSON, UTF-8. orjson writes the same JSON as ``json.dumps`` (compact, UTF-8 text, no
    NaN) several times faster; whatever it does not take as plain JSON goes the ``json`` way, which decides."""
    if type(record) is dict:
        try:
            payload = orjson.dumps(record, option=_ORJSON_STRICT)
        except TypeError:  # orjson's JSONEncodeError: a non-str key, a subclass, an int beyond 64 bits...
            pass  # json rules on it below
        else:
            # orjson writes a NaN or an infinity as null where json refuses it. Every null written being one of the
            # record's own None values (the common case: a typed record's unset fields) rules that out without a
            # walk through the record; otherwise it is looked for.
            nulls = payload.count(b"null")
            if not nulls or nulls == list(record.values()).count(None) or not _non_finite(record):
                return payload
    return _encode_json(record)


def encoded(record: dict[str, Any]) -> orjson.Fragment:
    """``record`` encoded now, by the rules of every record, to stand as a value in a record written later
    (a snapshot reuses the entries of orders that did not change since the last one)."""
    return orjson.Fragment(_encode(record))


def _encode_json(record: object) -> bytes:
    if not isinstance(record, dict) or not all(isinstance(k, str) for k in record):
        raise ValidationError("record", "must be a dict with string keys", type(record).__name__)
    try:
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValidationError("record", f"must be JSON-serialisable ({exc})") from None


def _non_finite(value: dict[str, Any] | list[Any] | tuple[Any, ...]) -> bool:
    """Whether a NaN or an infinity is anywhere in ``value`` (a record's dict, or a list in it)."""
    items: Iterable[Any] = value.values() if type(value) is dict else value
    for item in items:
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                return True
        elif (kind is dict or kind is list or kind is tuple) and _non_finite(item):
            return True
    return False


def _json_loads(payload: bytes) -> Any:
    """orjson reads the journal's JSON several times faster; what it refuses (an integer beyond 64 bits, a NaN
    literal of a hand-written record) is read by ``json``, which the journal used before, so old files still read."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def _frame(seq: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(b"%d:" % seq))
    return b'{"seq":%d,"crc":"%08x","rec":%s}\n' % (seq, crc, payload)


def _decode(raw: bytes) -> tuple[int, bytes] | None:
    """(seq, payload) of a complete, checksummed line; None for a torn or damaged one."""
    match = _FRAME.match(raw)
    if match is None:
        return None
    seq, payload = int(match.group(1)), match.group(3)
    if zlib.crc32(payload, zlib.crc32(b"%d:" % seq)) != int(match.group(2), 16):
        return None
    return seq, payload


def _load(path: Path, offset: int, payload: bytes) -> dict[str, Any]:
    try:
        value = _json_loads(payload)
    except ValueError:
        raise JournalCorrupted(path, offset, "checksum matches but the record is not JSON") from None
    if not isinstance(value, dict):
        raise JournalCorrupted(path, offset, "record is not an object")
    return value


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(start offset, end offset, raw line) of every line, the last one possibly without its newline."""
    with path.open("rb") as fh:
        offset = 0
        for raw in fh:
            end = offset + len(raw)
            yield offset, end, raw
            offset = end


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        match = _SEGMENT.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _segment_path(directory: Path, first_seq: int) -> Path:
    return directory / f"segment-{first_seq:020d}.jsonl"


def _read_segments(
    segments: list[tuple[int, Path]], from_seq: int, upto: int | None, *, tolerate_torn_tail: bool
) -> Iterator[JournalRecord]:
    """Records with ``from_seq <= seq (<= upto)``, checking checksums and continuity on the way.

    A line without its newline at the very end of the newest segment is a write still in progress (or one a
    crash interrupted: never acknowledged); with ``tolerate_torn_tail`` it ends the iteration quietly. Any other
    invalid bytes -- a complete line that fails its checksum, an incomplete line in a sealed segment -- are
    corruption.
    """
    start = 0
    for index, (first, _) in enumerate(segments):
        if first <= from_seq:
            start = index
    expected: int | None = None
    for index in range(start, len(segments)):
        first, path = segments[index]
        if upto is not None and expected is not None and expected > upto:
            return
        if expected is not None and first != expected:
            raise JournalCorrupted(path, 0, f"segment starts at seq {first}, expected {expected}")
        expected = first
        newest = index == len(segments) - 1
        for offset, _, raw in _lines(path):
            if upto is not None and expected > upto:
                return
            frame = _decode(raw)
            if frame is None:
                if not raw.endswith(b"\n") and newest and tolerate_torn_tail:
                    return
                raise JournalCorrupted(path, offset, _why_invalid(raw, newest))
            seq, payload = frame
            if seq != expected:
                raise JournalCorrupted(path, offset, f"sequence {seq} where {expected} was expected")
            expected += 1
            if seq >= from_seq:
                yield JournalRecord(seq, _load(path, offset, payload))


def _why_invalid(raw: bytes, newest: bool) -> str:
    if raw.endswith(b"\n"):
        return "a complete record fails its checksum"
    if newest:
        return "an incomplete record"
    return "a sealed segment does not end at a record boundary"


def _last_line(path: Path) -> tuple[int, bytes]:
    """(offset, bytes) of the last line of a file, reading backwards from its end (empty file: (0, b""))."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        position, tail = end, b""
        while position > 0:
            step = min(65536, position)
            position -= step
            fh.seek(position)
            tail = fh.read(step) + tail
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0:
                return position + cut + 1, tail[cut + 1 :]
        return 0, tail


def _check_sealed(segments: list[tuple[int, Path]]) -> None:
    """Every sealed segment starts where its name says and ends, on a record boundary, right before the next.

    Only the ends are read (replay checks every record in between): a start must not have to read the journal
    twice to catch the damage a torn-tail rule would otherwise have swallowed.
    """
    for (first, path), (following, _) in itertools.pairwise(segments):
        with path.open("rb") as fh:
            head = fh.readline()
        frame = _decode(head)
        if frame is None:
            raise JournalCorrupted(path, 0, _why_invalid(head, False) if head else "a sealed segment is empty")
        if frame[0] != first:
            raise JournalCorrupted(path, 0, f"sequence {frame[0]} where {first} was expected")
        offset, raw = _last_line(path)
        frame = _decode(raw)
        if frame is None:
            raise JournalCorrupted(path, offset, _why_invalid(raw, False))
        if frame[0] != following - 1:
            raise JournalCorrupted(
                path, offset, f"the segment ends at seq {frame[0]} but the next one starts at {following}"
            )


def read_journal(directory: Path | str, from_seq: int = 1) -> Iterator[JournalRecord]:
    """Read a journal without opening it for writing (another process may be appending to it).

    A record without its newline at the very end of the newest segment is treated as not-yet-written and ends the
    iteration; damage anywhere else, a complete last line that fails its checksum included, raises
    :class:`JournalCorrupted`.
    """
    root = Path(directory)
    if not root.is_dir():
        return iter(())
    return _read_segments(_segments(root), from_seq, None, tolerate_torn_tail=True)


# ---------------------------------------------------------------------------------------------- writer


class Journal:
    """The append-only journal of one data home (see the module docstring for format and guarantees)."""

    def __init__(
        self,
        directory: Path | str,
        *,
        fsync: FsyncPolicy | str = FsyncPolicy.EVERY,
        group_records: int = 256,
        group_interval_ms: int = 10,
        segment_bytes: int = 64 * 1024 * 1024,
        keep_snapshots: int = 2,
        flusher: bool = False,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        io: JournalIO | None = None,
    ) -> None:
        try:
            self.policy = FsyncPolicy(str(fsync).lower())
        except ValueError:
            raise ValidationError("fsync", "must be 'every' or 'group'", fsync) from None
        for name, value, minimum in (
            ("group_records", group_records, 1),
            ("group_interval_ms", group_interval_ms, 0),
            ("segment_bytes", segment_bytes, 1),
            ("keep_snapshots", keep_snapshots, 1),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValidationError(name, f"must be an integer >= {minimum}", value)
        self.directory = Path(directory)
        self._io = io or JournalIO()
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise _unavailable("create the journal directory", self.directory, exc) from None
        self._group_records = group_records
        self._group_interval_ns = group_interval_ms * 1_000_000
        self._segment_bytes = segment_bytes
        self._keep_snapshots = keep_snapshots
        self._now = monotonic_ns
        self._lock = threading.Lock()
        self._durable = threading.Condition(self._lock)
        self._snapshot_lock = threading.Lock()
        self._closed = False
        self._next_in_segment = 1
        self._lock_fd = self._take_lock()
        try:
            self.recovery = self._recover()
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._last_seq = self.recovery.last_seq
        self._durable_seq = self._last_seq
        self._unsynced = 0
        # Bumped whenever records that were written but not yet durable are cut after a failed fsync: their
        # sequence numbers are then given to the next records, and a waiter must not mistake those for its own.
        self._cuts = 0
        self._oldest_unsynced_ns = 0
        self._segments = _segments(self.directory)
        if not self._segments:
            self._segments = [(self._last_seq + 1, _segment_path(self.directory, self._last_seq + 1))]
        first, path = self._segments[-1]
        if self._last_seq + 1 != self._next_in_segment:
            # A snapshot covers more than the segments hold (records lost or pruned): continue in a fresh segment
            # so the sequence inside every segment stays contiguous.
            first, path = self._last_seq + 1, _segment_path(self.directory, self._last_seq + 1)
            self._segments.append((first, path))
        try:
            self._fd = self._io.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            os.close(self._lock_fd)
            raise _unavailable("open the journal segment", path, exc) from None
        self._size = os.fstat(self._fd).st_size
        self._durable_size = self._size  # where the current segment ends once every record in it is fsync-ed
        self._pending_cut: int | None = None  # a size the segment must be cut back to before anything else
        if self._size == 0:
            try:
                _fsync_dir(self.directory)
            except OSError as exc:
                os.close(self._fd)
                os.close(self._lock_fd)
                raise _unavailable("sync the journal directory", self.directory, exc) from None
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if flusher and self.policy is FsyncPolicy.GROUP:
            self._flusher = threading.Thread(target=self._flush_loop, name="journal-flusher", daemon=True)
            self._flusher.start()

    # -------------------------------------------------------------------------------- state
    @property
    def last_seq(self) -> int:
        """Sequence number of the last record appended (0 for an empty journal)."""
        return self._last_seq

    @property
    def durable_seq(self) -> int:
        """Every record up to this sequence number has been fsync-ed."""
        return self._durable_seq

    # -------------------------------------------------------------------------------- appending
    def append(self, record: Mapping[str, Any]) -> int:
        """Append one record and return its sequence number (durable on return under the ``every`` policy)."""
        return self.append_many([record])[-1]

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Append records in one write (and, under ``every``, one fsync); all are validated before any is written."""
        payloads = [_encode(r if type(r) is dict or not isinstance(r, Mapping) else dict(r)) for r in records]
        if not payloads:
            raise ValidationError("records", "must not be empty")
        with self._lock:
            self._check_open()
            self._finish_cut_locked()
            first = self._last_seq + 1
            data = b"".join(_frame(first + i, p) for i, p in enumerate(payloads))
            self._write(data)
            self._last_seq = first + len(payloads) - 1
            if self._unsynced == 0:
                self._oldest_unsynced_ns = self._now()
            self._unsynced += len(payloads)
            if self.policy is FsyncPolicy.EVERY or self._group_due():
                self._sync_locked()
            if self._size >= self._segment_bytes:
                self._rotate_locked()
            return list(range(first, self._last_seq + 1))

    def sync(self) -> int:
        """fsync everything appended so far; returns the durable sequence number."""
        with self._lock:
            self._check_open()
            self._finish_cut_locked()  # a failed write's fragment still on disk would outlive a crash
            self._sync_locked()
            return self._durable_seq

    def maybe_sync(self) -> bool:
        """Under ``group``, fsync if the group's record or time bound has been reached; True if it synced."""
        with self._lock:
            if self._closed or not self._unsynced or not self._group_due():
                return False
            self._sync_locked()
            return True

    def wait_durable(self, seq: int, timeout: float | None = None) -> bool:
        """Block until record ``seq`` is fsync-ed (by the group policy or another caller); False on timeout.

        Also False when a failed fsync cut the not-yet-durable records while waiting: the record is gone (call it
        right after the append, so that its number cannot have been cut and given to another record before).
        """
        with self._durable:
            cuts = self._cuts
            self._durable.wait_for(lambda: self._durable_seq >= seq or self._closed or self._cuts != cuts, timeout)
            return self._cuts == cuts and self._durable_seq >= seq

    def close(self) -> None:
        """fsync what is pending and release the journal; idempotent."""
        if self._flusher is not None:
            self._stop.set()
            self._flusher.join()
            self._flusher = None
        with self._lock:
            if self._closed:
                return
            try:
                self._finish_cut_locked()
                self._sync_locked()
            finally:
                self._closed = True
                os.close(self._fd)
                os.close(self._lock_fd)
                self._durable.notify_all()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------------- reading
    def read(self, from_seq: int = 1) -> Iterator[JournalRecord]:
        """Records from ``from_seq`` up to the last one appended when the call was made (any thread)."""
        if not isinstance(from_seq, int) or from_seq < 1:
            raise ValidationError("from_seq", "must be an integer >= 1", from_seq)
        with self._lock:
            segments = list(self._segments)
            upto = self._last_seq
        return _read_segments(segments, from_seq, upto, tolerate_torn_tail=False)

    # -------------------------------------------------------------------------------- snapshots
    def write_snapshot(self, state: Mapping[str, Any], seq: int | None = None) -> Snapshot:
        """Store ``state`` as covering records up to ``seq`` (default: the last appended), atomically.

        The covered records are made durable first, so a snapshot never claims records a crash could still lose.
        """
        payload = _encode(dict(state))
        with self._lock:
            self._check_open()
            covered = self._last_seq if seq is None else seq
            if not isinstance(covered, int) or not 0 <= covered <= self._last_seq:
                raise ValidationError("seq", f"must be between 0 and the last sequence {self._last_seq}", seq)
            self._sync_locked()
        path = self.directory / f"snapshot-{covered:020d}.json"
        tmp = path.with_name(path.name + ".tmp")
        with self._snapshot_lock:  # appends go on meanwhile; only snapshot writers wait for each other
            try:
                fd = self._io.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    self._write_all(fd, _frame(covered, payload))
                    self._io.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
                _fsync_dir(self.directory)
            except OSError as exc:
                # No half-written snapshot may stay behind; the records it would have covered are all still there.
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise _unavailable("write the snapshot", path, exc) from None
            for _, old in self._snapshot_files()[: -self._keep_snapshots]:
                with contextlib.suppress(OSError):  # an old snapshot left behind costs space, nothing else
                    old.unlink(missing_ok=True)
        return Snapshot(covered, None, path, payload=payload)

    def latest_snapshot(self) -> Snapshot | None:
        """The newest readable snapshot; a damaged one is skipped (logged) in favour of the one before it."""
        for seq, path in reversed(self._snapshot_files()):
            raw = path.read_bytes()
            frame = _decode(raw)
            if frame is None or frame[0] != seq:
                _log.warning("journal snapshot %s is damaged; using an older one", path)
                continue
            return Snapshot(seq, _load(path, 0, frame[1]), path)
        return None

    def replay(self) -> tuple[Snapshot | None, Iterator[JournalRecord]]:
        """The newest snapshot and the records after it: folding them rebuilds the state."""
        snapshot = self.latest_snapshot()
        after = 0 if snapshot is None else snapshot.seq
        with self._lock:
            first_kept = self._segments[0][0]
        if first_kept > after + 1:
            raise JournalCorrupted(
                self._segments[0][1],
                0,
                f"records {after + 1}..{first_kept - 1} were pruned and no snapshot covers them",
            )
        return snapshot, self.read(after + 1)

    def prune(self, upto_seq: int) -> list[Path]:
        """Delete sealed segments whose records all have ``seq <= upto_seq``; a snapshot must cover them.

        Call it from the writer's thread when no reader is iterating over the old segments.
        """
        snapshot = self.latest_snapshot()
        if snapshot is None or snapshot.seq < upto_seq:
            raise ValidationError("upto_seq", "must be covered by a snapshot before its records are deleted", upto_seq)
        removed = []
        with self._lock:
            while len(self._segments) > 1 and self._segments[1][0] - 1 <= upto_seq:
                _, path = self._segments.pop(0)
                path.unlink()
                removed.append(path)
        if removed:
            _fsync_dir(self.directory)
        return removed

    # -------------------------------------------------------------------------------- internals
    def _check_open(self) -> None:
        if self._closed:
            raise OperationFailed(f"journal {self.directory} is closed")

    def _take_lock(self) -> int:
        try:
            fd = self._io.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unavailable("create the journal lock", self.directory / "LOCK", exc) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ConflictError(f"journal {self.directory} is already open for writing") from None
        return fd

    def _recover(self) -> Recovery:
        for leftover in self.directory.glob("snapshot-*.json.tmp"):
            leftover.unlink()  # a snapshot write that crashed before its rename
        segments = _segments(self.directory)
        snapshots = self._snapshot_files()
        floor = snapshots[-1][0] if snapshots else 0
        if not segments:
            self._next_in_segment = floor + 1
            return Recovery(None, 0, floor)
        _check_sealed(segments)
        first, path = segments[-1]
        last = first - 1
        good_end = 0
        bad_at: int | None = None
        for offset, end, raw in _lines(path):
            frame = _decode(raw)
            if frame is None:
                # Only a line the crash left without its newline was never acknowledged; a complete line that
                # fails its checksum was written whole, fsync-ed and maybe acknowledged: it is damage.
                if raw.endswith(b"\n"):
                    raise JournalCorrupted(path, offset, _why_invalid(raw, True))
                bad_at = offset
                continue
            if frame[0] != last + 1:
                raise JournalCorrupted(path, offset, f"sequence {frame[0]} where {last + 1} was expected")
            last, good_end = frame[0], end
        truncated = 0
        if bad_at is not None:
            truncated = path.stat().st_size - good_end
            try:
                fd = self._io.open(path, os.O_WRONLY, 0o600)
                try:
                    self._io.ftruncate(fd, good_end)
                    self._io.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise _unavailable("cut the torn tail of", path, exc) from None
            _log.warning("journal %s: cut a torn tail of %d bytes after seq %d", path, truncated, last)
        self._next_in_segment = last + 1
        return Recovery(path, truncated, max(last, floor))

    def _snapshot_files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            match = _SNAPSHOT.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _segment_now(self) -> Path:
        return self._segments[-1][1]

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._io.write(fd, view)
            view = view[written:]

    def _write(self, data: bytes) -> None:
        """Write a batch of records whole, or leave the segment exactly as it was and raise StorageUnavailable."""
        try:
            self._write_all(self._fd, data)
        except OSError as exc:
            # A full disk takes part of the batch: cut the fragment, or the next record would follow a torn one
            # and the next start would refuse the journal.
            self._cut_locked(self._size)
            raise _unavailable("write", self._segment_now(), exc) from None
        self._size += len(data)

    def _cut_locked(self, size: int) -> None:
        """Cut the current segment back to ``size``; if even that fails, remember to retry before the next write."""
        self._pending_cut = size
        self._size = size
        try:
            self._finish_cut_locked()
        except StorageUnavailable as exc:
            _log.error("%s", exc.message)

    def _finish_cut_locked(self) -> None:
        if self._pending_cut is None:
            return
        try:
            self._io.ftruncate(self._fd, self._pending_cut)
            self._io.fsync(self._fd)
        except OSError as exc:
            raise _unavailable("cut the failed write from", self._segment_now(), exc) from None
        self._pending_cut = None

    def _group_due(self) -> bool:
        return (
            self._unsynced >= self._group_records or self._now() - self._oldest_unsynced_ns >= self._group_interval_ns
        )

    def _sync_locked(self) -> None:
        if self._unsynced:
            try:
                self._io.fsync(self._fd)
            except OSError as exc:
                # After a failed fsync the kernel may have dropped the dirty pages and a later fsync would report
                # success for data that never reached the disk: nothing since the last good fsync is durable, so
                # it is cut and its sequence numbers go to the next records.
                lost = self._last_seq - self._durable_seq
                self._cut_locked(self._durable_size)
                self._last_seq = self._durable_seq
                self._unsynced = 0
                self._cuts += 1
                self._durable.notify_all()
                raise _unavailable("sync", self._segment_now(), exc, lost=lost) from None
            self._unsynced = 0
            self._durable_size = self._size
        if self._durable_seq != self._last_seq:
            self._durable_seq = self._last_seq
            self._durable.notify_all()

    def _rotate_locked(self) -> None:
        self._sync_locked()
        first = self._last_seq + 1
        path = _segment_path(self.directory, first)
        # The records written so far are durable whatever happens here: a segment that cannot be started only
        # means the current one grows past its size until a later append manages to rotate.
        try:
            fd = self._io.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            _log.warning("journal: cannot start segment %s (%s); the current one goes on", path, _os_error(exc))
            return
        try:
            _fsync_dir(self.directory)
        except OSError as exc:
            try:
                path.unlink()
            except OSError:
                pass  # the empty file stays: use it, rather than leave a segment that the records do not continue
            else:
                os.close(fd)
                _log.warning("journal: cannot start segment %s (%s); the current one goes on", path, _os_error(exc))
                return
        os.close(self._fd)
        self._fd = fd
        self._segments.append((first, path))
        self._size = self._durable_size = 0

    def _flush_loop(self) -> None:
        name_os_thread()
        interval = max(self._group_interval_ns / 1e9, 0.001)
        while not self._stop.wait(interval):
            try:
                self.maybe_sync()
            except StorageUnavailable as exc:
                _log.error("journal background fsync failed: %s", exc.message)


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc)
    return f"{name}: {text}" if name else text


def _unavailable(action: str, path: Path, exc: OSError, *, lost: int = 0) -> StorageUnavailable:
    message = f"cannot {action} {path} ({_os_error(exc)}); nothing of this change was kept"
    if lost > 1:
        message += f" ({lost} records not yet on disk were cut)"
    return StorageUnavailable(message)


__all__ = [
    "FsyncPolicy",
    "Journal",
    "JournalCorrupted",
    "JournalRecord",
    "Recovery",
    "Snapshot",
    "read_journal",
]
