"""The daemon's state database: one SQL engine shared by every store of the host, and one writer -- the
journal-tailing projector -- for the trading and the risk tables alike."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading_support import Engine

from alphintra.storage.state import StateStore


def test_every_store_of_the_host_shares_one_sql_engine(engine: Engine) -> None:
    host = engine.host
    assert host.strategies is not None and host.risk_keeper is not None and host.risk_watch is not None
    stores = [host.risk_keeper.store, host.strategies.store, host.risk_watch.store, host.archive.store]
    assert {id(s.engine) for s in stores} == {id(host.state_db.store().engine)}
    r = engine.client.get("/api/v1/backtests")
    assert r.status_code == 200 and r.json() == []


def test_risk_records_reach_the_store_through_the_projector_only(engine: Engine) -> None:
    assert "risk-projection" not in {t.name for t in threading.enumerate()}
    c = engine.client
    r = c.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_notional", "value": "5000"}], "reason": "a"})
    assert r.status_code == 200, r.text
    # The answer waited for the projection: another connection reads the row at once.
    with StateStore(engine.settings.effective_database_url) as other:
        limits = {(x.name, x.scope_id): x.value for x in other.list_risk_limits()}
        assert limits == {("max_order_notional", "*"): Decimal(5000)}
        history = other.risk_limit_history(name="max_order_notional")
        assert [(h.new_value, h.reason) for h in history] == [(Decimal(5000), "a")]
        meta = other.projection_meta()
        assert meta is not None and meta.applied_seq >= engine.host.risk_keeper.projected_from
    pid = engine.host._projector.pid  # the writer is a process of its own, named for top and the benches
    assert pid is not None and pid != os.getpid()
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "projector"


def test_a_restart_rebuilds_the_risk_tables_once_and_projects_what_follows(engine: Engine) -> None:
    c = engine.client
    assert c.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_qty", "value": "3"}]}).status_code == 200
    engine.close()
    again = Engine()
    try:
        r = again.client.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_qty", "value": "4"}]})
        assert r.status_code == 200, r.text
        store: Any = again.host.risk_watch.store
        history = store.risk_limit_history(name="max_order_qty")
        # Oldest last: the first change (rebuilt at the start from the journal) and the new one, each once.
        assert [(h.old_value, h.new_value) for h in history] == [(Decimal(3), Decimal(4)), (None, Decimal(3))]
    finally:
        again.close()
