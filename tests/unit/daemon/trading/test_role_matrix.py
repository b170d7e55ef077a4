"""The viewer / trader / admin matrix over every operation of the real app's OpenAPI document (access.py).

Every operation is called over TCP with a token of each role, with placeholder path parameters and no body, so
an allowed call ends in its own 404/422/400 (nothing is changed) and a refused one in 403 before any handler runs.
"""

from __future__ import annotations

import re

import pytest
from trading_support import Engine

from alphintra.daemon.access import OPERATIONS
from alphintra.daemon.protocol import Role

ROLES = (Role.VIEWER, Role.TRADER, Role.ADMIN)
PLACEHOLDER = {"alert_id": "999999"}  # typed path parameters get a valid value of their type


def operations(engine: Engine) -> list[tuple[str, str]]:
    doc = engine.app.openapi()
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    ]


def test_every_operation_is_in_the_role_table_and_nothing_else_is(engine: Engine) -> None:
    ops = operations(engine)
    assert len(ops) >= 60
    assert sorted(set(ops) - set(OPERATIONS)) == []  # none unlisted
    assert sorted(set(OPERATIONS) - set(ops)) == []  # no stale entry


def test_the_whole_matrix(engine: Engine) -> None:
    clients = {role: engine.tcp(f"u-{role.value}", role.value) for role in ROLES}
    checked = 0
    for method, path in operations(engine):
        needed = OPERATIONS[(method, path)].role
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PLACEHOLDER.get(m.group(1), "no-such-id"), path)
        for role, client in clients.items():
            response = client.request(method, url)
            where = f"{method} {path} as {role.value}: {response.status_code} {response.text[:200]}"
            if role.allows(needed):
                assert response.status_code not in (401, 403), where
            else:
                assert response.status_code == 403, where
                assert response.json() == {
                    "error": "forbidden",
                    "detail": f"role {role.value} may not do this; {needed.value} is required",
                    "field": None,
                }, where
            checked += 1
    assert checked == 3 * len(OPERATIONS)


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_refused_changes_leave_no_trace(engine: Engine, role: str) -> None:
    """A refused call does nothing: a viewer's order and a trader's limit change are not applied."""
    client = engine.tcp("mallory", role)
    engine.tick("BTC/USD", "60000")
    limits = engine.client.get("/api/v1/risk/limits").json()
    if role == "viewer":
        r = client.post("/api/v1/orders", json={"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001"})
    else:
        r = client.put("/api/v1/risk/limits", json={"limits": [{"name": "max_order_qty", "value": "5"}]})
    assert r.status_code == 403, r.text
    assert engine.client.get("/api/v1/orders").json() == []
    assert engine.client.get("/api/v1/risk/limits").json() == limits
