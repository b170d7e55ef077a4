"""The event journal: format, sequence, rotation, fsync policies, crash recovery, corruption, snapshots."""

from __future__ import annotations

import json
import os
import threading
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from alphintra.errors import ConflictError, OperationFailed, ValidationError
from alphintra.storage.journal import Journal, JournalCorrupted, read_journal


class FakeMonotonic:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance_ms(self, ms: int) -> None:
        self.ns += ms * 1_000_000


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts fsync calls on files (not directories) while still performing them."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        import stat

        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    yield calls


def records(journal_dir: Path) -> list[tuple[int, dict[str, object]]]:
    return [(r.seq, r.record) for r in read_journal(journal_dir)]


def segment_files(journal_dir: Path) -> list[str]:
    return sorted(p.name for p in journal_dir.glob("segment-*.jsonl"))


def test_append_and_read_back_with_sequence_and_checksum(tmp_path: Path) -> None:
    with Journal(tmp_path / "j") as journal:
        assert journal.append({"type": "A", "n": 1}) == 1
        assert journal.append_many([{"type": "B"}, {"type": "C", "text": "naïve\nline"}]) == [2, 3]
        assert journal.last_seq == journal.durable_seq == 3
        assert [(r.seq, r.record["type"]) for r in journal.read(2)] == [(2, "B"), (3, "C")]
    lines = (tmp_path / "j" / "segment-00000000000000000001.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4
    first = json.loads(lines[0])
    assert first == {"seq": 1, "crc": first["crc"], "rec": {"type": "A", "n": 1}}
    assert int(first["crc"], 16) == zlib.crc32(b'1:{"type":"A","n":1}')
    assert records(tmp_path / "j")[2] == (3, {"type": "C", "text": "naïve\nline"})


def test_reopen_continues_the_sequence(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append_many([{"i": i} for i in range(5)])
    with Journal(tmp_path) as journal:
        assert journal.recovery.truncated_bytes == 0
        assert journal.last_seq == 5
        assert journal.append({"i": 5}) == 6
    assert [seq for seq, _ in records(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_rotation_by_size_and_reading_across_segments(tmp_path: Path) -> None:
    with Journal(tmp_path, segment_bytes=200) as journal:
        for i in range(20):
            journal.append({"i": i, "pad": "x" * 40})
        assert [r.record["i"] for r in journal.read(7)] == list(range(6, 20))
    names = segment_files(tmp_path)
    assert len(names) > 5
    firsts = [int(n[len("segment-") : -len(".jsonl")]) for n in names]
    assert firsts[0] == 1 and firsts == sorted(firsts)
    with Journal(tmp_path, segment_bytes=200) as journal:
        assert journal.append({"i": 20}) == 21
    assert [r["i"] for _, r in records(tmp_path)] == list(range(21))


def test_torn_tail_is_truncated_and_complete_records_survive(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append_many([{"i": i} for i in range(3)])
    segment = tmp_path / segment_files(tmp_path)[0]
    intact = segment.stat().st_size
    partial = b'{"seq":4,"crc":"00000000","rec":{"i":'  # the crash hit mid-write
    with segment.open("ab") as fh:
        fh.write(partial)
    # Another process reading meanwhile sees the three records and stops quietly at the half line.
    assert [seq for seq, _ in records(tmp_path)] == [1, 2, 3]
    with Journal(tmp_path) as journal:
        assert journal.recovery.truncated_bytes == len(partial)
        assert journal.recovery.last_seq == 3
        assert segment.stat().st_size == intact
        assert journal.append({"i": 3}) == 4
    assert [r["i"] for _, r in records(tmp_path)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "tail",
    [
        b"\x00" * 4096,  # the file grew but the data never reached the disk
        b'{"seq":4,"crc":"00000000","rec":{"i":3}}',  # the write stopped right before the newline
        b'{"seq":4,"crc":"1234ab',  # a crash mid-write
    ],
)
def test_an_incomplete_last_line_is_a_torn_tail(tmp_path: Path, tail: bytes) -> None:
    with Journal(tmp_path) as journal:
        journal.append_many([{"i": i} for i in range(3)])
    segment = tmp_path / segment_files(tmp_path)[0]
    with segment.open("ab") as fh:
        fh.write(tail)
    with Journal(tmp_path) as journal:
        assert journal.recovery.truncated_bytes == len(tail)
        assert [r.seq for r in journal.read()] == [1, 2, 3]


@pytest.mark.parametrize(
    "damage",
    ["flip", "complete bad line", "bad line then junk"],
)
def test_a_complete_last_record_that_fails_its_checksum_is_corruption(tmp_path: Path, damage: str) -> None:
    """Changed rule (issue 13): a complete line was written whole and may have been acknowledged; dropping it
    as a torn tail re-executed an acknowledged fill at restart."""
    with Journal(tmp_path) as journal:
        journal.append_many([{"i": i, "fill": "10.25"} for i in range(3)])
    segment = tmp_path / segment_files(tmp_path)[0]
    data = bytearray(segment.read_bytes())
    last = data.rindex(b"\n", 0, len(data) - 1) + 1
    if damage == "flip":
        data[data.index(b"10.25", last) + 1] = ord("9")  # bit rot in the last, complete record
    elif damage == "complete bad line":
        last = len(data)
        data += b'{"seq":4,"crc":"00000000","rec":{"i":3}}\n'
    else:
        last = len(data)
        data += b'{"seq":4,"crc":"1234abcd","rec":{"i":3}}\n\x00\x00'
    segment.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupted) as opened:
        Journal(tmp_path)
    assert opened.value.offset == last
    assert f"journal corrupted: {segment} at byte {last}: a complete record fails its checksum" in str(opened.value)
    assert "run `alphintra engine repair`" in (opened.value.detail or "")
    assert segment.read_bytes() == bytes(data)  # nothing was cut
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))  # a reader must not take it for a line still being written


def test_corruption_in_the_middle_is_detected_not_repaired(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append_many([{"i": i} for i in range(5)])
    segment = tmp_path / segment_files(tmp_path)[0]
    data = bytearray(segment.read_bytes())
    second = data.index(b'{"seq":2')
    data[data.index(b'"i":1', second) + 4] = ord("7")  # bit rot in record 2
    segment.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupted) as opened:
        Journal(tmp_path)
    assert opened.value.offset == second
    assert "a complete record fails its checksum" in str(opened.value)
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))
    assert segment.read_bytes() == bytes(data)  # nothing was truncated
    with pytest.raises(JournalCorrupted):
        Journal(tmp_path)  # the failed open released its lock: the same error again, not "already open"


