"""`alphintra algo list|show|cancel` and the algorithm parts of `order list|show|cancel`, in-process against a
started trading host (issue 14): exact JSON and exact messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from trading_support import Engine

from alphintra.cli import common

ALGOS = "/api/v1/algos"


@pytest.fixture
def feed_off(isolated_home: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphintra.config.settings import reset_settings_cache

    monkeypatch.setenv("ALPHINTRA_PAPER__FEED", "none")
    reset_settings_cache()


@pytest.fixture
def engine(feed_off: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from alphintra.daemon.client import EngineClient

    eng = Engine()
    transport = eng.client._transport
    monkeypatch.setattr(
        "alphintra.cli.order.engine_client", lambda: EngineClient(url="http://testserver", transport=transport)
    )
    # Wide consoles: table cells and messages must not wrap for the exact assertions.
    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err_console, "width", 200)
    try:
        yield eng
    finally:
        eng.close()


def _start(engine: Engine, run_cli: Any) -> tuple[str, str, str]:
    """A TWAP (first slice filled at once) and a resting limit order: (algo id, its child, the plain order)."""
    engine.tick("BTC/USD", "60000")
    result = run_cli("order", "buy", "BTC/USD", "0.01", "--twap", "1h", "--slices", "10", "--yes", "--json")
    assert result.code == 0, result.err
    algo = json.loads(result.out)["algo"]
    plain = engine.order(symbol="BTC/USD", side="BUY", quantity="0.001", type="LIMIT", price="50000")
    return algo["algo_id"], algo["child_order_ids"][0], plain["id"]


def _seconds(iso: str) -> str:
    """The API's ISO-8601 UTC time as the order table shows it: to the second, no zone."""
    return iso.replace("T", " ")[:19]


def _table(out: str) -> list[dict[str, str]]:
    """A printed table's body rows as {header: cell}: by column name, so that a new column shifts nothing."""
    lines = out.splitlines()
    header = [h.strip() for h in next(line for line in lines if line.startswith("┃")).strip("┃ ").split("┃")]
    rows = [[c.strip() for c in line.strip("│ ").split("│")] for line in lines if line.startswith("│")]
    assert all(len(row) == len(header) for row in rows), (header, rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_algo_list_show_and_cancel(engine: Engine, run_cli: Any) -> None:
    algo_id, child_id, _ = _start(engine, run_cli)
    listed = run_cli("algo", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out) == engine.client.get(ALGOS).json()
    table = run_cli("algo", "list")
    header = table.out.splitlines()[2]
    assert [h.strip() for h in header.strip("┃ ").split("┃")] == [
        "id",
        "symbol",
        "side",
        "kind",
        "quantity",
        "filled",
        "remaining",
        "slices",
        "state",
        "start",
        "end",
    ]
    row = next(line for line in table.out.splitlines() if algo_id in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[:9] == [algo_id, "BTC/USD", "BUY", "TWAP", "0.0100", "0.0010", "0.0090", "1/10", "RUNNING"]

    shown = run_cli("algo", "show", algo_id.lower(), "--json")
    assert json.loads(shown.out) == engine.client.get(f"{ALGOS}/{algo_id}").json()
    assert json.loads(shown.out)["child_order_ids"] == [child_id]
    text = run_cli("algo", "show", algo_id, "--slices").out
    assert f"algorithm {algo_id}" in text and "1 of 10" in text and "slices" in text
    assert any(child_id in line and "0.0010" in line for line in text.splitlines())

    canceled = run_cli("algo", "cancel", algo_id)
    assert (canceled.code, canceled.err) == (0, f"algorithm {algo_id}: CANCELED (filled 0.0010 of 0.0100)\n")
    again = run_cli("algo", "cancel", algo_id)
    assert again.code == 1 and f"algorithm {algo_id} is CANCELED; only a running one can be canceled" in again.err
    missing = run_cli("algo", "show", "ALGO-00000099")
    assert missing.code == 1 and "algorithm 'ALGO-00000099' not found" in missing.err
    bad = run_cli("algo", "list", "--status", "done")
    assert bad.code == 2 and "--status" in bad.err and "RUNNING, COMPLETED, CANCELED" in bad.err


def test_order_show_and_cancel_take_an_algorithm_id(engine: Engine, run_cli: Any) -> None:
    algo_id, _, _ = _start(engine, run_cli)
    shown = run_cli("order", "show", algo_id, "--json")
    assert shown.code == 0 and json.loads(shown.out) == engine.client.get(f"{ALGOS}/{algo_id}").json()
    canceled = run_cli("order", "cancel", algo_id, "--json")
    assert canceled.code == 0 and json.loads(canceled.out)["status"] == "CANCELED"


def test_order_cancel_all_cancels_algorithms_and_counts_both(engine: Engine, run_cli: Any) -> None:
    algo_id, _, plain_id = _start(engine, run_cli)
    result = run_cli("order", "cancel", "--all")
    assert (result.code, result.err) == (
        0,
        f"canceled 1 algorithm(s); cancel requested for 1 order(s): {algo_id}, {plain_id}\n",
    )
    assert engine.client.get(f"{ALGOS}/{algo_id}").json()["status"] == "CANCELED"


def test_order_list_shows_algorithms_as_parents_with_children_on_demand(engine: Engine, run_cli: Any) -> None:
    algo_id, child_id, plain_id = _start(engine, run_cli)
    every = engine.client.get("/api/v1/orders").json()  # the API's own listing: children included
    plain, child = (next(o for o in every if o["id"] == i) for i in (plain_id, child_id))

    default = run_cli("order", "list")
    assert default.code == 0
    table = _table(default.out)
    assert [row["id"] for row in table] == [plain_id, algo_id]  # newest first: the limit order came after the algo
    assert default.err == "1 child order(s) of 1 algorithm(s) not shown; --children lists them\n"
    parent = table[1]
    assert (parent["type"], parent["status"], parent["slices"]) == ("TWAP", "RUNNING", "1/10")
    # The parent row carries its start time like every order row (UTC, to the second).
    assert parent["time"] == _seconds(engine.client.get(f"{ALGOS}/{algo_id}").json()["created_at"])
    assert table[0]["time"] == _seconds(plain["created_at"])

    full = run_cli("order", "list", "--children")
    rows = _table(full.out)
    assert [row["id"] for row in rows] == [plain_id, algo_id, f"└ {child_id}"]
    assert rows[2]["parent"] == algo_id  # the child's parent column names its algorithm
    assert rows[2]["time"] == _seconds(child["created_at"])
    assert full.err == ""

    assert json.loads(run_cli("order", "list", "--json").out) == [plain]
    assert json.loads(run_cli("order", "list", "--children", "--json").out) == [plain, child]
    assert json.loads(run_cli("order", "list", "--status", "FILLED", "--json").out) == []
    running = run_cli("order", "list", "--open")
    assert algo_id in running.out and plain_id in running.out
