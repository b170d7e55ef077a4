"""The SQL state is a true projection of the journal, with real daemon processes and real files.

SIGKILL at random points while several clients place orders that fill, rest and get canceled; after each restart
the projection catches up to the journal's last record and equals the journal's own fold (the daemon's restart
replay) order by order and trade by trade. Deleting state.db and restarting, or `engine rebuild-state`, gives the
same tables again.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine_e2e_support import Daemon, _alive, daemon_home, wait_for
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from alphintra.daemon.trading.instruments import DEMO_INSTRUMENTS
from alphintra.engine.clock import TestClock
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.errors import AlphintraError
from alphintra.storage.journal import read_journal
from alphintra.storage.state import make_engine

CLIENTS = 3
Q18 = Decimal(1).scaleb(-18)
# Bookkeeping, not state: surrogate keys, and the store's own clock for rows changed before any timestamped record.
BOOKKEEPING = {
    "positions": {"id"},
    "account_balances": {"id"},
    "trading_accounts": {"created_at"},
    "projection_meta": {"updated_at"},
}
TABLES = ("trading_accounts", "orders", "trades", "positions", "account_balances", "projection_meta")


def _load(daemon: Daemon, worker: int, stop: threading.Event, acked: list[str]) -> None:
    rng = random.Random(worker)
    with daemon.client(timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                pick = rng.random()
                if pick < 0.4:  # fills at once, often on several levels of the paper book
                    side = "BUY" if rng.random() < 0.7 else "SELL"
                    order = client.post("/api/v1/orders", {"symbol": "ETH/USD", "side": side, "quantity": "0.004"})
                else:
                    price = str(2990 - rng.randrange(50))
                    body = {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.01", "type": "LIMIT", "price": price}
                    order = client.post("/api/v1/orders", body)
                    if pick > 0.8:
                        client.delete(f"/api/v1/orders/{order['id']}")
                acked.append(order["id"])
            except AlphintraError:
                if stop.is_set():
                    return
                return  # the daemon is gone


def _under_load_then_kill(daemon: Daemon, seed: int) -> None:
    acked: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(daemon, seed * 10 + w, stop, acked)) for w in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acked) >= random.Random(seed).randrange(40, 160), "orders under load", timeout=60)
        daemon.kill()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def _last_seq(root: Path) -> int:
    last = 0
    for rec in read_journal(root / "journal"):
        last = rec.seq
    return last


@contextlib.contextmanager
def _state(daemon: Daemon) -> Iterator[Connection]:
    """The daemon's state database (state.db or its PostgreSQL schema), read with plain SQL."""
    engine = make_engine(daemon.database_url or f"sqlite:///{daemon.root / 'state.db'}")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _applied(daemon: Daemon) -> int:
    try:
        with _state(daemon) as db:
            row = db.execute(text("SELECT applied_seq FROM projection_meta")).fetchone()
    except SQLAlchemyError:
        return -1
    return -1 if row is None else int(row[0])


def _caught_up(daemon: Daemon) -> int:
    last = _last_seq(daemon.root)
    wait_for(lambda: _applied(daemon) == last, f"the projection to reach journal record {last}", timeout=60)
    return last


def _tables(daemon: Daemon) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with _state(daemon) as db:
        for table in TABLES:
            names = [c["name"] for c in inspect(db).get_columns(table)]
            cols = [c for c in names if c not in BOOKKEEPING.get(table, ())]
            rows = db.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).fetchall()
            out[table] = sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    """Money as one Decimal whatever the backend stored (text on SQLite, NUMERIC(38, 18) on PostgreSQL)."""
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def _journal_fold(root: Path) -> TradingNode:
    """The journal's own fold: the daemon's restart replay into a fresh node."""
    registry = InstrumentRegistry(
        [
            Instrument.create(
                s, tick_size=t, lot_size=lot, min_notional=m, maker_fee="0.001", taker_fee="0.001", default_quote="USD"
            )
            for s, t, lot, m, _ in DEMO_INSTRUMENTS
        ]
    )
    node = TradingNode(instruments=registry, venue=SimulatedVenue(registry), clock=TestClock())
    node.replay(rec.record for rec in read_journal(root / "journal"))
    return node


def _dec(text: Any) -> Decimal | None:
    return None if text is None else Decimal(str(text))


