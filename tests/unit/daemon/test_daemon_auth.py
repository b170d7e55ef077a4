"""Tokens, roles and the rules of the two listeners."""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from alphintra.config.settings import get_settings, load_settings
from alphintra.daemon.app import ListenerApp, create_app
from alphintra.daemon.auth import (
    MIN_SECRET_LENGTH,
    WS_UNAUTHORIZED,
    Authenticator,
    Principal,
    Role,
    issue_token,
    load_or_create_secret,
    parse_ttl,
    require_role,
    verify_token,
)
from alphintra.daemon.lifecycle import LifecycleHost
from alphintra.daemon.protocol import AuthenticationError
from alphintra.errors import OperationFailed, ValidationError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SECRET = "s" * 48
NOW = 1_750_000_000


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("8h", 28800), ("7d", 604800), ("45s", 45), ("2W", 1209600)]
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["8", "h", "1.5h", "0h", "400d", "-1h", "8 hours"])
def test_parse_ttl_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_ttl(text)
    assert err.value.field == "--ttl"


def test_role_order() -> None:
    assert [r.value for r in sorted(Role, key=lambda r: r.rank)] == ["viewer", "trader", "admin"]
    assert Role.ADMIN.allows(Role.TRADER) and Role.TRADER.allows(Role.TRADER)
    assert not Role.VIEWER.allows(Role.TRADER) and not Role.TRADER.allows(Role.ADMIN)
    with pytest.raises(ValidationError, match="must be one of viewer, trader, admin"):
        Role.parse("root")


def test_token_round_trip_carries_the_claims() -> None:
    token = issue_token(SECRET, "alice", "trader", 3600, now=NOW)
    claims = verify_token(SECRET, token, now=NOW + 10)
    assert (claims.sub, claims.role, claims.iat, claims.exp) == ("alice", Role.TRADER, NOW, NOW + 3600)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


@given(ttl=st.integers(min_value=1, max_value=10**7), now=st.integers(min_value=0, max_value=2**32))
def test_token_is_valid_exactly_until_exp(ttl: int, now: int) -> None:
    token = issue_token(SECRET, "u", Role.VIEWER, ttl, now=now)
    assert verify_token(SECRET, token, now=now + ttl - 1).exp == now + ttl
    with pytest.raises(AuthenticationError, match="token expired"):
        verify_token(SECRET, token, now=now + ttl)


def test_bad_signature_and_garbage_are_refused() -> None:
    token = issue_token("o" * 48, "alice", "admin", 60, now=NOW)
    with pytest.raises(AuthenticationError, match="bad signature"):
        verify_token(SECRET, token, now=NOW)
    with pytest.raises(AuthenticationError, match="invalid token"):
        verify_token(SECRET, "not.a.token", now=NOW)


def test_missing_claim_and_unknown_role_are_refused() -> None:
    no_role = jwt.encode({"sub": "a", "iat": NOW, "exp": NOW + 60}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="missing claim 'role'"):
        verify_token(SECRET, no_role, now=NOW)
    root = jwt.encode({"sub": "a", "role": "root", "iat": NOW, "exp": NOW + 60}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="bad role"):
        verify_token(SECRET, root, now=NOW)


def test_none_algorithm_is_refused() -> None:
    unsigned = jwt.encode({"sub": "a", "role": "admin", "iat": NOW, "exp": NOW + 60}, "", algorithm="none")
    with pytest.raises(AuthenticationError):
        verify_token(SECRET, unsigned, now=NOW)


def test_issue_rejects_empty_user_and_bad_role() -> None:
    with pytest.raises(ValidationError) as err:
        issue_token(SECRET, " ", "viewer", 60, now=NOW)
    assert err.value.field == "--user"
    with pytest.raises(ValidationError) as err:
        issue_token(SECRET, "a", "boss", 60, now=NOW)
    assert err.value.field == "--role"


def test_secret_file_is_created_once_with_mode_0600(isolated_home: Path) -> None:
    first = load_or_create_secret(get_settings())
    path = isolated_home / "jwt.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= MIN_SECRET_LENGTH
    assert load_or_create_secret(get_settings()) == first


def test_secret_file_readable_by_others_is_refused(isolated_home: Path) -> None:
    load_or_create_secret(get_settings())
    path = isolated_home / "jwt.secret"
    os.chmod(path, 0o644)
    with pytest.raises(OperationFailed, match="readable by other users"):
        load_or_create_secret(get_settings())


