"""A real daemon on a state database older or newer than its code refuses to start (exit 2), in the log and on
the terminal naming the command that fixes it; after `alphintra db upgrade` it starts and trades. On SQLite and
on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from engine_e2e_support import Daemon, daemon_home

from alphintra.storage.state import StateStore
from tests.pg_support import BACKENDS


def _stamp(daemon: Daemon, revision: str) -> str:
    """Create the state at head, then mark it as ``revision``: what an un-upgraded or a future database looks like."""
    url = daemon.database_url or f"sqlite:///{daemon.root / 'state.db'}"
    daemon.root.mkdir(parents=True, exist_ok=True)
    with StateStore(url) as store:
        store.create_all()
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
        return store.url


def _log(daemon: Daemon) -> list[dict[str, object]]:
    path = daemon.root / "logs" / "engine.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_older_database_stops_the_start_until_db_upgrade(backend: str) -> None:
    with daemon_home(backend=backend) as daemon:
        url = _stamp(daemon, "0001")
        expected = (
            f"the state database {url} is at schema revision 0001, this alphintra needs 0002: "
            "run `alphintra db upgrade` (stop the engine first)"
        )
        foreground = daemon.cli("engine", "start", "--foreground")
        assert foreground.returncode == 2, foreground.stderr
        refusal = [r for r in _log(daemon) if r["msg"].startswith("refusing to start")]  # type: ignore[union-attr]
        assert [r["msg"] for r in refusal] == [f"refusing to start: {expected}"]
        assert not daemon.pid_file.exists()

        # `engine start` in the background says the same on the terminal: test_state_migrations (in-process)
        upgraded = daemon.cli("db", "upgrade", "--json")
        assert upgraded.returncode == 0, upgraded.stderr
        assert json.loads(upgraded.stdout)["applied"] == ["0002"]
        daemon.start()
        with daemon.client() as client:
            order = client.post("/api/v1/orders", {"symbol": "ETH/USD", "side": "BUY", "quantity": "0.004"})
            assert order["status"] == "FILLED"


def test_a_database_from_a_newer_alphintra_is_refused() -> None:
    with daemon_home() as daemon:
        url = _stamp(daemon, "0099")
        done = daemon.cli("engine", "start", "--foreground")
        assert done.returncode == 2
        (line,) = [r["msg"] for r in _log(daemon) if str(r["msg"]).startswith("refusing to start")]
        assert line == (
            f"refusing to start: the state database {url} is at schema revision 0099, newer than this alphintra "
            "knows (head 0002): a newer alphintra upgraded it; run that version (or upgrade alphintra)"
        )
