"""`repair_journal`: a backup first, then a cut at the first invalid record; nothing valid before it is lost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alphintra.errors import ConflictError
from alphintra.storage.journal import Journal, JournalCorrupted, read_journal
from alphintra.storage.journal_repair import find_damage, repair_journal

NOW = datetime(2026, 12, 6, 23, 30, 5, tzinfo=UTC)


def build(directory: Path, count: int = 12) -> dict[str, bytes]:
    """A journal of ``count`` records over several segments, with a snapshot after record 4."""
    with Journal(directory, segment_bytes=120) as journal:
        for i in range(count):
            journal.append({"type": "OrderFilled", "i": i, "price": "101.25"})
            if i == 3:
                journal.write_snapshot({"upto": 4})
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != "LOCK"}


def segment_holding(directory: Path, seq: int) -> Path:
    for path in sorted(directory.glob("segment-*.jsonl")):
        if b'{"seq":%d,' % seq in path.read_bytes():
            return path
    raise AssertionError(seq)


def test_repair_backs_up_then_cuts_at_the_first_damaged_record(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    original = build(directory)
    damaged = segment_holding(directory, 8)
    data = bytearray(damaged.read_bytes())
    offset = data.index(b'{"seq":8,')
    assert offset > 0
    data[data.index(b"101.25", offset)] = ord("7")  # bit rot in record 8
    damaged.write_bytes(bytes(data))
    original[damaged.name] = bytes(data)
    later = [p for p in sorted(directory.glob("segment-*.jsonl")) if p.name > damaged.name]
    assert later  # the damage is in an older segment: the later ones must move, not vanish
    with pytest.raises(JournalCorrupted), Journal(directory, segment_bytes=120) as journal:
        list(journal.replay()[1])

    found = find_damage(directory)
    assert found is not None
    assert (found.segment, found.offset, found.last_good_seq, found.records) == (damaged, offset, 7, 7)
    assert found.why == "a complete record fails its checksum"
    assert found.records_lost == 5  # records 8..12
    assert found.cut_bytes == len(data) - offset + sum(len(original[p.name]) for p in later)

    report = repair_journal(directory, tmp_path / "backups", now=lambda: NOW)
    assert report.backup == tmp_path / "backups" / "journal-20261206T233005Z"
    assert {p.name: p.read_bytes() for p in report.backup.iterdir()} == original  # the whole journal, as it was
    assert report.backup.stat().st_mode & 0o777 == 0o700
    assert damaged.read_bytes() == bytes(data[:offset])
    assert not any(p.exists() for p in later)  # moved into the backup
    assert report.to_dict()["last_good_seq"] == 7

    with Journal(directory, segment_bytes=120) as journal:
        snapshot, records = journal.replay()
        assert snapshot is not None and snapshot.seq == 4
        assert [r.record["i"] for r in records] == [4, 5, 6]
        assert journal.append({"type": "after"}) == 8  # numbering goes on from the last good record
    assert [r.seq for r in read_journal(directory)] == list(range(1, 9))


def test_snapshots_past_the_cut_move_to_the_backup(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    build(directory)
    first = sorted(directory.glob("segment-*.jsonl"))[0]
    first.write_bytes(b"garbage\n" + first.read_bytes())
    report = repair_journal(directory, tmp_path / "backups", now=lambda: NOW)
    assert report.damage is not None and report.damage.last_good_seq == 0 and report.damage.offset == 0
    assert report.backup is not None
    assert [p.stat().st_size for p in directory.glob("segment-*")] == [0] and first.exists()
    assert not list(directory.glob("snapshot-*"))
    assert (report.backup / "snapshot-00000000000000000004.json").exists()
    with Journal(directory) as journal:
        assert journal.last_seq == 0
        assert journal.replay()[0] is None


def test_repair_refuses_while_the_journal_is_open_and_leaves_an_intact_journal_alone(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    original = build(directory)
    with Journal(directory, segment_bytes=120):
        with pytest.raises(ConflictError) as held:
            repair_journal(directory, tmp_path / "backups")
        assert "in use by a running engine" in held.value.message
        assert held.value.detail == "stop it first with `alphintra engine stop`"
    report = repair_journal(directory, tmp_path / "backups")
    assert report.damage is None and report.backup is None
    assert not (tmp_path / "backups").exists()
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.name != "LOCK"} == original


def test_a_torn_tail_is_reported_and_cut_too(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    build(directory, count=2)
    newest = sorted(directory.glob("segment-*.jsonl"))[-1]
    size = newest.stat().st_size
    with newest.open("ab") as fh:
        fh.write(b'{"seq":3,"crc":"0')
    report = repair_journal(directory, tmp_path / "b", now=lambda: NOW)
    assert report.damage is not None and report.damage.why == "an incomplete record"
    assert (report.damage.records_lost, report.damage.cut_bytes) == (1, 17)
    assert newest.stat().st_size == size


def test_a_segment_whose_name_breaks_the_sequence_moves_whole(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    build(directory, count=6)
    newest = sorted(directory.glob("segment-*.jsonl"))[-2]  # records 5 and 6
    renamed = newest.rename(newest.with_name("segment-00000000000000000009.jsonl"))
    report = repair_journal(directory, tmp_path / "b", now=lambda: NOW)
    assert report.damage is not None and report.damage.why == "segment starts at seq 7, expected 5"
    assert not renamed.exists() and report.backup is not None and (report.backup / renamed.name).exists()
    with Journal(directory, segment_bytes=120) as journal:
        assert journal.last_seq == 4
