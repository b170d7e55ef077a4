"""The state store on the real PostgreSQL server: the same contract as SQLite, plus the column types there.

Each test gets its own schema (selected through ``search_path`` in the URL) and drops it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.storage.state import StateStore
from tests.unit.storage.state.state_contract import BIG, FakeClock, StoreContract, order, seed_account

pytestmark = pytest.mark.postgres


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    schema = f"t_state_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(pg_url: str, pg_schema: str, clock: FakeClock) -> Iterator[StateStore]:
    s = StateStore(schema_url(pg_url, pg_schema), clock=clock)
    s.create_all()
    yield s
    s.close()


class TestPostgresStore(StoreContract):
    pass


def test_postgres_columns_are_numeric_timestamptz_and_jsonb(store: StateStore, pg_url: str, pg_schema: str) -> None:
    assert store.backend == "postgresql"
    assert store.engine.url.drivername == "postgresql+psycopg"
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'orders' AND column_name IN "
            "('quantity', 'created_at', 'params') ORDER BY column_name",
            (pg_schema,),
        ).fetchall()
    assert rows == [
        ("created_at", "timestamp with time zone", None, None),
        ("params", "jsonb", None, None),
        ("quantity", "numeric", 38, 18),
    ]


def test_exact_values_are_what_postgres_itself_holds(store: StateStore, pg_url: str, pg_schema: str) -> None:
    seed_account(store)
    store.upsert_order(order("O-1", quantity=Decimal("0.1") + Decimal("0.2"), price=BIG))
    with psycopg.connect(pg_url) as conn:
        conn.execute(f'SET search_path TO "{pg_schema}"')
        qty, price, total = conn.execute("SELECT quantity, price, quantity + price FROM orders").fetchone() or (
            None,
            None,
            None,
        )
    assert qty == Decimal("0.3") and price == BIG
    assert total == Decimal("12345678901234.423456789012345678")


def test_any_storable_decimal_round_trips_exactly(store: StateStore) -> None:
    store.upsert_account({"id": "main"})

    # The property runs inside the test so that it can use this test's schema (pg_url is function-scoped).
    @settings(max_examples=60, deadline=None)
    @given(
        st.decimals(
            min_value=Decimal("-99999999999999999999.999999999999999999"),
            max_value=Decimal("99999999999999999999.999999999999999999"),
            places=18,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    def round_trip(value: Decimal) -> None:
        store.upsert_position({"account_id": "main", "symbol": "X", "quantity": value, "average_price": value})
        got = store.get_position("main", "X")
        assert got.quantity == value and got.average_price == value

    round_trip()
