"""Journals written by older code still replay: the v1 fixture (``tests/data/journals/v1``), a paper session
written by the code at commit 3eb5e2e (when the node's own records were loose dicts), rebuilds the same orders,
fills, balances, positions, locks, algorithms, emulator links and risk state -- by a full replay and from its
snapshot plus the records after it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[3] / "data" / "journals" / "v1"
sys.path.insert(0, str(FIXTURE))

from make_journal import build, risk_state_of, state_of  # noqa: E402

from alphintra.storage.journal import Journal, read_journal  # noqa: E402

EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())


def records() -> list[dict[str, Any]]:
    return [r.record for r in read_journal(FIXTURE / "paper")]


def test_the_v1_fixture_holds_every_kind_of_node_record() -> None:
    kinds = {r["type"] for r in records()}
    node_records = {
        "AccountOpened", "Deposited", "Withdrawn", "Reserved", "Released", "EmulatorLink", "AlgoStarted",
        "AlgoSlice", "AlgoRespread", "AlgoCanceled", "AlgoCompleted", "MarginCall", "VenueHalted",
    }  # fmt: skip
    assert node_records <= kinds
    assert {"TradingHalted", "TradingResumed", "RiskLimitSet", "RiskAlertRaised"} <= kinds
    # Partial fills, an expiry, triggers and cancels are in it too.
    assert {"OrderTriggered", "OrderExpired", "OrderCanceled", "OrderPendingCancel", "OrderUpdated"} <= kinds
    assert any(len(o["events"]) > 5 and o["events"].count("OrderFilled") > 1 for o in EXPECTED["orders"].values())


def test_a_full_replay_of_the_v1_journal_rebuilds_the_same_state() -> None:
    node, _, _ = build()
    assert node.replay(records()) == 172
    expected = {k: v for k, v in EXPECTED.items() if k != "risk"}
    assert state_of(node) == expected
    assert risk_state_of(records()) == EXPECTED["risk"]


def test_the_v1_snapshot_and_the_records_after_it_rebuild_the_same_state(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "paper", tmp_path / "paper")
    with Journal(tmp_path / "paper", fsync="group") as journal:
        snapshot, tail = journal.replay()
        assert snapshot is not None and snapshot.seq == 124
        node, _, _ = build()
        node.restore_state(snapshot.state["node"])
        assert node.replay(rec.record for rec in tail) == 172 - 124
    assert state_of(node) == {k: v for k, v in EXPECTED.items() if k != "risk"}


def test_a_node_replayed_from_the_v1_journal_resumes_and_trades_on() -> None:
    node, port, risk = build()
    node.replay(records())
    risk.breakers.restore(records())
    node.resume()
    risk.attach(node)
    assert list(risk.halts) == []  # halted, then resumed
    # The test venue built here is a new, empty one: it is asked (it keeps its state, as an exchange does) and
    # answers that it does not have the working limit order, which is closed -- never sent again.
    assert EXPECTED["open"] == ["O-00000024"]
    order = node.order("O-00000024")
    assert (order.status.value, order.status_message) == ("CANCELED", "not at the venue")
    assert port.sent == [] and node.open_orders() == []
    assert node.ledger.balance("tst", "USD").locked == 0


@pytest.mark.parametrize("seq", [1, 50, 124, 172])
def test_every_prefix_of_the_v1_journal_replays(seq: int) -> None:
    node, _, _ = build()
    assert node.replay(records()[:seq]) == seq
