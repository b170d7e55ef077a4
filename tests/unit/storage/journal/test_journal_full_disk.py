"""A full disk or a failed fsync: no partial record stays, nothing unwritten is counted, the journal goes on.

Two ways to fill the disk, both real: :class:`FillingDisk` performs the journal's real writes on real files and
fails with ENOSPC at a chosen byte (after writing the part that fits, as a full file system does), and a 256 KiB
tmpfs that this test mounts (the suite runs as root, as CI does) and fills with a real file.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphintra.errors import StorageUnavailable
from alphintra.storage.journal import Journal, read_journal
from alphintra.storage.journal_io import FillingDisk


def segment(directory: Path) -> Path:
    return sorted(directory.glob("segment-*.jsonl"))[-1]


def replayed(directory: Path) -> list[tuple[int, dict[str, object]]]:
    with Journal(directory) as journal:
        snapshot, records = journal.replay()
        assert snapshot is None
        return [(r.seq, r.record) for r in records]


BATCH = [{"type": "OrderAccepted", "id": f"O-{i}", "pad": "p" * 50} for i in range(3)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=3 * 100), policy=st.sampled_from(["every", "group"]))
def test_enospc_at_any_byte_of_a_batch_leaves_no_partial_record(
    tmp_path_factory: pytest.TempPathFactory, cut: int, policy: str
) -> None:
    directory = tmp_path_factory.mktemp("j")
    disk = FillingDisk()
    journal = Journal(directory, io=disk, fsync=policy)
    assert journal.append_many([{"i": 0}, {"i": 1}]) == [1, 2]
    journal.sync()
    before = segment(directory).read_bytes()
    disk.make_room(cut)  # the disk fills up `cut` bytes into the next batch
    with pytest.raises(StorageUnavailable) as failed:
        journal.append_many(BATCH)
    assert failed.value.code == "storage_unavailable" and failed.value.retryable
    assert f"cannot write {segment(directory)} (ENOSPC: No space left on device)" in failed.value.message
    assert "Traceback" not in failed.value.message
    assert segment(directory).read_bytes() == before  # the fragment that fitted was cut
    assert journal.last_seq == journal.durable_seq == 2
    assert [r.seq for r in read_journal(directory)] == [1, 2]

    disk.make_room(None)  # space comes back: the same journal goes on, numbers contiguous
    assert journal.append_many(BATCH) == [3, 4, 5]
    journal.close()
    assert replayed(directory) == [(1, {"i": 0}), (2, {"i": 1})] + [(3 + i, r) for i, r in enumerate(BATCH)]


def test_failed_fsync_cuts_the_unsynced_records_and_never_reports_them_durable(tmp_path: Path) -> None:
    disk = FillingDisk()
    with Journal(tmp_path / "every", io=disk, fsync="every") as journal:
        journal.append({"i": 0})
        before = segment(tmp_path / "every").read_bytes()
        disk.fail_next_fsync(errno.EIO)
        with pytest.raises(StorageUnavailable) as failed:
            journal.append_many([{"i": 1}, {"i": 2}])
        assert "cannot sync" in failed.value.message and "EIO: Input/output error" in failed.value.message
        assert segment(tmp_path / "every").read_bytes() == before
        assert journal.last_seq == journal.durable_seq == 1
        assert journal.append({"i": 1}) == 2
    assert replayed(tmp_path / "every") == [(1, {"i": 0}), (2, {"i": 1})]

    # Under the group policy the records since the last good fsync were written but not durable: all are cut.
    directory = tmp_path / "group"
    with Journal(directory, io=disk, fsync="group", group_records=100, group_interval_ms=60_000) as journal:
        journal.append({"i": 0})
        journal.sync()
        durable = segment(directory).read_bytes()
        assert journal.append_many([{"i": 1}, {"i": 2}]) == [2, 3]
        assert journal.append({"i": 3}) == 4
        assert journal.durable_seq == 1
        disk.fail_next_fsync(errno.EIO)
        with pytest.raises(StorageUnavailable) as failed:
            journal.sync()
        assert "3 records not yet on disk were cut" in failed.value.message
        assert segment(directory).read_bytes() == durable
        assert journal.last_seq == journal.durable_seq == 1
        assert journal.wait_durable(3, timeout=0) is False
        assert journal.append({"i": "after"}) == 2
        assert journal.sync() == 2
    assert replayed(directory) == [(1, {"i": 0}), (2, {"i": "after"})]


def test_a_fragment_that_could_not_be_cut_is_cut_before_anything_else(tmp_path: Path) -> None:
    disk = FillingDisk()
    with Journal(tmp_path, io=disk) as journal:
        journal.append({"i": 0})
        before = segment(tmp_path).read_bytes()
        disk.make_room(len(before) + 70)  # the next batch's first record fits whole, the second does not
        disk.fail_next_truncate()
        with pytest.raises(StorageUnavailable):
            journal.append_many([{"i": 1, "pad": "q" * 20}, {"i": 2, "pad": "q" * 20}])
        assert segment(tmp_path).read_bytes().count(b"\n") == 2  # the cut failed: a whole record is still there
        assert journal.last_seq == 1
        disk.fail_next_truncate()
        with pytest.raises(StorageUnavailable) as failed:
            journal.sync()  # nothing may be called durable while the fragment stays
        assert "cannot cut the failed write from" in failed.value.message
        disk.make_room(None)
        assert journal.append({"i": "next"}) == 2  # cut first, then written
        assert segment(tmp_path).read_bytes().startswith(before)
    assert replayed(tmp_path) == [(1, {"i": 0}), (2, {"i": "next"})]


def test_a_full_disk_at_rotation_keeps_the_durable_records_and_rotates_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disk = FillingDisk()
    with Journal(tmp_path, io=disk, segment_bytes=100) as journal:
        record = {"i": 0, "pad": "x" * 60}
        size = len(b'{"seq":1,"crc":"00000000","rec":}\n') + len(b'{"i":0,"pad":"' + b"x" * 60 + b'"}')
        disk.make_room(size)  # the record fits exactly; the next segment's file cannot be created
        assert journal.append(record) == 1  # durable, so acknowledged although the rotation failed
        assert "cannot start segment" in caplog.text and "ENOSPC" in caplog.text
        assert len(list(tmp_path.glob("segment-*"))) == 1
        disk.make_room(None)
        assert journal.append({"i": 1}) == 2
    assert sorted(p.name for p in tmp_path.glob("segment-*")) == [
        "segment-00000000000000000001.jsonl",
        "segment-00000000000000000003.jsonl",
    ]
    assert [seq for seq, _ in replayed(tmp_path)] == [1, 2]


def test_a_snapshot_that_does_not_fit_leaves_nothing_behind(tmp_path: Path) -> None:
    disk = FillingDisk()
    with Journal(tmp_path, io=disk) as journal:
        journal.append({"i": 0})
        disk.make_room(20)
        with pytest.raises(StorageUnavailable) as failed:
            journal.write_snapshot({"state": "s" * 100})
        assert "cannot write the snapshot" in failed.value.message and "ENOSPC" in failed.value.message
        assert not list(tmp_path.glob("snapshot-*"))
        disk.make_room(None)
        assert journal.write_snapshot({"state": "ok"}).seq == 1
        assert journal.append({"i": 1}) == 2


# ---------------------------------------------------------------------------------------------- a real full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs. The suite runs as root (CI too); a mount that fails is a failure, not a skip."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    assert done.returncode == 0, f"this test mounts a tmpfs and needs root: {done.stderr.strip()}"
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_real_full_file_system(small_disk: Path) -> None:
    directory = small_disk / "journal"
    acked: list[tuple[int, dict[str, object]]] = []
    journal = Journal(directory)
    try:
        acked.append((journal.append({"i": 0}), {"i": 0}))
        filler = small_disk / "filler"
        fill(filler)
        # Give back less than one page beyond what is left in the segment's last page, so a write stops half-way.
        os.truncate(filler, filler.stat().st_size - 4096)
        n = 1
        with pytest.raises(StorageUnavailable) as failed:
            while True:
                record = {"i": n, "pad": "z" * 700}
                acked.append((journal.append(record), record))
                n += 1
        assert n > 3  # several records fitted before the disk was full
        assert f"cannot write {segment(directory)} (ENOSPC" in failed.value.message
        assert segment(directory).read_bytes().endswith(b"}\n")
        assert [(r.seq, r.record) for r in read_journal(directory)] == acked
        assert journal.last_seq == acked[-1][0]

        filler.unlink()  # space returns
        record = {"i": "after", "pad": "z" * 700}
        acked.append((journal.append(record), record))
        assert acked[-1][0] == acked[-2][0] + 1
    finally:
        journal.close()
    assert replayed(directory) == acked
