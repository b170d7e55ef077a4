"""A damaged journal stops the daemon with a message a person can act on; `engine repair` gets it going again.

Real daemon processes, real files: a flipped byte in the last complete record (a fill) used to be cut as a torn
tail with a WARNING, and the acknowledged fill was executed again at restart (issue 13, defect 5).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_e2e_support import daemon_home

from alphintra.storage.journal import read_journal


def _flip_last_record(journal: Path) -> tuple[Path, int, list[int]]:
    segment = max(p for p in journal.glob("segment-*.jsonl") if p.stat().st_size > 0)
    data = bytearray(segment.read_bytes())
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    kept = [r.seq for r in read_journal(journal)][:-1]
    data[start + (len(data) - start) // 2] ^= 0x01  # one bit, in the middle of the last complete record
    segment.write_bytes(bytes(data))
    return segment, start, kept


@pytest.mark.both_backends
def test_a_damaged_last_record_refuses_the_start_and_repair_keeps_the_records_before_it() -> None:
    with daemon_home() as daemon:
        daemon.start()
        with daemon.client() as client:
            filled = client.post(
                "/api/v1/orders",
                {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.5", "client_order_id": "first-fill"},
            )
            assert filled["status"] == "FILLED"
            client.post(
                "/api/v1/orders",
                {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.25", "client_order_id": "second-fill"},
            )
        daemon.stop()
        journal = daemon.root / "journal"
        segment, offset, kept = _flip_last_record(journal)
        damaged = segment.read_bytes()

        for args in (("engine", "start", "--wait", "60"), ("engine", "start", "--foreground")):
            refused = daemon.cli(*args)
            assert refused.returncode == 1, args
            said = " ".join((refused.stdout + refused.stderr).split())  # Rich wraps long lines
            assert f"journal corrupted: {segment} at byte {offset}: a complete record fails its checksum" in said
            assert "run `alphintra engine repair` (it keeps a backup" in said
            assert "Traceback" not in said
            assert segment.read_bytes() == damaged  # nothing was cut behind the operator's back
        background = daemon.cli("engine", "start", "--wait", "60")
        assert "the engine exited during start (exit code 1): journal corrupted:" in " ".join(background.stderr.split())

        declined = daemon.cli("engine", "repair", input="n\n")
        assert declined.returncode == 1
        assert f"at byte {offset}" in " ".join(declined.stdout.split())
        assert segment.read_bytes() == damaged and not (daemon.root / "backups").exists()

        repaired = daemon.cli("engine", "repair", "--yes", "--json")
        assert repaired.returncode == 0, repaired.stderr
        report = json.loads(repaired.stdout)
        assert (report["damaged"], report["file"], report["offset"]) == (True, str(segment), offset)
        assert (report["last_good_seq"], report["records_lost"]) == (kept[-1], 1)
        backup = Path(report["backup"])
        assert backup.parent == daemon.root / "backups"
        assert (backup / segment.name).read_bytes() == damaged
        assert [r.seq for r in read_journal(journal)] == kept

        daemon.start()
        with daemon.client() as client:
            order = client.get("/api/v1/orders", params={"limit": 100})
            assert "first-fill" in {o["client_order_id"] for o in order}
            status = client.status()
        assert status["ready"] is True
