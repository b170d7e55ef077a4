"""Exit codes the README promises, for cases that need no engine: 2 for bad input, 1 when the operation failed."""

from __future__ import annotations

from typing import Any


def test_engine_status_without_an_engine_exits_1(run_cli: Any) -> None:
    result = run_cli("engine", "status", "--json")
    assert result.code == 1
    assert result.json()["running"] is False
    assert run_cli("engine", "status").code == 1


def test_a_negative_quantity_is_checked_not_taken_for_an_option(run_cli: Any) -> None:
    result = run_cli("order", "buy", "BTC/USD", "-1")
    assert (result.code, result.out) == (2, "")
    assert result.err.strip() == "error: QTY: must be greater than 0 (got '-1')"
    sell = run_cli("order", "sell", "BTC/USD", "-0.5", "--limit", "100")
    assert sell.err.strip() == "error: QTY: must be greater than 0 (got '-0.5')"
    typo = run_cli("order", "buy", "BTC/USD", "1", "--limt", "5")  # other unknown options still fail as before
    assert typo.code == 2 and "No such option: --limt" in typo.err
