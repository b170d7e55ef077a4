"""Bad input never reaches the engine: every bad value is a 4xx naming the field, a batch is checked whole before
anything is placed, and a hostile order-entry frame gets an error answer while the stream stays up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from trading_support import Engine

from alphintra.daemon.fields import MONEY_RULE, POSITIVE_MONEY_RULE
from alphintra.daemon.trading.routes import ENTRY_MAX_FRAME

ORDER = {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.01", "type": "LIMIT", "price": "1000"}


def _error(field: str, rule: str) -> dict[str, Any]:
    return {"error": "validation_error", "detail": f"{field}: {rule}", "field": field}


def _order_count(engine: Engine) -> int:
    return len(engine.client.get("/api/v1/orders", params={"limit": 1000}).json())


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"quantity": "1E+999999999"}, "quantity", POSITIVE_MONEY_RULE),  # was 500 decimal.Overflow
        ({"quantity": "NaN"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": "Infinity"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": "-1"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": "0"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": "0.000"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": ""}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": " 1"}, "quantity", POSITIVE_MONEY_RULE),
        ({"quantity": 1}, "quantity", POSITIVE_MONEY_RULE),  # a JSON number: amounts are decimal strings
        ({"quantity": "1" * 21}, "quantity", POSITIVE_MONEY_RULE),
        ({"price": "1." + "0" * 19}, "price", POSITIVE_MONEY_RULE),
        ({"expires_at_ns": 10**30}, "expires_at_ns", "Input should be less than or equal to 9223372036854775807"),
        ({"expires_at_ns": "5"}, "expires_at_ns", "Input should be a valid integer"),
        ({"expires_at_ns": -1}, "expires_at_ns", "Input should be greater than 0"),
        ({"post_only": "true"}, "post_only", "Input should be a valid boolean"),
    ],
)
def test_bad_values_are_422_naming_the_field(engine: Engine, change: dict[str, Any], field: str, rule: str) -> None:
    r = engine.client.post("/api/v1/orders", json={**ORDER, **change})
    assert (r.status_code, r.json()) == (422, _error(field, rule))
    assert _order_count(engine) == 0


def test_money_rule_is_the_same_for_non_negative_amounts() -> None:
    from pydantic import TypeAdapter
    from pydantic import ValidationError as SchemaError

    from alphintra.daemon.fields import Money

    adapter = TypeAdapter(Money)
    assert str(adapter.validate_python("0")) == "0"
    assert str(adapter.validate_python("12.50")) == "12.50"
    with pytest.raises(SchemaError, match="no sign, exponent") as caught:
        adapter.validate_python("1e3")
    assert caught.value.errors()[0]["msg"] == MONEY_RULE


def test_batch_is_validated_whole_before_anything_is_placed(engine: Engine) -> None:
    good = dict(ORDER, client_order_id="first")
    bad = dict(ORDER, quantity="1E+999999999")
    r = engine.client.post("/api/v1/orders/batch", json={"orders": [good, bad]})
    assert (r.status_code, r.json()) == (422, _error("orders.1.quantity", POSITIVE_MONEY_RULE))
    assert _order_count(engine) == 0  # the first order of the refused batch was not created


def test_batch_answers_business_refusals_per_item(engine: Engine) -> None:
    r = engine.client.post("/api/v1/orders/batch", json={"orders": [ORDER, dict(ORDER, symbol="NOPE/USD")]})
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first["order"]["status"] == "ACCEPTED" and first["error"] is None
    assert second["order"] is None and second["error"]["error"] == "order_rejected"
    assert _order_count(engine) == 1


def test_deeply_nested_body_is_400(engine: Engine) -> None:
    body = '{"orders": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = engine.client.post("/api/v1/orders/batch", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request"


def test_order_entry_survives_hostile_frames(engine: Engine) -> None:
    hostile: list[tuple[str | bytes, dict[str, Any]]] = [
        (
            "not json",
            {
                "ref": None,
                "error": {
                    "error": "bad_request",
                    "detail": "message is not valid JSON (or is nested too deeply)",
                    "field": None,
                },
            },
        ),
        (
            "[" * 200_000 + "]" * 200_000,  # deeper than any parser goes: used to end the stream with no close code
            {
                "ref": None,
                "error": {
                    "error": "too_large",
                    "detail": f"a message is at most {ENTRY_MAX_FRAME} characters",
                    "field": None,
                },
            },
        ),
        (
            '{"ref": 1, "order": ' + "[" * 20_000 + "]" * 20_000 + "}",
            {
                "ref": None,
                "error": {
                    "error": "bad_request",
                    "detail": "message is not valid JSON (or is nested too deeply)",
                    "field": None,
                },
            },
        ),
        (
            json.dumps([1, 2]),
            {
                "ref": None,
                "error": {
                    "error": "validation_error",
                    "detail": 'a message is {"ref": ..., "order": {...}}',
                    "field": "order",
                },
            },
        ),
        (
            json.dumps({"ref": {"deep": [1]}, "order": ORDER}),
            {
                "ref": None,
                "error": {
                    "error": "validation_error",
                    "detail": "ref must be a string of at most 256 characters, a number or null",
                    "field": "ref",
                },
            },
        ),
        (
            json.dumps({"ref": 7, "order": dict(ORDER, quantity="1E+999999999")}),
            {"ref": 7, "error": _error("quantity", POSITIVE_MONEY_RULE)},
        ),
        (
            json.dumps({"ref": 8, "order": dict(ORDER, post_only="yes")}),
            {"ref": 8, "error": _error("post_only", "Input should be a valid boolean")},
        ),
        (
            b"\x00\x01binary",
            {"ref": None, "error": {"error": "bad_request", "detail": "send JSON in text frames", "field": None}},
        ),
    ]
    with engine.client.websocket_connect("/api/v1/orders/entry") as ws:
        for frame, answer in hostile:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            assert ws.receive_json() == answer
        # Still up: the next order is placed and answered.
        ws.send_text(json.dumps({"ref": "ok", "order": ORDER}))
        reply = ws.receive_json()
    assert reply["ref"] == "ok" and reply["order"]["status"] == "ACCEPTED"
    assert _order_count(engine) == 1
