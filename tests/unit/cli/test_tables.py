"""What the result tables show: times, and amounts at their precision with thousands separators."""

from __future__ import annotations

from typing import Any

import pytest

from alphintra.cli.common import console, print_table
from alphintra.cli.order import ORDER_COLUMNS, order_row

ORDER = {
    "id": "O-00000007",
    "symbol": "BTC/USD",
    "side": "BUY",
    "order_type": "LIMIT",
    "quantity": "0.50000",
    "price": "60000.00",
    "stop_price": None,
    "time_in_force": "GTC",
    "status": "ACCEPTED",
    "filled_quantity": "0",
    "average_price": None,
    "created_at": "2026-03-02T14:05:09.123456789+00:00",
    "updated_at": "2026-03-02T14:05:10+00:00",
}


def _table(rows: list[dict[str, Any]], columns: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    width = console.width
    console.width = 200
    try:
        print_table(rows, columns)
    finally:
        console.width = width
    return [line.replace("┃", "│") for line in capsys.readouterr().out.splitlines() if "│" in line or "┃" in line]


def test_order_list_has_a_time_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert ORDER_COLUMNS[0] == "time"
    header, row = _table([order_row(ORDER)], ORDER_COLUMNS, capsys)
    assert header.split("│")[1].strip() == "time"
    assert [c.strip() for c in row.split("│")[1:4]] == ["2026-03-02 14:05:09", "O-00000007", "BTC/USD"]
    assert "60,000.00" in row


def test_amounts_in_tables_have_separators_and_their_precision() -> None:
    from decimal import Decimal

    from alphintra.cli.common import cell, money_cell

    assert money_cell("90715.817092000", "USD") == "90,715.82"  # portfolio money: the currency's precision
    assert money_cell("93346.72052322477309129738387613454", "USD") == "93,346.72"
    assert money_cell("0.0012345678", "BTC") == "0.00123457"
    assert cell(Decimal("60000.00")) == "60,000.00"  # engine amounts keep their instrument's precision
    assert cell(Decimal("0.50000")) == "0.50000"
    assert cell(Decimal("93346.72052322477309129738387613454")) == "93,346.72052322"  # no instrument: capped
    assert cell(Decimal("0E-9")) == "0.00000000"  # never "0E-9"