def sealed_journal(directory: Path) -> list[Path]:
    with Journal(directory, segment_bytes=50) as journal:
        for i in range(4):
            journal.append({"i": i, "pad": "y" * 30})
    return [directory / name for name in segment_files(directory)]


def test_sequence_gap_and_damage_in_a_sealed_segment_are_corruption(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append({"i": 0})
    segment = tmp_path / segment_files(tmp_path)[0]
    payload = b'{"i":9}'
    crc = zlib.crc32(payload, zlib.crc32(b"5:"))
    with segment.open("ab") as fh:
        fh.write(b'{"seq":5,"crc":"%08x","rec":%s}\n' % (crc, payload))
    with pytest.raises(JournalCorrupted) as gap:
        Journal(tmp_path)
    assert "sequence 5 where 2 was expected" in str(gap.value)

    other = tmp_path / "sealed"
    first = sealed_journal(other)[0]
    size = first.stat().st_size
    first.write_bytes(first.read_bytes()[:-5])  # a sealed segment cannot have a torn tail
    with pytest.raises(JournalCorrupted) as sealed:
        list(read_journal(other))
    assert "a sealed segment does not end at a record boundary" in str(sealed.value)
    with pytest.raises(JournalCorrupted) as opened:  # and the writer refuses it at open, before any replay
        Journal(other, segment_bytes=50)
    assert opened.value.path == first and opened.value.offset == 0 and "does not end" in str(opened.value)
    assert first.stat().st_size == size - 5


def test_an_older_segment_missing_its_last_records_is_corruption(tmp_path: Path) -> None:
    """Bytes cut from an older segment's end on a record boundary: every line left is valid, yet records are gone."""
    segments = sealed_journal(tmp_path)
    first = segments[0]
    data = first.read_bytes()
    first.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1] if data.count(b"\n") > 1 else b"")
    with pytest.raises(JournalCorrupted) as opened:
        Journal(tmp_path, segment_bytes=50)
    assert opened.value.path == first
    assert "next one starts at" in str(opened.value) or "sealed segment is empty" in str(opened.value)
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))


def test_a_segment_whose_first_record_does_not_continue_the_previous_one_is_corruption(tmp_path: Path) -> None:
    segments = sealed_journal(tmp_path)
    newest = segments[-1]
    newest.rename(newest.with_name("segment-00000000000000000009.jsonl"))  # its records start at 4, not 9
    with pytest.raises(JournalCorrupted) as opened:
        Journal(tmp_path, segment_bytes=50)
    assert "next one starts at 9" in str(opened.value)


