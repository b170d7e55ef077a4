"""Snapshots and replay: the newest snapshot plus the records after it rebuild the same state as a full replay."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.core.ledger import Ledger
from alphintra.errors import ValidationError
from alphintra.storage.journal import Journal, JournalCorrupted, JournalRecord

BTC = Instrument.create("BTC/USDT", tick_size="0.01", lot_size="0.001", taker_fee="0.001")


def fold(ledger: Ledger, records: Iterable[JournalRecord]) -> Ledger:
    """Apply journalled ledger operations (the shape a node would journal) to a ledger."""
    for item in records:
        rec = item.record
        if rec["op"] == "open":
            ledger.open_account(rec["account"])
        elif rec["op"] == "deposit":
            ledger.deposit(rec["account"], rec["asset"], Decimal(rec["amount"]))
        elif rec["op"] == "fill":
            ledger.apply_fill(
                rec["account"], BTC, rec["side"], Decimal(rec["qty"]), Decimal(rec["price"]), fee=Decimal(rec["fee"])
            )
    return ledger


def operations(count: int) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = [{"op": "open", "account": "a"}, {"op": "open", "account": "b"}]
    for account in ("a", "b"):
        ops.append({"op": "deposit", "account": account, "asset": "USDT", "amount": "1000000"})
    for i in range(count):
        side = "BUY" if i % 3 else "SELL"
        qty = Decimal(i % 7 + 1) / 1000
        price = Decimal(20000 + (i * 37) % 900)
        fee = qty * price * Decimal("0.001")
        account = "a" if i % 2 else "b"
        if side == "SELL":
            ops.append(
                {"op": "fill", "account": account, "side": "BUY", "qty": str(qty), "price": str(price), "fee": "0"}
            )
        ops.append(
            {"op": "fill", "account": account, "side": side, "qty": str(qty), "price": str(price), "fee": str(fee)}
        )
    return ops


def replayed(journal: Journal) -> Ledger:
    snapshot, tail = journal.replay()
    start = Ledger() if snapshot is None else Ledger.from_dict(snapshot.state)
    return fold(start, tail)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_snapshot_plus_tail_equals_full_replay(first_cut: int, second_cut: int) -> None:
    ops = operations(20)
    cuts = sorted({min(first_cut, len(ops)), min(second_cut, len(ops))})
    with tempfile.TemporaryDirectory() as tmp, Journal(tmp, fsync="group", segment_bytes=600) as journal:
        ledger = Ledger()
        for index, op in enumerate(ops):
            if index in cuts:
                journal.write_snapshot(ledger.to_dict())
            journal.append(op)
            fold(ledger, [JournalRecord(index + 1, op)])
        full = fold(Ledger(), journal.read())
        assert full.to_dict() == ledger.to_dict()
        assert replayed(journal).to_dict() == full.to_dict()


def test_snapshot_is_durable_atomic_and_old_ones_are_pruned(tmp_path: Path) -> None:
    journal = Journal(tmp_path, fsync="group", group_records=1000, group_interval_ms=60_000, keep_snapshots=2)
    for i in range(3):
        journal.append({"i": i})
    assert journal.durable_seq == 0
    snap = journal.write_snapshot({"count": 3})
    assert (snap.seq, snap.state) == (3, {"count": 3})
    assert journal.durable_seq == 3  # the records a snapshot covers are on disk before it is
    journal.append({"i": 3})
    journal.write_snapshot({"count": 4})
    journal.append({"i": 4})
    journal.write_snapshot({"count": 4.5}, seq=4)  # replaces the snapshot of seq 4
    journal.write_snapshot({"count": 5})
    assert sorted(p.name for p in tmp_path.glob("snapshot-*")) == [
        "snapshot-00000000000000000004.json",
        "snapshot-00000000000000000005.json",
    ]
    latest = journal.latest_snapshot()
    assert latest is not None and (latest.seq, latest.state) == (5, {"count": 5})
    with pytest.raises(ValidationError):
        journal.write_snapshot({}, seq=6)
    journal.close()

    (tmp_path / "snapshot-00000000000000000009.json.tmp").write_text("half")  # a crash before the rename
    with Journal(tmp_path) as reopened:
        assert not list(tmp_path.glob("*.tmp"))
        latest = reopened.latest_snapshot()
        assert latest is not None and latest.seq == 5


def test_damaged_newest_snapshot_falls_back_to_the_previous_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as journal:
        journal.append({"i": 0})
        journal.write_snapshot({"upto": 1})
        journal.append({"i": 1})
        newest = journal.write_snapshot({"upto": 2})
        newest.path.write_bytes(newest.path.read_bytes().replace(b'"upto":2', b'"upto":3'))
        snapshot, tail = journal.replay()
        assert snapshot is not None and snapshot.state == {"upto": 1}
        assert [r.record for r in tail] == [{"i": 1}]
    assert "damaged" in caplog.text


def test_prune_needs_a_covering_snapshot_and_replay_still_works(tmp_path: Path) -> None:
    ops = operations(15)
    journal = Journal(tmp_path, segment_bytes=400)
    ledger = Ledger()
    for index, op in enumerate(ops):
        journal.append(op)
        fold(ledger, [JournalRecord(index + 1, op)])
    with pytest.raises(ValidationError):
        journal.prune(10)  # no snapshot yet
    journal.write_snapshot(ledger.to_dict())
    segments_before = sorted(tmp_path.glob("segment-*"))
    removed = journal.prune(journal.last_seq)
    assert removed == segments_before[:-1]  # the active segment always stays
    assert replayed(journal).to_dict() == ledger.to_dict()
    journal.close()

    with Journal(tmp_path, segment_bytes=400) as reopened:
        assert reopened.last_seq == len(ops)
        assert reopened.append({"op": "noop"}) == len(ops) + 1
        for snapshot in tmp_path.glob("snapshot-*"):
            snapshot.unlink()  # now nothing covers the pruned records
        with pytest.raises(JournalCorrupted) as gap:
            reopened.replay()
        assert "were pruned" in str(gap.value)
