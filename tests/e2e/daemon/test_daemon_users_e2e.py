"""Users, roles, accounts and the audit log on a real daemon over TCP, with several users' tokens."""

from __future__ import annotations

import getpass
import json
from typing import Any

import pytest
from test_daemon_e2e import Home, home, is_ready, wait_for  # noqa: F401  (home is a fixture)

from alphintra.daemon.client import EngineClient
from alphintra.daemon.protocol import AuthenticationError, PermissionDeniedError


@pytest.mark.both_backends
def test_two_users_session_is_audited_with_who_when_where_and_values(
    home: Home,  # noqa: F811  (the fixture imported above)
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The user, token and audit commands run in-process (they work on the home's files, daemon or not); only the
    # daemon is a process of its own.
    monkeypatch.setenv("ALPHINTRA_HOME", str(home.root))
    home.env["ALPHINTRA_PAPER__FEED"] = "none"  # prices move only by the admin's ticks

    def cli_ok(*args: str) -> str:
        done = run_cli(*args)
        assert done.code == 0, done.err
        return str(done.out)

    def token(user: str) -> str:
        return str(json.loads(cli_ok("auth", "token", "--user", user, "--ttl", "30m", "--json"))["token"])

    cli_ok("user", "add", "ann", "--role", "admin")
    cli_ok("user", "add", "tom", "--role", "trader", "--account", "main")
    cli_ok("user", "add", "eve", "--role", "trader", "--account", "other")
    refused = run_cli("auth", "token", "--user", "nobody")
    assert refused.code == 2
    assert "--user: is not a registered user" in " ".join(refused.err.split())

    proc = home.spawn("engine", "start", "--foreground", "--tcp", "127.0.0.1:0")
    try:
        wait_for(lambda: is_ready(home), "the daemon to be ready")
        with home.client() as local:
            url = f"http://{local.status()['tcp']}"
        ann = EngineClient.remote(url, token("ann"))
        tom = EngineClient.remote(url, token("tom"))
        eve = EngineClient.remote(url, token("eve"))
        with ann, tom, eve:
            assert tom.get("/api/v1/auth/whoami") == {"user": "tom", "role": "trader", "listener": "tcp"}
            ann.post("/api/v1/market-data/ticks", {"symbol": "BTC/USD", "price": "60000"})

            order = {"symbol": "BTC/USD", "side": "BUY", "quantity": "0.001", "type": "LIMIT", "price": "50000"}
            placed = tom.post("/api/v1/orders", order)
            # Another trader neither sees nor touches it: listings are filtered, a cancel is refused (and not audited).
            assert eve.get("/api/v1/orders") == [] and eve.get("/api/v1/trades") == []
            assert [o["id"] for o in tom.get("/api/v1/orders")] == [placed["id"]]
            with pytest.raises(PermissionDeniedError, match="user eve may not use account 'main'"):
                eve.post(f"/api/v1/orders/{placed['id']}/cancel")
            assert tom.get(f"/api/v1/orders/{placed['id']}")["status"] == "ACCEPTED"
            modified = tom.put(f"/api/v1/orders/{placed['id']}", {"price": "49000"})
            assert modified["price"] == "49000.00"
            canceled = tom.post(f"/api/v1/orders/{placed['id']}/cancel")
            assert canceled["status"] == "CANCELED"

            # eve trades only the account she owns; the engine's account is not hers.
            with pytest.raises(PermissionDeniedError, match="user eve may not use account 'main'"):
                eve.post("/api/v1/orders", order)
            with pytest.raises(PermissionDeniedError, match="user eve may not use account 'main'"):
                eve.get("/api/v1/portfolio")

            ann.put("/api/v1/risk/limits", {"limits": [{"name": "max_order_qty", "value": "5"}]})
            halted = tom.post("/api/v1/risk/halt", {"reason": "desk check"})
            assert [h["by"] for h in halted["halts"]] == ["tom"]  # the API user, not the daemon's owner
            with pytest.raises(PermissionDeniedError, match="admin is required"):
                tom.post("/api/v1/risk/resume", {"reason": "back"})
            ann.post("/api/v1/risk/resume", {"reason": "back"})

            # Role and state changes apply to existing tokens on the next request.
            cli_ok("user", "role", "tom", "viewer")
            with pytest.raises(PermissionDeniedError, match="role viewer may not do this; trader is required"):
                tom.post("/api/v1/orders", order)
            cli_ok("user", "disable", "tom")
            with pytest.raises(AuthenticationError, match="user 'tom' is disabled"):
                tom.get("/api/v1/orders")

            with pytest.raises(PermissionDeniedError):
                eve.get("/api/v1/audit")
            served = ann.get("/api/v1/audit")
    finally:
        if proc.poll() is None:
            with home.client() as local:
                local.stop()
            proc.wait(timeout=30)

    owner = getpass.getuser()
    logged = json.loads(cli_ok("audit", "--json"))
    assert served == [e for e in logged if e["ts"] <= served[-1]["ts"]][: len(served)]
    summary = [(e["user"], e["via"], e["action"]) for e in logged]
    assert summary == [
        (owner, "cli", "user.add"),
        (owner, "cli", "user.add"),
        (owner, "cli", "user.add"),
        ("ann", "tcp", "market.tick"),
        ("tom", "tcp", "order.create"),
        ("tom", "tcp", "order.modify"),
        ("tom", "tcp", "order.cancel"),
        ("ann", "tcp", "risk.limits"),
        ("tom", "tcp", "risk.halt"),
        ("ann", "tcp", "risk.resume"),
        (owner, "cli", "user.role"),
        (owner, "cli", "user.disable"),
        (owner, "unix", "engine.stop"),  # the owner on the unix socket
    ]
    by_action: dict[str, dict[str, Any]] = {e["action"]: e for e in logged}
    create, modify, cancel = by_action["order.create"], by_action["order.modify"], by_action["order.cancel"]
    assert create["after"]["id"] == placed["id"] and create["before"] is None
    assert (modify["before"]["price"], modify["after"]["price"]) == (placed["price"], "49000.00")
    assert (cancel["before"]["status"], cancel["after"]["status"]) == ("ACCEPTED", "CANCELED")
    assert create["peer"].startswith("127.0.0.1:") and create["ts"].endswith("Z")
    limits = by_action["risk.limits"]
    assert limits["request"] == {"limits": [{"name": "max_order_qty", "value": "5"}]}
    assert [(x["name"], x["value"]) for x in limits["after"]["limits"]] == [("max_order_qty", "5")]
    assert by_action["risk.halt"]["before"] == {"halts": []}
    assert [h["by"] for h in by_action["risk.resume"]["before"]["halts"]] == ["tom"]
    assert by_action["user.role"]["before"]["role"] == "trader" and by_action["user.role"]["after"]["role"] == "viewer"
    assert [e["action"] for e in json.loads(cli_ok("audit", "--user", "tom", "--json"))] == [
        "order.create",
        "order.modify",
        "order.cancel",
        "risk.halt",
    ]