def test_every_policy_fsyncs_each_append(tmp_path: Path, fsyncs: list[int]) -> None:
    with Journal(tmp_path, fsync="every") as journal:
        for i in range(4):
            seq = journal.append({"i": i})
            assert journal.durable_seq == seq
        assert len(fsyncs) == 4
        journal.append_many([{"i": 9}] * 10)
        assert len(fsyncs) == 5  # one write, one fsync for the batch


def test_group_policy_fsyncs_by_count_by_time_and_on_close(tmp_path: Path, fsyncs: list[int]) -> None:
    clock = FakeMonotonic()
    journal = Journal(tmp_path, fsync="group", group_records=3, group_interval_ms=50, monotonic_ns=clock)
    journal.append({"i": 1})
    journal.append({"i": 2})
    assert (journal.last_seq, journal.durable_seq, len(fsyncs)) == (2, 0, 0)
    # Written to the OS already: a reader (or a process crash) sees them before any fsync.
    assert [seq for seq, _ in records(tmp_path)] == [1, 2]
    journal.append({"i": 3})
    assert (journal.durable_seq, len(fsyncs)) == (3, 1)

    journal.append({"i": 4})
    clock.advance_ms(49)
    assert journal.maybe_sync() is False
    clock.advance_ms(1)
    assert journal.maybe_sync() is True
    assert (journal.durable_seq, len(fsyncs)) == (4, 2)

    journal.append({"i": 5})
    clock.advance_ms(50)
    journal.append({"i": 6})  # the oldest unsynced record is 50 ms old: this append syncs the group
    assert (journal.durable_seq, len(fsyncs)) == (6, 3)

    journal.append({"i": 7})
    journal.close()
    assert (journal.durable_seq, len(fsyncs)) == (7, 4)
    journal.close()  # idempotent
    with pytest.raises(OperationFailed):
        journal.append({"i": 8})
    assert [seq for seq, _ in records(tmp_path)] == list(range(1, 8))


def test_background_flusher_makes_records_durable_without_further_appends(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="group", group_records=1000, group_interval_ms=2, flusher=True) as journal:
        seq = journal.append({"i": 1})
        assert journal.wait_durable(seq, timeout=10)
        assert journal.durable_seq >= seq


def test_wait_durable_is_released_by_another_threads_sync(tmp_path: Path) -> None:
    journal = Journal(tmp_path, fsync="group", group_records=1000, group_interval_ms=60_000)
    seq = journal.append({"i": 1})
    waiting = threading.Event()
    result: list[bool] = []

    def waiter() -> None:
        waiting.set()
        result.append(journal.wait_durable(seq, timeout=10))

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait()
    assert journal.wait_durable(seq, timeout=0) is False
    journal.sync()
    thread.join()
    assert result == [True]
    journal.close()


def test_single_writer_lock(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    with pytest.raises(ConflictError):
        Journal(tmp_path)
    journal.close()
    Journal(tmp_path).close()


def test_bad_records_and_settings_are_refused_and_write_nothing(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append({"ok": True})
        with pytest.raises(ValidationError) as decimal:
            journal.append_many([{"fine": 1}, {"price": Decimal("1.5")}])
        assert decimal.value.field == "record"
        with pytest.raises(ValidationError):
            journal.append({"nan": float("nan")})
        with pytest.raises(ValidationError):
            journal.append(["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            journal.append({1: "int key"})  # type: ignore[dict-item]
        with pytest.raises(ValidationError):
            journal.append_many([])
        assert journal.last_seq == 1
    assert len(records(tmp_path)) == 1
    with pytest.raises(ValidationError) as policy:
        Journal(tmp_path / "x", fsync="sometimes")
    assert policy.value.field == "fsync"
    with pytest.raises(ValidationError):
        Journal(tmp_path / "y", segment_bytes=0)


def test_readers_on_other_threads_see_contiguous_prefixes_while_appending(tmp_path: Path) -> None:
    journal = Journal(tmp_path, fsync="group", segment_bytes=2048, group_records=50)
    done = threading.Event()
    problems: list[str] = []
    reads = [0]

    def reader() -> None:
        while not done.is_set() or reads[0] < 5:
            got = [r.seq for r in journal.read()]
            reads[0] += 1
            if got != list(range(1, len(got) + 1)):
                problems.append(f"non-contiguous read of {len(got)} records")
            if any(r.record["i"] != r.seq - 1 for r in journal.read(max(1, len(got) - 3))):
                problems.append("record does not match its sequence")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i in range(1500):
        journal.append({"i": i})
    done.set()
    for thread in threads:
        thread.join()
    journal.close()
    assert problems == []
    assert reads[0] >= 5
    assert len(segment_files(tmp_path)) > 3
    assert [r["i"] for _, r in records(tmp_path)] == list(range(1500))