def _assert_projection_is_the_fold(daemon: Daemon) -> None:
    node = _journal_fold(daemon.root)
    with _state(daemon) as db:
        orders = {
            r[0]: r[1:]
            for r in db.execute(text("SELECT id, status, filled_quantity, average_price, fee, journal_seq FROM orders"))
        }
        trades = {r[0]: r[1:] for r in db.execute(text("SELECT id, order_id, quantity, price, fee FROM trades"))}
        positions = {r[0]: r[1] for r in db.execute(text("SELECT symbol, quantity FROM positions"))}
        balances = {
            r[0]: r[1:] for r in db.execute(text("SELECT asset, total_balance, locked_balance FROM account_balances"))
        }
    assert set(orders) == set(node.orders), "orders missing from (or extra in) the projection"
    for oid, order in node.orders.items():
        status, filled, avg, fee, _ = orders[oid]
        expected_avg = None if order.average_price is None else order.average_price.quantize(Q18)
        got = (status, _dec(filled), _dec(avg), _dec(fee))
        assert got == (order.status.value, order.filled_quantity, expected_avg, sum(order.fees.values(), Decimal(0)))
    fills = {f.trade_id: (f.order_id, f.last_qty, f.last_px, f.fee) for f in node.fills}
    assert len(fills) == len(node.fills), "the journal holds a trade id twice"
    assert {k: (v[0], _dec(v[1]), _dec(v[2]), _dec(v[3])) for k, v in trades.items()} == fills
    ledger = node.ledger
    assert {s: _dec(q) for s, q in positions.items()} == {s: p.quantity for s, p in ledger.positions("main").items()}
    assert {a: (_dec(t), _dec(lk)) for a, (t, lk) in balances.items()} == {
        a: (b.total, b.locked) for a, b in ledger.balances("main").items()
    }


def test_sigkill_under_load_then_restart_leaves_the_projection_complete_and_rebuilds_identical() -> None:
    with daemon_home(backend="sqlite") as daemon:
        for seed in (1, 2):
            daemon.start()
            _under_load_then_kill(daemon, seed)
            daemon.start()
            _caught_up(daemon)
            _assert_projection_is_the_fold(daemon)
            daemon.stop()
        before = _tables(daemon)
        assert len(before["trades"]) >= 20 and len(before["orders"]) >= 80

        for suffix in ("", "-wal", "-shm"):
            (daemon.root / f"state.db{suffix}").unlink(missing_ok=True)
        daemon.start()
        last = _caught_up(daemon)
        assert _tables(daemon) == before

        refused = daemon.cli("engine", "rebuild-state")
        assert refused.returncode == 1
        assert "the engine daemon is running" in refused.stderr and "Traceback" not in refused.stderr
        daemon.stop()

        with sqlite3.connect(daemon.root / "state.db") as db:  # damage it: the rebuild must not depend on it
            db.execute("DELETE FROM trades WHERE id IN (SELECT id FROM trades LIMIT 5)")
            db.execute("UPDATE orders SET status = 'NEW'")
        done = daemon.cli("engine", "rebuild-state", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["applied_seq"] == last
        assert _tables(daemon) == before


def test_on_postgresql_a_sigkill_under_load_leaves_the_projection_complete_and_rebuilds_identical() -> None:
    """The same on a PostgreSQL state (one round: the portable SQL, the projection's own transaction, the rebuild)."""
    with daemon_home(backend="postgresql") as daemon:
        daemon.start()
        _under_load_then_kill(daemon, 3)
        daemon.start()
        _caught_up(daemon)
        _assert_projection_is_the_fold(daemon)
        daemon.stop()
        before = _tables(daemon)
        assert len(before["orders"]) >= 40

        with _state(daemon) as db, db.begin():  # damage it: the rebuild must not depend on it
            db.execute(text("DELETE FROM trades WHERE id IN (SELECT id FROM trades LIMIT 5)"))
            db.execute(text("UPDATE orders SET status = 'NEW'"))
        done = daemon.cli("engine", "rebuild-state", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["applied_seq"] == _last_seq(daemon.root)
        assert _tables(daemon) == before


def _projector_pid(daemon_pid: int) -> int | None:
    """The daemon's projection process: below the daemon (through its fork server), named ``projector``; None
    while there is none (or, briefly, a dying one beside its successor)."""
    todo, found = [daemon_pid], []
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            if pid != daemon_pid and Path(f"/proc/{pid}/comm").read_text().strip() == "projector":
                found.append(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
    live = [pid for pid in found if _alive(pid)]
    return live[0] if len(live) == 1 else None


def test_the_projection_process_is_restarted_when_it_dies_and_leaves_with_a_killed_daemon() -> None:
    with daemon_home(backend="sqlite") as daemon:
        pid = daemon.start()
        with daemon.client() as client:
            client.post("/api/v1/orders", {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.004"})
        first = wait_for(lambda: _projector_pid(pid), "the projection process")
        _caught_up(daemon)

        os.kill(first, signal.SIGKILL)  # the projection dies mid-run: the daemon starts another, which catches up
        wait_for(lambda: not _alive(first), "the killed projection to exit")
        with daemon.client() as client:
            for _ in range(5):
                client.post("/api/v1/orders", {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.004"})
        second = wait_for(lambda: _projector_pid(pid), "a new projection process")
        assert second != first
        _caught_up(daemon)
        _assert_projection_is_the_fold(daemon)
        log = (daemon.root / "logs").glob("*.jsonl")
        assert any("the state projection process exited" in p.read_text() for p in log)

        _under_load_then_kill(daemon, 4)  # a daemon killed outright takes its projection process with it
        wait_for(lambda: not _alive(second), "the projection process to leave with its daemon")
        daemon.start()
        _caught_up(daemon)
        _assert_projection_is_the_fold(daemon)
