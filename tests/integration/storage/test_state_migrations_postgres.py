"""Migrations on the real PostgreSQL server: a state made before migrations keeps every row through
`alphintra db upgrade`, a fresh one is created at head equal to the models, each in a scratch schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alphintra.storage.state import StateModel, StateStore, make_engine, schema
from alphintra.storage.state.schema import SchemaVersionError
from tests.pg_support import scratch_schema
from tests.unit.storage.state.state_seed import T0, assert_every_row, seed_every_table

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(pg_url: str) -> Iterator[str]:
    with scratch_schema("t_migrate", pg_url) as scratch:
        yield scratch


def test_a_state_from_before_migrations_is_upgraded_with_every_row(
    url: str, run_cli: Any, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What create_all made before migrations: revision 0001's tables, no alembic_version, rows in every table.
    engine = make_engine(url)
    schema.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    with StateStore(url, clock=lambda: T0) as store:
        seed_every_table(store)
        with pytest.raises(SchemaVersionError, match="at schema revision 0001, this alphintra needs 0002"):
            store.create_all()

    monkeypatch.setenv("ALPHINTRA_DATABASE_URL", url)
    done = run_cli("db", "upgrade", "--json")
    assert done.code == 0, done.err
    assert {k: v for k, v in done.json().items() if k != "database"} == {
        "from": "0001",
        "to": "0002",
        "legacy": True,
        "applied": ["0002"],
    }
    assert run_cli("db", "current", "--json").json()["state"] == "current"
    with StateStore(url, clock=lambda: T0) as store:
        store.create_all()
        assert_every_row(store)
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), StateModel.metadata) == []
    with psycopg.connect(url) as conn:
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_trades_account_timestamp'"
            " AND schemaname = current_schema()"
        ).fetchone()
    assert index is not None and index[0].endswith('(account_id, "timestamp")')


def test_a_fresh_database_is_created_at_head_equal_to_the_models(url: str) -> None:
    with StateStore(url) as store:
        store.create_all()
        assert schema.status(store.engine).state == "current"
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), StateModel.metadata) == []
