"""The state store on SQLite (the default backend): the shared contract plus what is SQLite-specific."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, Numeric, Table, create_engine, insert, select, text

from alphintra.errors import ValidationError
from alphintra.storage.state import StateStore, normalise_url
from alphintra.storage.state.db import SQLITE_BUSY_TIMEOUT_MS, libpq_url
from tests.unit.storage.state.state_contract import FakeClock, StoreContract, order, seed_account


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[StateStore]:
    s = StateStore(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    s.create_all()
    yield s
    s.close()


class TestSqliteStore(StoreContract):
    pass


def test_plain_numeric_on_sqlite_loses_digits_which_is_why_exact_decimal_exists(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    table = Table("t", MetaData(), Column("v", Numeric(38, 18)))
    table.metadata.create_all(engine)
    with engine.begin() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy itself warns that SQLite has no native decimals
        conn.execute(insert(table).values(v=Decimal("12345678901234.123456789012345678")))
        stored = conn.execute(select(table.c.v)).scalar_one()
    assert stored != Decimal("12345678901234.123456789012345678")


def test_default_url_is_state_db_in_the_data_home(isolated_home: Path) -> None:
    store = StateStore()
    store.create_all()
    assert store.backend == "sqlite"
    assert store.url == f"sqlite:///{isolated_home / 'state.db'}"
    assert (isolated_home / "state.db").exists()
    store.close()


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(store: StateStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == SQLITE_BUSY_TIMEOUT_MS
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_money_is_stored_as_exact_text_on_sqlite(store: StateStore) -> None:
    seed_account(store)
    store.upsert_order(order("O-1", quantity=Decimal("0.1") + Decimal("0.2"), price=Decimal("1E+2")))
    with store.engine.connect() as conn:
        raw = conn.execute(text("SELECT quantity, price, typeof(quantity) FROM orders")).one()
    assert tuple(raw) == ("0.3", "100", "text")


def test_a_reader_sees_committed_state_while_a_batch_is_open(store: StateStore, tmp_path: Path) -> None:
    seed_account(store)
    reader = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    seen: list[int] = []
    with store.batch() as writer:
        writer.upsert_order(order("O-1"))
        writer.session.flush()  # the write lock is held from here until commit
        thread = threading.Thread(target=lambda: seen.append(len(reader.list_orders())))
        thread.start()
        thread.join(timeout=10)
    assert seen == [0]  # WAL: the reader was not blocked and saw the state before the batch
    assert len(reader.list_orders()) == 1
    reader.close()


def test_urls() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert libpq_url("postgresql+psycopg://u:pw@h:5433/db") == "postgresql://u:pw@h:5433/db"
    for bad in ("mysql://u@h/db", "not a url"):
        with pytest.raises(ValidationError) as err:
            normalise_url(bad)
        assert err.value.field == "database_url"


@pytest.fixture(scope="module")
def roundtrip_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateStore]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('roundtrip') / 'state.db'}", clock=FakeClock())
    store.create_all()
    store.upsert_account({"id": "main"})
    yield store
    store.close()


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(
        min_value=Decimal("-99999999999999999999.999999999999999999"),
        max_value=Decimal("99999999999999999999.999999999999999999"),
        places=18,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_storable_decimal_round_trips_exactly(roundtrip_store: StateStore, value: Decimal) -> None:
    roundtrip_store.upsert_position({"account_id": "main", "symbol": "X", "quantity": value, "average_price": value})
    got = roundtrip_store.get_position("main", "X")
    assert got.quantity == value and got.average_price == value


def test_a_second_store_on_the_same_file_keeps_the_first_ones_writes_visible_to_other_processes(
    tmp_path: Path,
) -> None:
    """Opening another store on a file this process already uses must not drop SQLite's locks (closing any
    descriptor of the file drops them all): another process closing its connection then deleted the live WAL,
    and everything written after that was seen by this process alone (a daemon's halt the CLI never saw)."""
    path = tmp_path / "state.db"
    first = StateStore(f"sqlite:///{path}")
    first.create_all()
    first.set_risk_limit("max_order_qty", "5", changed_by="alice")
    second = StateStore(f"sqlite:///{path}")  # as the daemon's risk keeper, strategy manager ... each open one
    second.list_risk_limits()
    # Another process (the CLI) reads and closes its connection.
    other = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]).fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", other, str(path), _READ], check=True, timeout=60)
    first.set_risk_limit("max_order_qty", "3", changed_by="bob")
    read = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall())"
    seen = subprocess.run(
        [sys.executable, "-c", read, str(path), _READ], check=True, timeout=60, capture_output=True, text=True
    )
    assert "3" in seen.stdout and "5" not in seen.stdout, seen.stdout
    first.close()
    second.close()


_READ = "select value from risk_limits where name = 'max_order_qty'"
