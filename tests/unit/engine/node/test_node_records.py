"""The node's own journal records are typed and versioned like the order events: they round-trip exactly, the
loose dicts older code wrote (version 0, no "v") are upgraded, and the dicts keep the keys and value forms the
journal has always had."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.errors import ValidationError
from alphintra.engine.node_records import (
    NODE_RECORD_TYPES,
    AccountOpened,
    AlgoCanceled,
    AlgoCompleted,
    AlgoRespread,
    AlgoSlice,
    AlgoStarted,
    Deposited,
    EmulatorLink,
    MarginCall,
    Released,
    Reserved,
    VenueHalted,
    VenueResumed,
    Withdrawn,
    is_node_record,
    node_record_from_dict,
)
from alphintra.storage.journal import read_journal

D = Decimal
V1_JOURNAL = Path(__file__).resolve().parents[3] / "data" / "journals" / "v1" / "paper"

SAMPLES = [
    AccountOpened("main", "margin", "USD", D("2.5")),
    Deposited("main", "USD", D("100000.25")),
    Withdrawn("main", "BTC", D("0.00000001")),
    Reserved("O-00000001", "main", "GOOG", OrderSide.BUY, D("15"), D("101.37")),
    Reserved("O-00000002", "main", "GOOG", OrderSide.SELL, D("3"), None),
    Released("O-00000001"),
    EmulatorLink("oco", a="O-1", b="O-2"),
    EmulatorLink("bracket", entry="O-3", tp="O-4", sl="O-5"),
    AlgoStarted(
        "ALGO-00000001",
        "TWAP",
        "main",
        "GOOG",
        OrderSide.SELL,
        D("12"),
        ((60, D("5")), (120, D("7"))),
        180,
        D("99.5"),
        "LIMIT",
        None,
        ("a", "b"),
        10,
        60,
    ),
    AlgoSlice("ALGO-00000001", 0, "O-00000007"),
    AlgoSlice("ALGO-00000001", 1, None, "halted: news", missed=True),
    AlgoRespread("ALGO-00000001", 2, D("4"), ((180, D("8")),)),
    AlgoCanceled("ALGO-00000001", "enough", 2_000_000_000_000_000_001),
    AlgoCompleted("ALGO-00000002", None, None),
    MarginCall("lev", D("-120.5"), D("310.40"), 5),
    VenueHalted("TEST", ("tst USD: venue 4249, node 3999 (difference 250)",)),
    VenueHalted("TEST", ("tst USD: venue 4249, node 3999 (difference 250)",), "differences no fill explains"),
    VenueResumed("TEST", "deposit confirmed"),
]


def test_every_node_record_type_has_a_sample() -> None:
    assert {type(s).__name__ for s in SAMPLES} == set(NODE_RECORD_TYPES)


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_node_records_round_trip_exactly(record: Any) -> None:
    data = record.to_dict()
    assert data["type"] == type(record).__name__ and data["v"] == 1
    assert is_node_record(data)
    assert node_record_from_dict(data) == record
    # Decimals stay strings and times stay integers: no float anywhere.
    assert not any(isinstance(v, float) for v in data.values())


def test_a_version_0_algo_started_without_its_times_is_upgraded() -> None:
    # As the node wrote it before an algorithm kept when it was created and when its schedule starts.
    old = {
        "type": "AlgoStarted", "algo_id": "ALGO-00000003", "kind": "VWAP", "account": "main", "symbol": "GOOG",
        "side": "BUY", "quantity": "9", "plan": [[600, "2"], [1200, "7"]], "end_ns": 1800, "limit_price": None,
        "guard": "SKIP", "strategy": "s1", "tags": ["x"],
    }  # fmt: skip
    record = node_record_from_dict(old)
    assert record == AlgoStarted(
        "ALGO-00000003", "VWAP", "main", "GOOG", OrderSide.BUY, D(9), ((600, D(2)), (1200, D(7))), 1800, None,
        "SKIP", "s1", ("x",), created_ns=600, start_ns=600,
    )  # fmt: skip
    assert "v" not in old and "start_ns" not in old  # the upgrade worked on a copy


def test_version_0_records_are_read_as_the_old_code_wrote_them() -> None:
    assert node_record_from_dict({"type": "AlgoSlice", "algo_id": "A", "slice": 3, "order_id": None}) == AlgoSlice(
        "A", 3, None
    )
    old_reserved = {
        "type": "Reserved", "order_id": "O-1", "account": "main", "symbol": "GOOG", "side": "SELL",
        "quantity": "2", "price": None,
    }  # fmt: skip
    assert node_record_from_dict(old_reserved) == Reserved("O-1", "main", "GOOG", OrderSide.SELL, D(2), None)


def test_the_typed_records_write_the_keys_and_values_the_journal_always_had() -> None:
    old = [r.record for r in read_journal(V1_JOURNAL) if is_node_record(r.record)]
    assert len(old) == 51
    for data in old:
        assert "v" not in data  # written by the code before the records were typed
        new = node_record_from_dict(data).to_dict()
        assert new.pop("v") == 1
        if data["type"] == "AlgoSlice":  # the only key the old code left out (when false)
            data = {"missed": False, "note": None, **data}
        if data["type"] == "VenueHalted":  # the reason shown to the operator came later (empty: from the differences)
            data = {"reason": "", **data}
        if data["type"] == "EmulatorLink":  # each kind's links; the other kind's are null
            new = {k: v for k, v in new.items() if v is not None}
        assert new == data


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ({"type": "Reserved", "v": 1, "order_id": "O", "account": "a", "symbol": "S", "side": "BUY",
          "quantity": "x", "price": None}, "Reserved.quantity", "must be a decimal string"),
        ({"type": "Deposited", "v": 1, "account": "a", "asset": "USD", "amount": 1.5}, "Deposited.amount",
         "must be a finite decimal string"),
        ({"type": "MarginCall", "v": 1, "account": "a", "equity": "1", "requirement": "2", "ts": "5"},
         "MarginCall.ts", "must be an integer"),
        ({"type": "AlgoRespread", "v": 1, "algo_id": "A", "slice": 1, "base": "0", "plan": [[1]]},
         "AlgoRespread.plan[0]", "must be a list of 2 values"),
        ({"type": "Released", "v": 2, "order_id": "O"}, "Released.v", "must be a schema version between 0 and 1"),
        ({"type": "Released", "v": 1, "order_id": "O", "extra": 1}, "Released.extra", "is not a field of this record"),
        ({"type": "Nope", "v": 1}, "type", "must name a registered node record"),
    ],
)  # fmt: skip
def test_a_damaged_node_record_names_its_field(data: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as err:
        node_record_from_dict(data)
    assert err.value.field == field
    assert err.value.rule == rule