def test_configured_secret_wins_and_must_be_long() -> None:
    settings = load_settings()
    settings.engine.jwt_secret = SecretStr("k" * 40)
    assert load_or_create_secret(settings) == "k" * 40
    settings.engine.jwt_secret = SecretStr("short")
    with pytest.raises(ValidationError) as err:
        load_or_create_secret(settings)
    assert err.value.field == "engine.jwt_secret"


# --- the listeners -------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> FastAPI:
    router = APIRouter()

    @router.post("/orders")
    def place(who: Annotated[Principal, Depends(require_role("trader"))]) -> dict[str, str]:
        return {"user": who.user, "role": who.role.value}

    @router.get("/open")
    def unguarded() -> dict[str, bool]:
        return {"served": True}

    host = LifecycleHost()
    host.start()
    return create_app(host, authenticator=Authenticator(SECRET, clock=clock), routers=[router])


@pytest.fixture
def tcp(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(ListenerApp(app, "tcp")) as client:
        yield client


def bearer(role: str, ttl: int = 3600, user: str = "bob") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, user, role, ttl, now=NOW)}"}


def test_tcp_without_token_is_401_everywhere_but_the_probes(tcp: TestClient) -> None:
    assert tcp.get("/health").status_code == 200
    assert tcp.get("/ready").status_code in (200, 503)  # a probe: answered, whatever the engine's state
    for method, path in [
        ("GET", "/api/v1/auth/whoami"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/api/v1/open"),
    ]:
        response = tcp.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {
            "error": "unauthorized",
            "detail": "a bearer token is required over TCP (alphintra auth token create)",
            "field": None,
        }


def test_tcp_rejects_wrong_scheme(tcp: TestClient) -> None:
    response = tcp.get("/metrics", headers={"Authorization": "Basic Ym9iOnB3"})
    assert response.status_code == 401
    assert response.json()["detail"] == "the Authorization header must be `Bearer <token>`"


def test_tcp_expired_token_is_401(tcp: TestClient, clock: Clock) -> None:
    headers = bearer("admin", ttl=60)
    assert tcp.get("/metrics", headers=headers).status_code == 200
    clock.now = NOW + 60
    response = tcp.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("token expired")


def test_tcp_roles_are_enforced(tcp: TestClient) -> None:
    viewer = tcp.post("/api/v1/orders", headers=bearer("viewer"))
    assert viewer.status_code == 403
    assert viewer.json() == {
        "error": "forbidden",
        "detail": "role viewer may not do this; trader is required",
        "field": None,
    }
    assert tcp.post("/api/v1/orders", headers=bearer("trader")).json() == {"user": "bob", "role": "trader"}
    assert tcp.post("/api/v1/orders", headers=bearer("admin")).json() == {"user": "bob", "role": "admin"}
    assert tcp.post("/api/v1/engine/stop", headers=bearer("trader")).status_code == 403
    # An operation missing from the role table (access.py) is admin-only: a forgotten entry fails closed.
    unlisted = tcp.get("/api/v1/open", headers=bearer("trader"))
    assert (unlisted.status_code, unlisted.json()["detail"]) == (403, "role trader may not do this; admin is required")
    assert tcp.get("/api/v1/open", headers=bearer("admin")).json() == {"served": True}


def test_whoami_reports_the_token_subject(tcp: TestClient) -> None:
    response = tcp.get("/api/v1/auth/whoami", headers=bearer("trader", user="carol"))
    assert response.json() == {"user": "carol", "role": "trader", "listener": "tcp"}


def test_unix_listener_trusts_the_peer_as_admin(app: FastAPI) -> None:
    with TestClient(ListenerApp(app, "unix")) as local:
        assert local.post("/api/v1/orders").json()["role"] == "admin"
        assert local.get("/api/v1/auth/whoami").json()["listener"] == "unix"


def test_untagged_requests_are_treated_as_tcp(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401


def test_no_secret_means_tcp_is_closed() -> None:
    host = LifecycleHost()
    with TestClient(ListenerApp(create_app(host), "tcp")) as client:
        forged = {"Authorization": f"Bearer {issue_token(SECRET, 'x', 'admin', 60, now=NOW)}"}
        response = client.get("/metrics", headers=forged)
        assert response.status_code == 401
        assert response.json()["detail"] == "this engine has no token secret configured"


def test_websocket_over_tcp_needs_a_token(tcp: TestClient) -> None:
    with tcp.websocket_connect("/ws/orders/updates") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == WS_UNAUTHORIZED
    assert closed.value.reason == "a bearer token is required over TCP (alphintra auth token create)"
    with tcp.websocket_connect("/ws/orders/updates", headers=bearer("viewer")) as ws:
        assert ws.receive_json()["type"] == "subscribed"
