"""Ids are unique for the life of a home: fills across two daemon restarts never share a trade id, and every
fill is in `trades list`, in state.db and in the PostgreSQL export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from engine_e2e_support import Daemon, daemon_home

from tests.pg_support import scratch_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_target(pg_url: str) -> Iterator[str]:
    """A schema of its own (search_path in the URL), dropped afterwards: runs never see each other's rows."""
    with scratch_schema("t_ids", pg_url) as url:
        yield url


def _fill_some(daemon: Daemon, round_: int) -> list[str]:
    """Market orders that fill at once against the paper book; the ids of the orders."""
    ids = []
    with daemon.client() as client:
        for n in range(4):
            body = {
                "symbol": "ETH/USD",
                "side": "BUY" if n % 2 == 0 else "SELL",
                "quantity": "0.004",
                "client_order_id": f"r{round_}-{n}",
            }
            order = client.post("/api/v1/orders", body)
            assert order["status"] == "FILLED", order
            ids.append(order["id"])
    return ids


def _trades(daemon: Daemon) -> list[dict[str, object]]:
    done = daemon.cli("trades", "list", "--limit", "10000", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_trade_ids_stay_unique_across_restarts_and_every_fill_is_projected_and_exported(pg_target: str) -> None:
    with daemon_home(backend="sqlite") as daemon:
        order_ids: list[str] = []
        seen: list[dict[str, object]] = []
        for round_ in range(3):
            daemon.start()
            order_ids += _fill_some(daemon, round_)
            seen = _trades(daemon)
            daemon.stop()
        ids = [str(t["id"]) for t in seen]
        assert len(ids) == len(set(ids)), f"trade ids repeat: {sorted(ids)}"
        assert {t["order_id"] for t in seen} == set(order_ids)  # every order's fills, none lost to a clash
        assert len(order_ids) == len(set(order_ids)) == 12

        with sqlite3.connect(daemon.root / "state.db") as db:
            stored = dict(db.execute("SELECT id, order_id FROM trades").fetchall())
        assert stored == {str(t["id"]): t["order_id"] for t in seen}

        done = daemon.cli("export", "postgres", "--url", pg_target, "--no-market", "--json")
        assert done.returncode == 0, done.stderr
        with psycopg.connect(pg_target) as conn:
            exported = dict(conn.execute("SELECT id, order_id FROM trades").fetchall())
        assert exported == stored
