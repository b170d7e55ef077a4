"""EngineClient: errors rebuilt from the wire, a clear message when no daemon runs."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alphintra.daemon.client import EngineClient
from alphintra.daemon.protocol import (
    AuthenticationError,
    NotReadyError,
    PermissionDeniedError,
    RemoteValidationError,
    error_from_response,
)
from alphintra.errors import (
    AlphintraError,
    ConflictError,
    NotFoundError,
    OperationFailed,
    RetryableError,
    ValidationError,
)


def answering(status: int, body: Any = None, text: str | None = None) -> EngineClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return EngineClient(url="http://engine.test", transport=httpx.MockTransport(handler))


def test_validation_error_keeps_field_message_and_exit_code() -> None:
    body = {"error": "validation_error", "detail": "qty: must be positive (got '-1')", "field": "qty"}
    with pytest.raises(ValidationError) as err:
        answering(422, body).post("/api/v1/orders", {"qty": "-1"})
    assert isinstance(err.value, RemoteValidationError)
    assert (err.value.field, err.value.message, err.value.exit_code) == ("qty", "qty: must be positive (got '-1')", 2)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "unauthorized", AuthenticationError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (503, "not_ready", NotReadyError),
        (503, "retryable", RetryableError),
        (400, "operation_failed", OperationFailed),
    ],
)
def test_errors_are_rebuilt_by_code(status: int, code: str, cls: type[AlphintraError]) -> None:
    with pytest.raises(cls) as err:
        answering(status, {"error": code, "detail": "what happened", "field": None}).get("/x")
    assert type(err.value) is cls
    assert err.value.message == "what happened"


def test_internal_error_and_non_json_bodies() -> None:
    body = {"error": "internal_error", "detail": "internal error (incident ab12cd34; see log)", "field": None}
    with pytest.raises(OperationFailed) as err:
        answering(500, body).get("/x")
    assert err.value.message == "engine failed: internal error (incident ab12cd34; see log)"
    with pytest.raises(OperationFailed) as err:
        answering(502, text="<html>Bad   Gateway</html>").get("/x")
    assert err.value.message == "engine answered HTTP 502: <html>Bad Gateway</html>"


def test_unknown_code_falls_back_on_status() -> None:
    assert type(error_from_response(409, {"error": "duplicate", "detail": "d"})) is ConflictError
    assert type(error_from_response(418, {"error": "teapot", "detail": "d"})) is OperationFailed


def test_success_bodies() -> None:
    assert answering(200, {"ready": True}).get("/ready") == {"ready": True}
    assert answering(200, text="# HELP x\n").get("/metrics") == "# HELP x\n"
    assert answering(204).delete("/x") is None


def test_ready_is_false_while_starting() -> None:
    client = answering(503, {"error": "not_ready", "detail": "engine is not ready (state starting)", "field": None})
    assert client.ready() is False


def test_token_is_sent_as_bearer() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"status": "ok"})

    EngineClient(url="http://e", token="abc", transport=httpx.MockTransport(handler)).health()
    assert seen == ["Bearer abc"]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ac", dir="/tmp") as name:
        yield Path(name)


def test_missing_socket_says_no_engine_runs(short_dir: Path) -> None:
    path = short_dir / "engine.sock"
    with EngineClient(socket_path=path) as client, pytest.raises(OperationFailed) as err:
        client.health()
    assert err.value.message == f"no engine is running (socket {path}); start it with `alphintra engine start`"


def test_stale_socket_says_no_engine_runs(short_dir: Path) -> None:
    path = short_dir / "engine.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    with EngineClient(socket_path=path) as client, pytest.raises(OperationFailed, match="no engine is running"):
        client.status()
    with pytest.raises(OperationFailed, match="no engine is running"), EngineClient(socket_path=path).subscribe("x"):
        pass


def test_unreachable_tcp_names_the_url() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(OperationFailed, match=f"cannot reach the engine at http://127.0.0.1:{port}"):
        EngineClient.remote(f"http://127.0.0.1:{port}", None).health()


def test_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        EngineClient()


def test_async_client_rebuilds_errors_and_reads_bodies() -> None:
    import asyncio

    from alphintra.daemon.app import ListenerApp, create_app
    from alphintra.daemon.client import AsyncEngineClient
    from alphintra.daemon.lifecycle import LifecycleHost

    host = LifecycleHost()
    transport = httpx.ASGITransport(app=ListenerApp(create_app(host), "unix"))

    async def scenario() -> tuple[object, bool, object]:
        async with AsyncEngineClient(url="http://engine", transport=transport) as client:
            health = await client.get("/health")
            not_ready = False
            try:
                await client.get("/ready")
            except RetryableError as exc:
                not_ready = exc.message == "engine is not ready (state created)"
            host.start()
            return health, not_ready, await client.get("/ready")

    assert asyncio.run(scenario()) == ({"status": "ok"}, True, {"ready": True, "state": "running"})
