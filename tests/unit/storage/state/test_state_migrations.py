"""Migrations of the state database: a home from before migrations keeps every row through `alphintra db upgrade`,
a fresh one is made at head, and code refuses a database older or newer than itself, naming the fix."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alphintra.storage.state import StateModel, StateStore, make_engine, schema
from alphintra.storage.state.schema import SchemaVersionError
from tests.unit.storage.state.state_seed import T0, assert_every_row

BEFORE_MIGRATIONS = Path(__file__).with_name("data") / "state_before_migrations.sql"


def legacy_home(home: Path) -> Path:
    """``state.db`` exactly as the code before migrations left it (schema and rows)."""
    home.mkdir(parents=True, exist_ok=True)
    db = home / "state.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(BEFORE_MIGRATIONS.read_text())
    db.chmod(0o600)
    return db


def test_a_home_from_before_migrations_is_recognised_refused_then_upgraded_with_every_row(
    isolated_home: Path, run_cli: Any
) -> None:
    db = legacy_home(isolated_home)
    current = run_cli("db", "current", "--json")
    assert current.code == 0, current.err
    assert current.json() == {
        "database": f"sqlite:///{db}",
        "current": "0001",
        "head": "0002",
        "state": "behind",
        "legacy": True,
        "problems": [],
    }

    refused = run_cli("engine", "start")
    assert refused.code == 2
    expected = (
        f"the state database sqlite:///{db} is at schema revision 0001, this alphintra needs 0002: "
        "run `alphintra db upgrade` (stop the engine first)"
    )
    assert "".join(expected.split()) in "".join(refused.err.split())  # Rich wraps long lines, even inside a path
    with StateStore(f"sqlite:///{db}") as store, pytest.raises(SchemaVersionError, match="alphintra db upgrade"):
        store.create_all()  # every command that opens the state says the same

    upgraded = run_cli("db", "upgrade", "--json")
    assert upgraded.code == 0, upgraded.err
    assert upgraded.json() == {
        "database": f"sqlite:///{db}",
        "from": "0001",
        "to": "0002",
        "legacy": True,
        "applied": ["0002"],
    }
    with StateStore(f"sqlite:///{db}", clock=lambda: T0) as store:
        store.create_all()
        assert_every_row(store)
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), StateModel.metadata) == []
    again = run_cli("db", "upgrade", "--json")
    assert again.json()["applied"] == [] and again.json()["from"] == "0002"


def test_a_fresh_home_is_created_at_head_private_and_equal_to_the_models(isolated_home: Path) -> None:
    with StateStore() as store:
        store.create_all()
        assert schema.status(store.engine).to_dict() == {
            "current": "0002",
            "head": "0002",
            "state": "current",
            "legacy": False,
            "problems": [],
        }
        with store.engine.connect() as conn:
            # A model changed without a migration shows here: add a revision under migrations/versions.
            assert compare_metadata(MigrationContext.configure(conn), StateModel.metadata) == []
    assert stat.S_IMODE((isolated_home / "state.db").stat().st_mode) == 0o600


def test_a_database_written_by_a_newer_alphintra_is_refused_and_left_alone(tmp_path: Path, run_cli: Any) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with StateStore(url) as store:
        store.create_all()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
        with pytest.raises(SchemaVersionError) as err:
            store.create_all()
    assert err.value.exit_code == 2
    assert str(err.value) == (
        f"the state database {url} is at schema revision 0099, newer than this alphintra knows (head 0002): "
        "a newer alphintra upgraded it; run that version (or upgrade alphintra)"
    )
    refused = run_cli("--home", str(tmp_path), "db", "upgrade")
    assert refused.code == 2 and "newer than this alphintra knows" in refused.err
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]


def test_tables_that_match_no_revision_are_refused_with_the_differences_named(tmp_path: Path) -> None:
    db = legacy_home(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN venue_tag VARCHAR(10)")
        conn.execute("DROP TABLE risk_alerts")
    engine = make_engine(f"sqlite:///{db}")
    try:
        found = schema.status(engine)
        assert found.problems == ("table risk_alerts is missing", "orders.venue_tag is not a column of revision 0001")
        with pytest.raises(SchemaVersionError, match=r"does not recognise .*table risk_alerts is missing"):
            schema.upgrade(engine)
    finally:
        engine.dispose()


def test_db_history_lists_every_revision_oldest_first(run_cli: Any) -> None:
    done = run_cli("db", "history", "--json")
    assert done.code == 0, done.err
    rows = json.loads(done.out)
    assert [(r["revision"], r["down_revision"], r["head"]) for r in rows] == [
        ("0001", None, False),
        ("0002", "0001", True),
    ]
    assert rows[1]["description"].startswith("Fills of one account in time order use an index")


def test_stores_opening_one_fresh_database_at_once_all_find_it_at_head(tmp_path: Path) -> None:
    import threading

    url = f"sqlite:///{tmp_path / 'state.db'}"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            with StateStore(url) as store:
                start.wait()
                store.create_all()  # the schema's write lock: one creates, the others then see it at head
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]


def test_upgrade_to_an_older_or_unknown_revision_is_refused(tmp_path: Path, run_cli: Any) -> None:
    with StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        store.create_all()
    older = run_cli("--home", str(tmp_path), "db", "upgrade", "--revision", "0001")
    assert older.code == 2
    assert "0001 is older than the database's 0002; downgrades are not supported" in " ".join(older.err.split())
    unknown = run_cli("--home", str(tmp_path), "db", "upgrade", "--revision", "zzz")
    assert unknown.code == 2
    assert "revision 'zzz' is not one of this alphintra's: see `alphintra db history`" in " ".join(unknown.err.split())
